using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace MicroLlm.Kernels;

/// <summary>
/// Prefill form of <see cref="Q4_0SequentialTiles"/> at 512 bits: panels of 16 rows repacked (gathered) once per call
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
    private const int WBytes = 18, XBytes = 34, PanelRows = 16, PanelBlockBytes = (4 * 64) + 64;

    [ThreadStatic]
    private static byte[]? t_panel;

    /// <summary>Whether <paramref name="width"/> and a batch of <paramref name="count"/> vectors take this path.</summary>
    public static bool Supports(KernelWidth width, int count) => width == KernelWidth.Vector512 && count >= 4;

    /// <summary>
    /// Rows <paramref name="rowStart"/> up to the last whole panel before <paramref name="rowEnd"/>: y as in
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

    /// <summary>16 rows' blocks into the panel layout: four gathers of nibble dwords and one of scales per block.</summary>
    private static void Repack(byte* w, int rb, int blocks, byte* panel)
    {
        var rows = Vector256.Create(0, rb, 2 * rb, 3 * rb, 4 * rb, 5 * rb, 6 * rb, 7 * rb);
        long upper = 8L * rb;

        // The next panel's bytes (contiguous, 288 per block step) fetched in order while this one is gathered.
        byte* next = w + (PanelRows * (long)rb);
        for (int b = 0; b < blocks; b++, w += WBytes, next += PanelRows * WBytes, panel += PanelBlockBytes)
        {
            Sse.Prefetch0(next);
            Sse.Prefetch0(next + 64);
            Sse.Prefetch0(next + 128);
            Sse.Prefetch0(next + 192);
            Sse.Prefetch0(next + 256);
            Gather16(w + 2, upper, rows).Store((int*)panel);
            Gather16(w + 6, upper, rows).Store((int*)(panel + 64));
            Gather16(w + 10, upper, rows).Store((int*)(panel + 128));
            Gather16(w + 14, upper, rows).Store((int*)(panel + 192));
            HalfBits.ToSingle(Gather16(w, upper, rows).AsUInt32()).Store((float*)(panel + 256));
        }
    }

    /// <summary>The 32-bit words at <paramref name="p"/> in 16 rows (the second 8 <paramref name="upper"/> bytes on).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> Gather16(byte* p, long upper, Vector256<int> rows) =>
        Vector512.Create(Avx2.GatherVector256((int*)p, rows, 1), Avx2.GatherVector256((int*)(p + upper), rows, 1));

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
