using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using MicroLlm.Gguf;

namespace MicroLlm.Kernels;

/// <summary>
/// Matrix-vector (decode) and matrix-matrix (prefill) products of weights in their stored type with activations rounded
/// by <see cref="ActivationQuantizer"/>: <c>y[r] = row r · x</c> over a range of rows, so that threads split a matrix by
/// rows and each output is computed by one thread, in an order that does not depend on how many threads there are.
/// </summary>
/// <remarks>
/// One file per weight format holds that format's dot product at every <see cref="KernelWidth"/>: integer dot products
/// (unsigned × signed byte pairs summed to 16 then 32 bits, one float multiply per block) for the quantized formats,
/// float FMA for F32/F16/BF16. Vector widths sum in a different order from the scalar path, so results agree to float
/// rounding, not bit for bit; any one width gives the same bits on every run and thread count. Q4_0, Q8_0, Q4_K, Q5_K, Q6_K, BF16
/// accumulate in the reference runtime's order at every width and give the bits of <c>Numerics/ReferenceDot</c>,
/// the numerics contract of docs/ARCHITECTURE.md.
/// </remarks>
internal static unsafe class MatVec
{
    [ThreadStatic]
    private static byte[]? t_group;

    /// <summary>Whether <paramref name="weightType"/> has kernels.</summary>
    public static bool IsSupported(GgmlType weightType) => weightType is
        GgmlType.F32 or GgmlType.F16 or GgmlType.BF16 or GgmlType.Q4_0 or GgmlType.Q8_0 or
        GgmlType.Q4_K or GgmlType.Q5_K or GgmlType.Q6_K;

    /// <summary>
    /// <c>y[r] = dot(row r, x)</c> for <paramref name="rowStart"/> ≤ r &lt; <paramref name="rowEnd"/>; row r starts at
    /// <c>weights + r * rowBytes</c>; <paramref name="x"/> holds <paramref name="columns"/> activations in the kernel layout
    /// of <see cref="ActivationQuantizer.ActivationTypeFor"/>. <paramref name="layout"/>: where the rows lie (in groups,
    /// the range starts and ends on a group) and the Q4_0 order.
    /// </summary>
    public static void Compute(
        GgmlType weightType, byte* weights, long rowBytes, int columns, int rowStart, int rowEnd, byte* x, float* y, KernelWidth width,
        WeightLayout layout = WeightLayout.Rows)
    {
        if (layout is WeightLayout.PackedQ4_0 or WeightLayout.RowGroups)
        {
            ComputeBatch(weightType, weights, rowBytes, columns, rowStart, rowEnd, x, 0, 1, y, 0, width, layout);
            return;
        }

        if (TiledDecode(weightType, width))
        {
            ComputeTiles(weightType, weights, rowBytes, columns, rowStart, rowEnd, x, y);
            return;
        }

        if (PrefetchedHalfRows(weightType, columns, width))
        {
            ComputeHalfRows(weightType == GgmlType.BF16, weights, rowBytes, columns, rowStart, rowEnd, (float*)x, y);
            return;
        }

        for (int r = rowStart; r < rowEnd; r++)
        {
            y[r] = Dot(weightType, weights + (r * rowBytes), x, columns, width, layout == WeightLayout.SequentialQ4_0);
        }
    }

