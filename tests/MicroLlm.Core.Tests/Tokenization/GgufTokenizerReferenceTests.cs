using System.Diagnostics;
using System.Text.Json;
using MicroLlm.Gguf;
using MicroLlm.Tests.Tokenization.Bpe;
using MicroLlm.Tokenization;

namespace MicroLlm.Tests.Tokenization;

/// <summary>
/// The reference runtime's ids for texts with special tokens, BOS/EOS and long inputs
/// (<c>TestData/reference-special-tokens.json</c>, from <c>llama-tokenize</c>): user-defined tokens always cut out,
/// control (and unknown) tokens only when parsed, Phi-3's right-stripping, SentencePiece's space prefix after a special
/// token, the model's BOS/EOS, WordPiece's [CLS]/[SEP], and the end-of-generation and fill-in-the-middle markers the
/// reference re-types by their text.
/// </summary>
[TestFixture]
public sealed class GgufTokenizerReferenceTests
{
    private static readonly Lazy<List<ReferenceCase>> AllCases = new(ReadCases);

    private static readonly Lazy<GgufTokenizer> SyntheticTokenizer = new(() => GgufTokenizer.Create(Synthetic()));

    /// <summary>One case per reference text.</summary>
    public static IEnumerable<TestCaseData> Cases() => AllCases.Value.Select((c, i) => new TestCaseData(c)
        .SetName($"{{m}}({i:D2} {c.Vocab.Replace("ggml-vocab-", "", StringComparison.Ordinal).Replace(".gguf", "", StringComparison.Ordinal)} " +
                 $"{(c.AddSpecial ? "special" : "plain")} {(c.ParseSpecial ? "parse" : "raw")} \"{ReferenceTokenizerTests.Preview(c.Text)}\")"));

    [TestCaseSource(nameof(Cases))]
    public void Encodes_as_the_reference(ReferenceCase c)
    {
        GgufTokenizer tokenizer = Tokenizer(c.Vocab);

        var ids = tokenizer.Encode(c.Text, c.AddSpecial, c.ParseSpecial);

        Assert.That(ids, Is.EqualTo(c.Ids), c.Note);
    }

