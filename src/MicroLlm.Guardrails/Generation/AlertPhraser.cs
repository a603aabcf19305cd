using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using MicroLlm.Guardrails.Catalog;
using MicroLlm.Guardrails.Generation;
using MicroLlm.Guardrails.Policy;
using MicroLlm.Inference;
using Microsoft.Extensions.AI;

namespace MicroLlm.Guardrails;

/// <summary>
/// Writes verified alerts for events, in English and Bangla. With an <see cref="IChatClient"/> (local or remote) the
/// model rephrases the alert and the <see cref="AlertVerifier"/> checks every attempt; after bounded retries, on errors,
/// or when the deadline comes, the deterministic template is used. The result is never empty and never unverified.
/// </summary>
/// <example>
/// <code>
/// var phraser = new AlertPhraser(chatClient, new AlertPhraserOptions { Deadline = TimeSpan.FromSeconds(2) });
/// AlertResult result = await phraser.PhraseAsync(File.ReadAllText("fire.json"));
/// Console.WriteLine(result.Bangla);
/// </code>
/// </example>
public sealed partial class AlertPhraser
{
    /// <summary>
    /// The <see cref="ChatOptions.AdditionalProperties"/> key under which each request carries the exact strings
    /// (<c>string[]</c>) the alert must contain, so a client with constrained decoding can force them as literals.
    /// </summary>
    public const string RequiredLiteralsKey = "microllm.alert.required_literals";

    private readonly IChatClient? _client;
    private readonly AlertCatalog _catalog;
    private readonly AlertPolicy _policy;
    private readonly AlertVerifier _verifier;
    private readonly AlertLanguage[] _languages;
    private readonly TimeSpan? _deadline;
    private readonly int _maxRetries;
    private readonly ChatOptions? _chatOptions;
    private readonly bool _forceFacts;

    /// <summary>Creates a phraser.</summary>
    /// <param name="chatClient">The model; null to write templates only.</param>
    /// <param name="options">Options; null for the defaults.</param>
    /// <exception cref="ArgumentException">An option is out of range, or the policy conflicts with the catalogue (e.g. it bans a word a template uses); the message says which.</exception>
    public AlertPhraser(IChatClient? chatClient = null, AlertPhraserOptions? options = null)
    {
        options ??= new AlertPhraserOptions();
        _client = chatClient;
        _catalog = options.Catalog ?? AlertCatalog.Default;
        _policy = options.Policy ?? AlertPolicy.Default;
        _languages = [.. options.Languages ?? []];
        if (_languages.Length == 0 || _languages.Distinct().Count() != _languages.Length || _languages.Any(l => !Enum.IsDefined(l)))
        {
            throw new ArgumentException("AlertPhraserOptions.Languages must list English and/or Bangla, each once.", nameof(options));
        }

        if (options.Deadline is { } d && d <= TimeSpan.Zero)
        {
            throw new ArgumentException("AlertPhraserOptions.Deadline must be positive, or null for no deadline.", nameof(options));
        }

        if (options.MaxRetries is < 0 or > 10)
        {
            throw new ArgumentException("AlertPhraserOptions.MaxRetries must be 0-10.", nameof(options));
        }

        _deadline = options.Deadline;
        _maxRetries = options.MaxRetries;
        _chatOptions = options.ChatOptions;
        _forceFacts = options.ForceFacts;
        _verifier = new AlertVerifier(_catalog, _policy);
        CheckPolicyAgainstTemplates();
    }

    /// <summary>The catalogue in use.</summary>
    public AlertCatalog Catalog => _catalog;

    /// <summary>Validates event JSON and phrases it.</summary>
    /// <param name="eventJson">The event JSON (untrusted).</param>
    /// <param name="cancellationToken">Cancels the call (the caller's cancellation is not turned into a template).</param>
    /// <returns>The verified texts and the audit.</returns>
    /// <exception cref="AlertEventException">The event is invalid; the exception lists every problem.</exception>
    public Task<AlertResult> PhraseAsync(string eventJson, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(eventJson);
        return PhraseAsync(AlertEvent.Parse(eventJson, _catalog), cancellationToken);
    }

