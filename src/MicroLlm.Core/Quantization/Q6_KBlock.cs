namespace MicroLlm.Quantization;

/// <summary>
/// Q6_K: a super-block of 256 weights in 16 groups of 16; 6-bit codes (4 low bits plus 2 high bits kept apart) and a
/// signed 8-bit scale per group: weight = (d * scale) * (code - 32).
/// </summary>
/// <remarks>
/// <code>
/// offset size  field
///      0  128  ql      low 4 bits: two halves of 64 bytes; in half h, weight 128h + 32s + i (s = 0..3,
///                      i = 0..31) is the low nibble (s = 0, 1) or high nibble (s = 2, 3) of byte 64h + 32(s % 2) + i
///    128   64  qh      high 2 bits: the same weight is bits 2s..2s+1 of byte 128 + 32h + i
///    192   16  scales  signed byte per group
///    208    2  d       half: scale of the scales
///                                                                             = 210 bytes per 256 weights
/// </code>
/// Group g covers weights 16g .. 16g + 15.
/// </remarks>
internal static class Q6_KBlock
{
    /// <summary>Weights per super-block.</summary>
    public const int Size = 256;

    /// <summary>Bytes per super-block.</summary>
    public const int Bytes = 210;

    /// <summary>Decodes whole super-blocks; <paramref name="blocks"/> holds exactly <c>values.Length / Size</c> of them.</summary>
    public static void Dequantize(ReadOnlySpan<byte> blocks, Span<float> values)
    {
        for (int b = 0; b < values.Length / Size; b++)
        {
            ReadOnlySpan<byte> block = blocks.Slice(b * Bytes, Bytes);
            Span<float> y = values.Slice(b * Size, Size);      // (256)
            ReadOnlySpan<byte> ql = block[..128];               // (2, 64) low nibbles
            ReadOnlySpan<byte> qh = block.Slice(128, 64);       // (2, 32) four 2-bit high parts a byte
            ReadOnlySpan<byte> scales = block.Slice(192, 16);   // (16) signed
            float d = BlockReader.Half(block, 208);

            for (int group = 0; group < 16; group++)
            {
                int half = group / 8;
                int s = group % 8 / 2;                         // 32-weight stripe within the half
                int first = 16 * (group % 2);                  // i starts at 0 or 16
                int lowShift = 4 * (s / 2);
                int highShift = 2 * s;
                float dl = d * (sbyte)scales[group];
                ReadOnlySpan<byte> lo = ql.Slice((64 * half) + (32 * (s % 2)) + first, 16);
                ReadOnlySpan<byte> hi = qh.Slice((32 * half) + first, 16);
                Span<float> yg = y.Slice(16 * group, 16);
                for (int i = 0; i < 16; i++)
                {
                    int code = (lo[i] >> lowShift & 0x0F) | (hi[i] >> highShift & 3) << 4;
                    yg[i] = dl * (code - 32);
                }
            }
        }
    }
}
