using MicroLlm.Inference;
using MicroLlm.Tests;

namespace MicroLlm.Core.Tests.Inference;

/// <summary>
/// A prompt longer than <c>TransformerState.MaxBatch</c> is split into batches; the batch buffers are sized lazily for
/// the largest batch seen. Every split must give the same bits: the whole prompt at once, then in pieces of 7 after a
/// decode has sized the buffers for one token.
/// </summary>
public class BatchSplitTests
{
    [TestCase("tiny-llama-q4_0.gguf")]
    [TestCase("tiny-llama-f16.gguf")]
    public void LongPromptsGiveTheSameLogitsWhateverTheSplit(string file)
    {
        using var model = LanguageModel.Load(Conformance.RequireFile("models", file), new LanguageModelOptions { ThreadCount = 2 });
        int[] prompt = [.. Enumerable.Range(0, TransformerState.MaxBatch + 45).Select(i => ((i * 37) + 11) % 500 + 3)];

        using var whole = model.CreateSession(new SessionOptions { ContextLength = 512 });
        float[] expected = whole.Evaluate(prompt).ToArray();

        using var pieces = model.CreateSession(new SessionOptions { ContextLength = 512 });
        float[] actual = [];
        pieces.Evaluate(prompt.AsSpan(0, 1));
        for (int start = 1; start < prompt.Length; start += 7)
        {
            actual = pieces.Evaluate(prompt.AsSpan(start, Math.Min(7, prompt.Length - start))).ToArray();
        }

        Assert.That(actual.Select(BitConverter.SingleToUInt32Bits), Is.EqualTo(expected.Select(BitConverter.SingleToUInt32Bits)));
    }
}
