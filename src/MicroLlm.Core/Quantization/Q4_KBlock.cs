namespace MicroLlm.Quantization;

/// <summary>
/// Q4_K: a super-block of 256 weights in 8 groups of 32; 4-bit codes, a 6-bit scale and a 6-bit minimum per group,
/// both scaled by half floats: weight = (d * scale) * code - (dmin * min).
/// </summary>
/// <remarks>
/// <code>
/// offset size  field
///      0    2  d       half: scale of the scales
///      2    2  dmin    half: scale of the minimums
///      4   12  scales  eight 6-bit scales and eight 6-bit minimums, packed (see <see cref="ScaleAndMin"/>)
///     16  128  qs      codes: four chunks of 32 bytes; chunk c's byte i holds weight 64c + i (low nibble)
///                      and weight 64c + 32 + i (high nibble)
///                                                                             = 144 bytes per 256 weights
/// </code>
/// Group g covers weights 32g .. 32g + 31.
/// </remarks>
internal static class Q4_KBlock
{
    /// <summary>Weights per super-block.</summary>
    public const int Size = 256;

    /// <summary>Bytes per super-block.</summary>
    public const int Bytes = 144;

    /// <summary>Decodes whole super-blocks; <paramref name="blocks"/> holds exactly <c>values.Length / Size</c> of them.</summary>
    public static void Dequantize(ReadOnlySpan<byte> blocks, Span<float> values)
    {
        for (int b = 0; b < values.Length / Size; b++)
        {
            ReadOnlySpan<byte> block = blocks.Slice(b * Bytes, Bytes);
            Span<float> y = values.Slice(b * Size, Size);      // (256)
            float d = BlockReader.Half(block, 0);
            float dmin = BlockReader.Half(block, 2);
            ReadOnlySpan<byte> scales = block.Slice(4, 12);
            ReadOnlySpan<byte> qs = block.Slice(16, 128);       // (4, 32) two codes a byte

            for (int group = 0; group < 8; group++)
            {
                ScaleAndMin(scales, group, out int scale, out int min);
                float dl = d * scale;
                float ml = dmin * min;
                int shift = 4 * (group % 2);                   // even groups: low nibbles; odd: high
                ReadOnlySpan<byte> q = qs.Slice(32 * (group / 2), 32);
                Span<float> yg = y.Slice(32 * group, 32);
                for (int i = 0; i < 32; i++)
                {
                    yg[i] = (dl * (q[i] >> shift & 0x0F)) - ml;
                }
            }
        }
    }

    /// <summary>
    /// Unpacks group <paramref name="group"/>'s 6-bit scale and minimum from the 12 packed bytes shared by Q4_K and Q5_K:
    /// bytes 0-3 hold scales 0-3 and bytes 4-7 minimums 0-3 in their low 6 bits; bytes 8-11 hold the low nibbles of
    /// scales 4-7 (low) and minimums 4-7 (high), whose top 2 bits are the spare top bits of bytes 0-3 and 4-7.
    /// </summary>
    internal static void ScaleAndMin(ReadOnlySpan<byte> scales, int group, out int scale, out int min)
    {
        if (group < 4)
        {
            scale = scales[group] & 63;
            min = scales[group + 4] & 63;
        }
        else
        {
            scale = (scales[group + 4] & 0x0F) | (scales[group - 4] >> 6) << 4;
            min = (scales[group + 4] >> 4) | (scales[group] >> 6) << 4;
        }
    }
}
