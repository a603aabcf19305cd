namespace MicroLlm.Quantization;

/// <summary>
/// Q4_1: 32 weights as 4-bit codes with a half-float scale and minimum; weight = code * d + m.
/// </summary>
/// <remarks>
/// <code>
/// offset size  field
///      0    2  d       half: scale
///      2    2  m       half: minimum (the block's smallest weight)
///      4   16  qs      codes: byte j holds weight j (low nibble) and weight j + 16 (high nibble)
///                                                                               = 20 bytes per 32 weights
/// </code>
/// The quantizer is the reference's deterministic one: d = (max - min) / 15, codes rounded half up.
/// </remarks>
internal static class Q4_1Block
{
    /// <summary>Weights per block.</summary>
    public const int Size = 32;

    /// <summary>Bytes per block.</summary>
    public const int Bytes = 20;

    private const int Half = Size / 2;

    /// <summary>Decodes whole blocks; <paramref name="blocks"/> holds exactly <c>values.Length / Size</c> of them.</summary>
    public static void Dequantize(ReadOnlySpan<byte> blocks, Span<float> values)
    {
        for (int b = 0; b < values.Length / Size; b++)
        {
            ReadOnlySpan<byte> block = blocks.Slice(b * Bytes, Bytes);
            Span<float> y = values.Slice(b * Size, Size);      // (32)
            float d = BlockReader.Half(block, 0);
            float m = BlockReader.Half(block, 2);
            ReadOnlySpan<byte> qs = block.Slice(4, Half);       // (16) two codes a byte
            for (int j = 0; j < Half; j++)
            {
                y[j] = ((qs[j] & 0x0F) * d) + m;
                y[j + Half] = ((qs[j] >> 4) * d) + m;
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

            float min = float.MaxValue;
            float max = -float.MaxValue;
            foreach (float v in x)
            {
                if (v < min)
                {
                    min = v;
                }

                if (v > max)
                {
                    max = v;
                }
            }

            float d = (max - min) / 15f;
            float inverse = d != 0f ? 1f / d : 0f;
            BlockReader.WriteHalf(block, 0, d);
            BlockReader.WriteHalf(block, 2, min);

            Span<byte> qs = block.Slice(4, Half);
            for (int j = 0; j < Half; j++)
            {
                int low = Math.Min(15, ReferenceRounding.TruncateToSByte(((x[j] - min) * inverse) + 0.5f));
                int high = Math.Min(15, ReferenceRounding.TruncateToSByte(((x[j + Half] - min) * inverse) + 0.5f));
                qs[j] = (byte)(low | high << 4);
            }
        }
    }
}
