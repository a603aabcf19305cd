namespace MicroLlm.Quantization;

/// <summary>
/// Q4_0: 32 weights as 4-bit codes with one half-float scale; weight = (code - 8) * d.
/// </summary>
/// <remarks>
/// <code>
/// offset size  field
///      0    2  d       half: scale
///      2   16  qs      codes: byte j holds weight j (low nibble) and weight j + 16 (high nibble)
///                                                                               = 18 bytes per 32 weights
/// </code>
/// The quantizer is the reference's deterministic one: d = m / -8, where m is the weight of largest magnitude (the
/// first, on a tie), so that weight becomes code 0 and the others spread over 0..15.
/// </remarks>
internal static class Q4_0Block
{
    /// <summary>Weights per block.</summary>
    public const int Size = 32;

    /// <summary>Bytes per block.</summary>
    public const int Bytes = 18;

    private const int Half = Size / 2;

    /// <summary>Decodes whole blocks; <paramref name="blocks"/> holds exactly <c>values.Length / Size</c> of them.</summary>
    public static void Dequantize(ReadOnlySpan<byte> blocks, Span<float> values)
    {
        for (int b = 0; b < values.Length / Size; b++)
        {
            ReadOnlySpan<byte> block = blocks.Slice(b * Bytes, Bytes);
            Span<float> y = values.Slice(b * Size, Size);      // (32)
            float d = BlockReader.Half(block, 0);
            ReadOnlySpan<byte> qs = block.Slice(2, Half);       // (16) two codes a byte
            for (int j = 0; j < Half; j++)
            {
                y[j] = ((qs[j] & 0x0F) - 8) * d;
                y[j + Half] = ((qs[j] >> 4) - 8) * d;
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
                if (absMax < MathF.Abs(v))
                {
                    absMax = MathF.Abs(v);
                    extreme = v;
                }
            }

            float d = extreme / -8f;
            float inverse = d != 0f ? 1f / d : 0f;
            BlockReader.WriteHalf(block, 0, d);

            Span<byte> qs = block.Slice(2, Half);
            for (int j = 0; j < Half; j++)
            {
                int low = Math.Min(15, ReferenceRounding.TruncateToSByte((x[j] * inverse) + 8.5f));
                int high = Math.Min(15, ReferenceRounding.TruncateToSByte((x[j + Half] * inverse) + 8.5f));
                qs[j] = (byte)(low | high << 4);
            }
        }
    }
}
