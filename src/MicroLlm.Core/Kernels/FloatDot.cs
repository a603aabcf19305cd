using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace MicroLlm.Kernels;

/// <summary>
/// Dot products of F32 and F16 weight rows with float activations (already rounded to the weight's type): the
/// weights are widened to float in registers and multiplied with FMA. Rows whose length is a multiple of 16 follow
/// the reference's tinyBLAS order (16 lanes, one chain) at every width; other lengths use four accumulators.
/// BF16 rows are <see cref="BF16Dot"/>'s.
/// </summary>
internal static unsafe class FloatDot
{
    /// <summary>Σ of sixteen lanes in the reference's tree (<c>ReferenceMath.Reduce16</c>).</summary>
    private static float Reduce16(Vector256<float> lo, Vector256<float> hi)
    {
        var t = lo + hi;                              // t_i = l_{8+i} + l_i
        return MatVec.Sum(t);                         // s_i = t_{4+i} + t_i, then (s0 + s2) + (s1 + s3)
    }

    /// <summary>
    /// tinyBLAS's order for rows whose length is a multiple of 16 (the reference's F32/F16 products): lane i of 16
    /// accumulates elements 16c + i with FMA, then the 16-lane tree; the bits of <c>Numerics/ReferenceDot.F32</c>.
    /// <paramref name="half"/>: the weights are halves, widened exactly.
    /// </summary>
    private static float Lanes16(byte* w, float* x, int n, KernelWidth width, bool half)
    {
        if (width == KernelWidth.Vector512)
        {
            var acc = Vector512<float>.Zero;
            for (int c = 0; c < n; c += 16)
            {
                var wv = half ? HalfBits.ToSingle(Avx512F.ConvertToVector512UInt32(Vector256.Load((ushort*)w + c))) : Vector512.Load((float*)w + c);
                acc = Vector512.FusedMultiplyAdd(wv, Vector512.Load(x + c), acc);
            }

            return Reduce16(acc.GetLower(), acc.GetUpper());
        }

        if (width == KernelWidth.Vector256)
        {
            Vector256<float> lo = default, hi = default;
            for (int c = 0; c < n; c += 16)
            {
                Vector256<float> w0, w1;
                if (half)
                {
                    w0 = HalfBits.ToSingle(Avx2.ConvertToVector256Int32(Vector128.Load((ushort*)w + c)).AsUInt32());
                    w1 = HalfBits.ToSingle(Avx2.ConvertToVector256Int32(Vector128.Load((ushort*)w + c + 8)).AsUInt32());
                }
                else
                {
                    w0 = Vector256.Load((float*)w + c);
                    w1 = Vector256.Load((float*)w + c + 8);
                }

                lo = Vector256.FusedMultiplyAdd(w0, Vector256.Load(x + c), lo);
                hi = Vector256.FusedMultiplyAdd(w1, Vector256.Load(x + c + 8), hi);
            }

            return Reduce16(lo, hi);
        }

        float* lanes = stackalloc float[16];
        new Span<float>(lanes, 16).Clear();
        for (int c = 0; c < n; c += 16)
        {
            for (int i = 0; i < 16; i++)
            {
                float wi = half ? HalfBits.ToSingle(((ushort*)w)[c + i]) : ((float*)w)[c + i];
                lanes[i] = MathF.FusedMultiplyAdd(wi, x[c + i], lanes[i]);
            }
        }

        return Reduce16(Vector256.Load(lanes), Vector256.Load(lanes + 8));
    }

