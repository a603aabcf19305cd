using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace MicroLlm.Guardrails;

/// <summary>Who wrote an alert text.</summary>
public enum AlertTextSource
{
    /// <summary>The deterministic template.</summary>
    Template,

    /// <summary>The language model, and it passed verification.</summary>
    Model,
}

/// <summary>One verified alert text.</summary>
/// <param name="Language">The language.</param>
/// <param name="Text">The text: NFC, never empty, verified against the event.</param>
/// <param name="Source">Who wrote it.</param>
public sealed record AlertText(AlertLanguage Language, string Text, AlertTextSource Source);

/// <summary>One try at writing one language: a model attempt or the template.</summary>
public sealed class AlertAttempt
{
    internal AlertAttempt(AlertLanguage language, int number, AlertTextSource source, TimeSpan elapsed, string? text, VerificationReport? verification, string? error)
    {
        Language = language;
        Number = number;
        Source = source;
        Elapsed = elapsed;
        Text = text;
        Verification = verification;
        Error = error;
    }

    /// <summary>The language.</summary>
    public AlertLanguage Language { get; }

    /// <summary>1 for the first model attempt of the language; the template attempt is numbered after the model's.</summary>
    public int Number { get; }

    /// <summary>Model or template.</summary>
    public AlertTextSource Source { get; }

    /// <summary>How long the attempt took.</summary>
    public TimeSpan Elapsed { get; }

    /// <summary>The text produced (after NFC and whitespace clean-up), or null when the call failed.</summary>
    public string? Text { get; }

    /// <summary>The verifier's report, or null when there was no text to verify.</summary>
    public VerificationReport? Verification { get; }

    /// <summary>Why the attempt produced no text (client error, deadline), or null.</summary>
    public string? Error { get; }

    /// <summary>Whether this attempt's text was accepted.</summary>
    public bool Accepted => Verification?.Passed == true;
}

/// <summary>What happened in one <see cref="AlertPhraser.PhraseAsync(AlertEvent, CancellationToken)"/> call.</summary>
public sealed class AlertAudit
{
    internal AlertAudit(string eventType, IReadOnlyList<AlertAttempt> attempts, IReadOnlyList<string> redactions, bool deadlineReached, bool modelAvailable, TimeSpan elapsed)
    {
        EventType = eventType;
        Attempts = attempts;
        Redactions = redactions;
        DeadlineReached = deadlineReached;
        ModelAvailable = modelAvailable;
        Elapsed = elapsed;
    }

    /// <summary>The event's type.</summary>
    public string EventType { get; }

    /// <summary>Every attempt, model and template, in order.</summary>
    public IReadOnlyList<AlertAttempt> Attempts { get; }

    /// <summary>Kinds of personal data redacted from free-text slots (e.g. <c>phone</c>), one entry per redaction.</summary>
    public IReadOnlyList<string> Redactions { get; }

    /// <summary>Whether the deadline cut model attempts short.</summary>
    public bool DeadlineReached { get; }

    /// <summary>Whether a chat client was configured.</summary>
    public bool ModelAvailable { get; }

    /// <summary>The whole call's duration.</summary>
    public TimeSpan Elapsed { get; }

    /// <summary>Model attempts beyond the first, summed over languages.</summary>
    public int Retries => Attempts.Where(a => a.Source == AlertTextSource.Model).GroupBy(a => a.Language).Sum(g => g.Count() - 1);

    /// <summary>Whether any language fell back to (or used) the template.</summary>
    public bool TemplateUsed => Attempts.Any(a => a.Source == AlertTextSource.Template && a.Accepted);

    internal void WriteJson(Utf8JsonWriter w)
    {
        w.WriteStartObject();
        w.WriteString("type", EventType);
        w.WriteBoolean("model", ModelAvailable);
        w.WriteBoolean("templateUsed", TemplateUsed);
        w.WriteNumber("retries", Retries);
        w.WriteBoolean("deadlineReached", DeadlineReached);
        w.WriteNumber("elapsedMs", Math.Round(Elapsed.TotalMilliseconds, 3));
        w.WriteStartArray("redactions");
        foreach (string r in Redactions)
        {
            w.WriteStringValue(r);
        }

        w.WriteEndArray();
        w.WriteStartArray("attempts");
        foreach (var a in Attempts)
        {
            w.WriteStartObject();
            w.WriteString("lang", a.Language.ToCode());
            w.WriteNumber("n", a.Number);
            w.WriteString("source", a.Source == AlertTextSource.Model ? "model" : "template");
            w.WriteNumber("elapsedMs", Math.Round(a.Elapsed.TotalMilliseconds, 3));
            w.WriteBoolean("accepted", a.Accepted);
            if (a.Error is not null)
            {
                w.WriteString("error", a.Error);
            }

            if (a.Verification is not null)
            {
                w.WriteStartArray("checks");
                foreach (var c in a.Verification.Checks)
                {
                    w.WriteStartObject();
                    w.WriteString("name", c.Name);
                    w.WriteBoolean("passed", c.Passed);
                    if (c.Detail is not null)
                    {
                        w.WriteString("detail", c.Detail);
                    }

                    w.WriteEndObject();
                }

                w.WriteEndArray();
            }

            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteEndObject();
    }
}

/// <summary>The outcome of phrasing one event: a verified text per language, who wrote it, and the audit.</summary>
public sealed class AlertResult
{
    internal AlertResult(IReadOnlyList<AlertText> texts, AlertAudit audit)
    {
        Texts = texts;
        Audit = audit;
    }

    /// <summary>The texts, in the requested language order; each verified.</summary>
    public IReadOnlyList<AlertText> Texts { get; }

    /// <summary>The audit record.</summary>
    public AlertAudit Audit { get; }

    /// <summary><see cref="AlertTextSource.Model"/> when every text came from the model, otherwise <see cref="AlertTextSource.Template"/>.</summary>
    public AlertTextSource Source => Texts.All(t => t.Source == AlertTextSource.Model) ? AlertTextSource.Model : AlertTextSource.Template;

    /// <summary>The English text, or null when English was not requested.</summary>
    public string? English => Texts.FirstOrDefault(t => t.Language == AlertLanguage.English)?.Text;

    /// <summary>The Bangla text, or null when Bangla was not requested.</summary>
    public string? Bangla => Texts.FirstOrDefault(t => t.Language == AlertLanguage.Bangla)?.Text;

    /// <summary>The result as JSON: <c>{"en": ..., "bn": ..., "source": "model"|"template", "audit": {...}}</c>.</summary>
    /// <returns>Indented JSON, Bangla written as itself.</returns>
    public string ToJson()
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            foreach (var t in Texts)
            {
                w.WriteString(t.Language.ToCode(), t.Text);
            }

            w.WriteString("source", Source == AlertTextSource.Model ? "model" : "template");
            w.WritePropertyName("audit");
            Audit.WriteJson(w);
            w.WriteEndObject();
        }

        return Encoding.UTF8.GetString(stream.ToArray());
    }

    /// <summary>The texts, one per line.</summary>
    /// <returns>The alert text(s).</returns>
    public override string ToString() => string.Join("\n", Texts.Select(t => t.Text));
}
