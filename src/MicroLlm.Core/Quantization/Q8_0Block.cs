namespace MicroLlm.Quantization;

/// <summary>
/// Q8_0: 32 weights as signed bytes with one half-float scale; weight = code * d. Also the format activations are
/// quantized to before a dot product with Q4_0, Q4_1, Q5_0, Q5_1 or Q8_0 weights.
/// </summary>
/// <remarks>
/// <code>
/// offset size  field
///      0    2  d       half: scale
///      2   32  qs      signed byte codes, weight j at byte j
///                                                                               = 34 bytes per 32 weights
/// </code>
/// The quantizer is the reference's deterministic one: d = max|x| / 127, codes rounded half away from zero, from the
/// float scale before it is stored as a half.
/// </remarks>
internal static class Q8_0Block
{
    /// <summary>Weights per block.</summary>
    public const int Size = 32;

    /// <summary>Bytes per block.</summary>
    public const int Bytes = 34;

    /// <summary>Decodes whole blocks; <paramref name="blocks"/> holds exactly <c>values.Length / Size</c> of them.</summary>
    public static void Dequantize(ReadOnlySpan<byte> blocks, Span<float> values)
    {
        for (int b = 0; b < values.Length / Size; b++)
        {
            ReadOnlySpan<byte> block = blocks.Slice(b * Bytes, Bytes);
            Span<float> y = values.Slice(b * Size, Size);      // (32)
            float d = BlockReader.Half(block, 0);
            ReadOnlySpan<byte> qs = block.Slice(2, Size);       // (32) signed codes
            for (int j = 0; j < Size; j++)
            {
                y[j] = (sbyte)qs[j] * d;
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
            foreach (float v in x)
            {
                float a = MathF.Abs(v);
                absMax = absMax > a ? absMax : a; // not Math.Max: a NaN must propagate the way the reference's does
            }

            float d = absMax / 127f;
            float inverse = d != 0f ? 1f / d : 0f;
            BlockReader.WriteHalf(block, 0, d);

            Span<byte> qs = block.Slice(2, Size);
            for (int j = 0; j < Size; j++)
            {
                qs[j] = unchecked((byte)ReferenceRounding.Truncate(ReferenceRounding.RoundHalfAwayFromZero(x[j] * inverse)));
            }
        }
    }
}