    /// <summary>
    /// The batched form: <c>y[t * yStride + r] = dot(row r, x_t)</c> for <paramref name="count"/> activation vectors
    /// <c>x_t = x + t * xStride</c> (bytes). Each weight row is read from memory once and reused, from L1, for the whole batch; formats with a tiled kernel
    /// (<see cref="Q4_0SequentialTiles"/>) also unpack each weight block once for several vectors. <paramref name="layout"/>
    /// as in <see cref="Compute"/>.
    /// </summary>
    public static void ComputeBatch(
        GgmlType weightType, byte* weights, long rowBytes, int columns, int rowStart, int rowEnd,
        byte* x, long xStride, int count, float* y, long yStride, KernelWidth width, WeightLayout layout = WeightLayout.Rows)
    {
        if (weightType == GgmlType.Q4_0 && layout == WeightLayout.PackedQ4_0)
        {
            // Tiles of 8 rows × 4 vectors: each weight block unpacked once per tile, 8 to 32 independent FMA chains.
            Q4_0SequentialTiles.ComputeBatch(weights, rowBytes, columns / 32, rowStart, rowEnd, x, xStride, count, y, yStride, width);
            return;
        }

        // Row groups (RowGroups): the 512-bit tiles below read them directly; other paths take each group back to the
        // file's layout first (at the end), so every output has the same bits.
        bool grouped = layout == WeightLayout.RowGroups;
        if (grouped && (rowStart % RowGroups.Size != 0 || rowEnd % RowGroups.Size != 0 || !RowGroups.Supports(weightType)))
        {
            throw new ArgumentException($"A {weightType} matrix in row groups is computed in whole groups of {RowGroups.Size} rows; got rows {rowStart}..{rowEnd}.");
        }

        bool sequentialQ4_0 = layout == WeightLayout.SequentialQ4_0;

        if (count >= 2 && FloatTiles.Supports(weightType, columns, width))
        {
            // Register tiles of 6 rows × 4 vectors over rows widened once into a panel.
            FloatTiles.ComputeBatch(weightType, weights, rowBytes, columns, rowStart, rowEnd, (float*)x, xStride / sizeof(float), count, y, yStride);
            return;
        }

        if (Q8_0Tiles.Supports(weightType, count, width))
        {
            // Register tiles of 4 rows × 8 vectors, two outputs per accumulator.
            Q8_0Tiles.ComputeBatch(weights, rowBytes, columns / 32, rowStart, rowEnd, x, xStride, count, y, yStride, grouped);
            return;
        }

        if (Q4_KPrefillTiles.Supports(weightType, count, width))
        {
            // Register tiles of 2 rows × 8 vectors, two outputs per accumulator.
            Q4_KPrefillTiles.ComputeBatch(weights, rowBytes, columns / 256, rowStart, rowEnd, x, xStride, count, y, yStride, fifthBits: weightType == GgmlType.Q5_K, grouped);
            return;
        }

        if (Q6_KPrefillTiles.Supports(weightType, count, width))
        {
            // Register tiles of 2 rows × 8 vectors, two outputs per accumulator.
            Q6_KPrefillTiles.ComputeBatch(weights, rowBytes, columns / 256, rowStart, rowEnd, x, xStride, count, y, yStride, grouped);
            return;
        }

        if ((count < 4 || weightType == GgmlType.Q5_K) && TiledDecode(weightType, width))
        {
            // Decode (and batches too small for the prefill tiles; Q5_K at any batch where it has none): tiles of 4 rows per
            // vector.
            for (int t = 0; t < count; t++)
            {
                ComputeTiles(weightType, weights, rowBytes, columns, rowStart, rowEnd, x + (t * xStride), y + (t * yStride), grouped);
            }

            return;
        }

        if (count < 4 && weightType == GgmlType.Q8_0 && width == KernelWidth.Vector512)
        {
            // Decode: 4 rows' chains per pass over one vector.
            for (int t = 0; t < count; t++)
            {
                Q8_0Dot.Rows512(weights, rowBytes, columns / 32, rowStart, rowEnd, x + (t * xStride), y + (t * yStride), grouped);
            }

            return;
        }

        if (grouped)
        {
            ComputeUngrouped(weightType, weights, rowBytes, columns, rowStart, rowEnd, x, xStride, count, y, yStride, width);
            return;
        }

        if (count < 4 && PrefetchedHalfRows(weightType, columns, width))
        {
            for (int t = 0; t < count; t++)
            {
                ComputeHalfRows(weightType == GgmlType.BF16, weights, rowBytes, columns, rowStart, rowEnd, (float*)(x + (t * xStride)), y + (t * yStride));
            }

            return;
        }

        bool fourColumns = count >= 4 && ((weightType is GgmlType.Q8_0 or GgmlType.Q4_K or GgmlType.Q6_K && width >= KernelWidth.Vector256)
            || (weightType is GgmlType.F16 or GgmlType.F32 && width == KernelWidth.Vector512 && columns % 16 == 0));
        for (int r = rowStart; r < rowEnd; r++)
        {
            byte* row = weights + (r * rowBytes);
            int t = 0;
            if (fourColumns)
            {
                // Four vectors per pass over the row: its blocks loaded and unpacked once, four FMA chains side by side.
                for (; t + 4 <= count; t += 4)
                {
                    byte* xt = x + (t * xStride);
                    float* yt = y + (t * yStride) + r;
                    switch (weightType)
                    {
                        case GgmlType.Q8_0: Q8_0Dot.Dot4(row, xt, xStride, columns / 32, yt, yStride); break;
                        case GgmlType.Q4_K: Q4_KDot.Dot4(row, xt, xStride, columns / 256, yt, yStride); break;
                        case GgmlType.F16 or GgmlType.F32: FloatDot.Lanes16x4(row, (float*)xt, xStride / sizeof(float), columns, weightType == GgmlType.F16, yt, yStride); break;
                        default: Q6_KDot.Dot4(row, xt, xStride, columns / 256, yt, yStride); break;
                    }
                }
            }

            for (; t < count; t++)
            {
                y[(t * yStride) + r] = Dot(weightType, row, x + (t * xStride), columns, width, sequentialQ4_0);
            }
        }
    }

