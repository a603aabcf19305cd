using System.Text.Json;
using MicroLlm.Inference;
using MicroLlm.Tests;

namespace MicroLlm.Core.Tests.Inference;

/// <summary>
/// Logits of the tiny llama conformance model against the reference runtime's: top-64 at every prompt position
/// within 0.02 (F16) or 0.05 (quantized), and the same greedy tokens wherever the top-2 margin exceeds that.
/// </summary>
public class ModelConformanceTests
{
    /// <summary>
    /// Cases that do not meet the bound yet, with what was measured (none today). On this random-weight model a single
    /// activation element that rounds to the neighbouring Q8_K/Q8_0 step (because our float sums differ from the
    /// reference's in the last bit) moves logits by up to 0.08, so the runtime reproduces the reference's float order
    /// (see <c>MicroLlm.Numerics.ReferenceDot</c>); the quantized cases then agree to the JSON's printed precision.
    /// </summary>
    private static readonly Dictionary<string, string> KnownDivergence = [];

    private static IEnumerable<TestCaseData> Cases()
    {
        foreach (string quant in new[] { "f16", "q8_0", "q4_0", "q4_k_m", "q5_k_m", "q6_k" })
        {
            foreach (string lang in new[] { "en", "bn" })
            {
                yield return new TestCaseData(quant, lang).SetName($"Logits_{quant}_{lang}");
            }
        }
    }

    [TestCaseSource(nameof(Cases))]
    public void MatchesReferenceLogitsAndGreedyTokens(string quant, string lang)
    {
        string path = Conformance.RequireFile("models", $"tiny-llama-{quant}.gguf");
        using var json = JsonDocument.Parse(File.ReadAllText(Conformance.RequireFile("models", $"tiny-llama-{quant}.{lang}.json")));
        var root = json.RootElement;
        int[] tokens = root.GetProperty("tokens").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        int[] greedy = root.GetProperty("greedy").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        var reference = root.GetProperty("logits").EnumerateArray()
            .Select(position => position.EnumerateArray().Select(pair => (pair[0].GetInt32(), pair[1].GetSingle())).ToArray()).ToArray();
        float tolerance = quant == "f16" ? 0.02f : 0.05f;

        using var model = LanguageModel.Load(path);
        int vocab = model.Info.VocabularySize;
        using var session = model.CreateSession(new SessionOptions { ContextLength = tokens.Length + greedy.Length + 1 });
        var all = new float[tokens.Length * vocab];
        session.EvaluateAll(tokens, all);
        var (maxDiff, firstBad) = ReferenceLogits.Compare(all, vocab, reference, tolerance);

        string summary = $"{quant}/{lang}: {tokens.Length} positions, max |diff| {maxDiff:F4} (tolerance {tolerance})";
        TestContext.Out.WriteLine(summary);
        if (firstBad >= 0 && KnownDivergence.TryGetValue($"{quant}/{lang}", out string? known))
        {
            Assert.Ignore($"KNOWN DIVERGENCE ({known}): {summary}, first over at position {firstBad}.");
        }

        Assert.That(firstBad, Is.EqualTo(-1), $"{summary}; first position over the tolerance: {firstBad}");
        Assert.That(KnownDivergence.ContainsKey($"{quant}/{lang}"), Is.False, "This case now passes: remove it from KnownDivergence.");

        float[] last = all.AsSpan((tokens.Length - 1) * vocab, vocab).ToArray();
        int compared = ReferenceLogits.CheckGreedy(session, last, greedy, tolerance);
        TestContext.Out.WriteLine($"{compared}/{greedy.Length} greedy tokens compared and equal");
    }
}