    /// <summary>One case per (vocabulary, parse mode) of the random text.</summary>
    public static IEnumerable<TestCaseData> RandomTextCases()
    {
        using var json = JsonDocument.Parse(File.ReadAllBytes(TestDataPath("reference-random-text.json")));
        foreach (JsonElement c in json.RootElement.GetProperty("cases").EnumerateArray())
        {
            string vocab = c.GetProperty("vocab").GetString()!;
            bool parse = c.GetProperty("parseSpecial").GetBoolean();
            yield return new TestCaseData(vocab, parse, c.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()).ToArray())
                .SetArgDisplayNames(vocab, parse ? "parse" : "raw");
        }
    }

    [TestCaseSource(nameof(RandomTextCases))]
    public void Random_text_encodes_as_the_reference(string vocab, bool parseSpecial, int[] expected)
    {
        using var json = JsonDocument.Parse(File.ReadAllBytes(TestDataPath("reference-random-text.json")));
        string text = json.RootElement.GetProperty("text").GetString()!;

        var ids = Tokenizer(vocab).Encode(text, addSpecialTokens: false, parseSpecialTokens: parseSpecial);

        int same = ids.Zip(expected).TakeWhile(p => p.First == p.Second).Count();
        Assert.That(ids, Is.EqualTo(expected), $"First difference at id {same}.");
    }

    [Test]
    public void SentencePiece_time_grows_about_linearly_with_the_text()
    {
        GgufTokenizer tokenizer = Tokenizer("ggml-vocab-llama-spm.gguf");
        string unit = AllCases.Value.First(c => c.Note.StartsWith("long text", StringComparison.Ordinal)).Text;

        // No spaces: one fragment of many thousands of symbols for the merge queue, where a quadratic merge would show.
        // One text 16 times as long against 16 runs of the short one, interleaved (the machine may be busy): about the
        // same time if encoding is linear, 16 times as long if quadratic. The best of several rounds of each is compared;
        // the bound sits between the two (4.78 was seen for a linear encoder at load 26).
        string small = string.Concat(Enumerable.Repeat(unit.Replace(" ", "", StringComparison.Ordinal), 4))[..4000];
        string large = string.Concat(Enumerable.Repeat(small, 16));
        tokenizer.Encode(large, false, false);
        double tSmall = double.MaxValue, tLarge = double.MaxValue;
        for (int round = 0; round < 7; round++)
        {
            tLarge = Math.Min(tLarge, Time(() => tokenizer.Encode(large, false, false)));
            tSmall = Math.Min(tSmall, Time(() =>
            {
                for (int i = 0; i < 16; i++)
                {
                    tokenizer.Encode(small, false, false);
                }
            }));
        }

        Assert.That(tLarge / tSmall, Is.LessThan(8), $"16 × {small.Length} chars: {tSmall:F1} ms; {large.Length} chars: {tLarge:F1} ms.");
        Assert.That(tokenizer.Encode(large, false, false), Has.Count.EqualTo(16 * tokenizer.Encode(small, false, false).Count).Within(16));
    }

    private static double Time(Action action)
    {
        var sw = Stopwatch.StartNew();
        action();
        return sw.Elapsed.TotalMilliseconds;
    }

    private static GgufTokenizer Tokenizer(string vocab) => vocab == "synthetic-gpt2.gguf"
        ? SyntheticTokenizer.Value
        : GgufTokenizerConformanceTests.Load(Conformance.RequireFile("tokenizer", vocab)).Tokenizer;

    /// <summary>
    /// ggml-vocab-gpt-2.gguf with five tokens appended, as the reference data was made: user-defined
    /// <c>&lt;|im_end|&gt;</c> and <c>&lt;|fim_prefix|&gt;</c> (which the reference re-types as control), user-defined
    /// <c>&lt;tag&gt;</c>, <c>&lt;odd&gt;</c> of type 9 (undefined for the reference) and an empty user-defined token
    /// (which the reference names <c>[EMPTY_50261]</c>).
    /// </summary>
    private static GgufMetadata Synthetic()
    {
        using GgufFile file = GgufFile.Open(Conformance.RequireFile("tokenizer", "ggml-vocab-gpt-2.gguf"));
        (string Text, int Type)[] extra = [("<|im_end|>", 4), ("<|fim_prefix|>", 4), ("<tag>", 4), ("<odd>", 9), ("", 4)];
        var entries = new List<KeyValuePair<string, GgufValue>>();
        foreach (var (key, value) in file.Metadata)
        {
            GgufValue v = key switch
            {
                "tokenizer.ggml.tokens" => GgufValue.FromArray<string>([.. value.AsStringArray(), .. extra.Select(e => e.Text)]),
                "tokenizer.ggml.token_type" => GgufValue.FromArray<int>([.. value.ToInt32Array(), .. extra.Select(e => e.Type)]),
                "general.name" => GgufValue.From("synthetic"),
                _ => value,
            };
            entries.Add(new(key, v));
        }

        return new GgufMetadata(entries);
    }

    private static List<ReferenceCase> ReadCases()
    {
        using var json = JsonDocument.Parse(File.ReadAllBytes(TestDataPath("reference-special-tokens.json")));
        return [.. json.RootElement.GetProperty("cases").EnumerateArray().Select(c => new ReferenceCase(
            c.GetProperty("vocab").GetString()!,
            c.GetProperty("text").GetString()!,
            c.GetProperty("addSpecial").GetBoolean(),
            c.GetProperty("parseSpecial").GetBoolean(),
            [.. c.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32())],
            c.GetProperty("note").GetString()!))];
    }

    private static string TestDataPath(string name)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string path = Path.Combine(dir.FullName, "tests", "MicroLlm.Core.Tests", "Tokenization", "TestData", name);
            if (File.Exists(path))
            {
                return path;
            }
        }

        throw new FileNotFoundException($"TestData/{name} was not found beside the test sources.");
    }

    /// <summary>One reference text.</summary>
    public sealed record ReferenceCase(string Vocab, string Text, bool AddSpecial, bool ParseSpecial, int[] Ids, string Note)
    {
        /// <inheritdoc/>
        public override string ToString() => $"{Vocab} \"{ReferenceTokenizerTests.Preview(Text)}\"";
    }
}
