using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using MicroLlm.Gguf;

namespace MicroLlm.Kernels;

/// <summary>
/// Prefill of Q4_K and Q5_K weights at 512 bits in register tiles of 2 rows × 8 activation vectors: each zmm
/// accumulator holds two outputs (a row against two vectors, lanes 0-7 and 8-15), and each row's super-block is unpacked
/// once (codes, scales) for the 8 vectors.
/// </summary>
/// <remarks>
/// <para>Each output keeps <see cref="Q4_KDot"/>'s order (the reference's <c>ggml_vec_dot_q4_K_q8_K</c>,
/// <c>Numerics/ReferenceDot.Q4_K</c>): per super-block, 8 exact integer lanes (lane k: elements 4k..4k+3 of each
/// group of 32, weighted by the group's 6-bit scale), converted exactly, then <c>acc = fma(d_x · d, lane, acc)</c> in
/// the output's own 8 float lanes; the minimums in their own 4 lanes, <c>fma(−d_x · dmin, prod, lane)</c> with the same
/// exact integer <c>prod</c>; then <c>Sum(acc) + Sum(minimums)</c>. The minimums are an independent chain, so they are
/// computed in a pass of their own (4 vectors per zmm), before the main one; tiles only reorder work across outputs.
/// Q5_K (<see cref="Q5_KDot"/>, <c>ReferenceDot.Q5_K</c>) has the same main lanes with 5-bit codes (the fifth bit from
/// <c>qh</c> joins each code when the row is unpacked: 31 · 127 · 2 still fits the 16-bit pair sums) and its minimums
/// in one chain per output: one <c>fma(−d_x · dmin, Σ min · bsum, acc)</c> per super-block, the integer sum whole.</para>
/// <para>Per call, the batch's activations are laid out once: in pairs of vectors (per block: for each group of 32 the
/// two vectors' codes side by side, then their scales as 8 + 8 floats) and in quads (per block: each vector's 8 sums of
/// 32 codes as 16-bit integers, then its negated scale as 4 floats). Each row is unpacked once per tile into a
/// per-thread panel (codes split from their nibbles, scales and minimums widened, d and dmin as floats), which the
/// minimums' pass and the tiles, each running over the row once per 4 or 8 vectors, only load (the codes already in
/// both halves of a vector: a 256-bit load widened in the tile costs two inserts).</para>
/// </remarks>
internal static unsafe class Q4_KPrefillTiles
{
    /// <summary>Rows per tile.</summary>
    public const int TileRows = 2;

    private const int WBytes = Q4_KDot.WBytes, XBytes = Q4_KDot.XBytes, PairBlockBytes = 576, QuadBlockBytes = 128;

    // Row panel, per super-block: the 8 groups' codes (32 bytes each, twice: both halves of a vector), their 8 scales as
    // 16-bit integers, d and dmin as floats, then the 8 minimums as 16-bit integers four times over (one per vector of
    // a quad).
    private const int PanelBlockBytes = 608, ScalesAt = 512, DAt = 528, DminAt = 532, MinsAt = 544;

    [ThreadStatic]
    private static byte[]? t_buffer;

    /// <summary>Whether a batch of <paramref name="count"/> vectors takes this path at <paramref name="width"/>.</summary>
    public static bool Supports(GgmlType weightType, int count, KernelWidth width) =>
        width == KernelWidth.Vector512 && weightType is GgmlType.Q4_K or GgmlType.Q5_K && count >= 4;

