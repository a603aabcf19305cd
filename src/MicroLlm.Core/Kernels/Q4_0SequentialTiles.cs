using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace MicroLlm.Kernels;

/// <summary>
/// Q4_0 · Q8_0 in the order of the reference's repacked kernels (<see cref="Q4_0Dot.DotSequential"/>: per output one
/// float accumulator and one <c>fma(sumi, d_w · d_x, acc)</c> per block, block after block), computed for tiles of
/// 8 rows × 1 or 4 activation vectors: the float lanes hold 8 different rows, so 8 (or 32) independent chains hide the
/// FMA latency that bounds a single row, and each weight block is unpacked once for every vector of the tile.
/// </summary>
/// <remarks>
/// <para>Each output still sees exactly the scalar order: its block sums are exact integers (any grouping gives the same
/// integer), converted to float exactly (|sumi| ≤ 32 · 8 · 127), multiplied by the scale product <c>d_w · d_x</c> (one
/// rounding, as the scalar path) and added by one FMA per block, blocks in order. So the bits are those of
/// <c>Numerics/ReferenceDot.Q4_0Sequential</c> at every width; only the work across rows and vectors is reordered.</para>
/// <para>The integer sum is taken as Σ nibble · x − 8 · Σ x, with Σ x per activation block computed once per call
/// (it does not depend on the row), so one unsigned × signed byte multiply-add per 32 weights remains. Rows of a tile
/// are combined with horizontal adds (256-bit path) or with two rounds of lane permutes in 16 bits (512-bit path,
/// rows 2p and 2p + 1 in one register against the activations broadcast twice).</para>
/// </remarks>
internal static unsafe class Q4_0SequentialTiles
{
    private const int WBytes = 18, XBytes = 34, TileRows = 8;

    [ThreadStatic]
    private static float[]? t_scales;

    [ThreadStatic]
    private static int[]? t_sums;

    /// <summary>Whether <paramref name="width"/> has a tiled path (otherwise callers use <see cref="Q4_0Dot.DotSequential"/> per row).</summary>
    public static bool Supports(KernelWidth width) => width is KernelWidth.Vector256 or KernelWidth.Vector512;

    /// <summary>
    /// <c>y[t * yStride + r] = DotSequential(row r, x + t * xStride)</c> for <paramref name="rowStart"/> ≤ r &lt;
    /// <paramref name="rowEnd"/> and t &lt; <paramref name="count"/>, bit for bit; <paramref name="width"/> must be one
    /// <see cref="Supports"/> accepts.
    /// </summary>
    public static void ComputeBatch(
        byte* weights, long rowBytes, int blocks, int rowStart, int rowEnd,
        byte* x, long xStride, int count, float* y, long yStride, KernelWidth width)
    {
        if (count <= 0 || rowEnd <= rowStart)
        {
            return;
        }

        // Per activation block: its scale as a float and 8 · Σ x, computed once for all rows.
        int entries = count * blocks;
        float[] scales = t_scales is { } s && s.Length >= entries ? s : (t_scales = new float[Math.Max(entries, 1024)]);
        int[] sums = t_sums is { } i && i.Length >= entries ? i : (t_sums = new int[Math.Max(entries, 1024)]);
        int tiledEnd;
        fixed (float* dx = scales)
        fixed (int* sx = sums)
        {
            for (int t = 0; t < count; t++)
            {
                PrepareActivations(x + (t * xStride), blocks, dx + (t * blocks), sx + (t * blocks));
            }

            if (Q4_0SequentialPanels.Supports(width, count))
            {
                // Prefill: whole panels of 16 rows with a row per lane; the rest in tiles below.
                rowStart = Q4_0SequentialPanels.ComputePanels(weights, rowBytes, blocks, rowStart, rowEnd, x, xStride, count, dx, sx, y, yStride);
            }

            bool wide = width == KernelWidth.Vector512;
            tiledEnd = rowStart + ((rowEnd - rowStart) / TileRows * TileRows);
            for (int r = rowStart; r < tiledEnd; r += TileRows)
            {
                byte* w = weights + (r * rowBytes);
                int t = 0;
                for (; t + 4 <= count; t += 4)
                {
                    Tile<Extent4>(w, rowBytes, blocks, x + (t * xStride), xStride, dx + (t * blocks), sx + (t * blocks), y + (t * yStride) + r, yStride, wide);
                }

                for (; t < count; t++)
                {
                    Tile<Extent1>(w, rowBytes, blocks, x + (t * xStride), xStride, dx + (t * blocks), sx + (t * blocks), y + (t * yStride) + r, yStride, wide);
                }
            }
        }

        for (int r = tiledEnd; r < rowEnd; r++)
        {
            for (int t = 0; t < count; t++)
            {
                y[(t * yStride) + r] = Q4_0Dot.DotSequential(weights + (r * rowBytes), x + (t * xStride), blocks, width);
            }
        }
    }

