namespace MicroLlm.Quantization;

/// <summary>
/// Q3_K: a super-block of 256 weights in 16 groups of 16; 3-bit codes (2 low bits plus a high bit kept apart) and a
/// signed 6-bit scale per group: weight = (d * (scale - 32)) * (code - 4).
/// </summary>
/// <remarks>
/// <code>
/// offset size  field
///      0   32  hmask   high bits: weight 128h + 32s + 16t + i (h = 0..1, s = 0..3, t = 0..1, i = 0..15) is
///                      bit 4h + s of byte 16t + i; a clear bit subtracts 4 from the low bits
///     32   64  qs      low 2 bits: same weight is bits 2s..2s+1 of byte 32h + 16t + i
///     96   12  scales  sixteen 6-bit scales: low nibbles in bytes 0-7 (scales 0-7 low halves, 8-15 high
///                      halves), the top 2 bits of scale g in byte 8 + g % 4 at bit 2 * (g / 4)
///    108    2  d       half: scale of the scales
///                                                                             = 110 bytes per 256 weights
/// </code>
/// Group g covers weights 16g .. 16g + 15.
/// </remarks>
internal static class Q3_KBlock
{
    /// <summary>Weights per super-block.</summary>
    public const int Size = 256;

    /// <summary>Bytes per super-block.</summary>
    public const int Bytes = 110;

    /// <summary>Decodes whole super-blocks; <paramref name="blocks"/> holds exactly <c>values.Length / Size</c> of them.</summary>
    public static void Dequantize(ReadOnlySpan<byte> blocks, Span<float> values)
    {
        for (int b = 0; b < values.Length / Size; b++)
        {
            ReadOnlySpan<byte> block = blocks.Slice(b * Bytes, Bytes);
            Span<float> y = values.Slice(b * Size, Size);      // (256)
            ReadOnlySpan<byte> hmask = block[..32];             // (32) high bits, 8 groups' worth per byte
            ReadOnlySpan<byte> qs = block.Slice(32, 64);        // (2, 32) halves of four 2-bit codes a byte
            ReadOnlySpan<byte> scales = block.Slice(96, 12);    // sixteen packed 6-bit scales
            float d = BlockReader.Half(block, 108);

            for (int group = 0; group < 16; group++)
            {
                int half = group / 8;
                int pair = group % 8 / 2;                      // s: bit pair of qs, and high bit 4h + s
                int first = 16 * (group % 2);                  // t: which 16 bytes
                int highBit = 1 << ((4 * half) + pair);
                int shift = 2 * pair;
                float dl = d * (Scale(scales, group) - 32);
                ReadOnlySpan<byte> q = qs.Slice((32 * half) + first, 16);
                ReadOnlySpan<byte> hm = hmask.Slice(first, 16);
                Span<float> yg = y.Slice(16 * group, 16);
                for (int i = 0; i < 16; i++)
                {
                    int code = (q[i] >> shift & 3) - ((hm[i] & highBit) != 0 ? 0 : 4);
                    yg[i] = dl * code;
                }
            }
        }
    }

    /// <summary>Unpacks the unsigned 6-bit scale of group <paramref name="group"/> (0..63; the format subtracts 32).</summary>
    private static int Scale(ReadOnlySpan<byte> scales, int group)
    {
        int low = group < 8 ? scales[group] & 0x0F : scales[group - 8] >> 4;
        int high = scales[8 + (group % 4)] >> (2 * (group / 4)) & 3;
        return low | high << 4;
    }
    /// <summary>
    /// Encodes whole super-blocks as ggml's <c>quantize_row_q3_K_ref</c> does: per group of 16 an x²-weighted search
    /// for a signed scale, the scales quantized to 6 bits against the super-block's largest, and the codes recomputed
    /// with them; the third bits go to <c>hmask</c>.
    /// </summary>
    public static void Quantize(ReadOnlySpan<float> values, Span<byte> blocks)
    {
        Span<sbyte> codes = stackalloc sbyte[Size];  // (256) codes 0..7
        Span<float> scales = stackalloc float[16];
        for (int b = 0; b < values.Length / Size; b++)
        {
            ReadOnlySpan<float> x = values.Slice(b * Size, Size);
            Span<byte> block = blocks.Slice(b * Bytes, Bytes);
            Span<byte> packed = block.Slice(96, 12);
            float maxScale = 0;
            float amax = 0;
            for (int group = 0; group < 16; group++)
            {
                scales[group] = KQuantSearch.MakeQ3Quants(4, x.Slice(16 * group, 16), codes.Slice(16 * group, 16));
                float scale = MathF.Abs(scales[group]);
                if (scale > amax)
                {
                    amax = scale;
                    maxScale = scales[group];
                }
            }

            packed.Clear();
            if (maxScale != 0)
            {
                float iscale = -32f / maxScale;
                for (int group = 0; group < 16; group++)
                {
                    int l = unchecked((sbyte)ReferenceRounding.NearestInt(iscale * scales[group]));
                    l = Math.Max(-32, Math.Min(31, l)) + 32;
                    if (group < 8)
                    {
                        packed[group] = (byte)(l & 0xF);
                    }
                    else
                    {
                        packed[group - 8] |= (byte)((l & 0xF) << 4);
                    }

                    packed[(group % 4) + 8] |= (byte)((l >> 4) << (2 * (group / 4)));
                }

                BlockReader.WriteHalf(block, 108, 1 / iscale);
            }
            else
            {
                BlockReader.WriteHalf(block, 108, 0f);
            }

            float d = BlockReader.Half(block, 108);
            for (int group = 0; group < 16; group++)
            {
                int low = group < 8 ? packed[group] & 0xF : packed[group - 8] >> 4;
                int scale = (low | (((packed[8 + (group % 4)] >> (2 * (group / 4))) & 3) << 4)) - 32;
                float dl = d * scale;
                if (dl == 0)
                {
                    continue;
                }

                for (int i = 0; i < 16; i++)
                {
                    int l = ReferenceRounding.NearestInt(x[(16 * group) + i] / dl);
                    codes[(16 * group) + i] = (sbyte)(Math.Max(-4, Math.Min(3, l)) + 4);
                }
            }

            Span<byte> hmask = block[..32];
            hmask.Clear();
            int m = 0;
            byte hm = 1;
            for (int j = 0; j < Size; j++)
            {
                if (codes[j] > 3)
                {
                    hmask[m] |= hm;
                    codes[j] -= 4;
                }

                if (++m == 32)
                {
                    m = 0;
                    hm <<= 1;
                }
            }

            Span<byte> qs = block.Slice(32, 64);
            for (int half = 0; half < 2; half++)
            {
                for (int i = 0; i < 32; i++)
                {
                    int j = 128 * half;
                    qs[(32 * half) + i] = (byte)((byte)codes[j + i] | ((byte)codes[j + i + 32] << 2) | ((byte)codes[j + i + 64] << 4) | ((byte)codes[j + i + 96] << 6));
                }
            }
        }
    }
}
