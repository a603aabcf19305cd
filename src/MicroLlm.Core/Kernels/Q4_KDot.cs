using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace MicroLlm.Kernels;

/// <summary>
/// Q4_K weights (144-byte super-blocks of 256: half d, half dmin, 12 bytes of 6-bit scales and minimums, 128 bytes of
/// nibbles) against Q8_K activations (292 bytes: float d, 256 signed bytes, 16 sums of 16):
/// <c>d_x · (d · Σ_g scale_g Σ q·x − dmin · Σ_g min_g · bsum_g)</c>, the inner sums in integers.
/// </summary>
internal static unsafe class Q4_KDot
{
    internal const int WBytes = 144, XBytes = 292;

    /// <summary>Dot product over <paramref name="blocks"/> super-blocks of 256.</summary>
    public static float Dot(byte* w, byte* x, int blocks, KernelWidth width) => width switch
    {
        KernelWidth.Vector512 => Dot512(w, x, blocks, fifthBits: false),
        KernelWidth.Vector256 => Dot256(w, x, blocks, fifthBits: false),
        KernelWidth.Vector128 => Dot128(w, x, blocks, fifthBits: false),
        _ => DotScalar(w, x, blocks, fifthBits: false),
    };

    /// <summary>
    /// The eight 6-bit scales (into the low 8 bytes of <paramref name="scalesAndMins"/>) and minimums (the high 8) from the 12 bytes at <paramref name="packed"/>,
    /// as Q4_K and Q5_K store them.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Unpack(byte* packed, byte* scalesAndMins)
    {
        const uint m1 = 0x3f3f3f3f, m2 = 0x0f0f0f0f, m3 = 0x03030303;
        uint u0 = *(uint*)packed, u1 = *(uint*)(packed + 4), u2 = *(uint*)(packed + 8);
        uint* o = (uint*)scalesAndMins;
        o[0] = u0 & m1;
        o[1] = (u2 & m2) | (((u0 >> 6) & m3) << 4);
        o[2] = u1 & m1;
        o[3] = ((u2 >> 4) & m2) | (((u1 >> 6) & m3) << 4);
    }

    /// <summary>Σ_g min_g · (bsum_2g + bsum_2g+1): the part of the dot product the minimums contribute.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static int MinimumSum(byte* mins, short* bsums)
    {
        int s = 0;
        for (int g = 0; g < 8; g++)
        {
            s += mins[g] * (bsums[2 * g] + bsums[(2 * g) + 1]);
        }

        return s;
    }

    /// <summary>Shared by Q4_K and Q5_K (<paramref name="fifthBits"/>: codes gain bit 4 from the <c>qh</c> bytes).</summary>
    internal static float DotScalar(byte* w, byte* x, int blocks, bool fifthBits)
    {
        byte* sm = stackalloc byte[16];
        float sum = 0;
        int qsOffset = fifthBits ? 48 : 16;
        for (int b = 0; b < blocks; b++, w += fifthBits ? Q5_KDot.WBytes : WBytes, x += XBytes)
        {
            Unpack(w + 4, sm);
            sbyte* xq = (sbyte*)(x + 4);
            int sumi = 0;
            for (int g = 0; g < 8; g++)
            {
                byte* q = w + qsOffset + (32 * (g / 2));
                int shift = 4 * (g % 2), group = 0;
                for (int i = 0; i < 32; i++)
                {
                    int code = (q[i] >> shift) & 0x0F;
                    if (fifthBits)
                    {
                        code |= ((w[16 + i] >> g) & 1) << 4;
                    }

                    group += code * xq[(32 * g) + i];
                }

                sumi += sm[g] * group;
            }

            float dx = *(float*)x;
            sum += (dx * HalfBits.ToSingle(*(ushort*)w) * sumi) - (dx * HalfBits.ToSingle(*(ushort*)(w + 2)) * MinimumSum(sm + 8, (short*)(x + 260)));
        }

        return sum;
    }

    internal static float Dot128(byte* w, byte* x, int blocks, bool fifthBits)
    {
        byte* sm = stackalloc byte[16];
        var low = Vector128.Create((byte)0x0F);
        var one = Vector128.Create((byte)1);
        Vector128<float> acc = default;
        float minimums = 0;
        int qsOffset = fifthBits ? 48 : 16;
        for (int b = 0; b < blocks; b++, w += fifthBits ? Q5_KDot.WBytes : WBytes, x += XBytes)
        {
            Unpack(w + 4, sm);
            sbyte* xq = (sbyte*)(x + 4);
            Vector128<int> sumi = default;
            for (int c = 0; c < 4; c++)
            {
                var s0 = Vector128.Create((short)sm[2 * c]);
                var s1 = Vector128.Create((short)sm[(2 * c) + 1]);
                for (int h = 0; h < 32; h += 16)
                {
                    var q = Vector128.Load(w + qsOffset + (32 * c) + h);
                    var lo = q & low;
                    var hi = (q >>> 4) & low;
                    if (fifthBits)
                    {
                        var qh = Vector128.Load(w + 16 + h);
                        lo |= ((qh >>> (2 * c)) & one) << 4;
                        hi |= ((qh >>> ((2 * c) + 1)) & one) << 4;
                    }

                    sumi += MatVec.Widen(MatVec.MulAdd(lo, Vector128.Load(xq + (64 * c) + h)), s0)
                        + MatVec.Widen(MatVec.MulAdd(hi, Vector128.Load(xq + (64 * c) + 32 + h)), s1);
                }
            }

            float dx = *(float*)x;
            acc = Vector128.FusedMultiplyAdd(Vector128.ConvertToSingle(sumi), Vector128.Create(dx * HalfBits.ToSingle(*(ushort*)w)), acc);
            minimums += dx * HalfBits.ToSingle(*(ushort*)(w + 2)) * MinimumSum(sm + 8, (short*)(x + 260));
        }

        return MatVec.Sum(acc) - minimums;
    }

