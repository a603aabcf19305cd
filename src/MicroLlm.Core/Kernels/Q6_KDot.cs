using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace MicroLlm.Kernels;

/// <summary>
/// Q6_K weights (210-byte super-blocks of 256: 128 bytes of low nibbles, 64 bytes of 2-bit high parts, 16 signed
/// scales, half d) against Q8_K activations: <c>d_x · d · Σ_g scale_g (Σ code·x − 32 · bsum_g)</c>, the inner sums in
/// integers (codes 0..63 go through the unsigned × signed multiply-add, minus 32 · x through a second one). Every
/// width accumulates in the order of the reference's <c>ggml_vec_dot_q6_K_q8_K</c> (AVX2): eight integer lanes per
/// super-block (elements 4k..4k+3 of each 32 in lane k, offset included), one 8-lane FMA per super-block; the bits of
/// <c>Numerics/ReferenceDot.Q6_K</c>.
/// </summary>
internal static unsafe class Q6_KDot
{
    private const int WBytes = 210, XBytes = 292;

    /// <summary>Dot product over <paramref name="blocks"/> super-blocks of 256.</summary>
    public static float Dot(byte* w, byte* x, int blocks, KernelWidth width) => width switch
    {
        KernelWidth.Vector512 => Dot512(w, x, blocks),
        KernelWidth.Vector256 => Dot256(w, x, blocks),
        KernelWidth.Vector128 => Dot128(w, x, blocks),
        _ => DotScalar(w, x, blocks),
    };

    /// <summary>One stripe of 16 codes: Σ scale · (code − 32) · x in four 32-bit lanes (the −32 through the activations).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<int> Stripe128(Vector128<byte> codes, Vector128<sbyte> x, Vector128<byte> offset, sbyte scale) =>
        MatVec.Widen(MatVec.MulAdd(codes, x) - MatVec.MulAdd(offset, x), Vector128.Create((short)scale));

    /// <summary>One stripe of 32 codes: Σ scale · (code − 32) · x in eight 32-bit lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Stripe256(Vector256<byte> codes, Vector256<sbyte> x, Vector256<byte> offset, Vector256<short> scales) =>
        MatVec.Widen(MatVec.MulAdd(codes, x) - MatVec.MulAdd(offset, x), scales);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Scale(byte* w, byte* x) => *(float*)x * HalfBits.ToSingle(*(ushort*)(w + 208));

    private static float DotScalar(byte* w, byte* x, int blocks)
    {
        float* acc = stackalloc float[8];
        int* lanes = stackalloc int[8];
        new Span<float>(acc, 8).Clear();
        for (int b = 0; b < blocks; b++, w += WBytes, x += XBytes)
        {
            sbyte* scales = (sbyte*)(w + 192);
            sbyte* xq = (sbyte*)(x + 4);
            new Span<int>(lanes, 8).Clear();
            for (int g = 0; g < 16; g++)
            {
                int half = g / 8, s = g % 8 / 2, first = 16 * (g % 2);
                byte* lo = w + (64 * half) + (32 * (s % 2)) + first;
                byte* hi = w + 128 + (32 * half) + first;
                for (int i = 0; i < 16; i++)
                {
                    int code = ((lo[i] >> (4 * (s / 2))) & 0x0F) | (((hi[i] >> (2 * s)) & 3) << 4);
                    lanes[(first + i) / 4] += scales[g] * (code - 32) * xq[(16 * g) + i];
                }
            }

            float d = Scale(w, x);
            for (int lane = 0; lane < 8; lane++)
            {
                acc[lane] = MathF.FusedMultiplyAdd(d, lanes[lane], acc[lane]);
            }
        }

        return MatVec.Reduce8(acc);
    }

