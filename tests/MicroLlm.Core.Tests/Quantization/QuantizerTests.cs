using MicroLlm.Gguf;
using MicroLlm.Quantization;
using static MicroLlm.Core.Tests.Quantization.QuantizationOracle;

namespace MicroLlm.Core.Tests.Quantization;

/// <summary>Quantizers are bit-exact with the reference runtime's reference quantizers, and round trips stay within each type's error bound.</summary>
public class QuantizerTests
{
    private static IEnumerable<GgmlType> Types() => QuantizedTypes;

    [TestCaseSource(nameof(Types))]
    public void SampleInputEncodesToTheReferenceBlocks(GgmlType type)
    {
        var info = GgmlTypeInfo.Get(type);
        float[] input = ReadFloats(ReadFile("quant-input.bin"));
        byte[] expected = ReadFile($"quant-{Name(type)}.bin");
        var actual = new byte[info.ByteCount(input.Length)];

        Quantizer.Quantize(type, input, actual);

        int at = actual.AsSpan().CommonPrefixLength(expected);
        Assert.That(at, Is.EqualTo(expected.Length),
            at < expected.Length ? $"first differing byte {at} (block {at / info.BlockBytes}, byte {at % info.BlockBytes}): got 0x{actual[at]:X2}, reference 0x{expected[at]:X2}" : "");
    }

    [TestCaseSource(nameof(Types))]
    public void GeneratedInputEncodesToTheReferenceBlocks(GgmlType type)
    {
        var info = GgmlTypeInfo.Get(type);
        var (count, inputHash) = Hash("quant-input-sweep");
        var input = new float[count];
        GenerateFloats(3000, input);
        Assert.That(HashFloats(input).ToString("x16"), Is.EqualTo(inputHash.ToString("x16")), "the generator rebuilds the reference's input");
        var blocks = new byte[info.ByteCount(count)];

        Quantizer.Quantize(type, input, blocks);

        Assert.That(HashBytes(blocks).ToString("x16"), Is.EqualTo(Hash($"quant-sweep-{Name(type)}").Hash.ToString("x16")));
    }

    [TestCase(GgmlType.F32, 0.0)]
    [TestCase(GgmlType.F16, 0.0003)]
    [TestCase(GgmlType.BF16, 0.002)]
    [TestCase(GgmlType.Q8_0, 0.008)]
    [TestCase(GgmlType.Q8_K, 0.016)]
    [TestCase(GgmlType.Q5_0, 0.06)]
    [TestCase(GgmlType.Q5_1, 0.05)]
    [TestCase(GgmlType.Q4_0, 0.12)]
    [TestCase(GgmlType.Q4_1, 0.1)]
    [TestCase(GgmlType.Q6_K, 0.025)]
    [TestCase(GgmlType.Q5_K, 0.047)]
    [TestCase(GgmlType.Q4_K, 0.092)]
    [TestCase(GgmlType.Q3_K, 0.185)]
    [TestCase(GgmlType.Q2_K, 0.35)]
    public void RoundTripStaysWithinTheTypesErrorBound(GgmlType type, double maxRelativeRms)
    {
        var info = GgmlTypeInfo.Get(type);
        // Bounds are about 1.2 times what these (fixed) inputs give; one-in-4096 outliers widen their blocks' steps.
        float[] x = Gaussian(seed: 11, 64 * 256);
        for (int i = 0; i < x.Length; i += 4096)
        {
            x[i] *= 20; // an outlier now and then
        }

        var blocks = new byte[info.ByteCount(x.Length)];
        var y = new float[x.Length];
        Quantizer.Quantize(type, x, blocks);
        Dequantizer.Dequantize(type, blocks, y);

        int size = Math.Max(info.BlockSize, 32);
        for (int b = 0; b < x.Length / size; b++)
        {
            ReadOnlySpan<float> xb = x.AsSpan(b * size, size), yb = y.AsSpan(b * size, size);
            float bound = MaxError(type, xb);
            for (int i = 0; i < size; i++)
            {
                if (!(MathF.Abs(xb[i] - yb[i]) <= bound))
                {
                    Assert.Fail($"element {(b * size) + i}: {xb[i]:R} came back as {yb[i]:R}, more than {bound:R} away");
                }
            }
        }

        double rms = RelativeRms(y, x);
        TestContext.Out.WriteLine($"{type}: largest error {LargestRelativeError(x, y, size):F4} of a block's max |x|");
        TestContext.Out.WriteLine($"{type}: relative RMS error {rms:F6} on Gaussian weights");
        Assert.That(rms, Is.LessThanOrEqualTo(maxRelativeRms));
    }