    /// <summary>
    /// Decode, 512 bits: <paramref name="rows"/> F16 rows (<paramref name="rowBytes"/> apart, length <paramref name="n"/>
    /// a multiple of 32) against <paramref name="x"/>, <c>y[r]</c> for row r, each row in <see cref="Lanes16"/>'s order
    /// (same lanes, FMAs and tree; the halves widened by <see cref="HalfBits.Load16"/>, the same bits). One chain per row
    /// is bound by the FMA latency (two dependent FMAs per 64-byte line), so rows are staggered by half a row: each pass
    /// finishes row r − 1 (its chunks from <c>h = n / 64 · 32</c> on) beside the first <c>h</c> elements of row r, two
    /// chains in flight whose loads are half a row apart, while the row two ahead is prefetched: a row of 2048 halves is
    /// one 4 KiB page, where the hardware prefetcher stops. Two rows side by side from the same column (loads 4 KiB
    /// apart) did not help (TinyLlama F16 decode, 1 thread: 12.5-13.9 tok/s either way); staggered, 16.1-17.0.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void F16Rows(byte* w, long rowBytes, int rows, float* x, int n, float* y)
    {
        const int Ahead = 2;
        int h = n / 64 * 32;
        short* first = (short*)w;

        // The first part of row 0 alone, prefetching rows 1 and 2.
        var next = Vector512<float>.Zero;
        byte* ahead1 = rows > 1 ? w + rowBytes : w;
        byte* ahead2 = rows > 2 ? w + (2 * rowBytes) : w;
        for (int c = 0; c < h; c += 32)
        {
            Sse.Prefetch0(ahead1 + (4 * c));
            Sse.Prefetch0(ahead1 + (4 * c) + 64);
            Sse.Prefetch0(ahead2 + (4 * c));
            Sse.Prefetch0(ahead2 + (4 * c) + 64);
            next = Vector512.FusedMultiplyAdd(HalfBits.Load16(first + c), Vector512.Load(x + c), next);
            next = Vector512.FusedMultiplyAdd(HalfBits.Load16(first + c + 16), Vector512.Load(x + c + 16), next);
        }

        for (int r = 1; r < rows; r++)
        {
            short* previous = (short*)(w + ((r - 1) * rowBytes));
            short* current = (short*)(w + (r * rowBytes));
            byte* ahead = r + Ahead < rows ? (byte*)current + (Ahead * rowBytes) : (byte*)current;
            var done = next;
            next = Vector512<float>.Zero;
            for (int c = 0; c < h; c += 32)
            {
                Sse.Prefetch0(ahead + (4 * c));
                Sse.Prefetch0(ahead + (4 * c) + 64);
                done = Vector512.FusedMultiplyAdd(HalfBits.Load16(previous + h + c), Vector512.Load(x + h + c), done);
                next = Vector512.FusedMultiplyAdd(HalfBits.Load16(current + c), Vector512.Load(x + c), next);
                done = Vector512.FusedMultiplyAdd(HalfBits.Load16(previous + h + c + 16), Vector512.Load(x + h + c + 16), done);
                next = Vector512.FusedMultiplyAdd(HalfBits.Load16(current + c + 16), Vector512.Load(x + c + 16), next);
            }

            if (2 * h < n)
            {
                // n an odd multiple of 32: row r − 1's last chunk of 32.
                Sse.Prefetch0(ahead + (4 * h));
                done = Vector512.FusedMultiplyAdd(HalfBits.Load16(previous + (2 * h)), Vector512.Load(x + (2 * h)), done);
                done = Vector512.FusedMultiplyAdd(HalfBits.Load16(previous + (2 * h) + 16), Vector512.Load(x + (2 * h) + 16), done);
            }

            y[r - 1] = Reduce16(done.GetLower(), done.GetUpper());
        }

        // The rest of the last row alone.
        short* last = (short*)(w + ((rows - 1) * rowBytes));
        for (int c = h; c < n; c += 16)
        {
            next = Vector512.FusedMultiplyAdd(HalfBits.Load16(last + c), Vector512.Load(x + c), next);
        }

        y[rows - 1] = Reduce16(next.GetLower(), next.GetUpper());
    }

    /// <summary>
    /// Prefill, 512 bits: one F32 or F16 (<paramref name="half"/>) row of a multiple of 16 against four activation
    /// vectors (<paramref name="xStride"/> floats apart), writing <c>y[t * yStride]</c>; each vector's chain is
    /// <see cref="Lanes16"/>'s (same lanes, same FMAs, same tree), so the bits are the same, while each weight vector is
    /// loaded and widened once and four chains hide the FMA latency.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Lanes16x4(byte* w, float* x, long xStride, int n, bool half, float* y, long yStride)
    {
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
        float* x1 = x + xStride, x2 = x1 + xStride, x3 = x2 + xStride;
        for (int c = 0; c < n; c += 16)
        {
            var wv = half ? HalfBits.ToSingle(Avx512F.ConvertToVector512UInt32(Vector256.Load((ushort*)w + c))) : Vector512.Load((float*)w + c);
            a0 = Vector512.FusedMultiplyAdd(wv, Vector512.Load(x + c), a0);
            a1 = Vector512.FusedMultiplyAdd(wv, Vector512.Load(x1 + c), a1);
            a2 = Vector512.FusedMultiplyAdd(wv, Vector512.Load(x2 + c), a2);
            a3 = Vector512.FusedMultiplyAdd(wv, Vector512.Load(x3 + c), a3);
        }

        y[0] = Reduce16(a0.GetLower(), a0.GetUpper());
        y[yStride] = Reduce16(a1.GetLower(), a1.GetUpper());
        y[2 * yStride] = Reduce16(a2.GetLower(), a2.GetUpper());
        y[3 * yStride] = Reduce16(a3.GetLower(), a3.GetUpper());
    }

