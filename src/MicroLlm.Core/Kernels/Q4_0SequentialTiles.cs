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

    /// <summary>How many tiles ahead the rows are prefetched: one tile of work (64-176 block steps) is too short to hide a memory access.</summary>
    private const int PrefetchTiles = 4;

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

        // Eight rows read side by side are eight slow streams, which the hardware prefetchers follow poorly; a later
        // tile's bytes (contiguous) are fetched in order instead, 144 bytes of them per block step, 192 requested, four
        // tiles ahead (past the chunk's or the matrix's end they are wasted, never a fault).
        byte* next = w + (PrefetchTiles * TileRows * rowBytes);
        if (wide)
        {
            Tile512<TColumns>(w, rb, blocks, x, xStride, dx, sx, y, yStride, next);
            return;
        }

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

        acc0.Store(y);
        if (TColumns.Count > 1)
        {
            acc1.Store(y + yStride);
            acc2.Store(y + (2 * yStride));
            acc3.Store(y + (3 * yStride));
        }
    }

    /// <summary>
    /// <see cref="Tile{TColumns}"/> at 512 bits. Rows r..r+3 (and r+4..r+7) sit one per 128-bit lane: their low nibbles
    /// against the block's first 16 activations broadcast to every lane, their high nibbles against the last 16, so a
    /// row's products stay in its own lane and are summed there without moving across lanes: the byte pairs in 16 bits,
    /// low plus high half, then in 32 bits; the two quads of rows are packed into one register (16-bit words again:
    /// each sum of 8 products is at most 8 · 15 · 127 &lt; 2^15) and summed in pairs twice more. The float lanes end up holding
    /// rows [0, 4, 1, 5, 2, 6, 3, 7], the scales are gathered in that order and the outputs put back in row order once
    /// per tile.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Tile512<TColumns>(
        byte* w, int rb, int blocks, byte* x, long xStride, float* dx, int* sx, float* y, long yStride, byte* next)
        where TColumns : struct, ITileExtent
    {
        Vector256<float> acc0 = default, acc1 = default, acc2 = default, acc3 = default;
        long xs = xStride;
        nint r1 = rb, r2 = 2 * r1, r3 = 3 * r1, r4 = 4 * r1;
        var low = Vector512.Create((byte)0x0F);
        var ones = Vector512.Create((short)1);
        for (byte* end = w + (blocks * WBytes); w < end; w += WBytes, next += TileRows * WBytes, x += XBytes, dx++, sx++)
        {
            Prefetch(next);
            var dw = Scales(w, r1, r2, r3, r4);
            var q03 = Quad(w + 2, r1, r2, r3);
            var q47 = Quad(w + r4 + 2, r1, r2, r3);
            var lo03 = q03 & low;
            var hi03 = Avx512BW.ShiftRightLogical(q03.AsUInt16(), 4).AsByte() & low;
            var lo47 = q47 & low;
            var hi47 = Avx512BW.ShiftRightLogical(q47.AsUInt16(), 4).AsByte() & low;
            acc0 = Fma(Sums512(lo03, hi03, lo47, hi47, x, ones), *sx, dw, *dx, acc0);
            if (TColumns.Count > 1)
            {
                acc1 = Fma(Sums512(lo03, hi03, lo47, hi47, x + xs, ones), sx[blocks], dw, dx[blocks], acc1);
                acc2 = Fma(Sums512(lo03, hi03, lo47, hi47, x + (2 * xs), ones), sx[2 * blocks], dw, dx[2 * blocks], acc2);
                acc3 = Fma(Sums512(lo03, hi03, lo47, hi47, x + (3 * xs), ones), sx[3 * blocks], dw, dx[3 * blocks], acc3);
            }
        }

        // Lane j holds row [0, 4, 1, 5, 2, 6, 3, 7][j]; row i is in lane [0, 2, 4, 6, 1, 3, 5, 7][i].
        var rowOrder = Vector256.Create(0, 2, 4, 6, 1, 3, 5, 7);
        Avx2.PermuteVar8x32(acc0, rowOrder).Store(y);
        if (TColumns.Count > 1)
        {
            Avx2.PermuteVar8x32(acc1, rowOrder).Store(y + yStride);
            Avx2.PermuteVar8x32(acc2, rowOrder).Store(y + (2 * yStride));
            Avx2.PermuteVar8x32(acc3, rowOrder).Store(y + (3 * yStride));
        }
    }

    /// <summary>16 bytes at <paramref name="p"/>, + <paramref name="r1"/>, + <paramref name="r2"/>, + <paramref name="r3"/> in 128-bit lanes 0-3.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<byte> Quad(byte* p, nint r1, nint r2, nint r3)
    {
        var q = Avx512F.InsertVector128(Avx512F.BroadcastVector128ToVector512((int*)p).AsByte(), Vector128.Load(p + r1), 1);
        q = Avx512F.InsertVector128(q, Vector128.Load(p + r2), 2);
        return Avx512F.InsertVector128(q, Vector128.Load(p + r3), 3);
    }

    /// <summary>
    /// The 8 rows' block scales (halves at <paramref name="wb"/> + k · <paramref name="r1"/>) as floats, rows in lanes
    /// [0, 4, 1, 5, 2, 6, 3, 7]: each row's first 4 bytes broadcast and blended into its lane (a gather costs more here).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Scales(byte* wb, nint r1, nint r2, nint r3, nint r4)
    {
        byte* w4 = wb + r4;
        var d = Avx2.Blend(Vector256.Create(*(int*)wb), Vector256.Create(*(int*)w4), 0b0000_0010);
        d = Avx2.Blend(d, Vector256.Create(*(int*)(wb + r1)), 0b0000_0100);
        d = Avx2.Blend(d, Vector256.Create(*(int*)(w4 + r1)), 0b0000_1000);
        d = Avx2.Blend(d, Vector256.Create(*(int*)(wb + r2)), 0b0001_0000);
        d = Avx2.Blend(d, Vector256.Create(*(int*)(w4 + r2)), 0b0010_0000);
        d = Avx2.Blend(d, Vector256.Create(*(int*)(wb + r3)), 0b0100_0000);
        d = Avx2.Blend(d, Vector256.Create(*(int*)(w4 + r3)), 0b1000_0000);

        // The half in bits 16-31, then arithmetically down by 3: sign in bits 28-31, exponent and mantissa in 13-27; bit
        // 31 and bits 13-27 are 2^-112 times the half, and the multiply by 2^112 is exact (HalfBits.Load16's steps).
        var bits = Avx2.ShiftRightArithmetic(d << 16, 3);
        return (bits & Vector256.Create(unchecked((int)0x8FFFE000))).AsSingle() * Vector256.Create(5.192297e33f);
    }

    /// <summary>
    /// Σ nibble · x for 8 rows (nibbles from <see cref="Tile512{TColumns}"/>, a row per 128-bit lane in each quad), in the
    /// lane order [0, 4, 1, 5, 2, 6, 3, 7].
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Sums512(Vector512<byte> lo03, Vector512<byte> hi03, Vector512<byte> lo47, Vector512<byte> hi47, byte* xb, Vector512<short> ones)
    {
        var xl = Avx512F.BroadcastVector128ToVector512((int*)(xb + 2)).AsSByte();
        var xh = Avx512F.BroadcastVector128ToVector512((int*)(xb + 18)).AsSByte();
        var s03 = MatVec.Widen(MatVec.MulAdd(lo03, xl) + MatVec.MulAdd(hi03, xh), ones); // lane i: row i, 4 sums of 8 products
        var s47 = MatVec.Widen(MatVec.MulAdd(lo47, xl) + MatVec.MulAdd(hi47, xh), ones);
        var t = MatVec.Widen(Avx512BW.PackSignedSaturate(s03, s47), ones); // lane i: rows i, i, i+4, i+4 (16 products each)
        var s = t + Avx512F.Shuffle(t, 0xB1); // rows i, i, i+4, i+4 whole
        return Avx512F.ConvertToVector256Int32(s.AsInt64()); // the low half of each pair: rows 0, 4, 1, 5, 2, 6, 3, 7
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
