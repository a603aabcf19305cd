using MicroLlm.Gguf;
using MicroLlm.Quantization;
using MicroLlm.Tests;

namespace MicroLlm.Core.Tests.Quantization;

/// <summary>
/// The conformance models are one random model quantized by the reference runtime in six ways. Every tensor of each
/// quantized file, decoded, must stay close to the same tensor of the F16 file: this proves the decoders read the
/// layouts real files use (the K-quant mixes place Q4_K, Q5_K and Q6_K tensors, and Q8_0 or F32 for some).
/// </summary>
public class ConformanceModelTests
{
    /// <summary>The largest relative RMS error allowed against the F16 decode, per stored type: about 1.5 times what
    /// the reference's quantization of these weights gives (types the files lack: what their bits allow), and far
    /// below what a misread layout gives (0.25 for one group in sixteen read wrong, about 1 for a whole block).</summary>
    private static readonly Dictionary<GgmlType, double> Bounds = new()
    {
        [GgmlType.F32] = 1e-3, // norms: F32 in every file
        [GgmlType.F16] = 1e-3,
        [GgmlType.Q8_0] = 0.008,
        [GgmlType.Q6_K] = 0.027,
        [GgmlType.Q5_K] = 0.055,
        [GgmlType.Q5_0] = 0.07,
        [GgmlType.Q5_1] = 0.06,
        [GgmlType.Q4_K] = 0.11,
        [GgmlType.Q4_0] = 0.13,
        [GgmlType.Q4_1] = 0.11,
        [GgmlType.Q3_K] = 0.22,
        [GgmlType.Q2_K] = 0.45,
    };

    [TestCase("q8_0")]
    [TestCase("q6_k")]
    [TestCase("q5_k_m")]
    [TestCase("q4_k_m")]
    [TestCase("q4_0")]
    public void EveryTensorDecodesCloseToTheF16Model(string variant)
    {
        using var f16 = GgufFile.Open(Conformance.RequireFile("models", "tiny-llama-f16.gguf"));
        using var quantized = GgufFile.Open(Conformance.RequireFile("models", $"tiny-llama-{variant}.gguf"));
        Assert.That(quantized.Tensors.Select(t => t.Name), Is.EquivalentTo(f16.Tensors.Select(t => t.Name)));

        var worst = new Dictionary<GgmlType, (double Rms, string Tensor, int Count)>();
        foreach (var tensor in quantized.Tensors)
        {
            var reference = f16.GetTensor(tensor.Name);
            Assert.That(tensor.Dimensions, Is.EqualTo(reference.Dimensions), tensor.Name);
            Assert.That(Dequantizer.IsSupported(tensor.Type), $"{tensor.Name} is {tensor.Type}");

            float[] expected = Decode(f16, reference);
            float[] actual = Decode(quantized, tensor);
            double rms = QuantizerTests.RelativeRms(actual, expected);
            Assert.That(rms, Is.LessThanOrEqualTo(Bounds[tensor.Type]), $"{tensor.Name} ({tensor.Type}) against F16");

            var (was, name, count) = worst.GetValueOrDefault(tensor.Type, (-1, "", 0));
            worst[tensor.Type] = rms > was ? (rms, tensor.Name, count + 1) : (was, name, count + 1);
        }

        foreach (var (type, (rms, name, count)) in worst.OrderBy(kv => kv.Key))
        {
            TestContext.Out.WriteLine($"{variant}: {count,2} {type} tensors, worst relative RMS {rms:F5} ({name})");
        }

        Assert.That(worst.Keys.Any(t => t is not (GgmlType.F32 or GgmlType.F16)), "the file holds quantized tensors");
    }

    [Test]
    public void TheF16ModelDecodesExactly()
    {
        // F16 decoding is exact, so re-encoding the decoded weights gives the file's bytes back.
        using var f16 = GgufFile.Open(Conformance.RequireFile("models", "tiny-llama-f16.gguf"));
        foreach (var tensor in f16.Tensors.Where(t => t.Type == GgmlType.F16))
        {
            float[] values = Decode(f16, tensor);
            var bytes = new byte[tensor.ByteCount];
            Quantizer.Quantize(GgmlType.F16, values, bytes);
            Assert.That(bytes.AsSpan().SequenceEqual(f16.GetTensorData(tensor)), tensor.Name);
        }
    }

    private static float[] Decode(GgufFile file, GgufTensorInfo tensor)
    {
        var values = new float[tensor.ElementCount];
        Dequantizer.Dequantize(tensor.Type, file.GetTensorData(tensor), values);
        return values;
    }
}