    /// <summary>
    /// <see cref="ComputeBatch"/> over a matrix in <see cref="RowGroups"/> where no kernel reads the groups (widths below
    /// 512 bits): each group back to the file's layout in a per-thread buffer, then the file layout's kernels.
    /// </summary>
    private static void ComputeUngrouped(
        GgmlType weightType, byte* weights, long rowBytes, int columns, int rowStart, int rowEnd,
        byte* x, long xStride, int count, float* y, long yStride, KernelWidth width)
    {
        int blockBytes = RowGroups.BlockBytes(weightType);
        byte* rows = ThreadScratch.Bytes(ref t_group, RowGroups.Size * rowBytes);
        for (int r = rowStart; r < rowEnd; r += RowGroups.Size)
        {
            RowGroups.Unpack(weights + (r * rowBytes), rowBytes, blockBytes, rows);
            ComputeBatch(weightType, rows, rowBytes, columns, 0, RowGroups.Size, x, xStride, count, y + r, yStride, width);
        }
    }

    /// <summary>Whether F16/BF16 decode runs <see cref="FloatDot.F16Rows"/> or <see cref="BF16Dot.DotPrefetching"/> (512 bits, rows of a multiple of 32).</summary>
    private static bool PrefetchedHalfRows(GgmlType weightType, int columns, KernelWidth width) =>
        weightType is GgmlType.F16 or GgmlType.BF16 && width == KernelWidth.Vector512 && columns % 32 == 0;

    /// <summary>
    /// F16 or BF16 rows against one vector, each row's chain as <see cref="FloatDot.F16"/>'s or <see cref="BF16Dot.Dot"/>'s,
    /// while the row two ahead is fetched: a row of 2048 halves is one 4 KiB page, where the hardware prefetcher stops, so
    /// without it every row begins with misses (TinyLlama F16 decode, 1 thread: 10.2-10.3 -> 12.9-13.2 tok/s; 2 threads:
    /// 15.2-15.3 -> 19.1-19.8). F16 rows also run two chains staggered by half a row (<see cref="FloatDot.F16Rows"/>).
    /// </summary>
    private static void ComputeHalfRows(bool bfloat16, byte* weights, long rowBytes, int columns, int rowStart, int rowEnd, float* x, float* y)
    {
        if (!bfloat16)
        {
            if (rowEnd > rowStart)
            {
                FloatDot.F16Rows(weights + (rowStart * rowBytes), rowBytes, rowEnd - rowStart, x, columns, y + rowStart);
            }

            return;
        }

        const int Ahead = 2;
        for (int r = rowStart; r < rowEnd; r++)
        {
            byte* row = weights + (r * rowBytes);
            byte* ahead = r + Ahead < rowEnd ? row + (Ahead * rowBytes) : row;
            y[r] = BF16Dot.DotPrefetching(row, x, columns, ahead);
        }
    }

