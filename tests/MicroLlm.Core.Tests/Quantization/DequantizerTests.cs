using MicroLlm.Gguf;
using MicroLlm.Quantization;
using static MicroLlm.Core.Tests.Quantization.QuantizationOracle;

namespace MicroLlm.Core.Tests.Quantization;

/// <summary>Dequantization is bit-exact with the reference runtime for every supported type.</summary>
public class DequantizerTests
{
    private static IEnumerable<GgmlType> Types() => DequantizedTypes;

    [TestCaseSource(nameof(Types))]
    public void SampleBlocksDecodeToTheReferenceFloats(GgmlType type)
    {
        var info = GgmlTypeInfo.Get(type);
        byte[] file = ReadFile($"dequant-{Name(type)}.bin");
        int blocks = file.Length / (info.BlockBytes + (4 * info.BlockSize));
        int bytes = blocks * info.BlockBytes;
        Assert.That(bytes + (4L * blocks * info.BlockSize), Is.EqualTo(file.Length), "file holds whole blocks and their floats");
        float[] expected = ReadFloats(file.AsSpan(bytes));

        var actual = new float[expected.Length];
        Dequantizer.Dequantize(type, file.AsSpan(0, bytes), actual);

        AssertBitExact(actual, expected, info.BlockSize);
        Assert.That(expected.Count(v => v != 0), Is.GreaterThan(expected.Length / 2), "the sample exercises non-zero values");
    }

    [TestCaseSource(nameof(Types))]
    public void RandomBytesDecodeToTheReferenceFloats(GgmlType type)
    {
        // Any bit pattern, scales that are NaN, infinite or subnormal included: 256 K elements for block types.
        var info = GgmlTypeInfo.Get(type);
        var (blocks, hash) = Hash($"dequant-sweep-{Name(type)}");
        var source = new byte[blocks * info.BlockBytes];
        FillBytes(1000 + (ulong)type, source);
        var values = new float[blocks * info.BlockSize];

        Dequantizer.Dequantize(type, source, values);

        Assert.That(HashFloats(values).ToString("x16"), Is.EqualTo(hash.ToString("x16")));
    }

    [TestCaseSource(nameof(Types))]
    public void BlocksDecodeIndependently(GgmlType type)
    {
        // Decoding a row one block at a time gives what decoding the row at once gives.
        var info = GgmlTypeInfo.Get(type);
        int blocks = 5;
        var source = new byte[blocks * info.BlockBytes];
        FillBytes(77, source);
        var whole = new float[blocks * info.BlockSize];
        Dequantizer.Dequantize(type, source, whole);
        var parts = new float[whole.Length];
        for (int b = 0; b < blocks; b++)
        {
            Dequantizer.Dequantize(type, source.AsSpan(b * info.BlockBytes, info.BlockBytes), parts.AsSpan(b * info.BlockSize, info.BlockSize));
        }

        Assert.That(parts.Select(CanonicalBits), Is.EqualTo(whole.Select(CanonicalBits)));
    }

    [Test]
    public void EveryHalfWidensAsTheReferenceDoes()
    {
        ulong h = FnvOffset;
        for (int i = 0; i < 65536; i++)
        {
            h = Fold32(h, CanonicalBits(Fp16.ToSingle((ushort)i)));
        }

        Assert.That(h.ToString("x16"), Is.EqualTo(Hash("fp16-to-fp32-all").Hash.ToString("x16")));
    }

    [Test]
    public void FloatsNarrowToHalfAndBFloat16AsTheReferenceDoes()
    {
        ulong h16 = FnvOffset, hb = FnvOffset;
        for (uint hi = 0; hi < 65536; hi++)
        {
            foreach (ushort lo in ConversionPatterns)
            {
                float f = BitConverter.UInt32BitsToSingle(hi << 16 | lo);
                h16 = Fold16(h16, Fp16.FromSingle(f));
                hb = Fold16(hb, Bf16.FromSingle(f));
            }
        }

        Assert.That(h16.ToString("x16"), Is.EqualTo(Hash("fp32-to-fp16-patterns").Hash.ToString("x16")), "fp32 -> fp16");
        Assert.That(hb.ToString("x16"), Is.EqualTo(Hash("fp32-to-bf16-patterns").Hash.ToString("x16")), "fp32 -> bf16");
    }

    [Test]
    [Explicit("Converts all 2^32 floats twice (about 25 s on 2 cores); run after touching Fp16 or Bf16.")]
    public void EveryFloatNarrowsAsTheReferenceDoes()
    {
        // FNV is sequential: convert each 2^24-float chunk in parallel, then fold it in order.
        const int ChunkBits = 24;
        var o16 = new ushort[1 << ChunkBits];
        var ob = new ushort[1 << ChunkBits];
        ulong a = FnvOffset, b = FnvOffset;
        for (uint c = 0; c < 1u << (32 - ChunkBits); c++)
        {
            Parallel.For(0, 16, part =>
            {
                int n = (1 << ChunkBits) / 16;
                for (int i = part * n; i < (part + 1) * n; i++)
                {
                    float f = BitConverter.UInt32BitsToSingle(c << ChunkBits | (uint)i);
                    o16[i] = Fp16.FromSingle(f);
                    ob[i] = Bf16.FromSingle(f);
                }
            });

            foreach (ushort v in o16)
            {
                a = Fold16(a, v);
            }

            foreach (ushort v in ob)
            {
                b = Fold16(b, v);
            }
        }

        Assert.That(a.ToString("x16"), Is.EqualTo(Hash("fp32-to-fp16-all").Hash.ToString("x16")), "fp32 -> fp16");
        Assert.That(b.ToString("x16"), Is.EqualTo(Hash("fp32-to-bf16-all").Hash.ToString("x16")), "fp32 -> bf16");
    }

