using MicroLlm.Inference;
using MicroLlm.Tests;

namespace MicroLlm.Core.Tests.Inference;

/// <summary>
/// The decode loop allocates nothing per token once warm (issue 6): run state, scratch and the pool's per-thread
/// buffers are made once. Measured on the calling thread, which takes its share of every pooled product.
/// </summary>
public class DecodeAllocationTests
{
    [TestCase("tiny-llama-q4_0.gguf")]
    [TestCase("tiny-llama-q4_k_m.gguf")]
    [TestCase("tiny-llama-f16.gguf")]
    public void DecodeStepsAllocateNothing(string file) => AssertDecodeAllocatesNothing(Conformance.RequireFile("models", file), file);

    [Test]
    public async Task BFloat16DecodeStepsAllocateNothing()
    {
        // No BF16 conformance file: the same tiny-llama shape written here (BF16 kernels: activations split per call).
        string path = Path.Combine(Path.GetTempPath(), $"decode-alloc-{Guid.NewGuid():N}-bf16.gguf");
        try
        {
            await MicroLlm.Models.SyntheticModel.WriteAsync(new MicroLlm.Models.SyntheticModelOptions(MicroLlm.Models.SyntheticModelShape.Presets["tiny-llama"]) { FileType = MicroLlm.Models.SyntheticModelFileType.BF16, Seed = 3 }, path);
            AssertDecodeAllocatesNothing(path, "tiny-llama BF16");
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static void AssertDecodeAllocatesNothing(string path, string file)
    {
        using var model = LanguageModel.Load(path, new LanguageModelOptions { ThreadCount = 2 });
        using var session = model.CreateSession(new SessionOptions { ContextLength = 256 });
        int[] prompt = [.. Enumerable.Range(0, 40).Select(i => ((i * 37) + 11) % 500 + 3)];
        session.Evaluate(prompt);
        var token = new int[1];

        // Warm: tiered JIT, the pool's per-thread buffers, and the session's token list past its last doubling below
        // 256 (at 129 tokens), so the 64 measured steps (140 to 204 tokens) see no amortized growth.
        for (int i = 0; i < 100; i++)
        {
            token[0] = (i * 13 % 400) + 5;
            session.Evaluate(token);
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 64; i++)
        {
            token[0] = (i * 17 % 400) + 5;
            session.Evaluate(token);
        }

        long perToken = (GC.GetAllocatedBytesForCurrentThread() - before) / 64;
        Assert.That(perToken, Is.Zero, $"{file}: bytes allocated per decode step");
    }
}