    /// <summary>Whether <paramref name="weightType"/> has a decode kernel in tiles of rows at <paramref name="width"/>.</summary>
    private static bool TiledDecode(GgmlType weightType, KernelWidth width) =>
        (weightType is GgmlType.Q4_K or GgmlType.Q5_K && Q4_KTiles.Supports(width)) || (weightType == GgmlType.Q6_K && Q6_KTiles.Supports(width));

    /// <summary>One vector through <see cref="Q4_KTiles"/> or <see cref="Q6_KTiles"/> (<see cref="TiledDecode"/>).</summary>
    private static void ComputeTiles(GgmlType weightType, byte* weights, long rowBytes, int columns, int rowStart, int rowEnd, byte* x, float* y, bool grouped = false)
    {
        if (weightType is GgmlType.Q4_K or GgmlType.Q5_K)
        {
            Q4_KTiles.Compute(weights, rowBytes, columns / 256, rowStart, rowEnd, x, y, fifthBits: weightType == GgmlType.Q5_K, grouped);
        }
        else
        {
            Q6_KTiles.Compute(weights, rowBytes, columns / 256, rowStart, rowEnd, x, y, grouped);
        }
    }

    /// <summary>
    /// The dot product of one stored row with prepared activations. <paramref name="sequentialQ4_0"/> selects, for Q4_0,
    /// the order of the reference's repacked kernels (<see cref="Q4_0Dot.DotSequential"/>), which it uses for Q4_0
    /// matrices whose row count is a multiple of 8.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Dot(GgmlType weightType, byte* row, byte* x, int columns, KernelWidth width, bool sequentialQ4_0 = false) => weightType switch
    {
        GgmlType.Q4_0 => sequentialQ4_0 ? Q4_0Dot.DotSequential(row, x, columns / 32, width) : Q4_0Dot.Dot(row, x, columns / 32, width),
        GgmlType.Q8_0 => Q8_0Dot.Dot(row, x, columns / 32, width),
        GgmlType.Q4_K => Q4_KDot.Dot(row, x, columns / 256, width),
        GgmlType.Q5_K => Q5_KDot.Dot(row, x, columns / 256, width),
        GgmlType.Q6_K => Q6_KDot.Dot(row, x, columns / 256, width),
        GgmlType.F16 => FloatDot.F16(row, (float*)x, columns, width),
        GgmlType.BF16 => BF16Dot.Dot(row, (float*)x, columns, width),
        GgmlType.F32 => FloatDot.F32((float*)row, (float*)x, columns, width),
        _ => throw new NotSupportedException($"No kernel for {weightType} weights."),
    };

    /// <summary>
    /// How many tiles of <paramref name="tileBytes"/> ahead the decode tiles fetch: the first tile at least 8 KiB on, so
    /// that a fetch is issued about a memory latency before its bytes are used even for short rows (a tile of four
    /// 2048-column Q4_K rows is 4.5 KiB, read in about 170 ns by one core). TinyLlama Q4_K_M decode, 1 thread: one
    /// tile ahead 41.5-43.3 tok/s, two 42.9-44.9, three 42.2-44.7.
    /// </summary>
    internal static long PrefetchDistance(long tileBytes) => Math.Max(1, (8192 + tileBytes - 1) / tileBytes) * tileBytes;

