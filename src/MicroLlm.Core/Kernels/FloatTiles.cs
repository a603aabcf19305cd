using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using MicroLlm.Gguf;

namespace MicroLlm.Kernels;

/// <summary>
/// Prefill of F32 and F16 weights at 512 bits in register tiles of 6 rows × 4 activation vectors (tinyBLAS's way):
/// 24 accumulators in registers, each k-step loading 6 weight vectors and 4 activation vectors for 24 FMAs (the
/// one-row kernel, <see cref="FloatDot.Lanes16x4"/>, loads one weight and 4 activation vectors for 4 FMAs).
/// </summary>
/// <remarks>
/// <para>Each output keeps the reference's order (tinyBLAS, <c>Numerics/ReferenceDot.F32</c>): lane l of its own
/// accumulator takes <c>fma(w[k], x[k], acc)</c> for k ≡ l (mod 16) in increasing k, then the 16-lane tree; tiles only
/// reorder work across outputs, so the bits equal <see cref="FloatDot.F16"/>'s and <see cref="FloatDot.F32"/>'s.</para>
/// <para>The 6 rows are first widened to floats once per call into a per-thread panel, one 6 × 16-float group per
/// k-step (one stream, no 4 KiB aliasing between rows, no half conversion in the inner loop), and reused for every
/// group of 4 vectors of the batch. The k-steps run in slices of 1024 (the panel's slice, 24 KiB, stays in L1 beside a
/// group's 16 KiB of activations while every group of vectors passes over it; 512 stored and reloaded the accumulators
/// twice as often, for about 5 % more of the tile's time); each tile's accumulators are stored after a slice and
/// reloaded for the next, which changes no bit of any chain. How a weight vector is widened is the loader's only job
/// (<c>IWeightVectors</c>), so other float formats need only a loader.</para>
/// </remarks>
internal static unsafe class FloatTiles
{
    /// <summary>Rows per tile.</summary>
    public const int TileRows = 6;

    private const int KBlock = 1024;

    [ThreadStatic]
    private static byte[]? t_panel;

    /// <summary>Whether F32/F16/BF16 weights of <paramref name="columns"/> take this path at <paramref name="width"/>.</summary>
    public static bool Supports(GgmlType weightType, int columns, KernelWidth width) =>
        width == KernelWidth.Vector512 && columns > 0
        && ((weightType is GgmlType.F16 or GgmlType.F32 && columns % 16 == 0) || (weightType == GgmlType.BF16 && columns % 32 == 0));