    /// <summary>Phrases a validated event in each configured language.</summary>
    /// <param name="alertEvent">The event.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The verified texts and the audit.</returns>
    /// <exception cref="ArgumentException">The event's type is not in this phraser's catalogue.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task<AlertResult> PhraseAsync(AlertEvent alertEvent, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(alertEvent);
        var clock = Stopwatch.StartNew();
        _catalog.GetAlertType(alertEvent.Type);
        var redactions = new List<string>();
        AlertEvent ev = _policy.RedactPii ? Redact(alertEvent, redactions) : alertEvent;
        var attempts = new List<AlertAttempt>();
        var texts = new List<AlertText>();
        bool deadlineReached = false;

        // The verified templates first: the fallback is ready before any model time is spent, so a deadline only has to
        // cover handing it back.
        var templates = new Dictionary<AlertLanguage, (string Text, VerificationReport Report, TimeSpan Elapsed)>();
        foreach (var language in _languages)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var sw = Stopwatch.StartNew();
            string template = TemplateRenderer.Render(_catalog, ev, language, _policy);
            var report = _verifier.Verify(ev, language, template, isTemplate: true);
            if (!report.Passed)
            {
                // Catalogues are checked when loaded, so this means a catalogue or verifier defect, not bad input.
                throw new InvalidOperationException($"The {language.ToCode()} template for '{ev.Type}' failed verification ({string.Join("; ", report.Failures)}); the catalogue is inconsistent. Please report this with the event.");
            }