    private static void PrepareActivations(byte* x, int blocks, float* scales, int* sums)
    {
        var ones = Vector256.Create((byte)1);
        var ones16 = Vector256.Create((short)1);
        for (int b = 0; b < blocks; b++, x += XBytes)
        {
            scales[b] = HalfBits.ToSingle(*(ushort*)x);
            sums[b] = 8 * Vector256.Sum(MatVec.Widen(MatVec.MulAdd(ones, Vector256.Load((sbyte*)(x + 2))), ones16));
        }
    }

    /// <summary>Rows r..r+7 (from <paramref name="w"/>) against TColumns activation vectors; stores the 8 × TColumns outputs.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile<TColumns>(
        byte* w, long rowBytes, int blocks, byte* x, long xStride, float* dx, int* sx, float* y, long yStride, bool wide)
        where TColumns : struct, ITileExtent
    {
        int rb = (int)rowBytes;
        var offsets = Vector256.Create(0, rb, 2 * rb, 3 * rb, 4 * rb, 5 * rb, 6 * rb, 7 * rb);
        Vector256<float> acc0 = default, acc1 = default, acc2 = default, acc3 = default;
        byte* x1 = x + xStride, x2 = x1 + xStride, x3 = x2 + xStride;

        // Eight rows read side by side are eight slow streams, which the hardware prefetchers follow poorly; the next
        // tile's bytes (contiguous) are fetched in order instead, 144 bytes of them per block step, 192 requested.
        byte* next = w + (TileRows * rowBytes);
        if (wide)
        {
            var low = Vector512.Create((byte)0x0F);
            var ones = Vector512.Create((short)1);
            var spread = Vector512.Create(0ul, 1, 0, 1, 2, 3, 2, 3);
            var shifts = Vector512.Create((ushort)0, 0, 0, 0, 0, 0, 0, 0, 4, 4, 4, 4, 4, 4, 4, 4, 0, 0, 0, 0, 0, 0, 0, 0, 4, 4, 4, 4, 4, 4, 4, 4);
            var even = Vector512.Create((short)0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30, 32, 34, 36, 38, 40, 42, 44, 46, 48, 50, 52, 54, 56, 58, 60, 62);
            var odd = even + Vector512<short>.One;
            var evenRows = Vector512.Create((short)0, 2, 8, 10, 16, 18, 24, 26, 32, 34, 40, 42, 48, 50, 56, 58, 4, 6, 12, 14, 20, 22, 28, 30, 36, 38, 44, 46, 52, 54, 60, 62);
            var oddRows = evenRows + Vector512<short>.One;
            for (int b = 0; b < blocks; b++)
            {
                byte* wb = w + (b * WBytes);
                Prefetch(next + (b * TileRows * WBytes));
                var dw = HalfBits.ToSingle(Avx2.GatherVector256((int*)wb, offsets, 1).AsUInt32());
                var w0 = Nibbles512(wb, rb, 0, spread, shifts, low);
                var w1 = Nibbles512(wb, rb, 1, spread, shifts, low);
                var w2 = Nibbles512(wb, rb, 2, spread, shifts, low);
                var w3 = Nibbles512(wb, rb, 3, spread, shifts, low);
                long xo = b * XBytes;
                acc0 = Fma(Sums512(w0, w1, w2, w3, x + xo, even, odd, evenRows, oddRows, ones), sx[b], dw, dx[b], acc0);
                if (TColumns.Count > 1)
                {
                    acc1 = Fma(Sums512(w0, w1, w2, w3, x1 + xo, even, odd, evenRows, oddRows, ones), sx[blocks + b], dw, dx[blocks + b], acc1);
                    acc2 = Fma(Sums512(w0, w1, w2, w3, x2 + xo, even, odd, evenRows, oddRows, ones), sx[(2 * blocks) + b], dw, dx[(2 * blocks) + b], acc2);
                    acc3 = Fma(Sums512(w0, w1, w2, w3, x3 + xo, even, odd, evenRows, oddRows, ones), sx[(3 * blocks) + b], dw, dx[(3 * blocks) + b], acc3);
                }
            }
        }
        else
        {
            var low = Vector128.Create((byte)0x0F);
            var ones = Vector256.Create((short)1);
            for (int b = 0; b < blocks; b++)
            {
                byte* wb = w + (b * WBytes);
                Prefetch(next + (b * TileRows * WBytes));
                var dw = HalfBits.ToSingle(Avx2.GatherVector256((int*)wb, offsets, 1).AsUInt32());
                var w0 = Nibbles256(wb, low);
                var w1 = Nibbles256(wb + rb, low);
                var w2 = Nibbles256(wb + (2 * rb), low);
                var w3 = Nibbles256(wb + (3 * rb), low);
                var w4 = Nibbles256(wb + (4 * rb), low);
                var w5 = Nibbles256(wb + (5 * rb), low);
                var w6 = Nibbles256(wb + (6 * rb), low);
                var w7 = Nibbles256(wb + (7 * rb), low);
                long xo = b * XBytes;
                acc0 = Fma(Sums256(w0, w1, w2, w3, w4, w5, w6, w7, x + xo, ones), sx[b], dw, dx[b], acc0);
                if (TColumns.Count > 1)
                {
                    acc1 = Fma(Sums256(w0, w1, w2, w3, w4, w5, w6, w7, x1 + xo, ones), sx[blocks + b], dw, dx[blocks + b], acc1);
                    acc2 = Fma(Sums256(w0, w1, w2, w3, w4, w5, w6, w7, x2 + xo, ones), sx[(2 * blocks) + b], dw, dx[(2 * blocks) + b], acc2);
                    acc3 = Fma(Sums256(w0, w1, w2, w3, w4, w5, w6, w7, x3 + xo, ones), sx[(3 * blocks) + b], dw, dx[(3 * blocks) + b], acc3);
                }
            }
        }

        acc0.Store(y);
        if (TColumns.Count > 1)
        {
            acc1.Store(y + yStride);
            acc2.Store(y + (2 * yStride));
            acc3.Store(y + (3 * yStride));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Prefetch(byte* p)
    {
        Sse.Prefetch0(p);
        Sse.Prefetch0(p + 64);
        Sse.Prefetch0(p + 128);
    }

    /// <summary><c>fma((float)(sums − 8Σx), d_w · d_x, acc)</c> in every lane: one row's block step per lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Fma(Vector256<int> sums, int eightSumX, Vector256<float> dw, float dx, Vector256<float> acc) =>
        Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(sums - Vector256.Create(eightSumX)), dw * Vector256.Create(dx), acc);

    /// <summary>The nibbles of rows 2p and 2p + 1 as [low 2p, high 2p, low 2p+1, high 2p+1] (128 bits each).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<byte> Nibbles512(byte* wb, int rb, int pair, Vector512<ulong> spread, Vector512<ushort> shifts, Vector512<byte> low)
    {
        var q = Vector256.Create(Vector128.Load(wb + (2 * pair * rb) + 2), Vector128.Load(wb + (((2 * pair) + 1) * rb) + 2));
        var twice = Avx512F.PermuteVar8x64(q.ToVector512Unsafe().AsUInt64(), spread); // [q 2p, q 2p, q 2p+1, q 2p+1]
        return Avx512BW.ShiftRightLogicalVariable(twice.AsUInt16(), shifts).AsByte() & low;
    }

    /// <summary>
    /// Σ nibble · x for rows r..r+7 (nibble registers from <see cref="Nibbles512"/>), row r in lane r. The byte
    /// products are summed in 16 bits while a lane holds at most 8 of them (|Σ| ≤ 8 · 2 · 15 · 127 &lt; 2^15), by
    /// two rounds of even-plus-odd lane pairs, then widened once.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Sums512(
        Vector512<byte> w0, Vector512<byte> w1, Vector512<byte> w2, Vector512<byte> w3, byte* xb,
        Vector512<short> even, Vector512<short> odd, Vector512<short> evenRows, Vector512<short> oddRows, Vector512<short> ones)
    {
        var xq = Avx512F.BroadcastVector256ToVector512((long*)(xb + 2)).AsSByte(); // [0-15, 16-31, 0-15, 16-31]
        var m0 = MatVec.MulAdd(w0, xq); // rows 0, 1: 16 lanes each
        var m1 = MatVec.MulAdd(w1, xq);
        var m2 = MatVec.MulAdd(w2, xq);
        var m3 = MatVec.MulAdd(w3, xq);
        var a = Avx512BW.PermuteVar32x16x2(m0, even, m1) + Avx512BW.PermuteVar32x16x2(m0, odd, m1); // rows 0-3, 8 lanes each
        var b = Avx512BW.PermuteVar32x16x2(m2, even, m3) + Avx512BW.PermuteVar32x16x2(m2, odd, m3); // rows 4-7
        var c = Avx512BW.PermuteVar32x16x2(a, evenRows, b) + Avx512BW.PermuteVar32x16x2(a, oddRows, b); // row j in 2j, 2j+1, 2j+16, 2j+17
        var d = MatVec.Widen(c, ones); // row j in lanes j and j + 8
        return d.GetLower() + d.GetUpper();
    }

    /// <summary>One row's 32 nibbles as [0-15 low, 16-31 high].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<byte> Nibbles256(byte* wb, Vector128<byte> low)
    {
        var q = Vector128.Load(wb + 2);
        return Vector256.Create(q & low, Sse2.ShiftRightLogical(q.AsUInt16(), 4).AsByte() & low);
    }

    /// <summary>Σ nibble · x for rows r..r+7, row r in lane r.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Sums256(
        Vector256<byte> w0, Vector256<byte> w1, Vector256<byte> w2, Vector256<byte> w3,
        Vector256<byte> w4, Vector256<byte> w5, Vector256<byte> w6, Vector256<byte> w7, byte* xb, Vector256<short> ones)
    {
        var xq = Vector256.Load((sbyte*)(xb + 2));
        var h0 = Avx2.HorizontalAdd(
            Avx2.HorizontalAdd(MatVec.Widen(MatVec.MulAdd(w0, xq), ones), MatVec.Widen(MatVec.MulAdd(w1, xq), ones)),
            Avx2.HorizontalAdd(MatVec.Widen(MatVec.MulAdd(w2, xq), ones), MatVec.Widen(MatVec.MulAdd(w3, xq), ones)));
        var h1 = Avx2.HorizontalAdd(
            Avx2.HorizontalAdd(MatVec.Widen(MatVec.MulAdd(w4, xq), ones), MatVec.Widen(MatVec.MulAdd(w5, xq), ones)),
            Avx2.HorizontalAdd(MatVec.Widen(MatVec.MulAdd(w6, xq), ones), MatVec.Widen(MatVec.MulAdd(w7, xq), ones)));

        // h0 = [rows 0-3 of elements 0-15, rows 0-3 of 16-31], h1 the same for rows 4-7.
        return Avx2.Permute2x128(h0, h1, 0x20) + Avx2.Permute2x128(h0, h1, 0x31);
    }
}