    [Test]
    public void Q8_0RoundsHalfAwayFromZero()
    {
        // max |x| = 127 gives scale 1, so codes are the rounded inputs themselves.
        var x = new float[32];
        x[0] = 127f;
        x[1] = 2.5f;
        x[2] = -2.5f;
        x[3] = 0.49999997f;
        x[4] = -126.5f;
        var block = new byte[34];
        Quantizer.Quantize(GgmlType.Q8_0, x, block);
        Assert.That(block.AsSpan(2, 5).ToArray().Select(b => (int)(sbyte)b), Is.EqualTo(new[] { 127, 3, -3, 0, -127 }));
        Assert.That(BitConverter.ToUInt16(block, 0), Is.EqualTo(0x3C00), "d = 1.0 as a half");
    }

    [Test]
    public void Q8_KStoresCodeSumsAndItsFloatScale()
    {
        float[] x = Gaussian(seed: 5, 512);
        var blocks = new byte[2 * 292];
        Quantizer.Quantize(GgmlType.Q8_K, x, blocks);
        for (int b = 0; b < 2; b++)
        {
            var block = blocks.AsSpan(b * 292, 292);
            float amax = x.AsSpan(b * 256, 256).ToArray().Max(MathF.Abs);
            float d = BitConverter.ToSingle(block);
            Assert.That(MathF.Abs(d), Is.EqualTo(amax / 127f).Within(1e-6f * amax), "d = max|x| / 127, kept as a float");
            for (int g = 0; g < 16; g++)
            {
                int sum = 0;
                for (int i = 0; i < 16; i++)
                {
                    sum += (sbyte)block[4 + (16 * g) + i];
                }

                Assert.That(BitConverter.ToInt16(block.Slice(260 + (2 * g), 2)), Is.EqualTo(sum), $"block {b} sum {g}");
            }
        }
    }

    [TestCaseSource(nameof(Types))]
    public void AllZeroInputGivesZeroWeights(GgmlType type)
    {
        var info = GgmlTypeInfo.Get(type);
        var x = new float[Math.Max(info.BlockSize, 32)];
        var blocks = new byte[info.ByteCount(x.Length)];
        blocks.AsSpan().Fill(0xA5); // stale bytes must be overwritten
        var y = new float[x.Length];
        y.AsSpan().Fill(1f);

        Quantizer.Quantize(type, x, blocks);
        Dequantizer.Dequantize(type, blocks, y);

        Assert.That(y, Is.All.EqualTo(0f));
        if (type == GgmlType.Q8_K)
        {
            Assert.That(blocks, Is.All.EqualTo(0), "Q8_K stores an all-zero block as zeros, sums included");
        }
    }

    [Test]
    public void QuantizedTensorsSurviveAGgufRoundTrip()
    {
        float[] x = Gaussian(seed: 3, 4 * 256);
        var writer = new GgufWriter();
        writer.SetMetadata("general.architecture", GgufValue.From("llama"));
        foreach (GgmlType type in QuantizedTypes)
        {
            var bytes = new byte[GgmlTypeInfo.Get(type).ByteCount(x.Length)];
            Quantizer.Quantize(type, x, bytes);
            writer.AddTensor(Name(type), type, [256, 4], bytes);
        }

        using var file = GgufFile.FromMemory(writer.ToArray());
        foreach (GgmlType type in QuantizedTypes)
        {
            var bytes = new byte[GgmlTypeInfo.Get(type).ByteCount(x.Length)];
            Quantizer.Quantize(type, x, bytes);
            var expected = new float[x.Length];
            Dequantizer.Dequantize(type, bytes, expected);

            var tensor = file.GetTensor(Name(type));
            var actual = new float[tensor.ElementCount];
            Dequantizer.Dequantize(tensor.Type, file.GetTensorData(tensor), actual);
            Assert.That(actual, Is.EqualTo(expected), type.ToString());
        }
    }

    [Test]
    public void SizeErrorsSayWhatToPass()
    {
        var ex = Assert.Throws<ArgumentException>(() => Quantizer.Quantize(GgmlType.Q8_0, new float[40], new byte[34]));
        Assert.That(ex!.ParamName, Is.EqualTo("source"));
        Assert.That(ex.Message, Does.Contain("32 elements per 34-byte block").And.Contain("40"));

        ex = Assert.Throws<ArgumentException>(() => Quantizer.Quantize(GgmlType.Q8_K, new float[256], new byte[300]));
        Assert.That(ex!.ParamName, Is.EqualTo("destination"));
        Assert.That(ex.Message, Does.Contain("exactly 292 bytes").And.Contain("300"));

        ex = Assert.Throws<ArgumentException>(() => Quantizer.Quantize(GgmlType.BF16, new float[3], new byte[4]));
        Assert.That(ex!.Message, Does.Contain("exactly 6 bytes"));
    }

