using System.Security.Cryptography;
using MicroLlm.Gguf;
using MicroLlm.Models;
using MicroLlm.Tests;
using MicroLlm.Tokenization;

namespace MicroLlm.Core.Tests.Models;

/// <summary>
/// The reference logits in <c>TestData/arch</c> apply to the files our writer makes: each model is written again and
/// must have the SHA-256 the reference runtime was given; the prompts' tokens are our tokenizer's; and our llama
/// writer makes the conformance models' structure.
/// </summary>
public class ArchOracleDataTests
{
    private static IEnumerable<TestCaseData> Models() =>
        ArchOracle.Models.Select(m => new TestCaseData(m.File).SetName($"Rewrites_{m.File}"));

    [TestCaseSource(nameof(Models))]
    public void TheWriterRewritesTheFileTheReferenceEvaluated(string file)
    {
        var model = ArchOracle.Models.Single(m => m.File == file);
        using var stream = new MemoryStream();
        SyntheticModel.WriteAsync(model.Options(), stream).GetAwaiter().GetResult();
        Assert.That(Convert.ToHexStringLower(SHA256.HashData(stream.ToArray())), Is.EqualTo(model.Sha256),
            $"{model.File} is no longer the file the reference evaluated: regenerate TestData/arch (docs/DEVELOPERS.md) or restore the writer");
    }

    [Test]
    public void EveryModelHasBothPromptsAndWellFormedData()
    {
        var cases = ArchOracle.Cases().ToList();
        foreach (var model in ArchOracle.Models)
        {
            // Every model has the English and the Bangla prompt; the RoPE-scaling models also a ~400-token one, where
            // their frequency factors change the low-frequency rotations enough to show.
            var languages = cases.Where(c => c.Model == model).Select(c => c.Language).ToList();
            Assert.That(languages, Does.Contain("en").And.Contain("bn"), model.File);
            bool scaled = SyntheticModelShape.Presets[model.Shape] is { Llama3RopeFactor: not null } or { LinearRopeScaling: not null } or { LongRopeOriginalContext: not null };
            Assert.That(languages.Contains("long"), Is.EqualTo(scaled), model.File);
        }

        Assert.That(cases.Where(c => c.Language == "long").Select(c => c.Tokens.Length), Is.All.GreaterThan(400));
        foreach (var c in cases)
        {
            Assert.That(c.Logits, Has.Length.EqualTo(c.Tokens.Length), c.ToString());
            Assert.That(c.Greedy, Has.Length.EqualTo(16), c.ToString());
            foreach (var position in c.Logits)
            {
                Assert.That(position, Has.Length.EqualTo(16), c.ToString());
                Assert.That(position.Select(p => p.Logit), Is.Ordered.Descending, c.ToString());
            }
        }

        Assert.That(cases.Select(c => SyntheticModelShape.Presets[c.Model.Shape].Architecture).Distinct(), Is.EquivalentTo(new[] { "qwen2", "phi3", "gemma2", "llama" }));
    }

    [Test]
    public void PromptTokensAreOurTokenizers()
    {
        foreach (var group in ArchOracle.Cases().GroupBy(c => c.Model.Vocabulary))
        {
            using var vocabulary = GgufFile.Open(Conformance.RequireFile(group.Key.Split('/')));
            var tokenizer = GgufTokenizer.Create(vocabulary);
            foreach (var c in group)
            {
                Assert.That(tokenizer.Encode(c.Prompt, addSpecialTokens: true, parseSpecialTokens: false), Is.EqualTo(c.Tokens), c.ToString());
            }
        }
    }

    [Test]
    public void OurLlamaHasTheConformanceModelsStructure()
    {
        var ours = ArchOracle.Models.Single(m => m.File == "tiny-llama-f16.gguf");
        using var stream = new MemoryStream();
        SyntheticModel.WriteAsync(ours.Options(), stream).GetAwaiter().GetResult();
        using var mine = GgufFile.FromMemory(stream.ToArray());
        using var shared = GgufFile.Open(Conformance.RequireFile("models", "tiny-llama-f16.gguf"));

        static string Describe(GgufTensorInfo t) => $"{t.Name} {t.Type} [{string.Join(", ", t.Dimensions)}]";
        Assert.That(mine.Tensors.Select(Describe).Order(StringComparer.Ordinal), Is.EqualTo(shared.Tensors.Select(Describe).Order(StringComparer.Ordinal)));
        foreach (var kv in shared.Metadata.Where(kv => kv.Key.StartsWith("llama.", StringComparison.Ordinal) && kv.Key != "llama.vocab_size"))
        {
            Assert.That(mine.Metadata.TryGetValue(kv.Key, out var value), Is.True, kv.Key);
            Assert.That(value!.RawValue, Is.EqualTo(kv.Value.RawValue), kv.Key);
        }

        foreach (var kv in shared.Metadata.Where(kv => kv.Key.StartsWith("tokenizer.", StringComparison.Ordinal)))
        {
            Assert.That(mine.Metadata[kv.Key].RawValue, Is.EqualTo(kv.Value.RawValue), kv.Key);
        }
    }
}
