namespace MicroLlm.Quantization;

/// <summary>
/// Q5_1: 32 weights as 5-bit codes with a half-float scale and minimum; weight = code * d + m.
/// </summary>
/// <remarks>
/// <code>
/// offset size  field
///      0    2  d       half: scale
///      2    2  m       half: minimum (the block's smallest weight)
///      4    4  qh      32-bit little-endian: bit i is the fifth (high) bit of weight i's code
///      8   16  qs      low 4 bits: byte j holds weight j (low nibble) and weight j + 16 (high nibble)
///                                                                               = 24 bytes per 32 weights
/// </code>
/// The quantizer is the reference's deterministic one: d = (max - min) / 31, codes rounded half up.
/// </remarks>
internal static class Q5_1Block
{
    /// <summary>Weights per block.</summary>
    public const int Size = 32;

    /// <summary>Bytes per block.</summary>
    public const int Bytes = 24;

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
            uint qh = BlockReader.U32(block, 4);
            ReadOnlySpan<byte> qs = block.Slice(8, Half);       // (16) low nibbles
            for (int j = 0; j < Half; j++)
            {
                int low = (qs[j] & 0x0F) | (int)(qh >> j & 1) << 4;
                int high = (qs[j] >> 4) | (int)(qh >> (j + Half) & 1) << 4;
                y[j] = (low * d) + m;
                y[j + Half] = (high * d) + m;
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

            float d = (max - min) / 31f;
            float inverse = d != 0f ? 1f / d : 0f;
            BlockReader.WriteHalf(block, 0, d);
            BlockReader.WriteHalf(block, 2, min);

            uint qh = 0;
            Span<byte> qs = block.Slice(8, Half);
            for (int j = 0; j < Half; j++)
            {
                // No clamp: (max - min) * inverse rounds to at most 31.
                int low = ReferenceRounding.Truncate(((x[j] - min) * inverse) + 0.5f);
                int high = ReferenceRounding.Truncate(((x[j + Half] - min) * inverse) + 0.5f);
                qs[j] = (byte)((low & 0x0F) | (high & 0x0F) << 4);
                qh |= (uint)(low >> 4 & 1) << j;
                qh |= (uint)(high >> 4 & 1) << (j + Half);
            }

            System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(block[4..], qh);
        }
    }
}
