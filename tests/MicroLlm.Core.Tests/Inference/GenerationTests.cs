using System.Text;
using System.Text.Json;
using MicroLlm.Constraints;
using MicroLlm.Generation;
using MicroLlm.Inference;
using MicroLlm.Sampling;
using MicroLlm.Tests;

namespace MicroLlm.Core.Tests.Inference;

public class GenerationTests
{
    private static LanguageModel Load(string quant = "q4_0") => LanguageModel.Load(Conformance.RequireFile("models", $"tiny-llama-{quant}.gguf"));

    private static async Task<(string Text, List<int> Tokens, GenerationUpdate Last, List<string> Pieces)> Collect(IAsyncEnumerable<GenerationUpdate> updates)
    {
        var text = new StringBuilder();
        var tokens = new List<int>();
        var pieces = new List<string>();
        GenerationUpdate? last = null;
        await foreach (var u in updates)
        {
            text.Append(u.Text);
            pieces.Add(u.Text);
            tokens.AddRange(u.TokenIds);
            last = u;
        }

        return (text.ToString(), tokens, last!, pieces);
    }

    [Test]
    public async Task GreedyGenerationFollowsTheReferenceWhileItsMarginsAreClear()
    {
        using var json = JsonDocument.Parse(File.ReadAllText(Conformance.RequireFile("models", "tiny-llama-f16.en.json")));
        int[] prompt = json.RootElement.GetProperty("tokens").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        int[] greedy = json.RootElement.GetProperty("greedy").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        using var model = Load("f16");
        using var session = model.CreateSession();
        var (_, tokens, last, _) = await Collect(session.GenerateAsync(prompt, new GenerationOptions { MaxTokens = 16, Sampling = SamplingOptions.Greedy() }));
        // Every margin on this prompt exceeds the F16 tolerance (see ModelConformanceTests), so all 16 must agree.
        Assert.That(tokens, Is.EqualTo(greedy));
        Assert.That(last.FinishReason, Is.EqualTo(GenerationFinishReason.MaxTokens));
        Assert.That(last.Statistics!.GeneratedTokens, Is.EqualTo(16));
        Assert.That(last.Statistics.PromptTokens, Is.EqualTo(prompt.Length));
    }

    [Test]
    public async Task TheSameSeedGivesTheSameTokens()
    {
        using var model = Load();
        int[] prompt = [1, 6438, 6655, 29901];
        async Task<List<int>> Run(ulong seed)
        {
            using var s = model.CreateSession();
            var options = new GenerationOptions { MaxTokens = 24, Sampling = new SamplingOptions { Temperature = 1.0f, Seed = seed } };
            return (await Collect(s.GenerateAsync(prompt, options))).Tokens;
        }

        var a = await Run(42);
        Assert.That(await Run(42), Is.EqualTo(a));
        Assert.That(await Run(43), Is.Not.EqualTo(a));
    }

    [Test]
    public async Task StopStringsCutTheTextAndEndTheGeneration()
    {
        using var model = Load();
        int[] prompt = [1, 6438, 6655, 29901];
        var greedy = new GenerationOptions { MaxTokens = 40, Sampling = SamplingOptions.Greedy() };
        string full;
        using (var s = model.CreateSession())
        {
            full = (await Collect(s.GenerateAsync(prompt, greedy))).Text;
        }

        Assume.That(full.Length, Is.GreaterThan(12), "the model produced too little text to pick a stop string from");
        string stop = full.Substring(full.Length / 2, 3);
        int cut = full.IndexOf(stop, StringComparison.Ordinal);
        greedy.StopStrings = [stop];
        using var session = model.CreateSession();
        var (text, _, last, _) = await Collect(session.GenerateAsync(prompt, greedy));
        Assert.That(text, Is.EqualTo(full[..cut]));
        Assert.That(last.FinishReason, Is.EqualTo(GenerationFinishReason.StopString));
    }

    [Test]
    public async Task StreamedPiecesAreWholeCharactersAndJoinToTheWholeText()
    {
        using var model = Load();
        // The Bangla prompt of the conformance data: the model continues with byte tokens of Bengali letters.
        int[] prompt = [1, 29871, 31537, 30653, 31154, 30653, 30786, 29871, 31148, 31150, 30653, 30655, 30995, 31150, 30445, 29901, 29871, 227, 169, 165];
        using var session = model.CreateSession();
        var options = new GenerationOptions { MaxTokens = 60, Sampling = new SamplingOptions { Temperature = 1.2f, Seed = 7, TopK = null, TopP = null, MinP = null } };
        var (text, tokens, _, pieces) = await Collect(session.GenerateAsync(prompt, options));
        foreach (string piece in pieces)
        {
            Assert.That(piece.EnumerateRunes().All(r => r != Rune.ReplacementChar) || text.Contains('\uFFFD'), Is.True);
            Assert.That(char.IsHighSurrogate(piece.LastOrDefault()), Is.False, "a piece ends in half of a surrogate pair");
            Assert.That(piece.Length == 0 || !char.IsLowSurrogate(piece[0]), Is.True, "a piece starts with half of a surrogate pair");
        }

        Assert.That(text, Is.EqualTo(Encoding.UTF8.GetString(tokens.SelectMany(t => model.Tokenizer.GetTokenBytes(t).ToArray()).ToArray())));
    }

