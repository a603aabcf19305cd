using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace MicroLlm.Kernels;

/// <summary>
/// Prefill form of <see cref="Q4_0SequentialTiles"/> at 512 bits: panels of 16 rows (two packed groups) repacked (transposed) once per call
/// into a per-thread buffer with one row per 32-bit lane, then multiplied with the batch's activation vectors 4 at a
/// time. With a row in each lane, a block's 32 products of a row sum inside its own lane (byte multiply-adds against
/// 4 activations broadcast to every lane), so no horizontal sums remain and each FMA serves 16 outputs.
/// </summary>
/// <remarks>
/// <para>The order per output is that of <see cref="Q4_0Dot.DotSequential"/>: exact integer block sums (products summed
/// in 16 bits while a lane holds at most 16 of them, |Σ| ≤ 16 · 15 · 127 &lt; 2^15, then widened), minus 8 · Σ x,
/// converted exactly, one <c>fma(sumi, d_w · d_x, acc)</c> per block, blocks in order; so the bits of
/// <c>Numerics/ReferenceDot.Q4_0Sequential</c>.</para>
/// <para>Panel layout per block: four 64-byte vectors, vector d holding bytes 4d..4d+3 of each row's 16 nibble bytes
/// (low nibbles: elements 4d..4d+3; high: 16 + 4d..), then the 16 rows' scales as floats.</para>
/// </remarks>
internal static unsafe class Q4_0SequentialPanels
{
    private const int XBytes = 34, PanelRows = 16, PanelBlockBytes = (4 * 64) + 64, StepBytes = Q4_0SequentialTiles.StepBytes;

    [ThreadStatic]
    private static byte[]? t_panel;

    /// <summary>Whether <paramref name="width"/> and a batch of <paramref name="count"/> vectors take this path.</summary>
    public static bool Supports(KernelWidth width, int count) => width == KernelWidth.Vector512 && count >= 4;

    /// <summary>
    /// Rows <paramref name="rowStart"/> (a multiple of 8) up to the last whole panel before <paramref name="rowEnd"/>, of
    /// a matrix in the packed layout: y as in
    /// <see cref="Q4_0SequentialTiles.ComputeBatch"/>, with the activation scales and 8 · Σ x already prepared
    /// (<paramref name="dx"/>, <paramref name="sx"/>: <paramref name="blocks"/> per vector). Returns the first row not done.
    /// </summary>
    public static int ComputePanels(
        byte* weights, long rowBytes, int blocks, int rowStart, int rowEnd,
        byte* x, long xStride, int count, float* dx, int* sx, float* y, long yStride)
    {
        int panels = (rowEnd - rowStart) / PanelRows;
        if (panels == 0)
        {
            return rowStart;
        }

        int bytes = blocks * PanelBlockBytes;
        byte* panel = ThreadScratch.Bytes(ref t_panel, bytes);
        for (int i = 0; i < panels; i++)
        {
            int r = rowStart + (i * PanelRows);
            Repack(weights + (r * rowBytes), (int)rowBytes, blocks, panel);
            int t = 0;
            for (; t + 4 <= count; t += 4)
            {
                Panel<Extent4>(panel, blocks, x + (t * xStride), xStride, dx + (t * blocks), sx + (t * blocks), blocks, y + (t * yStride) + r, yStride);
            }

            for (; t < count; t++)
            {
                Panel<Extent1>(panel, blocks, x + (t * xStride), xStride, dx + (t * blocks), sx + (t * blocks), blocks, y + (t * yStride) + r, yStride);
            }
        }

        return rowStart + (panels * PanelRows);
    }

    /// <summary>
    /// 16 rows' blocks (two packed groups, the second <c>8 · rb</c> bytes after the first) into the panel layout,
    /// without gathers: each block's nibble bytes of rows j, 4 + j, 8 + j, 12 + j loaded into the four 128-bit lanes of
    /// one vector (j = 0-3), then transposed as 4 × 4 dwords inside each lane (two rounds of unpacks), which leaves row
    /// 4i + j in lane i, position j: rows in order. Each group's 8 scales are one load, put in row order.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Repack(byte* w, int rb, int blocks, byte* panel)
    {
        nint r8 = 8 * (nint)rb, r12 = r8 + 64;
        var rowFromSlot = Vector256.Create(0, 2, 4, 6, 1, 3, 5, 7);

        // The next panel's two groups (contiguous streams, 144 bytes each per block step) fetched in order while this
        // one is rearranged.
        byte* next = w + (PanelRows * (long)rb);
        for (int b = 0; b < blocks; b++, w += StepBytes, next += StepBytes, panel += PanelBlockBytes)
        {
            MatVec.PrefetchLines(next, StepBytes);
            MatVec.PrefetchLines(next + r8, StepBytes);
            byte* q = w + 16;
            var z0 = Lanes(q, r8, r12);
            var z1 = Lanes(q + 16, r8, r12);
            var z2 = Lanes(q + 32, r8, r12);
            var z3 = Lanes(q + 48, r8, r12);
            var t0 = Avx512F.UnpackLow(z0, z1).AsInt64();  // per lane: [a0, b0, a1, b1]
            var t1 = Avx512F.UnpackHigh(z0, z1).AsInt64(); // [a2, b2, a3, b3]
            var t2 = Avx512F.UnpackLow(z2, z3).AsInt64();  // [c0, d0, c1, d1]
            var t3 = Avx512F.UnpackHigh(z2, z3).AsInt64(); // [c2, d2, c3, d3]
            Avx512F.UnpackLow(t0, t2).Store((long*)panel);          // [a0, b0, c0, d0]: dword 0 of rows 4i..4i+3
            Avx512F.UnpackHigh(t0, t2).Store((long*)(panel + 64));  // dword 1
            Avx512F.UnpackLow(t1, t3).Store((long*)(panel + 128));  // dword 2
            Avx512F.UnpackHigh(t1, t3).Store((long*)(panel + 192)); // dword 3
            Scales8(w, rowFromSlot).Store((float*)(panel + 256));
            Scales8(w + r8, rowFromSlot).Store((float*)(panel + 288));
        }
    }

