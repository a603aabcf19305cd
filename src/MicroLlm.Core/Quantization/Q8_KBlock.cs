using System.Buffers.Binary;

namespace MicroLlm.Quantization;

/// <summary>
/// Q8_K: 256 weights as signed bytes with a float scale and sums of each 16 codes; weight = code * d. The format
/// activations are quantized to before a dot product with K-quant weights; the sums let those kernels apply minimums
/// once per group.
/// </summary>
/// <remarks>
/// <code>
/// offset size  field
///      0    4  d       float: scale
///      4  256  qs      signed byte codes, weight j at byte j
///    260   32  bsums   16 little-endian int16: bsums[g] = sum of qs[16g .. 16g + 15]
///                                                                             = 292 bytes per 256 weights
/// </code>
/// The quantizer is the reference's deterministic one: with m the weight of largest magnitude, codes are
/// round-half-even(x * -127 / m), capped at 127, and d = 1 / (-127 / m). An all-zero block stores zeros.
/// </remarks>
internal static class Q8_KBlock
{
    /// <summary>Weights per block.</summary>
    public const int Size = 256;

    /// <summary>Bytes per block.</summary>
    public const int Bytes = 292;

    private const int SumsOffset = 4 + Size;

    private const int Group = 16;

    /// <summary>Decodes whole blocks; <paramref name="blocks"/> holds exactly <c>values.Length / Size</c> of them.</summary>
    public static void Dequantize(ReadOnlySpan<byte> blocks, Span<float> values)
    {
        for (int b = 0; b < values.Length / Size; b++)
        {
            ReadOnlySpan<byte> block = blocks.Slice(b * Bytes, Bytes);
            Span<float> y = values.Slice(b * Size, Size);      // (256)
            float d = BinaryPrimitives.ReadSingleLittleEndian(block);
            ReadOnlySpan<byte> qs = block.Slice(4, Size);       // (256) signed codes
            for (int j = 0; j < Size; j++)
            {
                y[j] = d * (sbyte)qs[j];
            }
        }
    }

    /// <summary>Encodes whole blocks; <paramref name="blocks"/> has room for exactly <c>values.Length / Size</c> of them.</summary>
    public static void Quantize(ReadOnlySpan<float> values, Span<byte> blocks)
    {
        for (int b = 0; b < values.Length / Size; b++)
        {
            ReadOnlySpan<float> x = values.Slice(b * Size, Size);
            Span<byte> block = blocks.Slice(b * Bytes, Bytes);

            float absMax = 0f;
            float extreme = 0f; // the signed weight of largest magnitude
            foreach (float v in x)
            {
                float a = MathF.Abs(v);
                if (a > absMax)
                {
                    absMax = a;
                    extreme = v;
                }
            }

            if (absMax == 0f)
            {
                block.Clear();
                continue;
            }

            float inverseScale = -127f / extreme;
            Span<byte> qs = block.Slice(4, Size);
            for (int j = 0; j < Size; j++)
            {
                qs[j] = unchecked((byte)Math.Min(127, ReferenceRounding.NearestInt(inverseScale * x[j])));
            }

            for (int g = 0; g < Size / Group; g++)
            {
                int sum = 0;
                foreach (byte q in qs.Slice(g * Group, Group))
                {
                    sum += (sbyte)q;
                }

                BinaryPrimitives.WriteInt16LittleEndian(block[(SumsOffset + (2 * g))..], (short)sum);
            }

            BinaryPrimitives.WriteSingleLittleEndian(block, 1f / inverseScale);
        }
    }
}
