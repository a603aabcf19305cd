using MicroLlm.Gguf;
using MicroLlm.Kernels;
using MicroLlm.Quantization;

namespace MicroLlm.Core.Tests.Kernels;

/// <summary>Activation rounding at every width gives the reference runtime's x86 bytes.</summary>
public class ActivationQuantizerTests
{
    private static float[] Input(int n, int seed)
    {
        var x = KernelTestData.Activations(n, seed);
        // Exact ties for Q8_0's multiplier: a block whose largest value is 127 gives x * 1 = x.
        for (int i = 0; i < 32; i++)
        {
            x[i] = (i - 16) + 0.5f;
        }

        x[0] = 127f;
        return x;
    }

    [Test]
    public void Q8_KMatchesTheReferenceQuantizerAtEveryWidth()
    {
        // x86 ggml quantizes Q8_K activations with quantize_row_q8_K_ref, which Quantizer reproduces.
        float[] x = Input(2048, 1);
        x[300] = -x.Max(MathF.Abs) * 2; // the negative extreme decides the sign of the scale
        var expected = new byte[ActivationQuantizer.ByteCount(GgmlType.Q8_K, x.Length)];
        Quantizer.Quantize(GgmlType.Q8_K, x, expected);
        foreach (var width in Kernel.Supported)
        {
            var actual = new byte[expected.Length];
            ActivationQuantizer.Quantize(GgmlType.Q8_K, x, actual, width);
            Assert.That(actual, Is.EqualTo(expected), width.ToString());
        }
    }

    [Test]
    public void Q8_0FollowsTheAvx2QuantizerAtEveryWidth()
    {
        float[] x = Input(4096, 2);
        var expected = new byte[ActivationQuantizer.ByteCount(GgmlType.Q8_0, x.Length)];
        for (int b = 0; b < x.Length / 32; b++)
        {
            // ggml-cpu quantize_row_q8_0, AVX2 branch: d = amax / 127, multiplier 127 / amax, _mm256_round_ps nearest.
            var block = x.AsSpan(b * 32, 32);
            float amax = 0;
            foreach (float v in block)
            {
                amax = MathF.Max(amax, MathF.Abs(v));
            }

            BitConverter.TryWriteBytes(expected.AsSpan(b * 34), BitConverter.HalfToUInt16Bits((Half)(amax / 127f)));
            float id = amax != 0 ? 127f / amax : 0f;
            for (int i = 0; i < 32; i++)
            {
                expected[(b * 34) + 2 + i] = unchecked((byte)(sbyte)MathF.Round(block[i] * id, MidpointRounding.ToEven));
            }
        }

        // The ties of block 0 round to even here, away from zero in the portable reference quantizer.
        Assert.That((sbyte)expected[2 + 1], Is.EqualTo(-14), "-14.5 rounds to even");
        var reference = new byte[expected.Length];
        Quantizer.Quantize(GgmlType.Q8_0, x, reference);
        Assert.That((sbyte)reference[2 + 1], Is.EqualTo(-15), "the _ref quantizer rounds -14.5 away from zero");

        foreach (var width in Kernel.Supported)
        {
            var actual = new byte[expected.Length];
            ActivationQuantizer.Quantize(GgmlType.Q8_0, x, actual, width);
            Assert.That(actual, Is.EqualTo(expected), width.ToString());
        }
    }

    [TestCase(GgmlType.F16)]
    [TestCase(GgmlType.BF16)]
    public void HalfAndBFloat16RoundHalfToEvenAtEveryWidth(GgmlType type)
    {
        float[] x = [.. Input(1003, 3), float.NaN, float.PositiveInfinity, -0f, 1e-30f, 3.4e38f];
        x[5] = -1e-39f;   // subnormal: BF16 kernels read it as -0 (vdpbf16ps), inside the split chunks
        var expected = new float[x.Length];
        int split = BF16Dot.SplitChunks(x.Length) * 32;
        for (int i = 0; i < x.Length; i++)
        {
            expected[i] = type == GgmlType.F16
                ? Fp16.ToSingle(Fp16.FromSingle(x[i]))
                : Bf16.ToSingle(Bf16.FromSingle(x[i]));
            if (type == GgmlType.BF16 && i < split && float.IsSubnormal(expected[i]))
            {
                expected[i] = float.IsNegative(expected[i]) ? -0f : 0f;
            }
        }

        Assert.That(BitConverter.SingleToUInt32Bits(expected[5]), Is.EqualTo(0x8000_0000u), "-1e-39: below the halves' range, and subnormal in a BF16 chunk");

        foreach (var width in Kernel.Supported)
        {
            var bytes = new byte[ActivationQuantizer.ByteCount(type, x.Length)];
            ActivationQuantizer.Quantize(type, x, bytes, width);
            var actual = new float[x.Length];
            Buffer.BlockCopy(bytes, 0, actual, 0, 4 * x.Length);
            if (type == GgmlType.BF16)
            {
                actual = BF16Dot.Unsplit(actual);
            }

            for (int i = 0; i < x.Length; i++)
            {
                if (float.IsNaN(expected[i]))
                {
                    Assert.That(float.IsNaN(actual[i]), $"{width} element {i}");
                }
                else
                {
                    Assert.That(BitConverter.SingleToUInt32Bits(actual[i]), Is.EqualTo(BitConverter.SingleToUInt32Bits(expected[i])), $"{width} element {i}: {x[i]}");
                }
            }
        }
    }
}
