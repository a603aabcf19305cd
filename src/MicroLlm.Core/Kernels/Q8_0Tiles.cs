using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using MicroLlm.Gguf;

namespace MicroLlm.Kernels;

/// <summary>
/// Prefill of Q8_0 weights at 512 bits in register tiles of 4 rows × 8 activation vectors: each zmm accumulator holds
/// two outputs, a row against two vectors (lanes 0-7 and 8-15), so 16 accumulators hold 32 outputs and each weight
/// block is loaded and its magnitudes and signs taken once for 8 vectors.
/// </summary>
/// <remarks>
/// <para>Each output keeps the reference's order (<c>ggml_vec_dot_q8_0_q8_0</c> and tinyBLAS_Q0_AVX,
/// <c>Numerics/ReferenceDot.Q8_0</c>): per 32-element block, 8 exact integer lanes (lane L: elements 4L..4L+3, through
/// |w| · (x with w's sign) byte multiply-adds and a 16-bit multiply-add by ones), converted exactly, then
/// <c>acc = fma(d_w · d_x, lane, acc)</c> in the output's own 8 float lanes, blocks in order, then the 8-lane tree;
/// so the bits equal <see cref="Q8_0Dot.Dot"/>'s. Tiles only reorder work across outputs.</para>
/// <para>Per call, the batch's activations are laid out once in pairs of vectors (per block: the two vectors' 32 codes
/// side by side, then their scales as 8 + 8 floats; negated in the tile, once per block and pair for the 4 rows), and
/// each group of 4 rows is copied into a per-thread panel (per block: 4 × 32 magnitudes |w| and 4 × 32 sign masks, each
/// already in both halves of a vector, then 4 scales as floats), so the inner loop only loads, selects, multiplies and
/// adds.</para>
/// </remarks>
internal static unsafe class Q8_0Tiles
{
    /// <summary>Rows per tile.</summary>
    public const int TileRows = 4;

    private const int BlockBytes = 34, PanelBlockBytes = 132, PairBlockBytes = 128;

    [ThreadStatic]
    private static byte[]? t_buffer;

    /// <summary>Whether a batch of <paramref name="count"/> vectors takes this path at <paramref name="width"/>.</summary>
    public static bool Supports(GgmlType weightType, int count, KernelWidth width) =>
        width == KernelWidth.Vector512 && weightType == GgmlType.Q8_0 && count >= 2;