    private static float Dot128(byte* w, byte* x, int blocks)
    {
        var low = Vector128.Create((byte)0x0F);
        var three = Vector128.Create((byte)3);
        var offset = Vector128.Create((byte)32);
        Vector128<float> acc0 = default, acc1 = default; // lanes 0-3 (elements 0-15 of each 32) and 4-7
        for (int b = 0; b < blocks; b++, w += WBytes, x += XBytes)
        {
            sbyte* scales = (sbyte*)(w + 192);
            sbyte* xq = (sbyte*)(x + 4);
            Vector128<int> sumi0 = default, sumi1 = default;
            for (int half = 0; half < 2; half++)
            {
                for (int f = 0; f < 32; f += 16)
                {
                    var ql0 = Vector128.Load(w + (64 * half) + f);
                    var ql1 = Vector128.Load(w + (64 * half) + 32 + f);
                    var qh = Vector128.Load(w + 128 + (32 * half) + f);
                    int g = (8 * half) + (f / 16);
                    sbyte* xs = xq + (128 * half) + f;
                    var part = Stripe128((ql0 & low) | ((qh & three) << 4), Vector128.Load(xs), offset, scales[g])
                        + Stripe128((ql1 & low) | (((qh >>> 2) & three) << 4), Vector128.Load(xs + 32), offset, scales[g + 2])
                        + Stripe128((ql0 >>> 4) | (((qh >>> 4) & three) << 4), Vector128.Load(xs + 64), offset, scales[g + 4])
                        + Stripe128((ql1 >>> 4) | ((qh >>> 6) << 4), Vector128.Load(xs + 96), offset, scales[g + 6]);
                    if (f == 0)
                    {
                        sumi0 += part;
                    }
                    else
                    {
                        sumi1 += part;
                    }
                }
            }

            var d = Vector128.Create(Scale(w, x));
            acc0 = Vector128.FusedMultiplyAdd(Vector128.ConvertToSingle(sumi0), d, acc0);
            acc1 = Vector128.FusedMultiplyAdd(Vector128.ConvertToSingle(sumi1), d, acc1);
        }

        return MatVec.Sum(Vector256.Create(acc0, acc1));
    }

    private static float Dot256(byte* w, byte* x, int blocks)
    {
        var low = Vector256.Create((byte)0x0F);
        var three = Vector256.Create((byte)3);
        var offset = Vector256.Create((byte)32);
        Vector256<float> acc = default;
        for (int b = 0; b < blocks; b++, w += WBytes, x += XBytes)
        {
            sbyte* scales = (sbyte*)(w + 192);
            sbyte* xq = (sbyte*)(x + 4);
            Vector256<int> sumi = default;
            for (int half = 0; half < 2; half++)
            {
                var ql0 = Vector256.Load(w + (64 * half));
                var ql1 = Vector256.Load(w + (64 * half) + 32);
                var qh = Vector256.Load(w + 128 + (32 * half));
                sbyte* sc = scales + (8 * half);
                sbyte* xs = xq + (128 * half);
                sumi += Stripe256((ql0 & low) | ((qh & three) << 4), Vector256.Load(xs), offset, Pair(sc[0], sc[1]))
                    + Stripe256((ql1 & low) | (((qh >>> 2) & three) << 4), Vector256.Load(xs + 32), offset, Pair(sc[2], sc[3]))
                    + Stripe256((ql0 >>> 4) | (((qh >>> 4) & three) << 4), Vector256.Load(xs + 64), offset, Pair(sc[4], sc[5]))
                    + Stripe256((ql1 >>> 4) | ((qh >>> 6) << 4), Vector256.Load(xs + 96), offset, Pair(sc[6], sc[7]));
            }

            float d = Scale(w, x);
            acc = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(sumi), Vector256.Create(d), acc);
        }

        return MatVec.Sum(acc);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<short> Pair(sbyte a, sbyte b) => Vector256.Create(Vector128.Create((short)a), Vector128.Create((short)b));

    private static float Dot512(byte* w, byte* x, int blocks)
    {
        var low = Vector512.Create((byte)0x0F);
        var three = Vector512.Create((byte)3);
        var offset = Vector512.Create((byte)32);
        Vector256<float> acc = default;
        for (int b = 0; b < blocks; b++, w += WBytes, x += XBytes)
        {
            sbyte* scales = (sbyte*)(w + 192);
            sbyte* xq = (sbyte*)(x + 4);
            Vector512<int> sumi = default;
            for (int half = 0; half < 2; half++)
            {
                var ql = Vector512.Load(w + (64 * half));           // stripes 0 and 1 (low nibbles), 2 and 3 (high)
                var h = Vector256.Load(w + 128 + (32 * half));
                var qh = Vector512.Create(h, h >>> 2);               // stripe 0's and 1's high parts in bits 0-1
                sbyte* sc = scales + (8 * half);
                sbyte* xs = xq + (128 * half);
                var x01 = Vector512.Load(xs);
                var x23 = Vector512.Load(xs + 64);
                sumi += MatVec.Widen(MatVec.MulAdd((ql & low) | ((qh & three) << 4), x01) - MatVec.MulAdd(offset, x01), Quad(sc))
                    + MatVec.Widen(MatVec.MulAdd((ql >>> 4) | (((qh >>> 4) & three) << 4), x23) - MatVec.MulAdd(offset, x23), Quad(sc + 4));
            }

            float d = Scale(w, x);
            // Both halves hold lanes 0-7 of different stripes: integer sums first, then the reference's 8-lane FMA.
            acc = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(sumi.GetLower() + sumi.GetUpper()), Vector256.Create(d), acc);
        }

        return MatVec.Sum(acc);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<short> Quad(sbyte* sc) => Vector512.Create(
        Vector256.Create(Vector128.Create((short)sc[0]), Vector128.Create((short)sc[1])),
        Vector256.Create(Vector128.Create((short)sc[2]), Vector128.Create((short)sc[3])));

