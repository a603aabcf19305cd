using System.Globalization;
using MicroLlm.Gguf;
using MicroLlm.Numerics;
using MicroLlm.Quantization;

namespace MicroLlm.Core.Tests.Numerics;

/// <summary>
/// <see cref="ReferenceDot"/> and <see cref="ReferenceMath"/> against numbers printed by the reference runtime's CPU
/// backend (llama.cpp c392e509, built with -march=native on an AVX-512 machine; a small program outside the project
/// ran <c>ggml_mul_mat</c> with 3 activation columns, <c>ggml_silu</c>, <c>ggml_soft_max</c> and the Q8_0
/// <c>from_float</c> on the inputs below). Results are compared bit for bit.
/// </summary>
public class ReferenceNumericsTests
{
    private const int Columns = 512, Rows = 4, Batch = 3;

    /// <summary>The oracle's input generator: an LCG, values k / 4096 for integers k in [-10000, 10000], exact in float.</summary>
    private sealed class Lcg(uint seed)
    {
        private uint _state = seed;

        public float Next()
        {
            _state = unchecked((_state * 1664525u) + 1013904223u);
            return (float)((int)((_state >> 8) % 20001u) - 10000) / 4096.0f;
        }
    }

    /// <summary>
    /// Per weight type: <c>W · A</c> for a 4 × 512 weight matrix (quantized by the reference quantizer) and 3 activation
    /// columns, as float bits, column-major (output r of column c at c · 4 + r).
    /// </summary>
    private static readonly Dictionary<GgmlType, string> MatMulBits = new()
    {
        [GgmlType.F16] = "40bd586c c10f25ef c0d59411 c1bf0950 418cd6ca 417f5aba bf647384 3eb44ba0 40306a3e c14c417e 41592077 40a81b8a",
        [GgmlType.Q8_0] = "c18507ae bfa56a8e 41395191 4082fc98 c01d8394 4122763a 40f52035 41c542b4 3fcc5370 c03b025b c09a7b68 418860f9",
        [GgmlType.Q4_0] = "c1cadf39 c18ba4cb 41d48d48 c0f19ddd c10a7e1e 41784b16 40dfc296 c1dcc864 4164be32 41849ce6 4129875a 4100e336",
        [GgmlType.Q4_K] = "c11866c8 3f70126c be892ec0 418805e3 4125ba74 41300292 bfdd60b0 c16f1fdd 41517c57 40a0d390 c1701617 41831d20",
        [GgmlType.Q5_K] = "3e61a280 c13ca5b0 c00b6c18 40fc9d84 40d8d79a c15fec7a 40a50ef4 c145cb10 41a6cfc2 c1a50811 c1b09301 408da6ab",
        [GgmlType.Q6_K] = "c0ae4eef c127cfd6 40abca09 bfc8fcec c0245752 c10b7154 c07a0018 40edf8c5 c161fdda c1a032d4 c10b1e81 c0177a16",
        [GgmlType.Q5_0] = "c1ba7462 412a27c3 3fbd845c 4150cbae 408117e7 41ee308f c0923132 bfee34a0 404d235c 418f73ed 40b710f0 c0e59e6a",
        [GgmlType.Q3_K] = "c14476c7 c0c72fcb c0bf4762 c0d8fc9e 4094bd45 3ffa8e38 4161e7c8 c10127de 4168c954 3ea633e0 c06f35f4 41935702",
    };

    private static IEnumerable<GgmlType> DotTypes() => MatMulBits.Keys;

    [TestCaseSource(nameof(DotTypes))]
    public void DotProductsEqualTheReferencesBitForBit(GgmlType type)
    {
        // The oracle seeded its generator with 12345 + the type's position in its list.
        uint seed = 12345u + (uint)MatMulBits.Keys.ToList().IndexOf(type);
        var lcg = new Lcg(seed);
        var weights = new float[Rows * Columns];
        for (int i = 0; i < weights.Length; i++)
        {
            weights[i] = lcg.Next();
        }

        var activations = new float[Batch * Columns];
        for (int i = 0; i < activations.Length; i++)
        {
            activations[i] = lcg.Next() * 0.25f;
        }

        int rowBytes = (int)GgmlTypeInfo.Get(type).ByteCount(Columns);
        var stored = new byte[Rows * rowBytes];
        Quantizer.Quantize(type, weights, stored);
        var activationType = ReferenceDot.ActivationType(type);
        int actBytes = ReferenceDot.ActivationBytes(activationType, Columns);
        var quantized = new byte[actBytes];
        uint[] expected = Bits(MatMulBits[type]);
        for (int c = 0; c < Batch; c++)
        {
            ReferenceDot.QuantizeActivations(activationType, activations.AsSpan(c * Columns, Columns), quantized);
            for (int r = 0; r < Rows; r++)
            {
                float y = ReferenceDot.Dot(type, stored.AsSpan(r * rowBytes, rowBytes), quantized, Columns);
                Assert.That(BitConverter.SingleToUInt32Bits(y), Is.EqualTo(expected[(c * Rows) + r]), $"row {r}, column {c}: {y:R}");
            }
        }
    }

