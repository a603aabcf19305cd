namespace MicroLlm.Quantization;

/// <summary>
/// Q5_0: 32 weights as 5-bit codes with one half-float scale; weight = (code - 16) * d.
/// </summary>
/// <remarks>
/// <code>
/// offset size  field
///      0    2  d       half: scale
///      2    4  qh      32-bit little-endian: bit i is the fifth (high) bit of weight i's code
///      6   16  qs      low 4 bits: byte j holds weight j (low nibble) and weight j + 16 (high nibble)
///                                                                               = 22 bytes per 32 weights
/// </code>
/// The quantizer is the reference's deterministic one: d = m / -16, where m is the weight of largest magnitude.
/// </remarks>
internal static class Q5_0Block
{
    /// <summary>Weights per block.</summary>
    public const int Size = 32;

    /// <summary>Bytes per block.</summary>
    public const int Bytes = 22;

    private const int Half = Size / 2;

    /// <summary>Decodes whole blocks; <paramref name="blocks"/> holds exactly <c>values.Length / Size</c> of them.</summary>
    public static void Dequantize(ReadOnlySpan<byte> blocks, Span<float> values)
    {
        for (int b = 0; b < values.Length / Size; b++)
        {
            ReadOnlySpan<byte> block = blocks.Slice(b * Bytes, Bytes);
            Span<float> y = values.Slice(b * Size, Size);      // (32)
            float d = BlockReader.Half(block, 0);
            uint qh = BlockReader.U32(block, 2);
            ReadOnlySpan<byte> qs = block.Slice(6, Half);       // (16) low nibbles
            for (int j = 0; j < Half; j++)
            {
                int low = (qs[j] & 0x0F) | (int)(qh >> j & 1) << 4;
                int high = (qs[j] >> 4) | (int)(qh >> (j + Half) & 1) << 4;
                y[j] = (low - 16) * d;
                y[j + Half] = (high - 16) * d;
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

            float d = extreme / -16f;
            float inverse = d != 0f ? 1f / d : 0f;
            BlockReader.WriteHalf(block, 0, d);

            uint qh = 0;
            Span<byte> qs = block.Slice(6, Half);
            for (int j = 0; j < Half; j++)
            {
                int low = Math.Min(31, ReferenceRounding.TruncateToSByte((x[j] * inverse) + 16.5f));
                int high = Math.Min(31, ReferenceRounding.TruncateToSByte((x[j + Half] * inverse) + 16.5f));
                qs[j] = (byte)((low & 0x0F) | (high & 0x0F) << 4);
                qh |= (uint)(low >> 4 & 1) << j;
                qh |= (uint)(high >> 4 & 1) << (j + Half);
            }

            System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(block[2..], qh);
        }
    }
}