    /// <summary>
    /// <c>y[t * yStride + r] = row r · x_t</c> for <paramref name="rowStart"/> ≤ r &lt; <paramref name="rowEnd"/> and
    /// t &lt; <paramref name="count"/>, activation vector t at <c>x + t * xStride</c> (floats).
    /// </summary>
    public static void ComputeBatch(
        GgmlType weightType, byte* weights, long rowBytes, int n, int rowStart, int rowEnd,
        float* x, long xStride, int count, float* y, long yStride)
    {
        if (weightType == GgmlType.F16)
        {
            ComputeBatch<HalfWeights>(weights, rowBytes, n, rowStart, rowEnd, x, xStride, count, y, yStride);
        }
        else if (weightType == GgmlType.BF16)
        {
            ComputeBatch<BFloat16Weights>(weights, rowBytes, n, rowStart, rowEnd, x, xStride, count, y, yStride);
        }
        else
        {
            ComputeBatch<SingleWeights>(weights, rowBytes, n, rowStart, rowEnd, x, xStride, count, y, yStride);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ComputeBatch<TWeights>(
        byte* weights, long rowBytes, int n, int rowStart, int rowEnd, float* x, long xStride, int count, float* y, long yStride)
        where TWeights : struct, IWeightVectors
    {
        int tiles = (count + 3) / 4;
        int floats = (TileRows * n) + (tiles * 24 * 16) + 16;
        float* panel = (float*)ThreadScratch.Bytes(ref t_panel, (long)floats * sizeof(float));
        float* acc = panel + (TileRows * n);
        int kBlocks = (n + KBlock - 1) / KBlock;
        int* weightExponents = stackalloc int[TileRows];
        for (int r = rowStart; r < rowEnd; r += TileRows)
        {
            int rows = Math.Min(TileRows, rowEnd - r);
            if (typeof(TWeights) == typeof(BFloat16Weights))
            {
                for (int i = 0; i < rows; i++)
                {
                    weightExponents[i] = BF16Dot.PackSplit(weights + ((r + i) * rowBytes), n, panel + (16 * i), 16 * rows);
                }
            }
            else
            {
                Pack<TWeights>(weights + (r * rowBytes), rowBytes, rows, n, panel);
            }

            float* yr = y + r;

            // The next tile's rows (contiguous) are fetched from memory while this one computes.
            byte* next = weights + ((r + rows) * rowBytes);
            long nextBytes = Math.Min(TileRows, rowEnd - r - rows) * rowBytes;
            long share = ((nextBytes / (tiles * kBlocks)) + 64) & ~63L;
            for (int k0 = 0; k0 < n; k0 += KBlock)
            {
                // A slice of the panel (6 × 1024 floats, 24 KiB) stays in L1 for all the batch's tiles; each tile's
                // accumulators are saved between slices, exactly, so each output's chain runs on unchanged.
                int kc = Math.Min(KBlock, n - k0);
                bool first = k0 == 0, last = k0 + kc == n;
                float* slice = panel + (k0 * rows);
                switch (rows)
                {
                    case 6: Columns<Extent6>(slice, kc, x + k0, xStride, count, yr, yStride, ref next, ref nextBytes, share, acc, first, last); break;
                    case 5: Columns<Extent5>(slice, kc, x + k0, xStride, count, yr, yStride, ref next, ref nextBytes, share, acc, first, last); break;
                    case 4: Columns<Extent4>(slice, kc, x + k0, xStride, count, yr, yStride, ref next, ref nextBytes, share, acc, first, last); break;
                    case 3: Columns<Extent3>(slice, kc, x + k0, xStride, count, yr, yStride, ref next, ref nextBytes, share, acc, first, last); break;
                    case 2: Columns<Extent2>(slice, kc, x + k0, xStride, count, yr, yStride, ref next, ref nextBytes, share, acc, first, last); break;
                    default: Columns<Extent1>(slice, kc, x + k0, xStride, count, yr, yStride, ref next, ref nextBytes, share, acc, first, last); break;
                }
            }

            if (typeof(TWeights) == typeof(BFloat16Weights))
            {
                // The chains ran without vdpbf16ps's flushes; outputs where a flush could change a bit are recomputed.
                for (int i = 0; i < rows; i++)
                {
                    for (int t = 0; t < count; t++)
                    {
                        float* xt = x + (t * xStride);
                        if (!BF16Dot.FlushesAreIdentities(weightExponents[i], xt, n))
                        {
                            yr[(t * yStride) + i] = BF16Dot.Flushed(weights + ((r + i) * rowBytes), xt, n);
                        }
                    }
                }
            }
        }
    }

    /// <summary>
    /// Rows widened into the panel: for each k-step of 16, the rows' 16 floats one after another, written in that order
    /// (one sequential store stream; row by row, each row's stores hit every sixth cache line and the pass took about
    /// a fifth more time).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Pack<TWeights>(byte* w, long rowBytes, int rows, int n, float* panel)
        where TWeights : struct, IWeightVectors
    {
        float* p = panel;
        for (int c = 0; c < n; c += 16)
        {
            byte* row = w;
            for (int i = 0; i < rows; i++, row += rowBytes, p += 16)
            {
                Vector512.Store(TWeights.Load(row, c), p);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Columns<TRows>(float* panel, int n, float* x, long xStride, int count, float* y, long yStride, ref byte* next, ref long nextBytes, long share, float* acc, bool first, bool last)
        where TRows : struct, ITileExtent
    {
        int t = 0;
        for (; t + 4 <= count; t += 4, acc += 24 * 16)
        {
            for (long o = 0; o < share && nextBytes > 0; o += 64, nextBytes -= 64)
            {
                Sse.Prefetch0(next);
                next += 64;
            }

            Tile<TRows, Extent4>(panel, n, x + (t * xStride), xStride, y + (t * yStride), yStride, acc, first, last);
        }

        switch (count - t)
        {
            case 3: Tile<TRows, Extent3>(panel, n, x + (t * xStride), xStride, y + (t * yStride), yStride, acc, first, last); break;
            case 2: Tile<TRows, Extent2>(panel, n, x + (t * xStride), xStride, y + (t * yStride), yStride, acc, first, last); break;
            case 1: Tile<TRows, Extent1>(panel, n, x + (t * xStride), xStride, y + (t * yStride), yStride, acc, first, last); break;
        }
    }

    /// <summary>
    /// One tile: <typeparamref name="TRows"/> panel rows × <typeparamref name="TColumns"/> vectors, every accumulator a
    /// local (the JIT keeps them in zmm registers; the untaken branches vanish per instantiation).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile<TRows, TColumns>(float* panel, int n, float* x, long xStride, float* y, long yStride, float* acc, bool first, bool last)
        where TRows : struct, ITileExtent
        where TColumns : struct, ITileExtent
    {
        Vector512<float> a00, a01, a02, a03, a10, a11, a12, a13, a20, a21, a22, a23, a30, a31, a32, a33, a40, a41, a42, a43, a50, a51, a52, a53;
        if (first)
        {
            a00 = default;
            a01 = default;
            a02 = default;
            a03 = default;
            a10 = default;
            a11 = default;
            a12 = default;
            a13 = default;
            a20 = default;
            a21 = default;
            a22 = default;
            a23 = default;
            a30 = default;
            a31 = default;
            a32 = default;
            a33 = default;
            a40 = default;
            a41 = default;
            a42 = default;
            a43 = default;
            a50 = default;
            a51 = default;
            a52 = default;
            a53 = default;
        }
        else
        {
            a00 = Vector512.Load(acc + 0);
            a01 = Vector512.Load(acc + 16);
            a02 = Vector512.Load(acc + 32);
            a03 = Vector512.Load(acc + 48);
            a10 = Vector512.Load(acc + 64);
            a11 = Vector512.Load(acc + 80);
            a12 = Vector512.Load(acc + 96);
            a13 = Vector512.Load(acc + 112);
            a20 = Vector512.Load(acc + 128);
            a21 = Vector512.Load(acc + 144);
            a22 = Vector512.Load(acc + 160);
            a23 = Vector512.Load(acc + 176);
            a30 = Vector512.Load(acc + 192);
            a31 = Vector512.Load(acc + 208);
            a32 = Vector512.Load(acc + 224);
            a33 = Vector512.Load(acc + 240);
            a40 = Vector512.Load(acc + 256);
            a41 = Vector512.Load(acc + 272);
            a42 = Vector512.Load(acc + 288);
            a43 = Vector512.Load(acc + 304);
            a50 = Vector512.Load(acc + 320);
            a51 = Vector512.Load(acc + 336);
            a52 = Vector512.Load(acc + 352);
            a53 = Vector512.Load(acc + 368);
        }

        float* x1 = x + xStride, x2 = x1 + xStride, x3 = x2 + xStride;
        float* p = panel;
        for (int c = 0; c < n; c += 16, p += TRows.Count * 16)
        {
            var v0 = Vector512.Load(x + c);
            var v1 = TColumns.Count > 1 ? Vector512.Load(x1 + c) : default;
            var v2 = TColumns.Count > 2 ? Vector512.Load(x2 + c) : default;
            var v3 = TColumns.Count > 3 ? Vector512.Load(x3 + c) : default;
            var w0 = Vector512.Load(p + 0);
            a00 = Vector512.FusedMultiplyAdd(w0, v0, a00);
            if (TColumns.Count > 1) a01 = Vector512.FusedMultiplyAdd(w0, v1, a01);
            if (TColumns.Count > 2) a02 = Vector512.FusedMultiplyAdd(w0, v2, a02);
            if (TColumns.Count > 3) a03 = Vector512.FusedMultiplyAdd(w0, v3, a03);

            if (TRows.Count > 1)
            {
                var w1 = Vector512.Load(p + 16);
                a10 = Vector512.FusedMultiplyAdd(w1, v0, a10);
                if (TColumns.Count > 1) a11 = Vector512.FusedMultiplyAdd(w1, v1, a11);
                if (TColumns.Count > 2) a12 = Vector512.FusedMultiplyAdd(w1, v2, a12);
                if (TColumns.Count > 3) a13 = Vector512.FusedMultiplyAdd(w1, v3, a13);
            }

            if (TRows.Count > 2)
            {
                var w2 = Vector512.Load(p + 32);
                a20 = Vector512.FusedMultiplyAdd(w2, v0, a20);
                if (TColumns.Count > 1) a21 = Vector512.FusedMultiplyAdd(w2, v1, a21);
                if (TColumns.Count > 2) a22 = Vector512.FusedMultiplyAdd(w2, v2, a22);
                if (TColumns.Count > 3) a23 = Vector512.FusedMultiplyAdd(w2, v3, a23);
            }

            if (TRows.Count > 3)
            {
                var w3 = Vector512.Load(p + 48);
                a30 = Vector512.FusedMultiplyAdd(w3, v0, a30);
                if (TColumns.Count > 1) a31 = Vector512.FusedMultiplyAdd(w3, v1, a31);
                if (TColumns.Count > 2) a32 = Vector512.FusedMultiplyAdd(w3, v2, a32);
                if (TColumns.Count > 3) a33 = Vector512.FusedMultiplyAdd(w3, v3, a33);
            }

            if (TRows.Count > 4)
            {
                var w4 = Vector512.Load(p + 64);
                a40 = Vector512.FusedMultiplyAdd(w4, v0, a40);
                if (TColumns.Count > 1) a41 = Vector512.FusedMultiplyAdd(w4, v1, a41);
                if (TColumns.Count > 2) a42 = Vector512.FusedMultiplyAdd(w4, v2, a42);
                if (TColumns.Count > 3) a43 = Vector512.FusedMultiplyAdd(w4, v3, a43);
            }

            if (TRows.Count > 5)
            {
                var w5 = Vector512.Load(p + 80);
                a50 = Vector512.FusedMultiplyAdd(w5, v0, a50);
                if (TColumns.Count > 1) a51 = Vector512.FusedMultiplyAdd(w5, v1, a51);
                if (TColumns.Count > 2) a52 = Vector512.FusedMultiplyAdd(w5, v2, a52);
                if (TColumns.Count > 3) a53 = Vector512.FusedMultiplyAdd(w5, v3, a53);
            }
        }

        if (last && TRows.Count == 6 && TColumns.Count == 4)
        {
            // Four outputs per reduction, each in Reduce16's tree: rows 0-3 of each vector together (contiguous in y),
            // then rows 4 and 5 of two vectors.
            Vector128.Store(Reduce4(a00, a10, a20, a30), y);
            Vector128.Store(Reduce4(a01, a11, a21, a31), y + yStride);
            Vector128.Store(Reduce4(a02, a12, a22, a32), y + (2 * yStride));
            Vector128.Store(Reduce4(a03, a13, a23, a33), y + (3 * yStride));
            var r01 = Reduce4(a40, a50, a41, a51);
            var r23 = Reduce4(a42, a52, a43, a53);
            y[4] = r01.GetElement(0);
            y[5] = r01.GetElement(1);
            y[4 + yStride] = r01.GetElement(2);
            y[5 + yStride] = r01.GetElement(3);
            y[4 + (2 * yStride)] = r23.GetElement(0);
            y[5 + (2 * yStride)] = r23.GetElement(1);
            y[4 + (3 * yStride)] = r23.GetElement(2);
            y[5 + (3 * yStride)] = r23.GetElement(3);
        }
        else if (last)
        {
            y[0 + (0 * yStride)] = Reduce16(a00);
            if (TColumns.Count > 1) y[0 + (1 * yStride)] = Reduce16(a01);
            if (TColumns.Count > 2) y[0 + (2 * yStride)] = Reduce16(a02);
            if (TColumns.Count > 3) y[0 + (3 * yStride)] = Reduce16(a03);
            if (TRows.Count > 1) y[1 + (0 * yStride)] = Reduce16(a10);
            if (TRows.Count > 1 && TColumns.Count > 1) y[1 + (1 * yStride)] = Reduce16(a11);
            if (TRows.Count > 1 && TColumns.Count > 2) y[1 + (2 * yStride)] = Reduce16(a12);
            if (TRows.Count > 1 && TColumns.Count > 3) y[1 + (3 * yStride)] = Reduce16(a13);
            if (TRows.Count > 2) y[2 + (0 * yStride)] = Reduce16(a20);
            if (TRows.Count > 2 && TColumns.Count > 1) y[2 + (1 * yStride)] = Reduce16(a21);
            if (TRows.Count > 2 && TColumns.Count > 2) y[2 + (2 * yStride)] = Reduce16(a22);
            if (TRows.Count > 2 && TColumns.Count > 3) y[2 + (3 * yStride)] = Reduce16(a23);
            if (TRows.Count > 3) y[3 + (0 * yStride)] = Reduce16(a30);
            if (TRows.Count > 3 && TColumns.Count > 1) y[3 + (1 * yStride)] = Reduce16(a31);
            if (TRows.Count > 3 && TColumns.Count > 2) y[3 + (2 * yStride)] = Reduce16(a32);
            if (TRows.Count > 3 && TColumns.Count > 3) y[3 + (3 * yStride)] = Reduce16(a33);
            if (TRows.Count > 4) y[4 + (0 * yStride)] = Reduce16(a40);
            if (TRows.Count > 4 && TColumns.Count > 1) y[4 + (1 * yStride)] = Reduce16(a41);
            if (TRows.Count > 4 && TColumns.Count > 2) y[4 + (2 * yStride)] = Reduce16(a42);
            if (TRows.Count > 4 && TColumns.Count > 3) y[4 + (3 * yStride)] = Reduce16(a43);
            if (TRows.Count > 5) y[5 + (0 * yStride)] = Reduce16(a50);
            if (TRows.Count > 5 && TColumns.Count > 1) y[5 + (1 * yStride)] = Reduce16(a51);
            if (TRows.Count > 5 && TColumns.Count > 2) y[5 + (2 * yStride)] = Reduce16(a52);
            if (TRows.Count > 5 && TColumns.Count > 3) y[5 + (3 * yStride)] = Reduce16(a53);
        }
        else
        {
            Vector512.Store(a00, acc + 0);
            Vector512.Store(a01, acc + 16);
            Vector512.Store(a02, acc + 32);
            Vector512.Store(a03, acc + 48);
            Vector512.Store(a10, acc + 64);
            Vector512.Store(a11, acc + 80);
            Vector512.Store(a12, acc + 96);
            Vector512.Store(a13, acc + 112);
            Vector512.Store(a20, acc + 128);
            Vector512.Store(a21, acc + 144);
            Vector512.Store(a22, acc + 160);
            Vector512.Store(a23, acc + 176);
            Vector512.Store(a30, acc + 192);
            Vector512.Store(a31, acc + 208);
            Vector512.Store(a32, acc + 224);
            Vector512.Store(a33, acc + 240);
            Vector512.Store(a40, acc + 256);
            Vector512.Store(a41, acc + 272);
            Vector512.Store(a42, acc + 288);
            Vector512.Store(a43, acc + 304);
            Vector512.Store(a50, acc + 320);
            Vector512.Store(a51, acc + 336);
            Vector512.Store(a52, acc + 352);
            Vector512.Store(a53, acc + 368);
        }
    }

    /// <summary>
    /// <see cref="Reduce16"/> of four accumulators at once, the same additions with the same operands in the same order
    /// (lanes i and i + 8, then i and i + 4, then (0 + 2) + (1 + 3)), two accumulators' halves side by side per step.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> Reduce4(Vector512<float> a, Vector512<float> b, Vector512<float> c, Vector512<float> d)
    {
        // [a0-7, b0-7] + [a8-15, b8-15]: each accumulator's 8 sums of lanes i and i + 8, in 128-bit blocks (lo, hi).
        var ab = Avx512F.Shuffle4x128(a, b, 0x44) + Avx512F.Shuffle4x128(a, b, 0xEE);
        var cd = Avx512F.Shuffle4x128(c, d, 0x44) + Avx512F.Shuffle4x128(c, d, 0xEE);

        // [lo of a, b, c, d] + [hi of a, b, c, d]: per 128-bit block, one accumulator's t0..t3.
        var t = Avx512F.Shuffle4x128(ab, cd, 0x88) + Avx512F.Shuffle4x128(ab, cd, 0xDD);

        // (t0 + t2, t1 + t3) in each block's lanes 0 and 1, then their sum in lane 0.
        var u = t + Avx512F.Shuffle(t, t, 0x4E);
        var v = u + Avx512F.Shuffle(u, u, 0xB1);
        return Avx512F.PermuteVar16x32(v, Vector512.Create(0, 4, 8, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)).GetLower().GetLower();
    }

    /// <summary>Σ of sixteen lanes in the reference's tree.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Reduce16(Vector512<float> v) => MatVec.Sum(v.GetLower() + v.GetUpper());

    /// <summary>How 16 weights of a row at element <c>c</c> become floats.</summary>
    private interface IWeightVectors
    {
        static abstract Vector512<float> Load(byte* row, int c);
    }

    private struct HalfWeights : IWeightVectors
    {
        public static Vector512<float> Load(byte* row, int c) => HalfBits.Load16((short*)row + c);
    }

    /// <summary>
    /// BF16: packed by <see cref="BF16Dot.PackSplit"/> instead (each chunk of 32 as its 16 odd weights, then its 16 even
    /// ones, against activations in <see cref="BF16Dot.Prepare"/>'s split layout, so each k-step of 16 is one of
    /// <c>vdpbf16ps</c>'s two FMAs per lane, in its order).
    /// </summary>
    private struct BFloat16Weights : IWeightVectors
    {
        public static Vector512<float> Load(byte* row, int c) => throw new NotSupportedException();
    }

    private struct SingleWeights : IWeightVectors
    {
        public static Vector512<float> Load(byte* row, int c) => Vector512.Load((float*)row + c);
    }
}