    /// <summary>
    /// BF16 weights (the reference quantizer's) against 3 activation columns, from <c>ggml_mul_mat</c> on this machine
    /// kind (AVX512-BF16): 4 rows of 512 and of 96 take tinyBLAS (<see cref="ReferenceDot.BF16"/>), 3 rows and rows of
    /// 100 take <c>ggml_vec_dot_bf16</c> (<see cref="ReferenceDot.BF16VecDot"/>). Generator as above, seeded as given.
    /// </summary>
    [TestCase(4, 512, 12353u, "40ca3bd8 417c7e56 41a2a910 418223be c10c0bd7 c0e55b65 c0eb205c c0c48e1f c04c48b6 c09c1898 41693bc2 3eb52190")]
    [TestCase(3, 512, 12354u, "c15e8bce 40e68041 c0e6ea10 c1095f8c 41b793f3 c0e4ae89 412b97a1 c13fbca2 c189fd67")]
    [TestCase(4, 96, 12355u, "c00e1983 bd7ef880 c03cd6a4 3f2a1840 4049d9bc 411dadfc 40a09f9c 4129f3e8 c0c591ba c0f9afba 4101b228 bf8c38c8")]
    [TestCase(4, 100, 12356u, "c07da715 40ea0d41 3fd6d4ac 402581d0 c01a1a93 c0a21fbc c185849f 3f7e97f0 3e291588 c042c7ba bfd36d0d 4071d7f2")]
    public void BFloat16DotProductsEqualTheReferencesBitForBit(int rows, int columns, uint seed, string bits)
    {
        var lcg = new Lcg(seed);
        var weights = new float[rows * columns];
        for (int i = 0; i < weights.Length; i++)
        {
            weights[i] = lcg.Next();
        }

        var activations = new float[Batch * columns];
        for (int i = 0; i < activations.Length; i++)
        {
            activations[i] = lcg.Next() * 0.25f;
        }

        var stored = new byte[2 * weights.Length];
        Quantizer.Quantize(GgmlType.BF16, weights, stored);
        var rowsBits = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, ushort>(stored);
        var quantized = new byte[ReferenceDot.ActivationBytes(GgmlType.BF16, columns)];
        uint[] expected = Bits(bits);
        for (int c = 0; c < Batch; c++)
        {
            ReferenceDot.QuantizeActivations(ReferenceDot.ActivationType(GgmlType.BF16), activations.AsSpan(c * columns, columns), quantized);
            var x = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, ushort>(quantized);
            for (int r = 0; r < rows; r++)
            {
                var row = rowsBits.Slice(r * columns, columns);
                float y = rows % 4 == 0 ? ReferenceDot.Dot(GgmlType.BF16, stored.AsSpan(2 * r * columns, 2 * columns), quantized, columns) : ReferenceDot.BF16VecDot(row, x);
                Assert.That(BitConverter.SingleToUInt32Bits(y), Is.EqualTo(expected[(c * rows) + r]), $"row {r}, column {c}: {y:R}");
            }
        }
    }

