namespace MicroLlm.Quantization;

/// <summary>
/// Q5_K: a super-block of 256 weights in 8 groups of 32; 5-bit codes (4 low bits plus a high bit kept apart), a 6-bit
/// scale and a 6-bit minimum per group, both scaled by half floats: weight = (d * scale) * code - (dmin * min).
/// </summary>
/// <remarks>
/// <code>
/// offset size  field
///      0    2  d       half: scale of the scales
///      2    2  dmin    half: scale of the minimums
///      4   12  scales  eight 6-bit scales and minimums, packed as in Q4_K
///     16   32  qh      high bits: weight 32g + i (i = 0..31) is bit g of byte i
///     48  128  qs      low 4 bits, laid out as Q4_K's codes
///                                                                             = 176 bytes per 256 weights
/// </code>
/// Group g covers weights 32g .. 32g + 31.
/// </remarks>
internal static class Q5_KBlock
{
    /// <summary>Weights per super-block.</summary>
    public const int Size = 256;

    /// <summary>Bytes per super-block.</summary>
    public const int Bytes = 176;

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
            ReadOnlySpan<byte> qh = block.Slice(16, 32);        // (32) bit g: high bit of group g
            ReadOnlySpan<byte> qs = block.Slice(48, 128);       // (4, 32) two low nibbles a byte

            for (int group = 0; group < 8; group++)
            {
                Q4_KBlock.ScaleAndMin(scales, group, out int scale, out int min);
                float dl = d * scale;
                float ml = dmin * min;
                int shift = 4 * (group % 2);
                ReadOnlySpan<byte> q = qs.Slice(32 * (group / 2), 32);
                Span<float> yg = y.Slice(32 * group, 32);
                for (int i = 0; i < 32; i++)
                {
                    int code = (q[i] >> shift & 0x0F) + ((qh[i] >> group & 1) != 0 ? 16 : 0);
                    yg[i] = (dl * code) - ml;
                }
            }
        }
    }
    /// <summary>
    /// Encodes whole super-blocks as ggml's <c>quantize_row_q5_K_ref</c> does (no importance matrix): Q4_K's search
    /// with codes 0..31, then the fifth bits split off into <c>qh</c>.
    /// </summary>
    public static void Quantize(ReadOnlySpan<float> values, Span<byte> blocks) =>
        Q4_KBlock.QuantizeWithMinimums(values, blocks, Bytes, nmax: 31, rmin: -0.5f, steps: 15, WriteCodes);

    private static void WriteCodes(ReadOnlySpan<byte> codes, Span<byte> block)
    {
        Span<byte> qh = block.Slice(16, 32);
        Span<byte> qs = block.Slice(48, 128);
        qh.Clear();
        for (int chunk = 0; chunk < 4; chunk++)
        {
            byte low = (byte)(1 << (2 * chunk)), high = (byte)(2 << (2 * chunk));
            for (int i = 0; i < 32; i++)
            {
                int l1 = codes[(64 * chunk) + i];
                if (l1 > 15)
                {
                    l1 -= 16;
                    qh[i] |= low;
                }

                int l2 = codes[(64 * chunk) + 32 + i];
                if (l2 > 15)
                {
                    l2 -= 16;
                    qh[i] |= high;
                }

                qs[(32 * chunk) + i] = (byte)(l1 | (l2 << 4));
            }
        }
    }
}