            templates[language] = (template, report, sw.Elapsed);
        }

        foreach (var language in _languages)
        {
            cancellationToken.ThrowIfCancellationRequested();
            string template = templates[language].Text;
            string? accepted = null;
            int number = 0;
            if (_client is not null && !(Remaining(clock) is { } left && left <= TimeSpan.Zero))
            {
                var messages = AlertPrompt.Build(_catalog, _policy, ev, language, template);
                var chatOptions = RequestOptions(ev, language, template);
                while (number <= _maxRetries && accepted is null)
                {
                    TimeSpan? remaining = Remaining(clock);
                    if (remaining is { } r && r <= TimeSpan.Zero)
                    {
                        deadlineReached = true;
                        break;
                    }

                    number++;
                    var (attempt, timedOut) = await AttemptAsync(ev, language, number, messages, chatOptions, remaining, cancellationToken).ConfigureAwait(false);
                    attempts.Add(attempt);
                    if (timedOut)
                    {
                        deadlineReached = true;
                        break;
                    }

                    if (attempt.Accepted)
                    {
                        accepted = attempt.Text;
                    }
                    else if (attempt.Verification is not null)
                    {
                        messages.Add(new ChatMessage(ChatRole.Assistant, attempt.Text));
                        messages.Add(AlertPrompt.Feedback(attempt.Verification));
                    }
                }
            }
            else if (_client is not null)
            {
                deadlineReached = true;
            }

            if (accepted is not null)
            {
                texts.Add(new AlertText(language, accepted, AlertTextSource.Model));
                continue;
            }

            attempts.Add(new AlertAttempt(language, number + 1, AlertTextSource.Template, templates[language].Elapsed, template, templates[language].Report, null));
            texts.Add(new AlertText(language, template, AlertTextSource.Template));
        }

        return new AlertResult(texts, new AlertAudit(ev.Type, attempts, redactions, deadlineReached, _client is not null, clock.Elapsed));
    }

    /// <summary>The chat options of one language's requests: the caller's, plus the required literals and, unless the caller set a grammar or a format, the forced-facts grammar.</summary>
    private ChatOptions RequestOptions(AlertEvent ev, AlertLanguage language, string template)
    {
        var chatOptions = _chatOptions?.Clone() ?? new ChatOptions();
        chatOptions.AdditionalProperties ??= [];
        chatOptions.AdditionalProperties[RequiredLiteralsKey] = AlertPrompt.RequiredLiterals(_catalog, _policy, ev, language);
        if (_forceFacts && chatOptions.ResponseFormat is null && !chatOptions.AdditionalProperties.ContainsKey(LocalChatClient.GrammarKey))
        {
            chatOptions.AdditionalProperties[LocalChatClient.GrammarKey] = AlertGrammar.For(_catalog, _policy, ev, language, template);
        }

        return chatOptions;
    }

    [System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1031:Do not catch general exception types", Justification = "Any failure of a third-party chat client must fall back to the template, never reach the host.")]
    private async Task<(AlertAttempt Attempt, bool TimedOut)> AttemptAsync(AlertEvent ev, AlertLanguage language, int number, List<ChatMessage> messages, ChatOptions chatOptions, TimeSpan? remaining, CancellationToken cancellationToken)
    {
        var sw = Stopwatch.StartNew();
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (remaining is { } limit)
        {
            cts.CancelAfter(limit);
        }

        Task<ChatResponse>? call = null;
        try
        {
            // On the thread pool: a client that works before its first await (a local model's prompt) must not hold the
            // caller's thread past the deadline.
            ChatMessage[] request = [.. messages];
            call = remaining is null ? _client!.GetResponseAsync(request, chatOptions, cts.Token) : Task.Run(() => _client!.GetResponseAsync(request, chatOptions, cts.Token), CancellationToken.None);
            ChatResponse response = remaining is { } r
                ? await call.WaitAsync(r, cancellationToken).ConfigureAwait(false)
                : await call.ConfigureAwait(false);
            string text = Clean(response.Text);
            var report = _verifier.Verify(ev, language, text, isTemplate: false);
            return (new AlertAttempt(language, number, AlertTextSource.Model, sw.Elapsed, text, report, null), false);
        }
        catch (TimeoutException)
        {
            await cts.CancelAsync().ConfigureAwait(false);
            Observe(call);
            return (new AlertAttempt(language, number, AlertTextSource.Model, sw.Elapsed, null, null, "deadline reached; model call abandoned"), true);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (OperationCanceledException) when (remaining is not null)
        {
            return (new AlertAttempt(language, number, AlertTextSource.Model, sw.Elapsed, null, null, "deadline reached; model call cancelled"), true);
        }
        catch (Exception e)
        {
            return (new AlertAttempt(language, number, AlertTextSource.Model, sw.Elapsed, null, null, $"{e.GetType().Name}: {OneLine(e.Message)}"), false);
        }
    }

    private TimeSpan? Remaining(Stopwatch clock)
    {
        if (_deadline is not { } deadline)
        {
            return null;
        }

        // Keep a reserve for rendering and verifying the template (well under a millisecond) and for scheduling.
        var reserve = TimeSpan.FromMilliseconds(Math.Clamp(deadline.TotalMilliseconds / 10, 2, 50));
        return deadline - reserve - clock.Elapsed;
    }

    private static void Observe(Task? task) =>
        task?.ContinueWith(t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);

    [GeneratedRegex(@"\s+", RegexOptions.CultureInvariant)]
    private static partial Regex Whitespace();

    /// <summary>NFC, whitespace runs (newlines included) to one space, trimmed, surrounding quotes removed.</summary>
    internal static string Clean(string? text)
    {
        string s = Whitespace().Replace(AlertCatalog.Nfc(text ?? string.Empty), " ").Trim();
        if (s.Length >= 2 && ((s[0] == '"' && s[^1] == '"') || (s[0] == '\u201C' && s[^1] == '\u201D')))
        {
            s = s[1..^1].Trim();
        }

        return s;
    }

    private static string OneLine(string message) => message.ReplaceLineEndings(" ").Length > 200 ? message.ReplaceLineEndings(" ")[..200] + "..." : message.ReplaceLineEndings(" ");

    private static AlertEvent Redact(AlertEvent ev, List<string> found)
    {
        string location = PiiRedactor.Redact(ev.Location, found);
        var slots = new Dictionary<string, AlertSlotValue>(StringComparer.Ordinal);
        foreach (var (name, value) in ev.Slots)
        {
            slots[name] = value.Kind == AlertSlotKind.Text ? new AlertSlotValue(AlertSlotKind.Text, PiiRedactor.Redact(value.Text!, found), null, null) : value;
        }

        return found.Count == 0 ? ev : ev.With(location, slots);
    }

    private void CheckPolicyAgainstTemplates()
    {
        foreach (var type in _catalog.Types)
        {
            var example = AlertEvent.Parse(type.ExampleJson, _catalog);
            foreach (var language in _languages)
            {
                string text = TemplateRenderer.Render(_catalog, example, language, _policy);
                var report = _verifier.Verify(example, language, text, isTemplate: true);
                if (!report.Passed)
                {
                    throw new ArgumentException(
                        $"The policy conflicts with the '{type.Name}' {language.ToCode()} template (\"{text}\"): {string.Join("; ", report.Failures)}. Change the policy (e.g. remove the banned term) or the catalogue.");
                }
            }
        }
    }

}
