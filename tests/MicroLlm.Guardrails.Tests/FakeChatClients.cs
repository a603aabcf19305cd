using System.Text.RegularExpressions;
using MicroLlm.Guardrails;
using Microsoft.Extensions.AI;

namespace MicroLlm.Guardrails.Tests;

/// <summary>An <see cref="IChatClient"/> whose answer is computed from the request: the test stand-in for any model.</summary>
internal sealed class FakeChatClient(Func<FakeRequest, CancellationToken, Task<string>> answer) : IChatClient
{
    public int Calls;

    public List<FakeRequest> Requests { get; } = [];

    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref Calls);
        var request = new FakeRequest([.. messages], options);
        lock (Requests)
        {
            Requests.Add(request);
        }

        string text = await answer(request, cancellationToken);
        return new ChatResponse(new ChatMessage(ChatRole.Assistant, text));
    }

    public IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException();

    public object? GetService(Type serviceType, object? serviceKey = null) => null;

    public void Dispose()
    {
    }

    public static FakeChatClient Answering(Func<FakeRequest, string> answer) => new((r, _) => Task.FromResult(answer(r)));
}

internal sealed record FakeRequest(IReadOnlyList<ChatMessage> Messages, ChatOptions? Options)
{
    public string[] Literals => (string[])Options!.AdditionalProperties![AlertPhraser.RequiredLiteralsKey]!;

    public bool Bangla => Messages[1].Text.Contains("Write the alert in Bangla", StringComparison.Ordinal);

    public string Reference => Regex.Match(Messages[1].Text, @"REFERENCE ALERT[^\n]*\n(.*)\n\nWrite", RegexOptions.Singleline).Groups[1].Value;

    /// <summary>
    /// The FACTS object of the prompt, each fact by name in its order (a list's items each as a value of its own). Read
    /// from the JSON rather than from <see cref="Literals"/>, which lists each distinct string once: a location that reads
    /// the same as the time there would shift every later position.
    /// </summary>
    public IReadOnlyList<(string Name, string Value)> Facts => _facts ??= ReadFacts();

    private List<(string Name, string Value)>? _facts;

    private List<(string Name, string Value)> ReadFacts()
    {
        string json = Regex.Match(Messages[1].Text, @"FACTS[^\n]*\n(.*?)\n\nREFERENCE ALERT", RegexOptions.Singleline).Groups[1].Value;
        using var doc = System.Text.Json.JsonDocument.Parse(json);
        var facts = new List<(string, string)>();
        foreach (var p in doc.RootElement.EnumerateObject())
        {
            if (p.Value.ValueKind == System.Text.Json.JsonValueKind.Array)
            {
                facts.AddRange(p.Value.EnumerateArray().Select(v => (p.Name, v.GetString()!)));
            }
            else
            {
                facts.Add((p.Name, p.Value.GetString()!));
            }
        }

        return facts;
    }

    /// <summary>The value of the fact <paramref name="name"/>.</summary>
    public string Fact(string name) => Facts.First(f => f.Name == name).Value;
}

/// <summary>Model behaviours the phraser must survive.</summary>
internal static class Models
{
    /// <summary>A correct rewording: the facts as literals in a different frame than the template.</summary>
    public static string GoodPhrasing(FakeRequest r)
    {
        // facts: alert type, label, location, time, then slots in catalogue order (the action among them), then policy phrases
        var facts = r.Facts;
        string label = r.Fact("severity_label"), location = r.Fact("location"), time = r.Fact("time");
        var rest = facts.Where(f => f.Name is not ("alert_type" or "severity_label" or "location" or "time")).Select(f => f.Value).ToList();
        return r.Bangla
            ? $"{label}। ঘটনাস্থল: {location}। সময়: {time}। {string.Join("। ", rest)}।"
            : $"{label}. Location: {location}. Time: {time}. {string.Join(". ", rest)}.";
    }

    public static FakeChatClient Good() => FakeChatClient.Answering(GoodPhrasing);

    /// <summary>Correct except one digit of a number or the time is changed (ids and the location left alone).</summary>
    public static FakeChatClient ChangesANumber() => FakeChatClient.Answering(r =>
    {
        string good = GoodPhrasing(r);
        string[] numeric = [.. r.Literals.Skip(2).Where(s => s.Any(char.IsDigit) && !IsId(s, r))];
        string target = numeric[^1];
        int i = target.IndexOf(target.First(char.IsDigit));
        char c = target[i];
        char changed = c is >= '0' and <= '9' ? (char)('0' + ((c - '0' + 1) % 10)) : (char)('০' + ((c - '০' + 1) % 10));
        string replacement = target[..i] + changed + target[(i + 1)..];
        int at = good.LastIndexOf(target, StringComparison.Ordinal);
        return good[..at] + replacement + good[(at + target.Length)..];
    });

    private static bool IsId(string literal, FakeRequest r) => Regex.IsMatch(literal, "^[A-Za-z0-9][A-Za-z0-9._:/#-]*$") || literal == r.Fact("location");

    /// <summary>Correct, plus an invented fact.</summary>
    public static FakeChatClient InventsAFact(string english = " 5 people are injured.", string bangla = " ৫ জন আহত হয়েছেন।") =>
        FakeChatClient.Answering(r => GoodPhrasing(r) + (r.Bangla ? bangla : english));

    /// <summary>Never answers before the token is cancelled (or 30 s).</summary>
    public static FakeChatClient Slow() => new(async (r, ct) =>
    {
        await Task.Delay(TimeSpan.FromSeconds(30), ct);
        return GoodPhrasing(r);
    });

    /// <summary>Ignores cancellation and answers after 5 s.</summary>
    public static FakeChatClient Stubborn() => new(async (r, _) =>
    {
        await Task.Delay(TimeSpan.FromSeconds(5), CancellationToken.None);
        return GoodPhrasing(r);
    });

    /// <summary>
    /// Blocks its caller's thread for 5 s, or until <paramref name="release"/> is set, before returning a task at all (a
    /// client with no await before its work). The test sets it when done, so the abandoned thread-pool threads do not
    /// starve the timers of the tests after it.
    /// </summary>
    public static FakeChatClient Blocking(ManualResetEventSlim release) => new((r, _) =>
    {
        release.Wait(TimeSpan.FromSeconds(5), CancellationToken.None); // a client that blocks ignores cancellation too
        return Task.FromResult(GoodPhrasing(r));
    });

    public static FakeChatClient Throws() => new((_, _) => throw new InvalidOperationException("model crashed"));

    public static FakeChatClient ThrowsAsync() => new(async (_, _) =>
    {
        await Task.Yield();
        throw new HttpRequestException("connection refused");
    });
}
