namespace MicroLlm.Quantization;

/// <summary>
/// Q2_K: a super-block of 256 weights in 16 groups of 16; 2-bit codes, a 4-bit scale and a 4-bit minimum per group,
/// both scaled by half floats: weight = (d * scale) * code - (dmin * min).
/// </summary>
/// <remarks>
/// <code>
/// offset size  field
///      0   16  scales  byte g: group g's scale (low nibble) and minimum (high nibble)
///     16   64  qs      2-bit codes: two halves of 128 weights, 32 bytes each; in a half, weight 32s + i
///                      (s = 0..3, i = 0..31) is bits 2s..2s+1 of byte i
///     80    2  d       half: scale of the scales
///     82    2  dmin    half: scale of the minimums
///                                                                              = 84 bytes per 256 weights
/// </code>
/// Group g covers weights 16g .. 16g + 15.
/// </remarks>
internal static class Q2_KBlock
{
    /// <summary>Weights per super-block.</summary>
    public const int Size = 256;

    /// <summary>Bytes per super-block.</summary>
    public const int Bytes = 84;

    /// <summary>Decodes whole super-blocks; <paramref name="blocks"/> holds exactly <c>values.Length / Size</c> of them.</summary>
    public static void Dequantize(ReadOnlySpan<byte> blocks, Span<float> values)
    {
        for (int b = 0; b < values.Length / Size; b++)
        {
            ReadOnlySpan<byte> block = blocks.Slice(b * Bytes, Bytes);
            Span<float> y = values.Slice(b * Size, Size);      // (256)
            ReadOnlySpan<byte> scales = block[..16];            // (16) per group: scale | min << 4
            ReadOnlySpan<byte> qs = block.Slice(16, 64);        // (2, 32) halves of four 2-bit codes a byte
            float d = BlockReader.Half(block, 80);
            float dmin = BlockReader.Half(block, 82);

            for (int group = 0; group < 16; group++)
            {
                int half = group / 8;                          // which 32 bytes of qs
                int shift = 2 * (group % 8 / 2);               // which bit pair
                int first = 16 * (group % 2);                  // which 16 of those bytes
                float dl = d * (scales[group] & 0x0F);
                float ml = dmin * (scales[group] >> 4);
                ReadOnlySpan<byte> q = qs.Slice((32 * half) + first, 16);
                Span<float> yg = y.Slice(16 * group, 16);
                for (int i = 0; i < 16; i++)
                {
                    yg[i] = (dl * (q[i] >> shift & 3)) - ml;
                }
            }
        }
    }
    /// <summary>
    /// Encodes whole super-blocks as ggml's <c>quantize_row_q2_K_ref</c> does: per group of 16 an |x|-weighted search
    /// for scale and minimum (absolute error), both quantized to 4 bits against the super-block's largest, and the
    /// codes recomputed with the stored values.
    /// </summary>
    public static void Quantize(ReadOnlySpan<float> values, Span<byte> blocks)
    {
        Span<byte> codes = stackalloc byte[Size];   // (256) codes 0..3
        Span<byte> scratch = stackalloc byte[16];
        Span<float> weights = stackalloc float[16];
        Span<float> mins = stackalloc float[16];
        Span<float> scales = stackalloc float[16];
        const float ScaleLevels = 15f;
        for (int b = 0; b < values.Length / Size; b++)
        {
            ReadOnlySpan<float> x = values.Slice(b * Size, Size);
            Span<byte> block = blocks.Slice(b * Bytes, Bytes);
            Span<byte> packed = block[..16];
            float maxScale = 0;
            float maxMin = 0;
            for (int group = 0; group < 16; group++)
            {
                ReadOnlySpan<float> xg = x.Slice(16 * group, 16);
                for (int i = 0; i < 16; i++)
                {
                    weights[i] = MathF.Abs(xg[i]);
                }

                scales[group] = KQuantSearch.MakeQkx2Quants(
                    3, xg, weights, codes.Slice(16 * group, 16), scratch, out mins[group], -0.5f, 0.1f, 15, useMad: true);
                if (scales[group] > maxScale)
                {
                    maxScale = scales[group];
                }

                if (mins[group] > maxMin)
                {
                    maxMin = mins[group];
                }
            }

            if (maxScale > 0)
            {
                float iscale = ScaleLevels / maxScale;
                for (int group = 0; group < 16; group++)
                {
                    packed[group] = unchecked((byte)ReferenceRounding.NearestInt(iscale * scales[group]));
                }

                BlockReader.WriteHalf(block, 80, maxScale / ScaleLevels);
            }
            else
            {
                packed.Clear();
                BlockReader.WriteHalf(block, 80, 0f);
            }

            if (maxMin > 0)
            {
                float iscale = ScaleLevels / maxMin;
                for (int group = 0; group < 16; group++)
                {
                    packed[group] |= unchecked((byte)(ReferenceRounding.NearestInt(iscale * mins[group]) << 4));
                }

                BlockReader.WriteHalf(block, 82, maxMin / ScaleLevels);
            }
            else
            {
                BlockReader.WriteHalf(block, 82, 0f);
            }

            float d = BlockReader.Half(block, 80);
            float dmin = BlockReader.Half(block, 82);
            for (int group = 0; group < 16; group++)
            {
                float dl = d * (packed[group] & 0xF);
                if (dl == 0)
                {
                    continue;
                }

                float ml = dmin * (packed[group] >> 4);
                for (int i = 0; i < 16; i++)
                {
                    int l = ReferenceRounding.NearestInt((x[(16 * group) + i] + ml) / dl);
                    codes[(16 * group) + i] = (byte)Math.Max(0, Math.Min(3, l));
                }
            }

            Span<byte> qs = block.Slice(16, 64);
            for (int half = 0; half < 2; half++)
            {
                for (int i = 0; i < 32; i++)
                {
                    int j = 128 * half;
                    qs[(32 * half) + i] = (byte)(codes[j + i] | (codes[j + i + 32] << 2) | (codes[j + i + 64] << 4) | (codes[j + i + 96] << 6));
                }
            }
        }
    }
}