    /// <summary>16 bytes at <paramref name="p"/>, + 64, + <paramref name="r8"/>, + <paramref name="r12"/> in 128-bit lanes 0-3.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> Lanes(byte* p, nint r8, nint r12)
    {
        var z = Avx512F.InsertVector128(Avx512F.BroadcastVector128ToVector512((int*)p), Vector128.Load((int*)(p + 64)), 1);
        z = Avx512F.InsertVector128(z, Vector128.Load((int*)(p + r8)), 2);
        return Avx512F.InsertVector128(z, Vector128.Load((int*)(p + r12)), 3);
    }

    /// <summary>The block scales of a packed group's rows 0-7 (slot order at <paramref name="w"/>) as floats, in row order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Scales8(byte* w, Vector256<int> rowFromSlot) =>
        HalfBits.ToSingle(Avx2.PermuteVar8x32(Avx2.ConvertToVector256Int32((ushort*)w), rowFromSlot).AsUInt32());

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Panel<TColumns>(byte* panel, int blocks, byte* x, long xStride, float* dx, int* sx, int perVector, float* y, long yStride)
        where TColumns : struct, ITileExtent
    {
        var low = Vector512.Create((byte)0x0F);
        var ones = Vector512.Create((short)1);
        Vector512<float> acc0 = default, acc1 = default, acc2 = default, acc3 = default;
        byte* x1 = x + xStride, x2 = x1 + xStride, x3 = x2 + xStride;
        for (int b = 0; b < blocks; b++, panel += PanelBlockBytes)
        {
            var q0 = Vector512.Load(panel);
            var q1 = Vector512.Load(panel + 64);
            var q2 = Vector512.Load(panel + 128);
            var q3 = Vector512.Load(panel + 192);
            var dw = Vector512.Load((float*)(panel + 256));
            var l0 = q0 & low;
            var l1 = q1 & low;
            var l2 = q2 & low;
            var l3 = q3 & low;
            var h0 = Avx512BW.ShiftRightLogical(q0.AsUInt16(), 4).AsByte() & low;
            var h1 = Avx512BW.ShiftRightLogical(q1.AsUInt16(), 4).AsByte() & low;
            var h2 = Avx512BW.ShiftRightLogical(q2.AsUInt16(), 4).AsByte() & low;
            var h3 = Avx512BW.ShiftRightLogical(q3.AsUInt16(), 4).AsByte() & low;
            long xo = (b * XBytes) + 2;
            acc0 = Step(l0, l1, l2, l3, h0, h1, h2, h3, x + xo, ones, sx[b], dw, dx[b], acc0);
            if (TColumns.Count > 1)
            {
                acc1 = Step(l0, l1, l2, l3, h0, h1, h2, h3, x1 + xo, ones, sx[perVector + b], dw, dx[perVector + b], acc1);
                acc2 = Step(l0, l1, l2, l3, h0, h1, h2, h3, x2 + xo, ones, sx[(2 * perVector) + b], dw, dx[(2 * perVector) + b], acc2);
                acc3 = Step(l0, l1, l2, l3, h0, h1, h2, h3, x3 + xo, ones, sx[(3 * perVector) + b], dw, dx[(3 * perVector) + b], acc3);
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

    /// <summary>One block of one activation vector for the panel's 16 rows: <c>fma(Σ nibble · x − 8Σx, d_w · d_x, acc)</c> per lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Step(
        Vector512<byte> l0, Vector512<byte> l1, Vector512<byte> l2, Vector512<byte> l3,
        Vector512<byte> h0, Vector512<byte> h1, Vector512<byte> h2, Vector512<byte> h3,
        byte* xq, Vector512<short> ones, int eightSumX, Vector512<float> dw, float dx, Vector512<float> acc)
    {
        var s = MatVec.MulAdd(l0, Broadcast(xq)) + MatVec.MulAdd(l1, Broadcast(xq + 4))
            + MatVec.MulAdd(l2, Broadcast(xq + 8)) + MatVec.MulAdd(l3, Broadcast(xq + 12))
            + MatVec.MulAdd(h0, Broadcast(xq + 16)) + MatVec.MulAdd(h1, Broadcast(xq + 20))
            + MatVec.MulAdd(h2, Broadcast(xq + 24)) + MatVec.MulAdd(h3, Broadcast(xq + 28));
        var sums = MatVec.Widen(s, ones) - Vector512.Create(eightSumX);
        return Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(sums), dw * Vector512.Create(dx), acc);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<sbyte> Broadcast(byte* p) => Vector512.Create(*(int*)p).AsSByte();
}