    [Test]
    public void HalfAndBFloat16ConversionsKeepSpecialValues()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Fp16.FromSingle(65504f), Is.EqualTo(0x7BFF), "largest half");
            Assert.That(Fp16.FromSingle(65520f), Is.EqualTo(0x7C00), "a tie above the largest half rounds to infinity");
            Assert.That(Fp16.FromSingle(-0f), Is.EqualTo(0x8000));
            Assert.That(Fp16.FromSingle(BitConverter.UInt32BitsToSingle(0x33000000)), Is.EqualTo(0x0000), "2^-25 ties to even zero");
            Assert.That(Fp16.FromSingle(BitConverter.UInt32BitsToSingle(0x33000001)), Is.EqualTo(0x0001), "just above 2^-25 rounds up");
            Assert.That(Fp16.FromSingle(BitConverter.UInt32BitsToSingle(0xFFC12345)), Is.EqualTo(0xFE00), "NaN: quiet, sign kept, payload dropped");
            Assert.That(Fp16.ToSingle(0x0001), Is.EqualTo(MathF.Pow(2, -24)), "smallest subnormal");
            Assert.That(Bf16.FromSingle(BitConverter.UInt32BitsToSingle(0x3F808000)), Is.EqualTo(0x3F80), "tie to even (down)");
            Assert.That(Bf16.FromSingle(BitConverter.UInt32BitsToSingle(0x3F818000)), Is.EqualTo(0x3F82), "tie to even (up)");
            Assert.That(Bf16.FromSingle(BitConverter.UInt32BitsToSingle(0x7F7FFFFF)), Is.EqualTo(0x7F80), "float max rounds to infinity");
            Assert.That(Bf16.FromSingle(BitConverter.UInt32BitsToSingle(0x7F800001)), Is.EqualTo(0x7FC0), "signalling NaN made quiet, not infinity");
            Assert.That(Bf16.ToSingle(0xC049), Is.EqualTo(-3.140625f));
        });
    }

    [Test]
    public void SizeErrorsSayWhatToPass()
    {
        var q4k = new byte[2 * 144];
        var ex = Assert.Throws<ArgumentException>(() => Dequantizer.Dequantize(GgmlType.Q4_K, q4k, new float[300]));
        Assert.That(ex!.ParamName, Is.EqualTo("destination"));
        Assert.That(ex.Message, Does.Contain("256 elements per 144-byte block").And.Contain("300"));

        ex = Assert.Throws<ArgumentException>(() => Dequantizer.Dequantize(GgmlType.Q4_K, q4k.AsSpan(0, 287), new float[512]));
        Assert.That(ex!.ParamName, Is.EqualTo("source"));
        Assert.That(ex.Message, Does.Contain("exactly 288 bytes").And.Contain("287"));

        ex = Assert.Throws<ArgumentException>(() => Dequantizer.Dequantize(GgmlType.F16, new byte[7], new float[3]));
        Assert.That(ex!.Message, Does.Contain("exactly 6 bytes"));

        Assert.Throws<ArgumentException>(() => Dequantizer.Dequantize(GgmlType.Q8_0, new byte[34], []));
        Assert.DoesNotThrow(() => Dequantizer.Dequantize(GgmlType.Q8_0, [], []));
    }

    [TestCase(GgmlType.Q8_1)]
    [TestCase(GgmlType.IQ2_XXS)]
    [TestCase(GgmlType.IQ4_NL)]
    [TestCase(GgmlType.IQ4_XS)]
    [TestCase(GgmlType.TQ1_0)]
    [TestCase(GgmlType.TQ2_0)]
    [TestCase(GgmlType.I8)]
    [TestCase(GgmlType.I32)]
    [TestCase(GgmlType.F64)]
    public void UnsupportedTypesAreNamed(GgmlType type)
    {
        Assert.That(Dequantizer.IsSupported(type), Is.False);
        var ex = Assert.Throws<NotSupportedException>(() => Dequantizer.Dequantize(type, new byte[GgmlTypeInfo.Get(type).BlockBytes], new float[GgmlTypeInfo.Get(type).BlockSize]));
        Assert.That(ex!.Message, Does.Contain(type.ToString()).And.Contain("Q4_K"));
    }

    [Test]
    public void UndefinedTypeValuesAreNotSupported()
    {
        Assert.That(Dequantizer.IsSupported((GgmlType)99), Is.False);
        var ex = Assert.Throws<NotSupportedException>(() => Dequantizer.Dequantize((GgmlType)99, [], []));
        Assert.That(ex!.Message, Does.Contain("99"));
    }

    [Test]
    public void IsSupportedListsExactlyTheDecodedTypes()
    {
        var supported = Enum.GetValues<GgmlType>().Where(Dequantizer.IsSupported);
        Assert.That(supported, Is.EquivalentTo(DequantizedTypes));
    }

    internal static void AssertBitExact(float[] actual, float[] expected, int blockSize)
    {
        for (int i = 0; i < expected.Length; i++)
        {
            if (CanonicalBits(actual[i]) != CanonicalBits(expected[i]))
            {
                Assert.Fail($"element {i} (block {i / blockSize}, index {i % blockSize}): got {actual[i]:R} (0x{BitConverter.SingleToUInt32Bits(actual[i]):X8}), " +
                            $"reference {expected[i]:R} (0x{BitConverter.SingleToUInt32Bits(expected[i]):X8})");
            }
        }
    }
}