    [TestCase(GgmlType.Q8_1)]
    [TestCase(GgmlType.IQ4_NL)]
    [TestCase(GgmlType.TQ2_0)]
    [TestCase(GgmlType.I16)]
    public void UnsupportedTypesAreNamed(GgmlType type)
    {
        Assert.That(Quantizer.IsSupported(type), Is.False);
        var info = GgmlTypeInfo.Get(type);
        var ex = Assert.Throws<NotSupportedException>(() => Quantizer.Quantize(type, new float[info.BlockSize], new byte[info.BlockBytes]));
        Assert.That(ex!.Message, Does.Contain(type.ToString()).And.Contain("Q8_K"));
    }

    [Test]
    public void IsSupportedListsExactlyTheEncodedTypes()
    {
        var supported = Enum.GetValues<GgmlType>().Where(Quantizer.IsSupported);
        Assert.That(supported, Is.EquivalentTo(QuantizedTypes));
        Assert.That(QuantizedTypes.All(Dequantizer.IsSupported), "everything encoded can be decoded");
    }

    /// <summary>The largest error a correct encoder can make on one block (32 weights, or 256 for Q8_K and the K-quants) of <paramref name="x"/>:
    /// half a step, or a whole one where the code range is clamped, plus the rounding of the stored scale and minimum.</summary>
    private static float MaxError(GgmlType type, ReadOnlySpan<float> x)
    {
        float amax = 0, min = float.MaxValue, max = -float.MaxValue;
        foreach (float v in x)
        {
            amax = MathF.Max(amax, MathF.Abs(v));
            min = MathF.Min(min, v);
            max = MathF.Max(max, v);
        }

        const float HalfUlp = 1f / 2048; // relative rounding of a stored half
        float slack = amax * 1e-6f;
        return type switch
        {
            GgmlType.F32 => 0,
            GgmlType.F16 => amax * HalfUlp,
            GgmlType.BF16 => amax / 256,
            GgmlType.Q8_0 => (amax / 127 * (0.5f + (127 * HalfUlp))) + slack,
            GgmlType.Q8_K => (amax / 127 * 0.5f) + slack,
            GgmlType.Q4_0 => (amax / 8 * (1 + (8 * HalfUlp))) + slack,
            GgmlType.Q5_0 => (amax / 16 * (1 + (16 * HalfUlp))) + slack,
            GgmlType.Q4_1 => ((max - min) / 15 * (0.5f + (15 * HalfUlp))) + (amax * HalfUlp) + slack,
            GgmlType.Q5_1 => ((max - min) / 31 * (0.5f + (31 * HalfUlp))) + (amax * HalfUlp) + slack,
            // K-quants (a whole super-block): a group's scale is searched, not the range's, and stored in 6 or 8 bits
            // against the super-block's largest, so its extreme codes may clamp; bounds are a fraction of max |x|.
            GgmlType.Q6_K => amax * 0.02f,
            GgmlType.Q5_K => amax * 0.05f,
            GgmlType.Q4_K => amax * 0.1f,
            GgmlType.Q3_K => amax * 0.2f,
            GgmlType.Q2_K => amax * 0.4f,
            _ => throw new ArgumentOutOfRangeException(nameof(type)),
        };
    }

    private static float LargestRelativeError(ReadOnlySpan<float> x, ReadOnlySpan<float> y, int size)
    {
        float worst = 0;
        for (int b = 0; b < x.Length / size; b++)
        {
            float amax = 0, err = 0;
            for (int i = b * size; i < (b + 1) * size; i++)
            {
                amax = MathF.Max(amax, MathF.Abs(x[i]));
                err = MathF.Max(err, MathF.Abs(x[i] - y[i]));
            }

            worst = MathF.Max(worst, amax == 0 ? err : err / amax);
        }

        return worst;
    }

    internal static double RelativeRms(ReadOnlySpan<float> actual, ReadOnlySpan<float> reference)
    {
        double err = 0, norm = 0;
        for (int i = 0; i < reference.Length; i++)
        {
            double e = (double)actual[i] - reference[i];
            err += e * e;
            norm += (double)reference[i] * reference[i];
        }

        return norm == 0 ? Math.Sqrt(err) : Math.Sqrt(err / norm);
    }

    private static float[] Gaussian(int seed, int n)
    {
        var rng = new Random(seed);
        var x = new float[n];
        for (int i = 0; i < n; i++)
        {
            double u1 = 1.0 - rng.NextDouble(), u2 = rng.NextDouble();
            x[i] = (float)(Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2));
        }

        return x;
    }
}