    /// <summary>
    /// <c>y[t * yStride + r] = row r · x_t</c> for <paramref name="rowStart"/> ≤ r &lt; <paramref name="rowEnd"/> and
    /// t &lt; <paramref name="count"/>; activation vector t (Q8_0 blocks) at <c>x + t * xStride</c> bytes.
    /// <paramref name="grouped"/>: the matrix is in <see cref="RowGroups"/> (the range then starts and ends on a group,
    /// and a tile is a group).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ComputeBatch(
        byte* weights, long rowBytes, int blocks, int rowStart, int rowEnd, byte* x, long xStride, int count, float* y, long yStride, bool grouped = false)
    {
        var (rowStride, blockStride) = RowGroups.Strides(grouped, rowBytes, BlockBytes);
        int pairs = (count + 1) / 2;
        long pairBytes = (long)pairs * blocks * PairBlockBytes, panelBytes = (long)TileRows * blocks * PanelBlockBytes;
        byte* xPairs = ThreadScratch.Bytes(ref t_buffer, pairBytes + panelBytes + 64);
        byte* panel = xPairs + pairBytes;
        PackActivations(x, xStride, count, blocks, xPairs);
        long pairStride = (long)blocks * PairBlockBytes;
        for (int r = rowStart; r < rowEnd; r += TileRows)
        {
            int rows = Math.Min(TileRows, rowEnd - r);
            PackRows(weights + (r * rowBytes), rowStride, blockStride, rows, blocks, panel);

            // The next tile's rows (contiguous) are fetched from memory while this one computes, a share before each tile.
            byte* next = weights + ((r + rows) * rowBytes);
            long nextBytes = Math.Min(TileRows, rowEnd - r - rows) * rowBytes;
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
                switch (rows)
                {
                    case 4: Columns<Extent4>(panel, blocks, xt, columns, yt, yStride); break;
                    case 3: Columns<Extent3>(panel, blocks, xt, columns, yt, yStride); break;
                    case 2: Columns<Extent2>(panel, blocks, xt, columns, yt, yStride); break;
                    default: Columns<Extent1>(panel, blocks, xt, columns, yt, yStride); break;
                }
            }
        }
    }

    /// <summary>The batch in pairs of vectors; an odd batch's last pair has zeros (codes and scales) beside its vector.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackActivations(byte* x, long xStride, int count, int blocks, byte* xPairs)
    {
        for (int t = 0; t < count; t += 2)
        {
            byte* x0 = x + (t * xStride), x1 = x0 + xStride;
            bool second = t + 1 < count;
            byte* o = xPairs + ((t / 2) * (long)blocks * PairBlockBytes);
            for (int b = 0; b < blocks; b++, o += PairBlockBytes)
            {
                long at = (long)b * BlockBytes;
                var codes = Vector512.Create(Vector256.Load((sbyte*)(x0 + at + 2)), second ? Vector256.Load((sbyte*)(x1 + at + 2)) : Vector256<sbyte>.Zero);
                Vector512.Store(codes, (sbyte*)o);
                Vector256.Store(Vector256.Create(HalfBits.ToSingle(*(ushort*)(x0 + at))), (float*)(o + 64));
                Vector256.Store(Vector256.Create(second ? HalfBits.ToSingle(*(ushort*)(x1 + at)) : 0f), (float*)(o + 96));
            }
        }
    }

    /// <summary>
    /// Rows into the panel (from <paramref name="w"/>, <paramref name="rowStride"/> apart, their blocks
    /// <paramref name="blockStride"/> apart): per block, each row's 32 magnitudes, then its 32 sign masks (each twice, for
    /// both halves of a vector), then each row's scale as a float.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackRows(byte* w, long rowStride, long blockStride, int rows, int blocks, byte* panel)
    {
        for (int b = 0; b < blocks; b++, panel += rows * PanelBlockBytes)
        {
            for (int i = 0; i < rows; i++)
            {
                byte* block = w + (i * rowStride) + (b * blockStride);
                var codes = Vector256.Load((sbyte*)(block + 2));
                var magnitudes = Vector256.Abs(codes).AsByte();
                var negative = Vector256.LessThan(codes, Vector256<sbyte>.Zero).AsByte();
                Vector512.Store(Vector512.Create(magnitudes, magnitudes), panel + (i * 64));
                Vector512.Store(Vector512.Create(negative, negative), panel + (rows * 64) + (i * 64));
                *(float*)(panel + (rows * 128) + (i * 4)) = HalfBits.ToSingle(*(ushort*)block);
            }
        }
    }

    private static void Columns<TRows>(byte* panel, int blocks, byte* xPairs, int columns, float* y, long yStride)
        where TRows : struct, ITileExtent
    {
        switch ((columns + 1) / 2)
        {
            case 4: Tile<TRows, Extent4>(panel, blocks, xPairs, columns, y, yStride); break;
            case 3: Tile<TRows, Extent3>(panel, blocks, xPairs, columns, y, yStride); break;
            case 2: Tile<TRows, Extent2>(panel, blocks, xPairs, columns, y, yStride); break;
            default: Tile<TRows, Extent1>(panel, blocks, xPairs, columns, y, yStride); break;
        }
    }

    /// <summary>
    /// One tile: <typeparamref name="TRows"/> rows × <typeparamref name="TPairs"/> pairs of vectors (the last pair's
    /// second vector only when <paramref name="columns"/> reaches it), every accumulator a local.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile<TRows, TPairs>(byte* panel, int blocks, byte* xPairs, int columns, float* y, long yStride)
        where TRows : struct, ITileExtent
        where TPairs : struct, ITileExtent
    {
        Vector512<float> a00 = default, a01 = default, a02 = default, a03 = default, a10 = default, a11 = default, a12 = default, a13 = default, a20 = default, a21 = default, a22 = default, a23 = default, a30 = default, a31 = default, a32 = default, a33 = default;
        var ones = Vector512.Create((short)1);
        long pairStride = (long)blocks * PairBlockBytes;
        byte* q = panel;
        for (int b = 0; b < blocks; b++, q += TRows.Count * PanelBlockBytes)
        {
            byte* x0 = xPairs + ((long)b * PairBlockBytes), x1 = x0 + pairStride, x2 = x1 + pairStride, x3 = x2 + pairStride;
            var m0 = Vector512.Load(q + (0 * 64));
            var neg0 = Vector512.Load(q + (TRows.Count * 64) + (0 * 64));
            var d0 = Vector512.Create(*(float*)(q + (TRows.Count * 128) + (0 * 4)));
            a00 = Block(m0, neg0, x0, d0, ones, a00);
            if (TPairs.Count > 1) a01 = Block(m0, neg0, x1, d0, ones, a01);
            if (TPairs.Count > 2) a02 = Block(m0, neg0, x2, d0, ones, a02);
            if (TPairs.Count > 3) a03 = Block(m0, neg0, x3, d0, ones, a03);

            if (TRows.Count > 1)
            {
                var m1 = Vector512.Load(q + (1 * 64));
                var neg1 = Vector512.Load(q + (TRows.Count * 64) + (1 * 64));
                var d1 = Vector512.Create(*(float*)(q + (TRows.Count * 128) + (1 * 4)));
                a10 = Block(m1, neg1, x0, d1, ones, a10);
                if (TPairs.Count > 1) a11 = Block(m1, neg1, x1, d1, ones, a11);
                if (TPairs.Count > 2) a12 = Block(m1, neg1, x2, d1, ones, a12);
                if (TPairs.Count > 3) a13 = Block(m1, neg1, x3, d1, ones, a13);
            }

            if (TRows.Count > 2)
            {
                var m2 = Vector512.Load(q + (2 * 64));
                var neg2 = Vector512.Load(q + (TRows.Count * 64) + (2 * 64));
                var d2 = Vector512.Create(*(float*)(q + (TRows.Count * 128) + (2 * 4)));
                a20 = Block(m2, neg2, x0, d2, ones, a20);
                if (TPairs.Count > 1) a21 = Block(m2, neg2, x1, d2, ones, a21);
                if (TPairs.Count > 2) a22 = Block(m2, neg2, x2, d2, ones, a22);
                if (TPairs.Count > 3) a23 = Block(m2, neg2, x3, d2, ones, a23);
            }

            if (TRows.Count > 3)
            {
                var m3 = Vector512.Load(q + (3 * 64));
                var neg3 = Vector512.Load(q + (TRows.Count * 64) + (3 * 64));
                var d3 = Vector512.Create(*(float*)(q + (TRows.Count * 128) + (3 * 4)));
                a30 = Block(m3, neg3, x0, d3, ones, a30);
                if (TPairs.Count > 1) a31 = Block(m3, neg3, x1, d3, ones, a31);
                if (TPairs.Count > 2) a32 = Block(m3, neg3, x2, d3, ones, a32);
                if (TPairs.Count > 3) a33 = Block(m3, neg3, x3, d3, ones, a33);
            }
        }

        Store(a00, y + 0 + (0 * yStride), yStride, 0 + 1 < columns);
        if (TPairs.Count > 1) Store(a01, y + 0 + (2 * yStride), yStride, 2 + 1 < columns);
        if (TPairs.Count > 2) Store(a02, y + 0 + (4 * yStride), yStride, 4 + 1 < columns);
        if (TPairs.Count > 3) Store(a03, y + 0 + (6 * yStride), yStride, 6 + 1 < columns);
        if (TRows.Count > 1) Store(a10, y + 1 + (0 * yStride), yStride, 0 + 1 < columns);
        if (TRows.Count > 1 && TPairs.Count > 1) Store(a11, y + 1 + (2 * yStride), yStride, 2 + 1 < columns);
        if (TRows.Count > 1 && TPairs.Count > 2) Store(a12, y + 1 + (4 * yStride), yStride, 4 + 1 < columns);
        if (TRows.Count > 1 && TPairs.Count > 3) Store(a13, y + 1 + (6 * yStride), yStride, 6 + 1 < columns);
        if (TRows.Count > 2) Store(a20, y + 2 + (0 * yStride), yStride, 0 + 1 < columns);
        if (TRows.Count > 2 && TPairs.Count > 1) Store(a21, y + 2 + (2 * yStride), yStride, 2 + 1 < columns);
        if (TRows.Count > 2 && TPairs.Count > 2) Store(a22, y + 2 + (4 * yStride), yStride, 4 + 1 < columns);
        if (TRows.Count > 2 && TPairs.Count > 3) Store(a23, y + 2 + (6 * yStride), yStride, 6 + 1 < columns);
        if (TRows.Count > 3) Store(a30, y + 3 + (0 * yStride), yStride, 0 + 1 < columns);
        if (TRows.Count > 3 && TPairs.Count > 1) Store(a31, y + 3 + (2 * yStride), yStride, 2 + 1 < columns);
        if (TRows.Count > 3 && TPairs.Count > 2) Store(a32, y + 3 + (4 * yStride), yStride, 4 + 1 < columns);
        if (TRows.Count > 3 && TPairs.Count > 3) Store(a33, y + 3 + (6 * yStride), yStride, 6 + 1 < columns);
    }

    /// <summary>
    /// One block for two outputs: x's codes with w's signs (<paramref name="negative"/>: bytes of all ones where w &lt; 0;
    /// the JIT negates each pair's codes once per block for all the tile's rows), exact 4-element integer lanes against
    /// |w|, then one FMA per lane with <c>d_w · d_x</c> (the pair's scales sit 64 bytes after its codes).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Block(Vector512<byte> magnitude, Vector512<byte> negative, byte* pair, Vector512<float> dw, Vector512<short> ones, Vector512<float> acc)
    {
        var codes = Vector512.Load((sbyte*)pair);
        var signed = Vector512.ConditionalSelect(negative.AsSByte(), Vector512<sbyte>.Zero - codes, codes);
        var lanes = Vector512.ConvertToSingle(MatVec.Widen(MatVec.MulAdd(magnitude, signed), ones));
        return Vector512.FusedMultiplyAdd(lanes, dw * Vector512.Load((float*)(pair + 64)), acc);
    }

    /// <summary>Lanes 0-7 to <c>y[0]</c>, lanes 8-15 to <c>y[yStride]</c> when <paramref name="upper"/>, each in the 8-lane tree.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(Vector512<float> acc, float* y, long yStride, bool upper)
    {
        y[0] = MatVec.Sum(acc.GetLower());
        if (upper)
        {
            y[yStride] = MatVec.Sum(acc.GetUpper());
        }
    }
}
