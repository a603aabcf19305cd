using System.Text;
using System.Text.Json;
using MicroLlm.Gguf;
using MicroLlm.Tokenization;
using MicroLlm.Tokenization.Bpe;

namespace MicroLlm.Tests.Tokenization.Bpe;

/// <summary>
/// Every <c>tokenizer.ggml.pre</c> name the reference knows, checked against the reference's own output recorded in
/// <c>TestData/reference-pretokenizers.json</c>: how its <c>unicode_regex_split</c> cuts 160 texts into words, and
/// the ids its <c>llama_tokenize</c> gives for them with the GPT-2 vocabulary relabelled with that name. Names the
/// reference treats alike (same expressions, same settings) share a group; each name is a test case.
/// </summary>
[TestFixture]
public sealed class ReferencePreTokenizerTests
{
    private static readonly Lazy<ReferenceData?> Data = new(ReferenceData.Load);

    /// <summary>One case per name.</summary>
    public static IEnumerable<TestCaseData> NameCases() => Data.Value is null
        ? []
        : Data.Value.Groups.SelectMany(g => g.Names.Select(n => new TestCaseData(n, g).SetArgDisplayNames(n)));

    [Test]
    public void Every_name_the_reference_knows_is_supported_and_nothing_else()
    {
        ReferenceData data = Data.Value ?? throw new AssertionException("TestData/reference-pretokenizers.json was not found beside the test sources.");

        Assert.That(ByteLevelPreTokenizer.SupportedNames, Is.EquivalentTo(data.Groups.SelectMany(g => g.Names)));
    }

    [TestCaseSource(nameof(NameCases))]
    public void Settings_match_the_reference(string name, Group group)
    {
        var pre = ByteLevelPreTokenizer.ForName(name);
        var expected = group.Settings.Split(',', StringSplitOptions.RemoveEmptyEntries);

        Assert.Multiple(() =>
        {
            Assert.That(pre.IgnoreMerges, Is.EqualTo(expected.Contains("ignore_merges")), "ignore_merges");
            Assert.That(pre.DefaultAddBos, Is.EqualTo(expected.Contains("add_bos")), "add_bos");
            Assert.That(pre.CleanSpaces, Is.EqualTo(!expected.Contains("no_clean")), "clean_spaces");
            Assert.That(pre.DefaultBosNone, Is.EqualTo(expected.Contains("bos_none")), "BOS id none");
        });
    }

    [TestCaseSource(nameof(NameCases))]
    public void Splits_words_as_the_reference(string name, Group group)
    {
        var pre = ByteLevelPreTokenizer.ForName(name);
        var codePoints = new CodePointText();
        var words = new List<int>();
        var failures = new List<string>();
        string[] texts = Data.Value!.Texts;
        for (int t = 0; t < texts.Length; t++)
        {
            codePoints.Load(texts[t]);
            pre.Split(codePoints, words, []);

            // The reference reports each word's length in UTF-8 bytes.
            var byteLengths = new List<int>();
            int start = 0;
            foreach (int length in words)
            {
                int bytes = 0;
                for (int i = start; i < start + length; i++)
                {
                    bytes += new Rune(codePoints.CodePoints[i]).Utf8SequenceLength;
                }

                byteLengths.Add(bytes);
                start += length;
            }

            string got = string.Join(",", byteLengths);
            if (got != group.Splits[t])
            {
                failures.Add($"text {t} \"{ReferenceTokenizerTests.Preview(texts[t])}\": expected words of {group.Splits[t]} bytes, got {got}");
            }
        }

        Assert.That(failures, Is.Empty);
    }

    [TestCaseSource(nameof(NameCases))]
    public void Encodes_the_gpt2_vocabulary_as_the_reference(string name, Group group)
    {
        ByteLevelBpeEncoder encoder = Gpt2EncoderFor(name);
        var failures = new List<string>();
        string[] texts = Data.Value!.Texts;
        for (int t = 0; t < texts.Length; t++)
        {
            var ids = new List<int>();
            encoder.Encode(texts[t], afterSpecialOrStart: true, ids);
            string got = string.Join(" ", ids);
            if (got != group.Gpt2Ids[t])
            {
                failures.Add($"text {t} \"{ReferenceTokenizerTests.Preview(texts[t])}\": expected {group.Gpt2Ids[t]}, got {got}");
            }
        }

        Assert.That(failures, Is.Empty);
    }

    /// <summary>The texts of <see cref="Whole_word_tokens_skip_merging_as_in_the_reference"/>.</summary>
    private static readonly string[] WholeWordTexts =
    [
        "the thing is nothing", "Hello world", "water, the other; Hello!", " the world 123 1234",
        "thinking bringing herder", "HELLO hello Hello", "the\nthe\tthe  the",
    ];