    internal static float Dot256(byte* w, byte* x, int blocks, bool fifthBits)
    {
        byte* sm = stackalloc byte[16];
        var low = Vector256.Create((byte)0x0F);
        var one = Vector256.Create((byte)1);
        Vector256<float> acc = default;
        float minimums = 0;
        int qsOffset = fifthBits ? 48 : 16;
        for (int b = 0; b < blocks; b++, w += fifthBits ? Q5_KDot.WBytes : WBytes, x += XBytes)
        {
            Unpack(w + 4, sm);
            sbyte* xq = (sbyte*)(x + 4);
            Vector256<int> sumi = default;
            var qh = fifthBits ? Vector256.Load(w + 16) : default;
            for (int c = 0; c < 4; c++)
            {
                var q = Vector256.Load(w + qsOffset + (32 * c));
                var lo = q & low;
                var hi = (q >>> 4) & low;
                if (fifthBits)
                {
                    lo |= (qh & one) << 4;
                    hi |= ((qh >>> 1) & one) << 4;
                    qh >>>= 2;
                }

                sumi += MatVec.Widen(MatVec.MulAdd(lo, Vector256.Load(xq + (64 * c))), Vector256.Create((short)sm[2 * c]))
                    + MatVec.Widen(MatVec.MulAdd(hi, Vector256.Load(xq + (64 * c) + 32)), Vector256.Create((short)sm[(2 * c) + 1]));
            }

            float dx = *(float*)x;
            acc = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(sumi), Vector256.Create(dx * HalfBits.ToSingle(*(ushort*)w)), acc);
            minimums += dx * HalfBits.ToSingle(*(ushort*)(w + 2)) * MinimumSum(sm + 8, (short*)(x + 260));
        }

        return MatVec.Sum(acc) - minimums;
    }

    internal static float Dot512(byte* w, byte* x, int blocks, bool fifthBits)
    {
        byte* sm = stackalloc byte[16];
        var low = Vector512.Create((byte)0x0F);
        var one = Vector512.Create((byte)1);
        Vector512<float> acc = default;
        float minimums = 0;
        int qsOffset = fifthBits ? 48 : 16;
        for (int b = 0; b < blocks; b++, w += fifthBits ? Q5_KDot.WBytes : WBytes, x += XBytes)
        {
            Unpack(w + 4, sm);
            sbyte* xq = (sbyte*)(x + 4);
            Vector512<int> sumi = default;
            Vector512<byte> qh = default;
            if (fifthBits)
            {
                var h = Vector256.Load(w + 16);
                qh = Vector512.Create(h, h >>> 2);
            }

            for (int c = 0; c < 4; c += 2)
            {
                // Chunks c and c + 1: low nibbles are groups 2c and 2c + 2, high nibbles 2c + 1 and 2c + 3.
                var q = Vector512.Load(w + qsOffset + (32 * c));
                var lo = q & low;
                var hi = (q >>> 4) & low;
                if (fifthBits)
                {
                    lo |= (qh & one) << 4;
                    hi |= ((qh >>> 1) & one) << 4;
                    qh >>>= 4;
                }

                var x0 = Vector512.Load(xq + (64 * c));       // groups 2c, 2c + 1
                var x1 = Vector512.Load(xq + (64 * c) + 64);  // groups 2c + 2, 2c + 3
                var xlo = Vector512.Create(x0.GetLower(), x1.GetLower());
                var xhi = Vector512.Create(x0.GetUpper(), x1.GetUpper());
                var slo = Vector512.Create(Vector256.Create((short)sm[2 * c]), Vector256.Create((short)sm[(2 * c) + 2]));
                var shi = Vector512.Create(Vector256.Create((short)sm[(2 * c) + 1]), Vector256.Create((short)sm[(2 * c) + 3]));
                sumi += MatVec.Widen(MatVec.MulAdd(lo, xlo), slo) + MatVec.Widen(MatVec.MulAdd(hi, xhi), shi);
            }

            float dx = *(float*)x;
            acc = Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(sumi), Vector512.Create(dx * HalfBits.ToSingle(*(ushort*)w)), acc);
            minimums += dx * HalfBits.ToSingle(*(ushort*)(w + 2)) * MinimumSum(sm + 8, (short*)(x + 260));
        }

        return MatVec.Sum(acc) - minimums;
    }
}