    /// <summary>
    /// One lane of <c>vdpbf16ps</c> as this machine's CPU computes it (a C program calling <c>_mm512_dpbf16_ps</c>):
    /// the odd element's FMA first (1 + 2⁻²⁴ + 2⁻²⁴ stays 1, where one rounding of the pair would give 1 + 2⁻²³),
    /// subnormal inputs read as zero, subnormal results flushed to a zero of their sign.
    /// </summary>
    [TestCase(0x3F800000u, (ushort)0x3F80, (ushort)0x3F80, (ushort)0x3380, (ushort)0x3380, 0x3F800000u)]
    [TestCase(0x3F800000u, (ushort)0x3F80, (ushort)0x3F80, (ushort)0x3390, (ushort)0x3380, 0x3F800001u)]
    [TestCase(0x00000000u, (ushort)0x0001, (ushort)0x3F80, (ushort)0x3F80, (ushort)0x0000, 0x00000000u)]
    [TestCase(0x00000000u, (ushort)0x3F80, (ushort)0x3F80, (ushort)0x0040, (ushort)0x0000, 0x00000000u)]
    [TestCase(0x00000000u, (ushort)0x0080, (ushort)0x3F80, (ushort)0x3F00, (ushort)0x0000, 0x00000000u)]
    [TestCase(0x00000000u, (ushort)0x8080, (ushort)0x3F80, (ushort)0x3F00, (ushort)0x0000, 0x80000000u)]
    [TestCase(0x003671F7u, (ushort)0x3F80, (ushort)0x3F80, (ushort)0x0000, (ushort)0x0000, 0x00000000u)]
    public void BFloat16PairStepIsTheInstructions(uint acc, ushort w0, ushort w1, ushort x0, ushort x1, uint expected)
    {
        float y = ReferenceDot.DotPair(BitConverter.UInt32BitsToSingle(acc), w0, w1, x0, x1);
        Assert.That(BitConverter.SingleToUInt32Bits(y), Is.EqualTo(expected), $"{y:R}");
    }

    [Test]
    public void VectorLanesGiveTheScalarEmulationsBits([Values(0, 16, 32, 48, 256, 768, 17, 100)] int length)
    {
        var lcg = new Lcg(99u + (uint)length);
        var w = new float[length];
        var a = new float[length];
        for (int i = 0; i < length; i++)
        {
            w[i] = lcg.Next();
            a[i] = lcg.Next() * 0.01f;
        }

        Assert.That(BitConverter.SingleToUInt32Bits(ReferenceDot.F32(w, a)), Is.EqualTo(BitConverter.SingleToUInt32Bits(ReferenceDot.F32Scalar(w, a))));
        var wh = w.Select(v => (Half)v).ToArray();
        var ah = a.Select(v => (Half)v).ToArray();
        float viaHalf = ReferenceDot.F16(wh, ah);
        float scalar = ReferenceDot.F32Scalar(wh.Select(v => (float)v).ToArray(), ah.Select(v => (float)v).ToArray());
        Assert.That(BitConverter.SingleToUInt32Bits(viaHalf), Is.EqualTo(BitConverter.SingleToUInt32Bits(scalar)));
    }

    [Test]
    public void SiluEqualsTheReferencesSimdSiluBitForBit()
    {
        uint[] expected = Bits(
            "80000000 42be0000 00000000 be7963ee 3e13aaff 3e013ce1 3f17ce7d 3f821c3c 3f9c5b33 3ff1fcb6 3bace720 3f879758 " +
            "3f0811e7 be89be3b be09defa 3ed31d8f be737f64 3e9eb3d4 be68bbb3 3f8b7e67 3ff731ab be84d287 3db69f8a 3f8f4231 " +
            "be8829d0 3e5705de be86bbc5 be882977 3ee6c0c3 3eb9629e be7389e4 be8b3313 b62f2dc6 b2539c5b 4182d9ff bc168499 " +
            "3feebc58 40e11585 3f112714 41d11c00 41711ffc 41c6d200 b9ce0a81 b39b8a6f aebc06ea 419af200 ba9566bb 413a5396 " +
            "41a4fa00 41a68c00 b089617f 41b20800 b734d17d bd87d80f be5b17b0 416bd3fa b510d4f1 41b27400 b7c37be3 bac4be8e " +
            "b79177cc 3fe7c321 bb56fe88 410f5f4c");
        var lcg = new Lcg(777u);
        var x = new float[64];
        for (int i = 0; i < x.Length; i++)
        {
            x[i] = lcg.Next() * (i < 32 ? 1.0f : 12.0f);
        }

        x[0] = -120f; // exp(120) overflows: the reference's polynomial gives +inf, and silu -0
        x[1] = 95f;
        x[2] = 0f;
        for (int i = 0; i < x.Length; i++)
        {
            float y = ReferenceMath.Silu(x[i]);
            Assert.That(BitConverter.SingleToUInt32Bits(y), Is.EqualTo(expected[i]), $"silu({x[i]:R}) = {y:R}");
        }
    }

