using MicroLlm.Core.Tests.Models;
using MicroLlm.Inference;

namespace MicroLlm.Core.Tests.Inference;

/// <summary>
/// Logits of synthetic qwen2, phi3, gemma2 and llama models (written by <see cref="MicroLlm.Models.SyntheticModel"/>)
/// against the reference runtime's (<c>TestData/arch</c>): the top-16 logits at every prompt position within 0.02 (F16)
/// or 0.05 (quantized), and the same greedy tokens, decoded one at a time, wherever the top-2 margin exceeds that.
/// The prompt is tokenized by our tokenizer, so the case also checks that the file's chat-free text gives the
/// reference's ids.
/// </summary>
public class ArchConformanceTests
{
    private static IEnumerable<TestCaseData> Cases() =>
        ArchOracle.Cases().Select(c => new TestCaseData(c.ToString()).SetName($"Arch_{c}"));

    [TestCaseSource(nameof(Cases))]
    public void MatchesReferenceLogitsAndGreedyTokens(string name)
    {
        var c = ArchOracle.Cases().Single(x => x.ToString() == name);
        using var file = c.Model.WriteTemporary();
        using var model = LanguageModel.Load(file.Path);
        float tolerance = c.Model.FileType == MicroLlm.Models.SyntheticModelFileType.F16 ? 0.02f : 0.05f;

        int[] ours = model.Tokenizer.Encode(c.Prompt, addSpecialTokens: true, parseSpecialTokens: false).ToArray();
        Assert.That(ours, Is.EqualTo(c.Tokens), "the prompt's ids");

        int vocab = model.Info.VocabularySize;
        // The reference ran with a 512-token context, which also picks Phi-3's long or short RoPE factors.
        using var session = model.CreateSession(new SessionOptions { ContextLength = 512 });
        var all = new float[c.Tokens.Length * vocab];
        session.EvaluateAll(c.Tokens, all);
        var (maxDiff, firstBad) = ReferenceLogits.Compare(all, vocab, c.Logits, tolerance);

        string summary = $"{c}: {c.Tokens.Length} positions, max |diff| {maxDiff:F5} (tolerance {tolerance})";
        TestContext.Out.WriteLine(summary);
        Assert.That(firstBad, Is.EqualTo(-1), $"{summary}; first position over the tolerance: {firstBad}");

        float[] last = all.AsSpan((c.Tokens.Length - 1) * vocab, vocab).ToArray();
        int compared = ReferenceLogits.CheckGreedy(session, last, c.Greedy, tolerance);
        TestContext.Out.WriteLine($"{compared}/{c.Greedy.Length} greedy tokens compared and equal");
    }
}