    /// <summary>
    /// Prefill: one row against four activation vectors (<paramref name="xStride"/> bytes apart), writing
    /// <c>y[t * yStride]</c>; each vector's chain is <see cref="Dot256"/>'s (same integers, one FMA per block, blocks in
    /// order), so the bits are the same, while each block's 6-bit codes and scales are unpacked once for the four.
    /// Needs AVX2.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Dot4(byte* w, byte* x, long xStride, int blocks, float* y, long yStride)
    {
        var low = Vector256.Create((byte)0x0F);
        var three = Vector256.Create((byte)3);
        var offset = Vector256.Create((byte)32);
        Vector256<float> acc0 = default, acc1 = default, acc2 = default, acc3 = default;
        for (int b = 0; b < blocks; b++, w += WBytes)
        {
            sbyte* sc = (sbyte*)(w + 192);
            var ql0 = Vector256.Load(w);
            var ql1 = Vector256.Load(w + 32);
            var qh = Vector256.Load(w + 128);
            var c0 = (ql0 & low) | ((qh & three) << 4);
            var c1 = (ql1 & low) | (((qh >>> 2) & three) << 4);
            var c2 = (ql0 >>> 4) | (((qh >>> 4) & three) << 4);
            var c3 = (ql1 >>> 4) | ((qh >>> 6) << 4);
            ql0 = Vector256.Load(w + 64);
            ql1 = Vector256.Load(w + 96);
            qh = Vector256.Load(w + 160);
            var c4 = (ql0 & low) | ((qh & three) << 4);
            var c5 = (ql1 & low) | (((qh >>> 2) & three) << 4);
            var c6 = (ql0 >>> 4) | (((qh >>> 4) & three) << 4);
            var c7 = (ql1 >>> 4) | ((qh >>> 6) << 4);
            var p0 = Pair(sc[0], sc[1]);
            var p1 = Pair(sc[2], sc[3]);
            var p2 = Pair(sc[4], sc[5]);
            var p3 = Pair(sc[6], sc[7]);
            var p4 = Pair(sc[8], sc[9]);
            var p5 = Pair(sc[10], sc[11]);
            var p6 = Pair(sc[12], sc[13]);
            var p7 = Pair(sc[14], sc[15]);
            long o = (long)b * XBytes;
            acc0 = Column4(w, x + o, c0, c1, c2, c3, c4, c5, c6, c7, p0, p1, p2, p3, p4, p5, p6, p7, offset, acc0);
            acc1 = Column4(w, x + xStride + o, c0, c1, c2, c3, c4, c5, c6, c7, p0, p1, p2, p3, p4, p5, p6, p7, offset, acc1);
            acc2 = Column4(w, x + (2 * xStride) + o, c0, c1, c2, c3, c4, c5, c6, c7, p0, p1, p2, p3, p4, p5, p6, p7, offset, acc2);
            acc3 = Column4(w, x + (3 * xStride) + o, c0, c1, c2, c3, c4, c5, c6, c7, p0, p1, p2, p3, p4, p5, p6, p7, offset, acc3);
        }

        y[0] = MatVec.Sum(acc0);
        y[yStride] = MatVec.Sum(acc1);
        y[2 * yStride] = MatVec.Sum(acc2);
        y[3 * yStride] = MatVec.Sum(acc3);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Column4(
        byte* w, byte* x,
        Vector256<byte> c0, Vector256<byte> c1, Vector256<byte> c2, Vector256<byte> c3,
        Vector256<byte> c4, Vector256<byte> c5, Vector256<byte> c6, Vector256<byte> c7,
        Vector256<short> p0, Vector256<short> p1, Vector256<short> p2, Vector256<short> p3,
        Vector256<short> p4, Vector256<short> p5, Vector256<short> p6, Vector256<short> p7,
        Vector256<byte> offset, Vector256<float> acc)
    {
        sbyte* xq = (sbyte*)(x + 4);
        var sumi = Stripe256(c0, Vector256.Load(xq), offset, p0) + Stripe256(c1, Vector256.Load(xq + 32), offset, p1)
            + Stripe256(c2, Vector256.Load(xq + 64), offset, p2) + Stripe256(c3, Vector256.Load(xq + 96), offset, p3)
            + Stripe256(c4, Vector256.Load(xq + 128), offset, p4) + Stripe256(c5, Vector256.Load(xq + 160), offset, p5)
            + Stripe256(c6, Vector256.Load(xq + 192), offset, p6) + Stripe256(c7, Vector256.Load(xq + 224), offset, p7);
        return Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(sumi), Vector256.Create(Scale(w, x)), acc);
    }
}