    [Test]
    public async Task CancellationStopsWithinATokenAndKeepsTheSessionUsable()
    {
        using var model = Load();
        using var session = model.CreateSession();
        using var cts = new CancellationTokenSource();
        int seen = 0;
        Assert.ThrowsAsync<TaskCanceledException>(async () =>
        {
            await foreach (var u in session.GenerateAsync([1, 6438], new GenerationOptions { MaxTokens = 200, Sampling = SamplingOptions.Greedy() }, cts.Token))
            {
                seen += u.TokenIds.Count;
                if (seen >= 3)
                {
                    cts.Cancel();
                }
            }
        });
        Assert.That(seen, Is.LessThanOrEqualTo(4));
        int length = session.Length;
        Assert.That(length, Is.InRange(2 + 2, 2 + 4));
        var (_, tokens, _, _) = await Collect(session.GenerateAsync([], new GenerationOptions { MaxTokens = 2, Sampling = SamplingOptions.Greedy() }));
        Assert.That(tokens, Has.Count.EqualTo(2));
    }

    [Test]
    public async Task AFullContextEndsTheGenerationCleanly()
    {
        using var model = Load();
        using var session = model.CreateSession(new SessionOptions { ContextLength = 10 });
        var (_, tokens, last, _) = await Collect(session.GenerateAsync([1, 6438, 6655], new GenerationOptions { MaxTokens = 100, Sampling = SamplingOptions.Greedy() }));
        Assert.That(last.FinishReason, Is.EqualTo(GenerationFinishReason.ContextFull));
        Assert.That(session.Length, Is.EqualTo(10));
        Assert.That(tokens, Has.Count.EqualTo(8));
    }

    [Test]
    public async Task AJsonSchemaGrammarMakesEvenARandomModelWriteValidJson()
    {
        using var model = Load();
        string schema = """
            {"type":"object","properties":{"level":{"type":"integer","minimum":1,"maximum":5},"zone":{"enum":["A","B"]}},
             "required":["level","zone"],"additionalProperties":false}
            """;
        var grammar = Grammar.FromJsonSchema(schema);
        for (ulong seed = 0; seed < 5; seed++)
        {
            using var session = model.CreateSession();
            var options = new GenerationOptions { MaxTokens = 200, Grammar = grammar, Sampling = new SamplingOptions { Seed = seed, Temperature = 1.0f } };
            var result = await session.GenerateTextAsync("", options);
            using var doc = JsonDocument.Parse(result.Text);
            int level = doc.RootElement.GetProperty("level").GetInt32();
            Assert.That(level, Is.InRange(1, 5));
            Assert.That(doc.RootElement.GetProperty("zone").GetString(), Is.AnyOf("A", "B"));
            Assert.That(result.FinishReason, Is.AnyOf(GenerationFinishReason.EndOfSequence, GenerationFinishReason.GrammarComplete));
        }
    }

    [Test]
    public void BadOptionsAreRejectedBeforeAnythingRuns()
    {
        using var model = Load();
        using var session = model.CreateSession();
        Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await session.GenerateTextAsync("x", new GenerationOptions { MaxTokens = 0 }));
        Assert.ThrowsAsync<ArgumentException>(async () => await session.GenerateTextAsync("x", new GenerationOptions { StopStrings = [""] }));
        Assert.ThrowsAsync<InvalidOperationException>(async () =>
        {
            await foreach (var u in session.GenerateAsync(Array.Empty<int>()))
            {
            }
        });
        Assert.That(session.Length, Is.Zero);
    }
}

public class ThreadCountTests
{
    [Test]
    public async Task TheSameSeedGivesTheSameTokensWhateverTheThreadCount()
    {
        string path = Conformance.RequireFile("models", "tiny-llama-q4_k_m.gguf");
        async Task<List<int>> Run(int threads)
        {
            using var model = LanguageModel.Load(path, new LanguageModelOptions { ThreadCount = threads });
            using var session = model.CreateSession();
            var tokens = new List<int>();
            var options = new GenerationOptions { MaxTokens = 24, Sampling = new SamplingOptions { Temperature = 1.0f, Seed = 99 } };
            await foreach (var u in session.GenerateAsync([1, 6438, 6655, 29901, 25158], options))
            {
                tokens.AddRange(u.TokenIds);
            }

            return tokens;
        }

        var one = await Run(1);
        Assert.That(one, Has.Count.EqualTo(24));
        Assert.That(await Run(2), Is.EqualTo(one));
        Assert.That(await Run(3), Is.EqualTo(one));
    }

    [Test]
    public void AThreadCountBelowOneIsRejected()
    {
        string path = Conformance.RequireFile("models", "tiny-llama-q4_0.gguf");
        Assert.Throws<ArgumentOutOfRangeException>(() => LanguageModel.Load(path, new LanguageModelOptions { ThreadCount = 0 }));
    }
}