    /// <summary>
    /// <c>y[t * yStride + r] = row r · x_t</c> for <paramref name="rowStart"/> ≤ r &lt; <paramref name="rowEnd"/> and
    /// t &lt; <paramref name="count"/>; activation vector t (Q8_K super-blocks) at <c>x + t * xStride</c> bytes; Q5_K
    /// rows when <paramref name="fifthBits"/>. <paramref name="grouped"/>: the matrix is in <see cref="RowGroups"/> (the
    /// range then starts and ends on a group).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ComputeBatch(
        byte* weights, long rowBytes, int blocks, int rowStart, int rowEnd, byte* x, long xStride, int count, float* y, long yStride,
        bool fifthBits = false, bool grouped = false)
    {
        int blockBytes = fifthBits ? Q5_KDot.WBytes : WBytes;
        int pairs = (count + 1) / 2, quads = (count + 3) / 4;
        long pairStride = (long)blocks * PairBlockBytes, quadStride = (long)blocks * QuadBlockBytes;
        long pairBytes = pairs * pairStride, quadBytes = quads * quadStride, rowPanelBytes = (long)blocks * PanelBlockBytes;
        long minimumBytes = (long)TileRows * quads * 4 * sizeof(float);
        byte* xPairs = ThreadScratch.Bytes(ref t_buffer, pairBytes + quadBytes + (TileRows * rowPanelBytes) + minimumBytes + 64);
        byte* xQuads = xPairs + pairBytes;
        byte* panel = xQuads + quadBytes;
        float* minimums = (float*)(panel + (TileRows * rowPanelBytes));
        PackActivations(x, xStride, count, blocks, xPairs, xQuads);
        for (int r = rowStart; r < rowEnd; r += TileRows)
        {
            int rows = Math.Min(TileRows, rowEnd - r);
            for (int i = 0; i < rows; i++)
            {
                byte* rowPanel = panel + (i * rowPanelBytes);
                PackRow(RowGroups.Row(weights, rowBytes, blockBytes, r + i, grouped, out long blockStride), blockStride, blocks, rowPanel, fifthBits);
                float* sums = minimums + (i * quads * 4);
                int q = 0;
                for (; q + 4 <= quads; q += 4)
                {
                    Minimums<Extent4>(rowPanel, blocks, xQuads + (q * quadStride), quadStride, sums + (q * 4), fifthBits);
                }

                for (; q < quads; q++)
                {
                    Minimums<Extent1>(rowPanel, blocks, xQuads + (q * quadStride), quadStride, sums + (q * 4), fifthBits);
                }
            }

            // The next tile's rows (contiguous) are fetched from memory while this one computes, a share before each 8
            // vectors; in groups, half the next group's bytes per tile.
            int ahead = grouped ? RowGroups.Size : rows;
            byte* next = weights + ((r + ahead) * rowBytes);
            long nextBytes = Math.Clamp(rowEnd - r - ahead, 0, TileRows) * rowBytes;
            long share = ((nextBytes / ((count + 7) / 8)) + 64) & ~63L;
            for (int t = 0; t < count; t += 8)
            {
                for (long o = 0; o < share && nextBytes > 0; o += 64, nextBytes -= 64)
                {
                    Sse.Prefetch0(next);
                    next += 64;
                }

                int columns = Math.Min(8, count - t);
                byte* xt = xPairs + ((t / 2) * pairStride);
                float* yt = y + (t * yStride) + r;
                float* mt = minimums + t;
                if (rows == 2)
                {
                    Columns<Extent2>(panel, rowPanelBytes, blocks, xt, pairStride, columns, mt, quads * 4, yt, yStride);
                }
                else
                {
                    Columns<Extent1>(panel, rowPanelBytes, blocks, xt, pairStride, columns, mt, quads * 4, yt, yStride);
                }
            }
        }
    }

    /// <summary>
    /// One row (its super-blocks <paramref name="blockStride"/> apart) into its panel: per super-block the 8 groups' codes split from their nibbles, the 6-bit scales and
    /// minimums unpacked (the minimums widened to 16 bits, four copies for a quad of vectors), d and dmin as floats, so
    /// that the tiles and the minimums' pass, which run over the row once per 8 or 4 vectors, only load. Q5_K
    /// (<paramref name="fifthBits"/>: 176-byte super-blocks, <c>qh</c> at 16, nibbles at 48) adds bit 4 to each code:
    /// bit 2g of <c>qh[i]</c> for element i of group 2g, bit 2g + 1 for group 2g + 1.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackRow(byte* w, long blockStride, int blocks, byte* panel, bool fifthBits)
    {
        byte* sm = stackalloc byte[16];
        for (int b = 0; b < blocks; b++, w += blockStride, panel += PanelBlockBytes)
        {
            for (int g = 0; g < 4; g++)
            {
                var (even, odd) = Q4_KDot.Codes256(w, g, fifthBits);
                Vector512.Store(Vector512.Create(even, even), panel + (128 * g));
                Vector512.Store(Vector512.Create(odd, odd), panel + (128 * g) + 64);
            }

            Q4_KDot.Unpack(w + 4, sm);
            Vector128.Store(Vector128.WidenLower(Vector128.Load(sm)).AsInt16(), (short*)(panel + ScalesAt));
            *(float*)(panel + DAt) = HalfBits.ToSingle(*(ushort*)w);
            *(float*)(panel + DminAt) = HalfBits.ToSingle(*(ushort*)(w + 2));
            Vector512.Store(Avx512BW.ConvertToVector512Int16(Vector256.Create(*(ulong*)(sm + 8)).AsByte()), (short*)(panel + MinsAt)); // 4 × min0..min7
        }
    }

    /// <summary>
    /// The batch in pairs and quads of vectors; the last pair or quad of a batch that does not fill it has zeros (codes,
    /// sums and scales) beside its vectors.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackActivations(byte* x, long xStride, int count, int blocks, byte* xPairs, byte* xQuads)
    {
        int pairs = (count + 1) / 2, quads = (count + 3) / 4;
        for (int p = 0; p < pairs; p++)
        {
            byte* o = xPairs + ((long)p * blocks * PairBlockBytes);
            for (int b = 0; b < blocks; b++, o += PairBlockBytes)
            {
                for (int h = 0; h < 2; h++)
                {
                    int t = (2 * p) + h;
                    byte* xb = x + (t * xStride) + ((long)b * XBytes);
                    for (int g = 0; g < 8; g++)
                    {
                        var codes = t < count ? Vector256.Load(xb + 4 + (32 * g)) : Vector256<byte>.Zero;
                        Vector256.Store(codes, o + (64 * g) + (32 * h));
                    }

                    Vector256.Store(Vector256.Create(t < count ? *(float*)xb : 0f), (float*)(o + 512 + (32 * h)));
                }
            }
        }

        for (int q = 0; q < quads; q++)
        {
            byte* o = xQuads + ((long)q * blocks * QuadBlockBytes);
            for (int b = 0; b < blocks; b++, o += QuadBlockBytes)
            {
                for (int v = 0; v < 4; v++)
                {
                    int t = (4 * q) + v;
                    byte* xb = x + (t * xStride) + ((long)b * XBytes);
                    short* sums = (short*)(o + (16 * v));
                    float* scale = (float*)(o + 64 + (16 * v));
                    short* bsums = (short*)(xb + 260);
                    for (int k = 0; k < 8; k++)
                    {
                        // |sum of 32 codes| ≤ 4096: exact in 16 bits.
                        sums[k] = t < count ? (short)(bsums[2 * k] + bsums[(2 * k) + 1]) : (short)0;
                    }

                    float negative = t < count ? -*(float*)xb : 0f;
                    for (int l = 0; l < 4; l++)
                    {
                        scale[l] = negative;
                    }
                }
            }
        }
    }

    /// <summary>
    /// One row's minimums against <typeparamref name="TQuads"/> quads of vectors (<paramref name="quadStride"/> bytes
    /// apart): lane 4v + m is vector v's lane m of <see cref="Q4_KDot.Minimums128"/> (<c>min_2m · bsum(2m) + min_2m+1 ·
    /// bsum(2m+1)</c>, one 16-bit multiply-add on the 32-element sums), accumulated by the same FMA; each vector's four
    /// lanes summed into <paramref name="sums"/> (4 per quad). For Q5_K (<paramref name="oneChain"/>) the four lanes'
    /// integers are summed first (exact) and the one chain, in every lane of the vector, is stored as it is.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Minimums<TQuads>(byte* rowPanel, int blocks, byte* quad, long quadStride, float* sums, bool oneChain)
        where TQuads : struct, ITileExtent
    {
        Vector512<float> acc0 = default, acc1 = default, acc2 = default, acc3 = default;
        byte* q0 = quad, q1 = q0 + quadStride, q2 = q1 + quadStride, q3 = q2 + quadStride;
        for (int b = 0; b < blocks; b++, rowPanel += PanelBlockBytes)
        {
            long at = (long)b * QuadBlockBytes;
            var mins = Vector512.Load((short*)(rowPanel + MinsAt));
            var dmin = Vector512.Create(*(float*)(rowPanel + DminAt));
            acc0 = MinimumsBlock(q0 + at, mins, dmin, acc0, oneChain);
            if (TQuads.Count > 1) acc1 = MinimumsBlock(q1 + at, mins, dmin, acc1, oneChain);
            if (TQuads.Count > 2) acc2 = MinimumsBlock(q2 + at, mins, dmin, acc2, oneChain);
            if (TQuads.Count > 3) acc3 = MinimumsBlock(q3 + at, mins, dmin, acc3, oneChain);
        }

        StoreMinimums(acc0, sums, oneChain);
        if (TQuads.Count > 1) StoreMinimums(acc1, sums + 4, oneChain);
        if (TQuads.Count > 2) StoreMinimums(acc2, sums + 8, oneChain);
        if (TQuads.Count > 3) StoreMinimums(acc3, sums + 12, oneChain);
    }

    /// <summary>
    /// One super-block of a quad: per vector 4 exact lanes (Q4_K) or, with <paramref name="oneChain"/> (Q5_K), their sum
    /// in all 4 (exact integers); then one FMA per lane with <c>−d_x · dmin</c>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> MinimumsBlock(byte* quad, Vector512<short> mins, Vector512<float> dmin, Vector512<float> acc, bool oneChain)
    {
        var products = MatVec.Widen(Vector512.Load((short*)quad), mins);
        if (oneChain)
        {
            products += Avx512F.Shuffle(products, 0xB1);
            products += Avx512F.Shuffle(products, 0x4E);
        }

        return Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(products), Vector512.Load((float*)(quad + 64)) * dmin, acc);
    }

    /// <summary>Each vector's minimums: its 4 lanes' tree (Q4_K), or its one chain as it is (Q5_K: all 4 lanes hold it).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreMinimums(Vector512<float> acc, float* sums, bool oneChain)
    {
        if (oneChain)
        {
            sums[0] = acc[0];
            sums[1] = acc[4];
            sums[2] = acc[8];
            sums[3] = acc[12];
            return;
        }

        sums[0] = MatVec.Sum(acc.GetLower().GetLower());
        sums[1] = MatVec.Sum(acc.GetLower().GetUpper());
        sums[2] = MatVec.Sum(acc.GetUpper().GetLower());
        sums[3] = MatVec.Sum(acc.GetUpper().GetUpper());
    }

    private static void Columns<TRows>(byte* panel, long rowPanelBytes, int blocks, byte* xPairs, long pairStride, int columns, float* minimums, int minimumStride, float* y, long yStride)
        where TRows : struct, ITileExtent
    {
        switch ((columns + 1) / 2)
        {
            case 4: Tile<TRows, Extent4>(panel, rowPanelBytes, blocks, xPairs, pairStride, columns, minimums, minimumStride, y, yStride); break;
            case 3: Tile<TRows, Extent3>(panel, rowPanelBytes, blocks, xPairs, pairStride, columns, minimums, minimumStride, y, yStride); break;
            case 2: Tile<TRows, Extent2>(panel, rowPanelBytes, blocks, xPairs, pairStride, columns, minimums, minimumStride, y, yStride); break;
            default: Tile<TRows, Extent1>(panel, rowPanelBytes, blocks, xPairs, pairStride, columns, minimums, minimumStride, y, yStride); break;
        }
    }

    /// <summary>
    /// One tile: <typeparamref name="TRows"/> rows × <typeparamref name="TPairs"/> pairs of vectors (the last pair's
    /// second vector only when <paramref name="columns"/> reaches it), every accumulator a local.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile<TRows, TPairs>(byte* panel, long rowPanelBytes, int blocks, byte* xPairs, long pairStride, int columns, float* minimums, int minimumStride, float* y, long yStride)
        where TRows : struct, ITileExtent
        where TPairs : struct, ITileExtent
    {
        Vector512<float> a00 = default, a01 = default, a02 = default, a03 = default, a10 = default, a11 = default, a12 = default, a13 = default;
        for (int b = 0; b < blocks; b++)
        {
            byte* x0 = xPairs + ((long)b * PairBlockBytes), x1 = x0 + pairStride, x2 = x1 + pairStride, x3 = x2 + pairStride;
            for (int i = 0; i < TRows.Count; i++)
            {
                byte* p = panel + (i * rowPanelBytes) + ((long)b * PanelBlockBytes);
                var c0 = Vector512.Load(p + (0 * 64));
                var c1 = Vector512.Load(p + (1 * 64));
                var c2 = Vector512.Load(p + (2 * 64));
                var c3 = Vector512.Load(p + (3 * 64));
                var c4 = Vector512.Load(p + (4 * 64));
                var c5 = Vector512.Load(p + (5 * 64));
                var c6 = Vector512.Load(p + (6 * 64));
                var c7 = Vector512.Load(p + (7 * 64));
                short* scales = (short*)(p + ScalesAt);
                var s0 = Vector512.Create(scales[0]);
                var s1 = Vector512.Create(scales[1]);
                var s2 = Vector512.Create(scales[2]);
                var s3 = Vector512.Create(scales[3]);
                var s4 = Vector512.Create(scales[4]);
                var s5 = Vector512.Create(scales[5]);
                var s6 = Vector512.Create(scales[6]);
                var s7 = Vector512.Create(scales[7]);
                var d = Vector512.Create(*(float*)(p + DAt));
                if (i == 0)
                {
                    a00 = Pair(x0, c0, c1, c2, c3, c4, c5, c6, c7, s0, s1, s2, s3, s4, s5, s6, s7, d, a00);
                    if (TPairs.Count > 1) a01 = Pair(x1, c0, c1, c2, c3, c4, c5, c6, c7, s0, s1, s2, s3, s4, s5, s6, s7, d, a01);
                    if (TPairs.Count > 2) a02 = Pair(x2, c0, c1, c2, c3, c4, c5, c6, c7, s0, s1, s2, s3, s4, s5, s6, s7, d, a02);
                    if (TPairs.Count > 3) a03 = Pair(x3, c0, c1, c2, c3, c4, c5, c6, c7, s0, s1, s2, s3, s4, s5, s6, s7, d, a03);
                }
                else
                {
                    a10 = Pair(x0, c0, c1, c2, c3, c4, c5, c6, c7, s0, s1, s2, s3, s4, s5, s6, s7, d, a10);
                    if (TPairs.Count > 1) a11 = Pair(x1, c0, c1, c2, c3, c4, c5, c6, c7, s0, s1, s2, s3, s4, s5, s6, s7, d, a11);
                    if (TPairs.Count > 2) a12 = Pair(x2, c0, c1, c2, c3, c4, c5, c6, c7, s0, s1, s2, s3, s4, s5, s6, s7, d, a12);
                    if (TPairs.Count > 3) a13 = Pair(x3, c0, c1, c2, c3, c4, c5, c6, c7, s0, s1, s2, s3, s4, s5, s6, s7, d, a13);
                }
            }
        }

        Store(a00, minimums, y, yStride, 0, columns);
        if (TPairs.Count > 1) Store(a01, minimums, y, yStride, 2, columns);
        if (TPairs.Count > 2) Store(a02, minimums, y, yStride, 4, columns);
        if (TPairs.Count > 3) Store(a03, minimums, y, yStride, 6, columns);
        if (TRows.Count > 1)
        {
            Store(a10, minimums + minimumStride, y + 1, yStride, 0, columns);
            if (TPairs.Count > 1) Store(a11, minimums + minimumStride, y + 1, yStride, 2, columns);
            if (TPairs.Count > 2) Store(a12, minimums + minimumStride, y + 1, yStride, 4, columns);
            if (TPairs.Count > 3) Store(a13, minimums + minimumStride, y + 1, yStride, 6, columns);
        }
    }

    /// <summary>
    /// One super-block for two outputs: each group's nibbles (the same in both halves) against the pair's codes, exact
    /// 4-element lanes weighted by the group's scale and summed over the 8 groups, then one FMA per lane with
    /// <c>d_x · d</c> (the pair's scales sit 512 bytes after its codes).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Pair(
        byte* pair,
        Vector512<byte> c0, Vector512<byte> c1, Vector512<byte> c2, Vector512<byte> c3,
        Vector512<byte> c4, Vector512<byte> c5, Vector512<byte> c6, Vector512<byte> c7,
        Vector512<short> s0, Vector512<short> s1, Vector512<short> s2, Vector512<short> s3,
        Vector512<short> s4, Vector512<short> s5, Vector512<short> s6, Vector512<short> s7,
        Vector512<float> d, Vector512<float> acc)
    {
        sbyte* xq = (sbyte*)pair;
        var sumi = (MatVec.Widen(MatVec.MulAdd(c0, Vector512.Load(xq)), s0) + MatVec.Widen(MatVec.MulAdd(c1, Vector512.Load(xq + 64)), s1))
            + (MatVec.Widen(MatVec.MulAdd(c2, Vector512.Load(xq + 128)), s2) + MatVec.Widen(MatVec.MulAdd(c3, Vector512.Load(xq + 192)), s3))
            + (MatVec.Widen(MatVec.MulAdd(c4, Vector512.Load(xq + 256)), s4) + MatVec.Widen(MatVec.MulAdd(c5, Vector512.Load(xq + 320)), s5))
            + (MatVec.Widen(MatVec.MulAdd(c6, Vector512.Load(xq + 384)), s6) + MatVec.Widen(MatVec.MulAdd(c7, Vector512.Load(xq + 448)), s7));
        return Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(sumi), Vector512.Load((float*)(pair + 512)) * d, acc);
    }

    /// <summary>
    /// Vectors <paramref name="t"/> and t + 1 (when below <paramref name="columns"/>): each one's 8-lane tree plus its
    /// minimums (<paramref name="minimums"/>[t]).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(Vector512<float> acc, float* minimums, float* y, long yStride, int t, int columns)
    {
        y[t * yStride] = MatVec.Sum(acc.GetLower()) + minimums[t];
        if (t + 1 < columns)
        {
            y[(t + 1) * yStride] = MatVec.Sum(acc.GetUpper()) + minimums[t + 1];
        }
    }
}
