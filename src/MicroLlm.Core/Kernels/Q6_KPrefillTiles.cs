using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using MicroLlm.Gguf;

namespace MicroLlm.Kernels;

/// <summary>
/// Prefill of Q6_K weights at 512 bits in register tiles of 2 rows × 8 activation vectors: each zmm accumulator holds
/// two outputs (a row against two vectors, lanes 0-7 and 8-15), and each row's super-block is unpacked once (codes,
/// scales) for the 8 vectors.
/// </summary>
/// <remarks>
/// Each output keeps <see cref="Q6_KDot"/>'s order (the reference's <c>ggml_vec_dot_q6_K_q8_K</c>,
/// <c>Numerics/ReferenceDot.Q6_K</c>): per super-block, 8 exact integer lanes (lane k: elements 4k..4k+3 of each group
/// of 32, <c>scale · (code·x − 32·x)</c> with the 16-bit differences of the reference), converted exactly, then
/// <c>acc = fma(d_x · d, lane, acc)</c> in the output's own 8 float lanes, then the 8-lane tree. Per call the batch is
/// laid out once in pairs of vectors (per block: for each group of 32 the two vectors' codes side by side, then for each
/// group their 16-bit <c>32·(x_2i + x_2i+1)</c>, then their scales as 8 + 8 floats), and each row once per tile into a
/// per-thread panel (6-bit codes assembled, scales widened, d as a float) that the tiles only load; tiles only reorder
/// work across outputs.
/// </remarks>
internal static unsafe class Q6_KPrefillTiles
{
    /// <summary>Rows per tile.</summary>
    public const int TileRows = 2;

    // Rows packed at a time: their tiles run one after the other against each 8 vectors, so a matrix's activations are
    // read from L2 (or beyond: 1.5 MB for 128 vectors of 5632 columns) once per 4 rows instead of once per tile.
    private const int GroupRows = 2 * TileRows;

    private const int WBytes = 210, XBytes = 292, PairBlockBytes = 1088;

    // Row panel, per super-block: the 8 groups' 6-bit codes (32 bytes each), then each group's two scales as 16-bit
    // lanes (a × 8, b × 8: 32 bytes each), then d as a float.
    private const int PanelBlockBytes = 576, ScalesAt = 256, DAt = 512;

    [ThreadStatic]
    private static byte[]? t_buffer;

    /// <summary>Whether a batch of <paramref name="count"/> vectors takes this path at <paramref name="width"/>.</summary>
    public static bool Supports(GgmlType weightType, int count, KernelWidth width) =>
        width == KernelWidth.Vector512 && weightType == GgmlType.Q6_K && count >= 4;

