using System.Text;
using MicroLlm.Gguf;
using MicroLlm.Tests.Tokenization.Bpe;
using MicroLlm.Tokenization;
using MicroLlm.Tokenization.Bpe;

namespace MicroLlm.Tests.Tokenization;

/// <summary>
/// Every text of the reference runtime's tokenizer tests (<c>*.gguf.inp</c>, <c>*.bn.inp</c>) for every vocabulary in
/// the conformance folder must give exactly the reference's ids through <see cref="GgufTokenizer"/> (no BOS, special
/// tokens not parsed, as the reference's test-tokenizer-0 runs them), and decode back to the text where the vocabulary
/// type is lossless.
/// </summary>
[TestFixture]
public sealed class GgufTokenizerConformanceTests
{
    private static readonly Dictionary<string, (GgufMetadata Metadata, GgufTokenizer Tokenizer)> Loaded = [];

    private static readonly Lazy<List<(string VocabPath, string Model, string Name, string Text, int[] Ids)>> AllTexts = new(FindTexts);

    /// <summary>One case per (vocabulary file, test file, text).</summary>
    public static IEnumerable<TestCaseData> Cases() =>
        AllTexts.Value.Select(t => new TestCaseData(t.VocabPath, t.Text, t.Ids).SetName($"{{m}}({t.Name})"));

    /// <summary>One case per vocabulary file.</summary>
    public static IEnumerable<TestCaseData> Vocabularies() =>
        AllTexts.Value.Select(t => t.VocabPath).Distinct().Select(p => new TestCaseData(p).SetArgDisplayNames(Path.GetFileName(p)));

    /// <summary>One case per (gpt2 vocabulary file, merge path): 0 sends every word through the priority queue, <see cref="int.MaxValue"/> merges every word by scanning.</summary>
    public static IEnumerable<TestCaseData> MergePathCases() => AllTexts.Value
        .Where(t => t.Model == "gpt2")
        .Select(t => t.VocabPath)
        .Distinct()
        .SelectMany(path => new[] { (path, 0, "queue"), (path, int.MaxValue, "scan") })
        .Select(c => new TestCaseData(c.path, c.Item2).SetArgDisplayNames(Path.GetFileName(c.path), c.Item3));

    [Test]
    public void Conformance_folder_holds_every_vocabulary_type_with_its_texts()
    {
        Conformance.Require();
        var models = AllTexts.Value.Select(t => t.Model).Distinct().Order().ToArray();
        Assert.That(models, Is.EqualTo(new[] { "bert", "gpt2", "llama" }), "Expected .inp/.out tests for llama, gpt2 and bert vocabularies under tokenizer/.");
        int vocabularies = Conformance.Files("tokenizer", "ggml-vocab-*.gguf").Count();
        Assert.That(Vocabularies().Count(), Is.EqualTo(vocabularies), "Every vocabulary file has tests.");
    }

    [TestCaseSource(nameof(Cases))]
    public void Encodes_as_the_reference(string vocabPath, string text, int[] expected)
    {
        var (metadata, tokenizer) = Load(vocabPath);

        var ids = tokenizer.Encode(text, addSpecialTokens: false, parseSpecialTokens: false);

        Assert.That(ids, Is.EqualTo(expected), $"Text \"{ReferenceTokenizerTests.Preview(text)}\", model {tokenizer.Vocabulary.Model}, pre-tokenizer '{metadata.GetString("tokenizer.ggml.pre") ?? "(none)"}'.");
    }

    [TestCaseSource(nameof(Cases))]
    public void Decodes_back_to_the_text_where_lossless(string vocabPath, string text, int[] expected)
    {
        var (_, tokenizer) = Load(vocabPath);
        string decoded = tokenizer.Decode(expected);
        switch (tokenizer.Vocabulary.Model)
        {
            case "llama":
                // SentencePiece with byte fallback keeps every byte; the space prefix comes off again.
                Assert.That(decoded, Is.EqualTo(text));
                break;
            case "gpt2":
                // Byte-level BPE is lossless where the vocabulary has a token for every byte of the text; the reference
                // drops the bytes it has no token for (Falcon lacks 0x0B, StarCoder lacks 0xF1, …), and so do its ids.
                byte[] utf8 = Encoding.UTF8.GetBytes(text);
                byte[] kept = [.. utf8.Where(b => tokenizer.Vocabulary.TryGetId(ByteLevelAlphabet.ToChar(b).ToString(), out _))];
                byte[] bytes = [.. expected.SelectMany(id => tokenizer.GetTokenBytes(id).ToArray())];
                Assert.That(bytes, Is.EqualTo(kept), kept.Length == utf8.Length ? "Lossless." : "Only the bytes without a token may be missing.");
                if (kept.Length == utf8.Length)
                {
                    Assert.That(decoded, Is.EqualTo(text));
                }

                break;
            default:
                // WordPiece keeps neither case, accents nor white space, but what it keeps it keeps exactly: the decoded
                // text encodes to the same ids (words it could not cover decode as "[UNK]", read back as that token).
                Assert.That(tokenizer.Encode(decoded, addSpecialTokens: false, parseSpecialTokens: true), Is.EqualTo(expected), $"Decoded: \"{ReferenceTokenizerTests.Preview(decoded)}\"");
                break;
        }
    }