    /// <summary>
    /// Llama 3 and Tekken take a word that is a token as a whole before merging (<c>ignore_merges</c>). With every
    /// merge intact the GPT-2 vocabulary never shows it, so the merges making <c>Ġthe</c>, <c>ing</c>, <c>Hello</c>,
    /// <c>Ġworld</c>, <c>er</c> and <c>Ġ123</c> are removed: " thing" is still a token but no longer reachable by merging.
    /// The ids are the reference's for the GPT-2 vocabulary so changed.
    /// </summary>
    [TestCase("llama-bpe", new[] { "1169 1517 318 2147", "15496 995", "7050 11 262 584 26 18435 0", "262 995 220 10163 220 10163 19", "28973 6079 607 2934 81", "13909 3069 46 23748 18435", "1169 198 1169 197 1169 220 262" })]
    [TestCase("tekken", new[] { "1169 1517 318 2147", "15496 995", "7050 11 262 584 26 18435 0", "262 995 220 16 17 18 220 16 17 18 19", "28973 6079 607 2934 81", "13909 3069 46 23748 18435", "1169 198 1169 197 1169 220 262" })]
    [TestCase("gpt-2", new[] { "1169 7888 70 318 407 20079 70", "39 11109 476 335", "86 378 81 11 256 258 584 26 18435 0", "256 258 476 335 1105 18 1105 2682", "14925 259 70 865 259 1655 70 607 2934 81", "13909 3069 46 23748 18435", "1169 198 1169 197 1169 220 256 258" })]
    public void Whole_word_tokens_skip_merging_as_in_the_reference(string name, string[] expected)
    {
        string[] dropped = ["Ġthe", "ing", "Hello", "Ġworld", "er", "Ġ123"];
        using GgufFile file = GgufFile.Open(Conformance.RequireFile("tokenizer", "ggml-vocab-gpt-2.gguf"));
        var metadata = file.Metadata.Select(kv => kv.Key switch
        {
            "tokenizer.ggml.pre" => new KeyValuePair<string, GgufValue>(kv.Key, GgufValue.From(name)),
            "tokenizer.ggml.merges" => new KeyValuePair<string, GgufValue>(
                kv.Key,
                GgufValue.FromArray<string>([.. kv.Value.AsStringArray().Where(m => !dropped.Contains(m.Remove(m.IndexOf(' ', 1), 1)))])),
            _ => kv,
        }).ToList();
        var encoder = new ByteLevelBpeEncoder(GgufVocabulary.FromMetadata(new GgufMetadata(metadata)));

        var got = WholeWordTexts.Select(t =>
        {
            var ids = new List<int>();
            encoder.Encode(t, afterSpecialOrStart: true, ids);
            return string.Join(" ", ids);
        });

        Assert.That(got, Is.EqualTo(expected));
    }

    private static readonly Dictionary<string, ByteLevelBpeEncoder> Gpt2Encoders = [];

    private static ByteLevelBpeEncoder Gpt2EncoderFor(string name)
    {
        lock (Gpt2Encoders)
        {
            if (!Gpt2Encoders.TryGetValue(name, out var encoder))
            {
                using GgufFile file = GgufFile.Open(Conformance.RequireFile("tokenizer", "ggml-vocab-gpt-2.gguf"));
                var metadata = file.Metadata
                    .Select(kv => kv.Key == "tokenizer.ggml.pre" ? new KeyValuePair<string, GgufValue>(kv.Key, GgufValue.From(name)) : kv)
                    .ToList();
                encoder = new ByteLevelBpeEncoder(GgufVocabulary.FromMetadata(new GgufMetadata(metadata)));
                Gpt2Encoders.Add(name, encoder);
            }

            return encoder;
        }
    }

    /// <summary>Names the reference treats alike, with its output for each text.</summary>
    public sealed record Group(string[] Names, string Settings, string[] Splits, string[] Gpt2Ids);

    private sealed record ReferenceData(string[] Texts, Group[] Groups)
    {
        public static ReferenceData? Load()
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                string path = Path.Combine(dir.FullName, "tests", "MicroLlm.Core.Tests", "Tokenization", "Bpe", "TestData", "reference-pretokenizers.json");
                if (File.Exists(path))
                {
                    using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
                    JsonElement root = doc.RootElement;
                    string[] texts = [.. root.GetProperty("texts").EnumerateArray().Select(t => t.GetString()!)];
                    Group[] groups =
                    [
                        .. root.GetProperty("groups").EnumerateArray().Select(g => new Group(
                            [.. g.GetProperty("names").EnumerateArray().Select(n => n.GetString()!)],
                            g.GetProperty("settings").GetString()!,
                            [.. g.GetProperty("splits").EnumerateArray().Select(s => s.GetString()!)],
                            [.. g.GetProperty("gpt2Ids").EnumerateArray().Select(s => s.GetString()!)])),
                    ];
                    return new ReferenceData(texts, groups);
                }
            }

            return null;
        }
    }
}
