using MicroLlm.Inference;
using MicroLlm.Tests;

namespace MicroLlm.Core.Tests.Inference;

/// <summary>The bench's figures hang together: bandwidth from the probe passes between decode rounds, ratio from both.</summary>
public class ModelBenchmarkTests
{
    [Test]
    public void FiguresComeFromTheSameRun()
    {
        using var model = LanguageModel.Load(Conformance.RequireFile("models", "tiny-llama-q4_0.gguf"), new LanguageModelOptions { ThreadCount = 2 });
        var r = ModelBenchmark.Run(model, new ModelBenchmarkOptions { PromptTokens = 8, GenerationTokens = 6, DecodeRounds = 3, BandwidthProbeBytes = 8L << 20 });

        Assert.That(r.PromptTokensPerSecond, Is.GreaterThan(0));
        Assert.That(r.GenerationTokensPerSecond, Is.GreaterThan(0));
        Assert.That(r.BandwidthMinGBps, Is.GreaterThan(0));
        Assert.That(r.BandwidthGBps, Is.InRange(r.BandwidthMinGBps, r.BandwidthMaxGBps), "the median lies between the slowest and the fastest pass");
        Assert.That(r.WeightBytes, Is.EqualTo(model.Info.WeightBytes));
        Assert.That(r.RooflineTokensPerSecond, Is.EqualTo(r.BandwidthGBps * 1e9 / r.WeightBytes).Within(1e-9).Percent);
        Assert.That(r.RooflineRatio, Is.EqualTo(r.GenerationTokensPerSecond / r.RooflineTokensPerSecond).Within(1e-9).Percent);
        Assert.That(r.Threads, Is.EqualTo(2));

        // The peak counts the mapped weights the run touched (the probe buffer is left out).
        Assert.That(r.PeakRssBytes, Is.GreaterThan(model.Info.WeightBytes / 2));
    }

    [Test]
    public void PrefillOnlyStillMeasuresTheBandwidth()
    {
        using var model = LanguageModel.Load(Conformance.RequireFile("models", "tiny-llama-q4_0.gguf"), new LanguageModelOptions { ThreadCount = 1 });
        var r = ModelBenchmark.Run(model, new ModelBenchmarkOptions { PromptTokens = 4, GenerationTokens = 0, BandwidthProbeBytes = 4L << 20 });
        Assert.That(r.GenerationTokensPerSecond, Is.Zero);
        Assert.That(r.RooflineRatio, Is.Zero);
        Assert.That(r.BandwidthGBps, Is.GreaterThan(0));
    }

    [TestCase(0, 1L << 20, 1)]
    [TestCase(4, 1L << 10, 1)]
    [TestCase(4, 1L << 20, 0)]
    public void BadOptionsAreRefusedWithTheirName(int rounds, long probeBytes, int repetitions)
    {
        using var model = LanguageModel.Load(Conformance.RequireFile("models", "tiny-llama-q4_0.gguf"), new LanguageModelOptions { ThreadCount = 1 });
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => ModelBenchmark.Run(model, new ModelBenchmarkOptions { PromptTokens = 1, GenerationTokens = 1, DecodeRounds = rounds, BandwidthProbeBytes = probeBytes, PromptRepetitions = repetitions }));
        Assert.That(e!.ParamName, Is.EqualTo("options"));
    }
}
