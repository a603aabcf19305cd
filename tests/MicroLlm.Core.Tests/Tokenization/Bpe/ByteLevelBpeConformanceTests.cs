using System.Text;
using MicroLlm.Gguf;
using MicroLlm.Tokenization;

namespace MicroLlm.Tests.Tokenization.Bpe;

/// <summary>
/// Every text of the reference runtime's tokenizer tests (<c>*.gguf.inp</c>, <c>*.bn.inp</c>) for every <c>gpt2</c>
/// vocabulary in the conformance folder must give exactly the reference's ids, and decode back to its bytes.
/// </summary>
[TestFixture]
public sealed class ByteLevelBpeConformanceTests
{
    private static readonly Dictionary<string, (GgufVocabulary Vocabulary, ByteLevelBpeEncoder Encoder, UserDefinedTokenSplitter Frame)> Loaded = [];

    private static readonly Lazy<List<(string VocabPath, string Name, string Text, int[] Ids)>> AllTexts = new(FindTexts);

    /// <summary>One case per (vocabulary file, test file, text).</summary>
    public static IEnumerable<TestCaseData> Cases() =>
        AllTexts.Value.Select(t => new TestCaseData(t.VocabPath, t.Text, t.Ids).SetName($"{{m}}({t.Name})"));

    /// <summary>One case per (vocabulary file, merge path): 0 sends every word through the priority queue, <see cref="int.MaxValue"/> merges every word by scanning.</summary>
    public static IEnumerable<TestCaseData> MergePathCases() => AllTexts.Value
        .Select(t => t.VocabPath)
        .Distinct()
        .SelectMany(path => new[] { (path, 0, "queue"), (path, int.MaxValue, "scan") })
        .Select(c => new TestCaseData(c.path, c.Item2).SetArgDisplayNames(Path.GetFileName(c.path), c.Item3));

    [Test]
    public void Conformance_folder_holds_gpt2_vocabularies()
    {
        Conformance.Require();
        Assert.That(Cases().Count(), Is.GreaterThan(0), "No gpt2 vocabulary with .inp/.out tests was found under tokenizer/.");
    }

    [TestCaseSource(nameof(Cases))]
    public void Encodes_as_the_reference(string vocabPath, string text, int[] expected)
    {
        var (vocabulary, encoder, frame) = Load(vocabPath);

        List<int> ids = frame.Encode(encoder, text);

        Assert.That(ids, Is.EqualTo(expected), $"Text \"{ReferenceTokenizerTests.Preview(text)}\" with pre-tokenizer '{vocabulary.PreTokenizer ?? "(none: default)"}'.");
    }

    [TestCaseSource(nameof(Cases))]
    public void Decodes_back_to_the_text(string vocabPath, string text, int[] expected)
    {
        var (_, encoder, _) = Load(vocabPath);
        byte[] utf8 = Encoding.UTF8.GetBytes(text);

        var decoded = new List<byte>();
        foreach (int id in expected)
        {
            decoded.AddRange(encoder.TokenBytes(id).ToArray());
        }

        // Byte-level BPE is lossless where the vocabulary has a token for every byte of the text; the reference drops
        // the bytes it has no token for (Falcon lacks 0x0B, StarCoder lacks 0xF1, …), and so do its ids.
        if (utf8.All(b => HasByteToken(vocabPath, b)))
        {
            Assert.That(decoded.ToArray(), Is.EqualTo(utf8));
        }
        else
        {
            Assert.That(decoded.ToArray(), Is.EqualTo(utf8.Where(b => HasByteToken(vocabPath, b)).ToArray()), "Only the bytes without a token may be missing.");
        }
    }

    [TestCaseSource(nameof(MergePathCases))]
    public void Both_merge_paths_give_the_reference_ids(string vocabPath, int scanMergeMaxLength)
    {
        var (vocabulary, _, frame) = Load(vocabPath);
        var encoder = new ByteLevelBpeEncoder(vocabulary, scanMergeMaxLength);
        var failures = new List<string>();
        foreach (var (_, _, text, expected) in AllTexts.Value.Where(t => t.VocabPath == vocabPath))
        {
            if (!frame.Encode(encoder, text).SequenceEqual(expected))
            {
                failures.Add(ReferenceTokenizerTests.Preview(text));
            }
        }

        Assert.That(failures, Is.Empty);
    }

    [Test]
    public void One_encoder_serves_many_threads_at_once()
    {
        Conformance.Require();
        var texts = AllTexts.Value;
        Assume.That(texts, Is.Not.Empty);
        var encoders = texts.Select(t => t.VocabPath).Distinct().ToDictionary(p => p, p => new ByteLevelBpeEncoder(Load(p).Vocabulary));
        var failures = new System.Collections.Concurrent.ConcurrentBag<string>();

        // Every thread runs every text many times over, in its own order, on shared encoders (and their shared word caches).
        Parallel.For(0, 8, new ParallelOptions { MaxDegreeOfParallelism = 8 }, thread =>
        {
            var rng = new Random(thread);
            for (int round = 0; round < 20; round++)
            {
                foreach (var (vocabPath, name, text, expected) in texts.OrderBy(_ => rng.Next()))
                {
                    var ids = Load(vocabPath).Frame.Encode(encoders[vocabPath], text);
                    if (!ids.SequenceEqual(expected))
                    {
                        failures.Add(name);
                    }
                }
            }
        });

        Assert.That(failures.Distinct(), Is.Empty);
    }

    private static List<(string VocabPath, string Name, string Text, int[] Ids)> FindTexts()
    {
        var found = new List<(string, string, string, int[])>();
        foreach (string vocabPath in Conformance.Files("tokenizer", "ggml-vocab-*.gguf"))
        {
            using (GgufFile file = GgufFile.Open(vocabPath))
            {
                if (file.Metadata.GetString("tokenizer.ggml.model") != "gpt2")
                {
                    continue;
                }
            }

            string vocab = Path.GetFileNameWithoutExtension(vocabPath)["ggml-vocab-".Length..];
            foreach (string inputPath in new[] { vocabPath + ".inp", Path.ChangeExtension(vocabPath, ".bn.inp") }.Where(File.Exists))
            {
                string set = inputPath.EndsWith(".bn.inp", StringComparison.Ordinal) ? "bn" : "gguf";
                var tests = ReferenceTokenizerTests.Read(inputPath);
                for (int i = 0; i < tests.Count; i++)
                {
                    found.Add((vocabPath, $"{vocab} {set} {i:D2} \"{ReferenceTokenizerTests.Preview(tests[i].Text)}\"", tests[i].Text, tests[i].Ids));
                }
            }
        }

        return found;
    }

    private static bool HasByteToken(string vocabPath, byte b) =>
        Load(vocabPath).Vocabulary.TryGetId(ByteLevelAlphabetChar(b), out _);

    private static string ByteLevelAlphabetChar(byte b) => MicroLlm.Tokenization.Bpe.ByteLevelAlphabet.ToChar(b).ToString();

    private static (GgufVocabulary Vocabulary, ByteLevelBpeEncoder Encoder, UserDefinedTokenSplitter Frame) Load(string vocabPath)
    {
        lock (Loaded)
        {
            if (!Loaded.TryGetValue(vocabPath, out var loaded))
            {
                using GgufFile file = GgufFile.Open(vocabPath);
                var vocabulary = GgufVocabulary.FromMetadata(file.Metadata);
                loaded = (vocabulary, new ByteLevelBpeEncoder(vocabulary), new UserDefinedTokenSplitter(vocabulary));
                Loaded.Add(vocabPath, loaded);
            }

            return loaded;
        }
    }
}
