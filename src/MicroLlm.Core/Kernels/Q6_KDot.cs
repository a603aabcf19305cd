using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace MicroLlm.Kernels;

/// <summary>
/// Q6_K weights (210-byte super-blocks of 256: 128 bytes of low nibbles, 64 bytes of 2-bit high parts, 16 signed
/// scales, half d) against Q8_K activations: <c>d_x · d · Σ_g scale_g (Σ code·x − 32 · bsum_g)</c>, the inner sums in
/// integers (codes 0..63 go through the unsigned × signed multiply-add; the −32 offset comes from the activation sums).
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

    /// <summary>Σ_g scale_g · bsum_g over the 16 groups of 16.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int OffsetSum(sbyte* scales, short* bsums)
    {
        int s = 0;
        for (int g = 0; g < 16; g++)
        {
            s += scales[g] * bsums[g];
        }

        return s;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Scale(byte* w, byte* x) => *(float*)x * HalfBits.ToSingle(*(ushort*)(w + 208));

    private static float DotScalar(byte* w, byte* x, int blocks)
    {
        float sum = 0;
        for (int b = 0; b < blocks; b++, w += WBytes, x += XBytes)
        {
            sbyte* scales = (sbyte*)(w + 192);
            sbyte* xq = (sbyte*)(x + 4);
            int sumi = 0;
            for (int g = 0; g < 16; g++)
            {
                int half = g / 8, s = g % 8 / 2, first = 16 * (g % 2);
                byte* lo = w + (64 * half) + (32 * (s % 2)) + first;
                byte* hi = w + 128 + (32 * half) + first;
                int group = 0;
                for (int i = 0; i < 16; i++)
                {
                    int code = ((lo[i] >> (4 * (s / 2))) & 0x0F) | (((hi[i] >> (2 * s)) & 3) << 4);
                    group += code * xq[(16 * g) + i];
                }

                sumi += scales[g] * group;
            }

            sum += Scale(w, x) * (sumi - (32 * OffsetSum(scales, (short*)(x + 260))));
        }

        return sum;
    }

    private static float Dot128(byte* w, byte* x, int blocks)
    {
        var low = Vector128.Create((byte)0x0F);
        var three = Vector128.Create((byte)3);
        Vector128<float> acc = default;
        for (int b = 0; b < blocks; b++, w += WBytes, x += XBytes)
        {
            sbyte* scales = (sbyte*)(w + 192);
            sbyte* xq = (sbyte*)(x + 4);
            Vector128<int> sumi = default;
            for (int half = 0; half < 2; half++)
            {
                for (int f = 0; f < 32; f += 16)
                {
                    var ql0 = Vector128.Load(w + (64 * half) + f);
                    var ql1 = Vector128.Load(w + (64 * half) + 32 + f);
                    var qh = Vector128.Load(w + 128 + (32 * half) + f);
                    int g = (8 * half) + (f / 16);
                    sbyte* xs = xq + (128 * half) + f;
                    sumi += MatVec.Widen(MatVec.MulAdd((ql0 & low) | ((qh & three) << 4), Vector128.Load(xs)), Vector128.Create((short)scales[g]))
                        + MatVec.Widen(MatVec.MulAdd((ql1 & low) | (((qh >>> 2) & three) << 4), Vector128.Load(xs + 32)), Vector128.Create((short)scales[g + 2]))
                        + MatVec.Widen(MatVec.MulAdd((ql0 >>> 4) | (((qh >>> 4) & three) << 4), Vector128.Load(xs + 64)), Vector128.Create((short)scales[g + 4]))
                        + MatVec.Widen(MatVec.MulAdd((ql1 >>> 4) | ((qh >>> 6) << 4), Vector128.Load(xs + 96)), Vector128.Create((short)scales[g + 6]));
                }
            }

            float d = Scale(w, x);
            acc = Vector128.FusedMultiplyAdd(Vector128.ConvertToSingle(sumi - Vector128.CreateScalar(32 * OffsetSum(scales, (short*)(x + 260)))), Vector128.Create(d), acc);
        }

        return MatVec.Sum(acc);
    }

    private static float Dot256(byte* w, byte* x, int blocks)
    {
        var low = Vector256.Create((byte)0x0F);
        var three = Vector256.Create((byte)3);
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
                sumi += MatVec.Widen(MatVec.MulAdd((ql0 & low) | ((qh & three) << 4), Vector256.Load(xs)), Pair(sc[0], sc[1]))
                    + MatVec.Widen(MatVec.MulAdd((ql1 & low) | (((qh >>> 2) & three) << 4), Vector256.Load(xs + 32)), Pair(sc[2], sc[3]))
                    + MatVec.Widen(MatVec.MulAdd((ql0 >>> 4) | (((qh >>> 4) & three) << 4), Vector256.Load(xs + 64)), Pair(sc[4], sc[5]))
                    + MatVec.Widen(MatVec.MulAdd((ql1 >>> 4) | ((qh >>> 6) << 4), Vector256.Load(xs + 96)), Pair(sc[6], sc[7]));
            }

            float d = Scale(w, x);
            acc = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(sumi - Vector256.CreateScalar(32 * OffsetSum(scales, (short*)(x + 260)))), Vector256.Create(d), acc);
        }

        return MatVec.Sum(acc);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<short> Pair(sbyte a, sbyte b) => Vector256.Create(Vector128.Create((short)a), Vector128.Create((short)b));

    private static float Dot512(byte* w, byte* x, int blocks)
    {
        var low = Vector512.Create((byte)0x0F);
        var three = Vector512.Create((byte)3);
        Vector512<float> acc = default;
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
                sumi += MatVec.Widen(MatVec.MulAdd((ql & low) | ((qh & three) << 4), Vector512.Load(xs)), Quad(sc))
                    + MatVec.Widen(MatVec.MulAdd((ql >>> 4) | (((qh >>> 4) & three) << 4), Vector512.Load(xs + 64)), Quad(sc + 4));
            }

            float d = Scale(w, x);
            acc = Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(sumi - Vector512.CreateScalar(32 * OffsetSum(scales, (short*)(x + 260)))), Vector512.Create(d), acc);
        }

        return MatVec.Sum(acc);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<short> Quad(sbyte* sc) => Vector512.Create(
        Vector256.Create(Vector128.Create((short)sc[0]), Vector128.Create((short)sc[1])),
        Vector256.Create(Vector128.Create((short)sc[2]), Vector128.Create((short)sc[3])));
}
