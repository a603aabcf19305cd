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
    /// <summary>
    /// Encodes whole super-blocks as ggml's <c>quantize_row_q6_K_ref</c> does: an x²-weighted search for each group's
    /// signed scale, the scales quantized to signed bytes against the super-block's largest, the codes recomputed with
    /// them. An all-zero super-block (largest scale below 1e-15) is stored as zeros.
    /// </summary>
    public static void Quantize(ReadOnlySpan<float> values, Span<byte> blocks)
    {
        Span<sbyte> codes = stackalloc sbyte[Size];  // (256) codes 0..63
        Span<float> scales = stackalloc float[16];
        for (int b = 0; b < values.Length / Size; b++)
        {
            ReadOnlySpan<float> x = values.Slice(b * Size, Size);
            Span<byte> block = blocks.Slice(b * Bytes, Bytes);
            float maxScale = 0;
            float maxAbsScale = 0;
            for (int group = 0; group < 16; group++)
            {
                float scale = KQuantSearch.MakeQxQuants(32, x.Slice(16 * group, 16), codes.Slice(16 * group, 16));
                scales[group] = scale;
                float absScale = MathF.Abs(scale);
                if (absScale > maxAbsScale)
                {
                    maxAbsScale = absScale;
                    maxScale = scale;
                }
            }

            block.Clear();
            if (maxAbsScale < KQuantSearch.GroupMaxEpsilon)
            {
                continue;
            }

            float iscale = -128f / maxScale;
            BlockReader.WriteHalf(block, 208, 1 / iscale);
            Span<byte> groupScales = block.Slice(192, 16);
            for (int group = 0; group < 16; group++)
            {
                groupScales[group] = unchecked((byte)Math.Min(127, ReferenceRounding.NearestInt(iscale * scales[group])));
            }

            float d = BlockReader.Half(block, 208);
            for (int group = 0; group < 16; group++)
            {
                float dl = d * (sbyte)groupScales[group];
                if (dl == 0)
                {
                    continue;
                }

                for (int i = 0; i < 16; i++)
                {
                    int l = ReferenceRounding.NearestInt(x[(16 * group) + i] / dl);
                    codes[(16 * group) + i] = (sbyte)(Math.Max(-32, Math.Min(31, l)) + 32);
                }
            }

            Span<byte> ql = block[..128];
            Span<byte> qh = block.Slice(128, 64);
            for (int half = 0; half < 2; half++)
            {
                ReadOnlySpan<sbyte> l = codes.Slice(128 * half, 128);
                for (int i = 0; i < 32; i++)
                {
                    ql[(64 * half) + i] = (byte)((l[i] & 0xF) | ((l[i + 64] & 0xF) << 4));
                    ql[(64 * half) + 32 + i] = (byte)((l[i + 32] & 0xF) | ((l[i + 96] & 0xF) << 4));
                    qh[(32 * half) + i] = (byte)((l[i] >> 4) | ((l[i + 32] >> 4) << 2) | ((l[i + 64] >> 4) << 4) | ((l[i + 96] >> 4) << 6));
                }
            }
        }
    }
}
