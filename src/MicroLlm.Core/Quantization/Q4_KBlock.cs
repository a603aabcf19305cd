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
    /// <summary>
    /// Encodes whole super-blocks as ggml's <c>quantize_row_q4_K_ref</c> does (no importance matrix): per group, a
    /// weighted search for scale and minimum (weights |x| + rms of the group), then both quantized to 6 bits against the
    /// super-block's largest, and the codes recomputed with the stored scales.
    /// </summary>
    public static void Quantize(ReadOnlySpan<float> values, Span<byte> blocks) =>
        QuantizeWithMinimums(values, blocks, Bytes, nmax: 15, rmin: -1f, steps: 20, WriteCodes);

    /// <summary>
    /// The part of Q4_K's and Q5_K's reference quantizers they share: the per-group search, the packed 6-bit scales and
    /// minimums at bytes 4-15, <c>d</c> and <c>dmin</c> at bytes 0-3, and the final codes 0..<paramref name="nmax"/>,
    /// which <paramref name="writeCodes"/> packs into the block.
    /// </summary>
    internal static void QuantizeWithMinimums(
        ReadOnlySpan<float> values, Span<byte> blocks, int blockBytes, int nmax, float rmin, int steps, CodeWriter writeCodes)
    {
        Span<byte> codes = stackalloc byte[Size];   // (256) codes 0..nmax
        Span<byte> scratch = stackalloc byte[32];
        Span<float> weights = stackalloc float[32];
        Span<float> mins = stackalloc float[8];
        Span<float> scales = stackalloc float[8];
        for (int b = 0; b < values.Length / Size; b++)
        {
            ReadOnlySpan<float> x = values.Slice(b * Size, Size);
            Span<byte> block = blocks.Slice(b * blockBytes, blockBytes);
            Span<byte> packed = block.Slice(4, 12);
            float maxScale = 0;
            float maxMin = 0;
            for (int group = 0; group < 8; group++)
            {
                ReadOnlySpan<float> xg = x.Slice(32 * group, 32);
                float sumX2 = 0;
                foreach (float v in xg)
                {
                    sumX2 += v * v;
                }

                float averageX = MathF.Sqrt(sumX2 / 32);
                for (int i = 0; i < 32; i++)
                {
                    weights[i] = averageX + MathF.Abs(xg[i]);
                }

                scales[group] = KQuantSearch.MakeQkx2Quants(
                    nmax, xg, weights, codes.Slice(32 * group, 32), scratch, out mins[group], rmin, 0.1f, steps, useMad: false);
                if (scales[group] > maxScale)
                {
                    maxScale = scales[group];
                }

                if (mins[group] > maxMin)
                {
                    maxMin = mins[group];
                }
            }

            float inverseScale = maxScale > 0 ? 63f / maxScale : 0f;
            float inverseMin = maxMin > 0 ? 63f / maxMin : 0f;
            packed.Clear();
            for (int group = 0; group < 8; group++)
            {
                int ls = Math.Min(63, (int)unchecked((byte)ReferenceRounding.NearestInt(inverseScale * scales[group])));
                int lm = Math.Min(63, (int)unchecked((byte)ReferenceRounding.NearestInt(inverseMin * mins[group])));
                if (group < 4)
                {
                    packed[group] = (byte)ls;
                    packed[group + 4] = (byte)lm;
                }
                else
                {
                    packed[group + 4] = (byte)((ls & 0xF) | ((lm & 0xF) << 4));
                    packed[group - 4] |= (byte)((ls >> 4) << 6);
                    packed[group] |= (byte)((lm >> 4) << 6);
                }
            }

            BlockReader.WriteHalf(block, 0, maxScale / 63f);
            BlockReader.WriteHalf(block, 2, maxMin / 63f);
            float d = BlockReader.Half(block, 0);
            float dmin = BlockReader.Half(block, 2);
            for (int group = 0; group < 8; group++)
            {
                ScaleAndMin(packed, group, out int scale, out int min);
                float dl = d * scale;
                if (dl == 0)
                {
                    continue; // keeps the search's codes, as the reference does
                }

                float ml = dmin * min;
                for (int i = 0; i < 32; i++)
                {
                    int l = ReferenceRounding.NearestInt((x[(32 * group) + i] + ml) / dl);
                    codes[(32 * group) + i] = (byte)Math.Max(0, Math.Min(nmax, l));
                }
            }

            writeCodes(codes, block);
        }
    }

    /// <summary>Packs a super-block's 256 final codes into its block.</summary>
    internal delegate void CodeWriter(ReadOnlySpan<byte> codes, Span<byte> block);

    private static void WriteCodes(ReadOnlySpan<byte> codes, Span<byte> block)
    {
        Span<byte> qs = block.Slice(16, 128);
        for (int chunk = 0; chunk < 4; chunk++)
        {
            for (int i = 0; i < 32; i++)
            {
                qs[(32 * chunk) + i] = (byte)(codes[(64 * chunk) + i] | (codes[(64 * chunk) + 32 + i] << 4));
            }
        }
    }
}