    /// <summary>Σ w[i] x[i] over <paramref name="n"/> floats.</summary>
    public static float F32(float* w, float* x, int n, KernelWidth width)
    {
        if (n % 16 == 0)
        {
            return Lanes16((byte*)w, x, n, width, half: false);
        }

        int i = 0;
        float sum = 0;
        if (width == KernelWidth.Vector512)
        {
            Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
            for (; i + 64 <= n; i += 64)
            {
                a0 = Vector512.FusedMultiplyAdd(Vector512.Load(w + i), Vector512.Load(x + i), a0);
                a1 = Vector512.FusedMultiplyAdd(Vector512.Load(w + i + 16), Vector512.Load(x + i + 16), a1);
                a2 = Vector512.FusedMultiplyAdd(Vector512.Load(w + i + 32), Vector512.Load(x + i + 32), a2);
                a3 = Vector512.FusedMultiplyAdd(Vector512.Load(w + i + 48), Vector512.Load(x + i + 48), a3);
            }

            sum = MatVec.Sum((a0 + a1) + (a2 + a3));
        }
        else if (width == KernelWidth.Vector256)
        {
            Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
            for (; i + 32 <= n; i += 32)
            {
                a0 = Vector256.FusedMultiplyAdd(Vector256.Load(w + i), Vector256.Load(x + i), a0);
                a1 = Vector256.FusedMultiplyAdd(Vector256.Load(w + i + 8), Vector256.Load(x + i + 8), a1);
                a2 = Vector256.FusedMultiplyAdd(Vector256.Load(w + i + 16), Vector256.Load(x + i + 16), a2);
                a3 = Vector256.FusedMultiplyAdd(Vector256.Load(w + i + 24), Vector256.Load(x + i + 24), a3);
            }

            sum = MatVec.Sum((a0 + a1) + (a2 + a3));
        }
        else if (width == KernelWidth.Vector128)
        {
            Vector128<float> a0 = default, a1 = default, a2 = default, a3 = default;
            for (; i + 16 <= n; i += 16)
            {
                a0 = Vector128.FusedMultiplyAdd(Vector128.Load(w + i), Vector128.Load(x + i), a0);
                a1 = Vector128.FusedMultiplyAdd(Vector128.Load(w + i + 4), Vector128.Load(x + i + 4), a1);
                a2 = Vector128.FusedMultiplyAdd(Vector128.Load(w + i + 8), Vector128.Load(x + i + 8), a2);
                a3 = Vector128.FusedMultiplyAdd(Vector128.Load(w + i + 12), Vector128.Load(x + i + 12), a3);
            }

            sum = MatVec.Sum((a0 + a1) + (a2 + a3));
        }

        for (; i < n; i++)
        {
            sum += w[i] * x[i];
        }

        return sum;
    }

    /// <summary>Σ half(w[i]) x[i] over <paramref name="n"/> values; <paramref name="w"/> holds little-endian halves.</summary>
    public static float F16(byte* w, float* x, int n, KernelWidth width)
    {
        if (n % 16 == 0)
        {
            return Lanes16(w, x, n, width, half: true);
        }

        ushort* h = (ushort*)w;
        int i = 0;
        float sum = 0;
        if (width == KernelWidth.Vector512)
        {
            Vector512<float> a0 = default, a1 = default;
            for (; i + 32 <= n; i += 32)
            {
                a0 = Vector512.FusedMultiplyAdd(HalfBits.ToSingle(Avx512F.ConvertToVector512UInt32(Vector256.Load(h + i))), Vector512.Load(x + i), a0);
                a1 = Vector512.FusedMultiplyAdd(HalfBits.ToSingle(Avx512F.ConvertToVector512UInt32(Vector256.Load(h + i + 16))), Vector512.Load(x + i + 16), a1);
            }

            sum = MatVec.Sum(a0 + a1);
        }
        else if (width == KernelWidth.Vector256)
        {
            Vector256<float> a0 = default, a1 = default;
            for (; i + 16 <= n; i += 16)
            {
                a0 = Vector256.FusedMultiplyAdd(HalfBits.ToSingle(Avx2.ConvertToVector256Int32(Vector128.Load(h + i)).AsUInt32()), Vector256.Load(x + i), a0);
                a1 = Vector256.FusedMultiplyAdd(HalfBits.ToSingle(Avx2.ConvertToVector256Int32(Vector128.Load(h + i + 8)).AsUInt32()), Vector256.Load(x + i + 8), a1);
            }

            sum = MatVec.Sum(a0 + a1);
        }
        else if (width == KernelWidth.Vector128)
        {
            Vector128<float> a0 = default, a1 = default;
            for (; i + 8 <= n; i += 8)
            {
                var bits = Vector128.Load(h + i);
                a0 = Vector128.FusedMultiplyAdd(HalfBits.ToSingle(Vector128.WidenLower(bits)), Vector128.Load(x + i), a0);
                a1 = Vector128.FusedMultiplyAdd(HalfBits.ToSingle(Vector128.WidenUpper(bits)), Vector128.Load(x + i + 4), a1);
            }

            sum = MatVec.Sum(a0 + a1);
        }

        for (; i < n; i++)
        {
            sum += HalfBits.ToSingle(h[i]) * x[i];
        }

        return sum;
    }
}
