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

    /// <summary>One case per (vocabulary file, test file, text).</summary>
    public static IEnumerable<TestCaseData> Cases()
    {
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
                    yield return new TestCaseData(vocabPath, tests[i].Text, tests[i].Ids)
                        .SetName($"{{m}}({vocab} {set} {i:D2} \"{ReferenceTokenizerTests.Preview(tests[i].Text)}\")");
                }
            }
        }
    }

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