    /// <summary>
    /// Fetches the cache lines from <paramref name="p"/> to <paramref name="p"/> + <paramref name="bytes"/> (at most 1024)
    /// into L1, written out line by line: with a constant byte count the JIT keeps only the prefetches, where a loop
    /// (which it does not unroll) costs four more instructions per line (measured: Q6_K decode tiles, 14 lines per step).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void PrefetchLines(byte* p, int bytes)
    {
        Debug.Assert(bytes <= 1024, "at most 16 lines");
        Sse.Prefetch0(p);
        if (bytes > 64) { Sse.Prefetch0(p + 64); }
        if (bytes > 128) { Sse.Prefetch0(p + 128); }
        if (bytes > 192) { Sse.Prefetch0(p + 192); }
        if (bytes > 256) { Sse.Prefetch0(p + 256); }
        if (bytes > 320) { Sse.Prefetch0(p + 320); }
        if (bytes > 384) { Sse.Prefetch0(p + 384); }
        if (bytes > 448) { Sse.Prefetch0(p + 448); }
        if (bytes > 512) { Sse.Prefetch0(p + 512); }
        if (bytes > 576) { Sse.Prefetch0(p + 576); }
        if (bytes > 640) { Sse.Prefetch0(p + 640); }
        if (bytes > 704) { Sse.Prefetch0(p + 704); }
        if (bytes > 768) { Sse.Prefetch0(p + 768); }
        if (bytes > 832) { Sse.Prefetch0(p + 832); }
        if (bytes > 896) { Sse.Prefetch0(p + 896); }
        if (bytes > 960) { Sse.Prefetch0(p + 960); }
    }

    /// <summary>Σ of the eight 32-bit lanes as float.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static float Sum(Vector512<float> v) => Sum(v.GetLower() + v.GetUpper());

    /// <summary>Σ of eight float lanes in the tree of the reference's 256-bit reductions: (l4+l0, l5+l1, l6+l2, l7+l3), then (r0+r2)+(r1+r3).</summary>
    internal static float Reduce8(float* lanes) => ((lanes[4] + lanes[0]) + (lanes[6] + lanes[2])) + ((lanes[5] + lanes[1]) + (lanes[7] + lanes[3]));

    /// <summary>Σ of the lanes, in the tree of <see cref="Reduce8"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static float Sum(Vector256<float> v) => Sum(v.GetLower() + v.GetUpper());

    /// <summary>Σ of the lanes, in a fixed order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static float Sum(Vector128<float> v) => (v[0] + v[2]) + (v[1] + v[3]);

    /// <summary>Pairs of unsigned × signed bytes summed to 16-bit lanes (saturating; callers keep sums in range).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<short> MulAdd(Vector512<byte> u, Vector512<sbyte> s) => Avx512BW.MultiplyAddAdjacent(u, s);

    /// <inheritdoc cref="MulAdd(Vector512{byte}, Vector512{sbyte})"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<short> MulAdd(Vector256<byte> u, Vector256<sbyte> s) => Avx2.MultiplyAddAdjacent(u, s);

    /// <inheritdoc cref="MulAdd(Vector512{byte}, Vector512{sbyte})"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector128<short> MulAdd(Vector128<byte> u, Vector128<sbyte> s) => Ssse3.MultiplyAddAdjacent(u, s);

    /// <summary>Pairs of 16-bit lanes multiplied and summed to 32 bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<int> Widen(Vector512<short> a, Vector512<short> b) => Avx512BW.MultiplyAddAdjacent(a, b);

    /// <inheritdoc cref="Widen(Vector512{short}, Vector512{short})"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<int> Widen(Vector256<short> a, Vector256<short> b) => Avx2.MultiplyAddAdjacent(a, b);

    /// <inheritdoc cref="Widen(Vector512{short}, Vector512{short})"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector128<int> Widen(Vector128<short> a, Vector128<short> b) => Sse2.MultiplyAddAdjacent(a, b);
}