    [TestCaseSource(nameof(Vocabularies))]
    public void Tokenizer_api_gives_the_same_ids_with_offsets_into_the_text(string vocabPath)
    {
        var (_, tokenizer) = Load(vocabPath);
        foreach (var (_, _, name, text, expected) in AllTexts.Value.Where(t => t.VocabPath == vocabPath))
        {
            var withSpecial = tokenizer.Encode(text);
            var tokens = tokenizer.EncodeToTokens(text, out string? normalized);
            Assert.Multiple(() =>
            {
                Assert.That(normalized, Is.Null, name);
                Assert.That(tokenizer.EncodeToIds(text), Is.EqualTo(withSpecial), name);
                Assert.That(tokens.Select(t => t.Id), Is.EqualTo(withSpecial), name);
                Assert.That(tokenizer.CountTokens(text), Is.EqualTo(withSpecial.Count), name);
                Assert.That(withSpecial.Where(id => id != tokenizer.BeginningOfSentenceId || expected.Contains(id)), Is.SupersetOf(expected.Distinct()), name);
            });

            int previousEnd = 0;
            foreach (var token in tokens)
            {
                var (start, length) = token.Offset.GetOffsetAndLength(text.Length);
                Assert.That(start, Is.GreaterThanOrEqualTo(previousEnd == 0 ? 0 : Math.Min(previousEnd, start)), name);
                Assert.That(token.Value, Is.EqualTo(tokenizer.Vocabulary.Tokens[token.Id]), name);
                if (tokenizer.Vocabulary.Model != "bert" && length > 0)
                {
                    // The token's bytes lie within the bytes of the characters it covers (a leading space prefix aside).
                    byte[] covered = Encoding.UTF8.GetBytes(text.Substring(start, length));
                    byte[] piece = tokenizer.GetTokenBytes(token.Id).ToArray();
                    string pieceText = Encoding.UTF8.GetString(piece);
                    Assert.That(Encoding.UTF8.GetString(covered).Contains(pieceText.TrimStart(' '), StringComparison.Ordinal) || covered.AsSpan().IndexOf(piece) >= 0, Is.True, $"{name}: token {token.Id} '{token.Value}' at {start}+{length}");
                }

                previousEnd = start + length;
            }
        }
    }

    [TestCaseSource(nameof(MergePathCases))]
    public void Both_merge_paths_give_the_reference_ids(string vocabPath, int scanMergeMaxLength)
    {
        var tokenizer = GgufTokenizer.Create(Load(vocabPath).Metadata, scanMergeMaxLength);
        var failures = new List<string>();
        foreach (var (_, _, name, text, expected) in AllTexts.Value.Where(t => t.VocabPath == vocabPath))
        {
            if (!tokenizer.Encode(text, addSpecialTokens: false, parseSpecialTokens: false).SequenceEqual(expected))
            {
                failures.Add(name);
            }
        }

        Assert.That(failures, Is.Empty);
    }

    [Test]
    public void One_tokenizer_serves_many_threads_at_once()
    {
        Conformance.Require();
        var texts = AllTexts.Value;
        Assume.That(texts, Is.Not.Empty);
        var failures = new System.Collections.Concurrent.ConcurrentBag<string>();

        // Every thread runs every text several times over, in its own order, on shared tokenizers (and their shared caches).
        Parallel.For(0, 8, new ParallelOptions { MaxDegreeOfParallelism = 8 }, thread =>
        {
            var rng = new Random(thread);
            for (int round = 0; round < 5; round++)
            {
                foreach (var (vocabPath, _, name, text, expected) in texts.OrderBy(_ => rng.Next()))
                {
                    if (!Load(vocabPath).Tokenizer.Encode(text, false, false).SequenceEqual(expected))
                    {
                        failures.Add(name);
                    }
                }
            }
        });

        Assert.That(failures.Distinct(), Is.Empty);
    }

    private static List<(string VocabPath, string Model, string Name, string Text, int[] Ids)> FindTexts()
    {
        var found = new List<(string, string, string, string, int[])>();
        foreach (string vocabPath in Conformance.Files("tokenizer", "ggml-vocab-*.gguf"))
        {
            string model;
            using (GgufFile file = GgufFile.Open(vocabPath))
            {
                model = file.Metadata.GetString("tokenizer.ggml.model") ?? "(none)";
            }

            string vocab = Path.GetFileNameWithoutExtension(vocabPath)["ggml-vocab-".Length..];
            foreach (string inputPath in new[] { vocabPath + ".inp", Path.ChangeExtension(vocabPath, ".bn.inp") }.Where(File.Exists))
            {
                string set = inputPath.EndsWith(".bn.inp", StringComparison.Ordinal) ? "bn" : "gguf";
                var tests = ReferenceTokenizerTests.Read(inputPath);
                for (int i = 0; i < tests.Count; i++)
                {
                    found.Add((vocabPath, model, $"{vocab} {set} {i:D2} \"{ReferenceTokenizerTests.Preview(tests[i].Text)}\"", tests[i].Text, tests[i].Ids));
                }
            }
        }

        return found;
    }

    internal static (GgufMetadata Metadata, GgufTokenizer Tokenizer) Load(string vocabPath)
    {
        lock (Loaded)
        {
            if (!Loaded.TryGetValue(vocabPath, out var loaded))
            {
                // The metadata stays valid after the file is closed: it is read into memory.
                using GgufFile file = GgufFile.Open(vocabPath);
                loaded = (file.Metadata, GgufTokenizer.Create(file));
                Loaded.Add(vocabPath, loaded);
            }

            return loaded;
        }
    }
}
