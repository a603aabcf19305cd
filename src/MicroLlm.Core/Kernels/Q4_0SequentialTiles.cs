using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace MicroLlm.Kernels;

/// <summary>
/// Q4_0 · Q8_0 in the order of the reference's repacked kernels (<see cref="Q4_0Dot.DotSequential"/>: per output one
/// float accumulator and one <c>fma(sumi, d_w · d_x, acc)</c> per block, block after block), computed for tiles of
/// 8 rows × 1 or 4 activation vectors over matrices in the <b>packed layout</b> (<see cref="Pack"/>): the float lanes
/// hold 8 different rows, so 8 (or 32) independent chains hide the FMA latency that bounds a single row, and each weight
/// block is unpacked once for every vector of the tile.
/// </summary>
/// <remarks>
/// <para>Packed layout: each group of 8 rows (the same <c>8 · rowBytes</c> bytes the rows take in the file) holds, per
/// block, 144 bytes: the 8 rows' scales (halves, rows in the order [0, 4, 1, 5, 2, 6, 3, 7] the 512-bit tile's lanes
/// use), then the 8 rows' 16 nibble bytes, row after row. A tile then reads one contiguous stream, loads its 8 scales
/// with one load and each quad of rows with one 512-bit load, where the file's layout needs 8 streams, 8 scalar loads
/// blended into place and 8 lane inserts per block (measured: decode +8-10 % with the same instructions in
/// contiguous order alone). The reference runtime repacks the same matrices (8-row interleaved blocks) at load.</para>
/// <para>Each output still sees exactly the scalar order: its block sums are exact integers (any grouping gives the same
/// integer), converted to float exactly (|sumi| ≤ 32 · 8 · 127), multiplied by the scale product <c>d_w · d_x</c> (one
/// rounding, as the scalar path) and added by one FMA per block, blocks in order. So the bits are those of
/// <c>Numerics/ReferenceDot.Q4_0Sequential</c> at every width; only the work across rows and vectors is reordered.</para>
/// <para>The integer sum is taken as Σ nibble · x − 8 · Σ x, with Σ x per activation block computed once per call
/// (it does not depend on the row), so one unsigned × signed byte multiply-add per 32 weights remains. Rows of a tile
/// are combined with horizontal adds (256-bit path) or with two rounds of lane permutes in 16 bits (512-bit path,
/// rows 2p and 2p + 1 in one register against the activations broadcast twice). Other widths unpack one row at a time
/// back to the file's layout and take <see cref="Q4_0Dot.DotSequential"/>.</para>
/// </remarks>
internal static unsafe class Q4_0SequentialTiles
{
    /// <summary>Rows per packed group (and per tile).</summary>
    public const int GroupRows = 8;

    /// <summary>Bytes of one block step of a packed group: 8 scales and 8 × 16 nibble bytes.</summary>
    public const int StepBytes = GroupRows * WBytes;

    private const int WBytes = 18, XBytes = 34, TileRows = GroupRows;

    /// <summary>How many tiles ahead the rows are prefetched: one tile of work (64-176 block steps) is too short to hide a memory access.</summary>
    private const int PrefetchTiles = 4;

    [ThreadStatic]
    private static float[]? t_scales;

    [ThreadStatic]
    private static int[]? t_sums;

    [ThreadStatic]
    private static byte[]? t_row;

    /// <summary>The scale slot of row k: slot j holds row [0, 4, 1, 5, 2, 6, 3, 7][j].</summary>
    private static ReadOnlySpan<byte> SlotOfRow => [0, 2, 4, 6, 1, 3, 5, 7];

    /// <summary>
    /// Packs rows r..r+7 (file layout, <paramref name="rowBytes"/> apart from <paramref name="rows"/>) into
    /// <paramref name="packed"/> (<c>8 · rowBytes</c> bytes; must not overlap the rows).
    /// </summary>
    public static void Pack(byte* rows, long rowBytes, int blocks, byte* packed)
    {
        for (int k = 0; k < GroupRows; k++)
        {
            byte* row = rows + (k * rowBytes);
            byte* scale = packed + (2 * SlotOfRow[k]);
            byte* q = packed + 16 + (16 * k);
            for (int b = 0; b < blocks; b++, row += WBytes, scale += StepBytes, q += StepBytes)
            {
                *(ushort*)scale = *(ushort*)row;
                Vector128.Store(Vector128.Load(row + 2), q);
            }
        }
    }

    /// <summary>Row <paramref name="k"/> (0-7) of the packed group at <paramref name="packed"/>, back in the file's layout.</summary>
    public static void UnpackRow(byte* packed, int blocks, int k, byte* row)
    {
        byte* scale = packed + (2 * SlotOfRow[k]);
        byte* q = packed + 16 + (16 * k);
        for (int b = 0; b < blocks; b++, row += WBytes, scale += StepBytes, q += StepBytes)
        {
            *(ushort*)row = *(ushort*)scale;
            Vector128.Store(Vector128.Load(q), row + 2);
        }
    }