    /// <summary>
    /// <c>y[t * yStride + r] = row r · x_t</c> for <paramref name="rowStart"/> ≤ r &lt; <paramref name="rowEnd"/> and
    /// t &lt; <paramref name="count"/>; activation vector t (Q8_K super-blocks) at <c>x + t * xStride</c> bytes.
    /// <paramref name="grouped"/>: the matrix is in <see cref="RowGroups"/> (the range then starts and ends on a group,
    /// and a group of this driver is one of them).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ComputeBatch(
        byte* weights, long rowBytes, int blocks, int rowStart, int rowEnd, byte* x, long xStride, int count, float* y, long yStride, bool grouped = false)
    {
        int pairs = (count + 1) / 2;
        long pairStride = (long)blocks * PairBlockBytes, rowPanelBytes = (long)blocks * PanelBlockBytes;
        byte* xPairs = ThreadScratch.Bytes(ref t_buffer, (pairs * pairStride) + (GroupRows * rowPanelBytes) + 64);
        byte* panel = xPairs + (pairs * pairStride);
        PackActivations(x, xStride, count, blocks, xPairs);
        for (int r = rowStart; r < rowEnd; r += GroupRows)
        {
            int rows = Math.Min(GroupRows, rowEnd - r);
            for (int i = 0; i < rows; i++)
            {
                PackRow(RowGroups.Row(weights, rowBytes, WBytes, r + i, grouped, out long blockStride), blockStride, blocks, panel + (i * rowPanelBytes));
            }

            // The next group's rows (contiguous) are fetched from memory while this one computes, a share before each 8 vectors.
            byte* next = weights + ((r + rows) * rowBytes);
            long nextBytes = Math.Min(GroupRows, rowEnd - r - rows) * rowBytes;
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
                for (int i = 0; i < rows; i += TileRows)
                {
                    // The group's tiles one after the other against the same 8 vectors, which they read from cache.
                    byte* tilePanel = panel + (i * rowPanelBytes);
                    float* yt = y + (t * yStride) + r + i;
                    if (rows - i >= 2)
                    {
                        Columns<Extent2>(tilePanel, rowPanelBytes, blocks, xt, pairStride, columns, yt, yStride);
                    }
                    else
                    {
                        Columns<Extent1>(tilePanel, rowPanelBytes, blocks, xt, pairStride, columns, yt, yStride);
                    }
                }
            }
        }
    }

    /// <summary>
    /// One row (its super-blocks <paramref name="blockStride"/> apart) into its panel: per super-block the 8 groups' 6-bit codes assembled from their low and high bits, each
    /// group's two scales as 16-bit lanes, d as a float, so that the tiles, which run over the row once per 8 vectors,
    /// only load.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackRow(byte* w, long blockStride, int blocks, byte* panel)
    {
        var low = Vector256.Create((byte)0x0F);
        var three = Vector256.Create((byte)3);
        for (int b = 0; b < blocks; b++, w += blockStride, panel += PanelBlockBytes)
        {
            for (int h = 0; h < 2; h++)
            {
                var ql0 = Vector256.Load(w + (64 * h));
                var ql1 = Vector256.Load(w + (64 * h) + 32);
                var qh = Vector256.Load(w + 128 + (32 * h));
                byte* c = panel + (128 * h);
                Vector256.Store((ql0 & low) | ((qh & three) << 4), c);
                Vector256.Store((ql1 & low) | (((qh >>> 2) & three) << 4), c + 32);
                Vector256.Store((ql0 >>> 4) | (((qh >>> 4) & three) << 4), c + 64);
                Vector256.Store((ql1 >>> 4) | ((qh >>> 6) << 4), c + 96);
            }

            sbyte* sc = (sbyte*)(w + 192);
            for (int g = 0; g < 8; g++)
            {
                Vector256.Store(Vector256.Create(Vector128.Create((short)sc[2 * g]), Vector128.Create((short)sc[(2 * g) + 1])), (short*)(panel + ScalesAt + (32 * g)));
            }

            *(float*)(panel + DAt) = HalfBits.ToSingle(*(ushort*)(w + 208));
        }
    }

    /// <summary>The batch in pairs of vectors; an odd batch's last pair has zeros (codes, offsets, scales) beside its vector.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackActivations(byte* x, long xStride, int count, int blocks, byte* xPairs)
    {
        int pairs = (count + 1) / 2;
        var offset = Vector256.Create((byte)32);
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
                        var codes = t < count ? Vector256.Load((sbyte*)(xb + 4 + (32 * g))) : Vector256<sbyte>.Zero;
                        Vector256.Store(codes, (sbyte*)(o + (64 * g) + (32 * h)));
                        Vector256.Store(MatVec.MulAdd(offset, codes), (short*)(o + 512 + (64 * g) + (32 * h)));
                    }

                    Vector256.Store(Vector256.Create(t < count ? *(float*)xb : 0f), (float*)(o + 1024 + (32 * h)));
                }
            }
        }
    }

    private static void Columns<TRows>(byte* panel, long rowPanelBytes, int blocks, byte* xPairs, long pairStride, int columns, float* y, long yStride)
        where TRows : struct, ITileExtent
    {
        switch ((columns + 1) / 2)
        {
            case 4: Tile<TRows, Extent4>(panel, rowPanelBytes, blocks, xPairs, pairStride, columns, y, yStride); break;
            case 3: Tile<TRows, Extent3>(panel, rowPanelBytes, blocks, xPairs, pairStride, columns, y, yStride); break;
            case 2: Tile<TRows, Extent2>(panel, rowPanelBytes, blocks, xPairs, pairStride, columns, y, yStride); break;
            default: Tile<TRows, Extent1>(panel, rowPanelBytes, blocks, xPairs, pairStride, columns, y, yStride); break;
        }
    }

    /// <summary>
    /// One tile: <typeparamref name="TRows"/> rows × <typeparamref name="TPairs"/> pairs of vectors (the last pair's
    /// second vector only when <paramref name="columns"/> reaches it), every accumulator a local.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile<TRows, TPairs>(byte* panel, long rowPanelBytes, int blocks, byte* xPairs, long pairStride, int columns, float* y, long yStride)
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
                var c0 = Broadcast(p + (0 * 32));
                var c1 = Broadcast(p + (1 * 32));
                var c2 = Broadcast(p + (2 * 32));
                var c3 = Broadcast(p + (3 * 32));
                var c4 = Broadcast(p + (4 * 32));
                var c5 = Broadcast(p + (5 * 32));
                var c6 = Broadcast(p + (6 * 32));
                var c7 = Broadcast(p + (7 * 32));
                var s0 = Broadcast(p + ScalesAt + (0 * 32)).AsInt16();
                var s1 = Broadcast(p + ScalesAt + (1 * 32)).AsInt16();
                var s2 = Broadcast(p + ScalesAt + (2 * 32)).AsInt16();
                var s3 = Broadcast(p + ScalesAt + (3 * 32)).AsInt16();
                var s4 = Broadcast(p + ScalesAt + (4 * 32)).AsInt16();
                var s5 = Broadcast(p + ScalesAt + (5 * 32)).AsInt16();
                var s6 = Broadcast(p + ScalesAt + (6 * 32)).AsInt16();
                var s7 = Broadcast(p + ScalesAt + (7 * 32)).AsInt16();
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

        Store(a00, y, yStride, 0, columns);
        if (TPairs.Count > 1) Store(a01, y, yStride, 2, columns);
        if (TPairs.Count > 2) Store(a02, y, yStride, 4, columns);
        if (TPairs.Count > 3) Store(a03, y, yStride, 6, columns);
        if (TRows.Count > 1)
        {
            Store(a10, y + 1, yStride, 0, columns);
            if (TPairs.Count > 1) Store(a11, y + 1, yStride, 2, columns);
            if (TPairs.Count > 2) Store(a12, y + 1, yStride, 4, columns);
            if (TPairs.Count > 3) Store(a13, y + 1, yStride, 6, columns);
        }
    }

    /// <summary>
    /// 32 bytes in both halves. (A 256-bit load and <c>Vector512.Create(v, v)</c>: <c>Avx512F.BroadcastVector256ToVector512</c>
    /// on a <c>long*</c> gave wrong codes here, unexplored.)
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<byte> Broadcast(byte* p)
    {
        var v = Vector256.Load(p);
        return Vector512.Create(v, v);
    }

    /// <summary>
    /// One super-block for two outputs: each group's codes (the same in both halves) against the pair's codes, less the
    /// pair's 32·x (512 bytes on), in 16 bits, then exact 4-element lanes weighted by the group's scales and summed over
    /// the 8 groups, then one FMA per lane with <c>d_x · d</c> (the pair's scales 1024 bytes on).
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
        var sumi = (Group(c0, pair, 0, s0) + Group(c1, pair, 1, s1)) + (Group(c2, pair, 2, s2) + Group(c3, pair, 3, s3))
            + (Group(c4, pair, 4, s4) + Group(c5, pair, 5, s5)) + (Group(c6, pair, 6, s6) + Group(c7, pair, 7, s7));
        return Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(sumi), Vector512.Load((float*)(pair + 1024)) * d, acc);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> Group(Vector512<byte> codes, byte* pair, int g, Vector512<short> scales) =>
        MatVec.Widen(MatVec.MulAdd(codes, Vector512.Load((sbyte*)(pair + (64 * g)))) - Vector512.Load((short*)(pair + 512 + (64 * g))), scales);

    /// <summary>Vectors <paramref name="t"/> and t + 1 (when below <paramref name="columns"/>), each in the 8-lane tree.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(Vector512<float> acc, float* y, long yStride, int t, int columns)
    {
        y[t * yStride] = MatVec.Sum(acc.GetLower());
        if (t + 1 < columns)
        {
            y[(t + 1) * yStride] = MatVec.Sum(acc.GetUpper());
        }
    }
}