    [Test]
    public void SoftmaxEqualsTheReferencesBitForBit()
    {
        uint[] expected = Bits(
            "391211a9 3d959976 399065da 3da72289 3dbe689a 379eb011 3a83eae0 37ae5e9b 3a94f8d7 3ab341a4 38db1f3b 391e8e6f " +
            "38d9bc49 3bd8a225 3dcb94e2 3a1e28df 3a34729b 3d7ab93a 3b97291f 38757905 38be1908 3c8007a6 3a41e039 3d782a70 " +
            "3a1fa23f 380cb025 3c7f8f65 39815fce 3c89f600 3b2e7553 3d3d1240 3d03abd4 3b20539c 3d6d6159 3bc39dcb 3a32de61 " +
            "3ce7276c 3d676dce 3bd1a932 3be440a6 38df1de1 3a7d9a90 39b881e6 3b9e7e0b 3e2bcdf4 3c7a4014 3886ccae 3ced8fd0");
        var lcg = new Lcg(4242u);
        var row = new float[48];
        for (int i = 0; i < row.Length; i++)
        {
            row[i] = lcg.Next() * 2.0f;
        }

        ReferenceMath.Softmax(row);
        Assert.That(row.Select(BitConverter.SingleToUInt32Bits), Is.EqualTo(expected));
    }

    [Test]
    public void MaskedSoftmaxPrefixIsZeroAndTheRestSumsToOne()
    {
        var row = Enumerable.Range(0, 40).Select(i => (float)Math.Sin(i)).ToArray();
        ReferenceMath.Softmax(row, first: 5);
        Assert.That(row.Skip(5).Sum(), Is.EqualTo(1f).Within(1e-5f));
        Assert.That(row.Skip(5).All(p => p > 0), Is.True);
    }

    [Test]
    public void Q8_0ActivationsRoundTiesToEvenAsTheCpuPathDoes()
    {
        var x = new float[32];
        for (int i = 0; i < 32; i++)
        {
            x[i] = i - 16 + 0.5f;
        }

        x[0] = 127f; // scale 1: every other value is a tie
        var block = new byte[34];
        ReferenceDot.QuantizeQ8_0(x, block);
        byte[] expected = "0 60 127 242 242 244 244 246 246 248 248 250 250 252 252 254 254 0 0 2 2 4 4 6 6 8 8 10 10 12 12 14 14 16"
            .Split(' ').Select(s => byte.Parse(s, CultureInfo.InvariantCulture)).ToArray();
        Assert.That(block, Is.EqualTo(expected));
    }

    [Test]
    public void ExpHandlesTheEdgesAsTheReferencesPolynomial()
    {
        Assert.That(ReferenceMath.Exp(float.NegativeInfinity), Is.EqualTo(0f));
        Assert.That(ReferenceMath.Exp(0f), Is.EqualTo(1f));
        Assert.That(ReferenceMath.Exp(200f), Is.EqualTo(float.PositiveInfinity));
        Assert.That(float.IsNaN(ReferenceMath.Exp(float.NaN)), Is.True);
        for (float v = -80f; v <= 80f; v += 0.37f)
        {
            Assert.That(ReferenceMath.Exp(v), Is.EqualTo(MathF.Exp(v)).Within(4e-7f * MathF.Exp(v)), $"exp({v})");
        }
    }

    [Test]
    public void ReductionsAddLanesInTheReferencesTree()
    {
        // 1 + 2^-24 + 2^-24 ...: the order decides whether the small terms survive.
        float tiny = MathF.ScaleB(1f, -24);
        var lanes = new float[16];
        Array.Fill(lanes, tiny);
        lanes[0] = 1f;

        // Tree: x[i] + x[8 + i], then + x[4 + i], then pairs. 1 + tiny rounds back to 1 (a tie, to even), but the tiny
        // terms that meet each other first survive: 1 + 14 tiny here, where a left-to-right sum would give exactly 1.
        Assert.That(ReferenceMath.Reduce16(lanes), Is.EqualTo(1f + (14 * tiny)));
        Assert.That(ReferenceMath.Reduce8(lanes.AsSpan(0, 8)), Is.EqualTo(1f + (6 * tiny)));
    }

    private static uint[] Bits(string hex) =>
        hex.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(h => uint.Parse(h, NumberStyles.HexNumber, CultureInfo.InvariantCulture)).ToArray();
}