    /// <summary>
    /// <c>y[t * yStride + r] = DotSequential(row r, x + t * xStride)</c> for <paramref name="rowStart"/> ≤ r &lt;
    /// <paramref name="rowEnd"/> and t &lt; <paramref name="count"/>, bit for bit, over a matrix in the packed layout;
    /// both ends must be multiples of 8.
    /// </summary>
    public static void ComputeBatch(
        byte* weights, long rowBytes, int blocks, int rowStart, int rowEnd,
        byte* x, long xStride, int count, float* y, long yStride, KernelWidth width)
    {
        if (count <= 0 || rowEnd <= rowStart)
        {
            return;
        }

        if (rowStart % GroupRows != 0 || rowEnd % GroupRows != 0)
        {
            throw new ArgumentException($"A packed Q4_0 matrix is computed in whole groups of {GroupRows} rows; got rows {rowStart}..{rowEnd}.");
        }

        if (width is not (KernelWidth.Vector256 or KernelWidth.Vector512))
        {
            // Narrow widths: each row back in the file's layout, then the row kernel.
            byte* row = ThreadScratch.Bytes(ref t_row, rowBytes);
            for (int r = rowStart; r < rowEnd; r++)
            {
                UnpackRow(weights + ((r - (r % GroupRows)) * rowBytes), blocks, r % GroupRows, row);
                for (int t = 0; t < count; t++)
                {
                    y[(t * yStride) + r] = Q4_0Dot.DotSequential(row, x + (t * xStride), blocks, width);
                }
            }

            return;
        }

        // Per activation block: its scale as a float and 8 · Σ x, computed once for all rows.
        int entries = count * blocks;
        float[] scales = t_scales is { } s && s.Length >= entries ? s : (t_scales = new float[Math.Max(entries, 1024)]);
        int[] sums = t_sums is { } i && i.Length >= entries ? i : (t_sums = new int[Math.Max(entries, 1024)]);
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
            for (int r = rowStart; r < rowEnd; r += TileRows)
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

    /// <summary>The packed group at <paramref name="w"/> against TColumns activation vectors; stores the 8 × TColumns outputs.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile<TColumns>(
        byte* w, long rowBytes, int blocks, byte* x, long xStride, float* dx, int* sx, float* y, long yStride, bool wide)
        where TColumns : struct, ITileExtent
    {
        Vector256<float> acc0 = default, acc1 = default, acc2 = default, acc3 = default;
        byte* x1 = x + xStride, x2 = x1 + xStride, x3 = x2 + xStride;

        // The group four ahead (contiguous) is fetched 144 bytes per block step, 192 requested (past the chunk's or the
        // matrix's end they are wasted, never a fault).
        byte* next = w + (PrefetchTiles * TileRows * rowBytes);
        if (wide)
        {
            Tile512<TColumns>(w, blocks, x, xStride, dx, sx, y, yStride, next);
            return;
        }

        var low = Vector128.Create((byte)0x0F);
        var ones = Vector256.Create((short)1);
        var rowFromSlot = Vector256.Create(0, 2, 4, 6, 1, 3, 5, 7);
        for (int b = 0; b < blocks; b++, w += StepBytes, next += StepBytes)
        {
            MatVec.PrefetchLines(next, StepBytes);
            var dw = Avx2.PermuteVar8x32(HalfBits.Load8((short*)w), rowFromSlot);
            var w0 = Nibbles256(w + 16, low);
            var w1 = Nibbles256(w + 32, low);
            var w2 = Nibbles256(w + 48, low);
            var w3 = Nibbles256(w + 64, low);
            var w4 = Nibbles256(w + 80, low);
            var w5 = Nibbles256(w + 96, low);
            var w6 = Nibbles256(w + 112, low);
            var w7 = Nibbles256(w + 128, low);
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
    /// <see cref="Tile{TColumns}"/> at 512 bits. Rows r..r+3 (and r+4..r+7) sit one per 128-bit lane, as the packed
    /// layout stores them: their low nibbles
    /// against the block's first 16 activations broadcast to every lane, their high nibbles against the last 16, so a
    /// row's products stay in its own lane and are summed there without moving across lanes: the byte pairs in 16 bits,
    /// low plus high half, then in 32 bits; the two quads of rows are packed into one register (16-bit words again:
    /// each sum of 8 products is at most 8 · 15 · 127 &lt; 2^15) and summed in pairs twice more. The float lanes end up holding
    /// rows [0, 4, 1, 5, 2, 6, 3, 7], the packed layout stores the scales in that order and the outputs are put back in row order once
    /// per tile.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Tile512<TColumns>(
        byte* w, int blocks, byte* x, long xStride, float* dx, int* sx, float* y, long yStride, byte* next)
        where TColumns : struct, ITileExtent
    {
        Vector256<float> acc0 = default, acc1 = default, acc2 = default, acc3 = default;
        long xs = xStride;
        var low = Vector512.Create((byte)0x0F);
        var ones = Vector512.Create((short)1);
        for (byte* end = w + (blocks * StepBytes); w < end; w += StepBytes, next += StepBytes, x += XBytes, dx++, sx++)
        {
            MatVec.PrefetchLines(next, StepBytes);
            var dw = HalfBits.Load8((short*)w); // the 8 scales in slot order
            var q03 = Vector512.Load(w + 16);
            var q47 = Vector512.Load(w + 80);
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

    /// <summary><c>fma((float)(sums − 8Σx), d_w · d_x, acc)</c> in every lane: one row's block step per lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Fma(Vector256<int> sums, int eightSumX, Vector256<float> dw, float dx, Vector256<float> acc) =>
        Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(sums - Vector256.Create(eightSumX)), dw * Vector256.Create(dx), acc);

    /// <summary>One row's 32 nibbles (16 bytes at <paramref name="p"/>) as [0-15 low, 16-31 high].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<byte> Nibbles256(byte* p, Vector128<byte> low)
    {
        var q = Vector128.Load(p);
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
