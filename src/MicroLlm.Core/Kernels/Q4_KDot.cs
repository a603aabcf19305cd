using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace MicroLlm.Kernels;

/// <summary>
/// Q4_K weights (144-byte super-blocks of 256: half d, half dmin, 12 bytes of 6-bit scales and minimums, 128 bytes of
/// nibbles) against Q8_K activations (292 bytes: float d, 256 signed bytes, 16 sums of 16):
/// <c>d_x · (d · Σ_g scale_g Σ q·x − dmin · Σ_g min_g · bsum_g)</c>, the inner sums in integers. Every width
/// accumulates in the order of the reference's <c>ggml_vec_dot_q4_K_q8_K</c> (AVX2): eight integer lanes per
/// super-block (element 4k..4k+3 of each group of 32 in lane k), one 8-lane FMA per super-block, the minimums in four
/// FMA lanes; the bits of <c>Numerics/ReferenceDot.Q4_K</c>. Q5_K shares the code, with its reference's single
/// contracted FMA for the minimums (<see cref="AccumulateMinimums"/>), and gives the bits of <c>ReferenceDot.Q5_K</c>.
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

    /// <summary>
    /// A block's minimums term: Q5_K's in the reference's scalar lanes (<see cref="AccumulateMinimums"/>), Q4_K's in one
    /// vector (<see cref="Minimums128"/>); the decode kernels of every width share it.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddMinimums(bool fifthBits, float negativeDmin, byte* mins, short* bsums, float* accMin, ref Vector128<float> minLanes)
    {
        if (fifthBits)
        {
            AccumulateMinimums(true, negativeDmin, mins, bsums, accMin);
        }
        else
        {
            minLanes = Minimums128(negativeDmin, mins, bsums, minLanes);
        }
    }

    /// <summary>
    /// The minimums' part, as the reference accumulates it. Q4_K: four float lanes, lane m taking
    /// <c>fma(−d_x · dmin, min_2m · bsum(2m) + min_2m+1 · bsum(2m+1), lane)</c>, bsum(k) the 32-element sum. Q5_K
    /// (<paramref name="fifthBits"/>): one float, <c>fma(−d_x · dmin, Σ_k min_k · bsum(k), lanes[0])</c>, the FMA the
    /// reference's compiler contracts its minimum term into.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void AccumulateMinimums(bool fifthBits, float negativeDmin, byte* mins, short* bsums, float* lanes)
    {
        if (fifthBits)
        {
            int sum = 0;
            for (int k = 0; k < 8; k++)
            {
                sum += mins[k] * (bsums[2 * k] + bsums[(2 * k) + 1]);
            }

            lanes[0] = MathF.FusedMultiplyAdd(negativeDmin, sum, lanes[0]);
            return;
        }

        for (int m = 0; m < 4; m++)
        {
            int prod = (mins[2 * m] * (bsums[4 * m] + bsums[(4 * m) + 1])) + (mins[(2 * m) + 1] * (bsums[(4 * m) + 2] + bsums[(4 * m) + 3]));
            lanes[m] = MathF.FusedMultiplyAdd(negativeDmin, prod, lanes[m]);
        }
    }

    /// <summary>
    /// <see cref="AccumulateMinimums"/> for Q4_K (four lanes) in one vector: <c>mins[j] · (bsums[2j] + bsums[2j+1])</c>
    /// by one 16-bit multiply-add, pairs summed per lane (exact integers), then the same FMA per lane. Needs AVX2.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector128<float> Minimums128(float negativeDmin, byte* mins, short* bsums, Vector128<float> lanes)
    {
        var m = Vector128.CreateScalar(*(ulong*)mins).AsByte();
        var twice = Avx2.ConvertToVector256Int16(Sse2.UnpackLow(m, m)); // m0 m0 m1 m1 … m7 m7
        var products = Avx2.MultiplyAddAdjacent(Vector256.Load(bsums), twice);
        var sums = Ssse3.HorizontalAdd(products.GetLower(), products.GetUpper());
        return Vector128.FusedMultiplyAdd(Vector128.Create(negativeDmin), Vector128.ConvertToSingle(sums), lanes);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float FinishMinimums(bool fifthBits, float* lanes) => fifthBits ? lanes[0] : (lanes[0] + lanes[2]) + (lanes[1] + lanes[3]);

    /// <summary>Shared by Q4_K and Q5_K (<paramref name="fifthBits"/>: codes gain bit 4 from the <c>qh</c> bytes).</summary>
    internal static float DotScalar(byte* w, byte* x, int blocks, bool fifthBits)
    {
        byte* sm = stackalloc byte[16];
        float* acc = stackalloc float[8];
        float* accMin = stackalloc float[4];
        int* lanes = stackalloc int[8];
        new Span<float>(acc, 8).Clear();
        new Span<float>(accMin, 4).Clear();
        int qsOffset = fifthBits ? 48 : 16;
        for (int b = 0; b < blocks; b++, w += fifthBits ? Q5_KDot.WBytes : WBytes, x += XBytes)
        {
            Unpack(w + 4, sm);
            sbyte* xq = (sbyte*)(x + 4);
            new Span<int>(lanes, 8).Clear();
            for (int g = 0; g < 8; g++)
            {
                byte* q = w + qsOffset + (32 * (g / 2));
                int shift = 4 * (g % 2);
                for (int i = 0; i < 32; i++)
                {
                    int code = (q[i] >> shift) & 0x0F;
                    if (fifthBits)
                    {
                        code |= ((w[16 + i] >> g) & 1) << 4;
                    }

                    lanes[i / 4] += sm[g] * code * xq[(32 * g) + i];
                }
            }

            float dx = *(float*)x;
            float d = dx * HalfBits.ToSingle(*(ushort*)w);
            for (int lane = 0; lane < 8; lane++)
            {
                acc[lane] = MathF.FusedMultiplyAdd(d, lanes[lane], acc[lane]);
            }

            AccumulateMinimums(fifthBits, -dx * HalfBits.ToSingle(*(ushort*)(w + 2)), sm + 8, (short*)(x + 260), accMin);
        }

        return MatVec.Reduce8(acc) + FinishMinimums(fifthBits, accMin);
    }

    internal static float Dot128(byte* w, byte* x, int blocks, bool fifthBits)
    {
        byte* sm = stackalloc byte[16];
        var low = Vector128.Create((byte)0x0F);
        var one = Vector128.Create((byte)1);
        Vector128<float> acc0 = default, acc1 = default;
        float* accMin = stackalloc float[4];
        new Span<float>(accMin, 4).Clear();
        int qsOffset = fifthBits ? 48 : 16;
        for (int b = 0; b < blocks; b++, w += fifthBits ? Q5_KDot.WBytes : WBytes, x += XBytes)
        {
            Unpack(w + 4, sm);
            sbyte* xq = (sbyte*)(x + 4);
            Vector128<int> sumi0 = default, sumi1 = default; // lanes 0-3 (elements 0-15 of each 32) and 4-7
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

                    var part = MatVec.Widen(MatVec.MulAdd(lo, Vector128.Load(xq + (64 * c) + h)), s0)
                        + MatVec.Widen(MatVec.MulAdd(hi, Vector128.Load(xq + (64 * c) + 32 + h)), s1);
                    if (h == 0)
                    {
                        sumi0 += part;
                    }
                    else
                    {
                        sumi1 += part;
                    }
                }
            }

            float dx = *(float*)x;
            var d = Vector128.Create(dx * HalfBits.ToSingle(*(ushort*)w));
            acc0 = Vector128.FusedMultiplyAdd(Vector128.ConvertToSingle(sumi0), d, acc0);
            acc1 = Vector128.FusedMultiplyAdd(Vector128.ConvertToSingle(sumi1), d, acc1);
            AccumulateMinimums(fifthBits, -dx * HalfBits.ToSingle(*(ushort*)(w + 2)), sm + 8, (short*)(x + 260), accMin);
        }

        return MatVec.Sum(Vector256.Create(acc0, acc1)) + FinishMinimums(fifthBits, accMin);
    }

    /// <summary>
    /// Group <paramref name="c"/> (0-3) of the Q4_K super-block at <paramref name="w"/> (Q5_K's with
    /// <paramref name="fifthBits"/>): the codes of sub-block 2c from the low nibbles and of 2c + 1 from the high ones,
    /// each with bit 4 from bit 2c or 2c + 1 of <c>qh</c> for Q5_K (codes 0-15, or 0-31).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static (Vector256<byte> Low, Vector256<byte> High) Codes256(byte* w, int c, bool fifthBits)
    {
        var low = Vector256.Create((byte)0x0F);
        var q = Vector256.Load(w + (fifthBits ? 48 : 16) + (32 * c));
        var lo = q & low;
        var hi = (q >>> 4) & low;
        if (fifthBits)
        {
            var qh = Vector256.Load(w + 16);
            var one = Vector256.Create((byte)1);
            lo |= ((qh >>> (2 * c)) & one) << 4;
            hi |= ((qh >>> ((2 * c) + 1)) & one) << 4;
        }

        return (lo, hi);
    }

    internal static float Dot256(byte* w, byte* x, int blocks, bool fifthBits)
    {
        byte* sm = stackalloc byte[16];
        Vector256<float> acc = default;
        float* accMin = stackalloc float[4];
        new Span<float>(accMin, 4).Clear();
        Vector128<float> minLanes = default;
        for (int b = 0; b < blocks; b++, w += fifthBits ? Q5_KDot.WBytes : WBytes, x += XBytes)
        {
            Unpack(w + 4, sm);
            sbyte* xq = (sbyte*)(x + 4);
            Vector256<int> sumi = default;
            for (int c = 0; c < 4; c++)
            {
                var (lo, hi) = Codes256(w, c, fifthBits);
                sumi += MatVec.Widen(MatVec.MulAdd(lo, Vector256.Load(xq + (64 * c))), Vector256.Create((short)sm[2 * c]))
                    + MatVec.Widen(MatVec.MulAdd(hi, Vector256.Load(xq + (64 * c) + 32)), Vector256.Create((short)sm[(2 * c) + 1]));
            }

            float dx = *(float*)x;
            acc = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(sumi), Vector256.Create(dx * HalfBits.ToSingle(*(ushort*)w)), acc);
            AddMinimums(fifthBits, -dx * HalfBits.ToSingle(*(ushort*)(w + 2)), sm + 8, (short*)(x + 260), accMin, ref minLanes);
        }

        return MatVec.Sum(acc) + (fifthBits ? FinishMinimums(true, accMin) : MatVec.Sum(minLanes));
    }

    internal static float Dot512(byte* w, byte* x, int blocks, bool fifthBits)
    {
        byte* sm = stackalloc byte[16];
        var low = Vector512.Create((byte)0x0F);
        var one = Vector512.Create((byte)1);
        Vector256<float> acc = default;
        float* accMin = stackalloc float[4];
        new Span<float>(accMin, 4).Clear();
        Vector128<float> minLanes = default;
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
            // Both halves hold lanes 0-7 of different groups: integer sums first, then the reference's 8-lane FMA.
            acc = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(sumi.GetLower() + sumi.GetUpper()), Vector256.Create(dx * HalfBits.ToSingle(*(ushort*)w)), acc);
            AddMinimums(fifthBits, -dx * HalfBits.ToSingle(*(ushort*)(w + 2)), sm + 8, (short*)(x + 260), accMin, ref minLanes);
        }

        return MatVec.Sum(acc) + (fifthBits ? FinishMinimums(true, accMin) : MatVec.Sum(minLanes));
    }

    /// <summary>
    /// Prefill: one Q4_K row against four activation vectors (<paramref name="xStride"/> bytes apart), writing
    /// <c>y[t * yStride]</c>; each vector's sums are <see cref="Dot256"/>'s (same integers, one FMA per block for the
    /// 8 lanes, the minimums in their own lanes), so the bits are the same, while each block's scales and nibbles are
    /// unpacked once for the four. Needs AVX2.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Dot4(byte* w, byte* x, long xStride, int blocks, float* y, long yStride)
    {
        byte* sm = stackalloc byte[16];
        var low = Vector256.Create((byte)0x0F);
        Vector256<float> acc0 = default, acc1 = default, acc2 = default, acc3 = default;
        Vector128<float> min0 = default, min1 = default, min2 = default, min3 = default;
        for (int b = 0; b < blocks; b++, w += WBytes)
        {
            Unpack(w + 4, sm);
            var q0 = Vector256.Load(w + 16);
            var q1 = Vector256.Load(w + 48);
            var q2 = Vector256.Load(w + 80);
            var q3 = Vector256.Load(w + 112);
            var l0 = q0 & low;
            var h0 = (q0 >>> 4) & low;
            var l1 = q1 & low;
            var h1 = (q1 >>> 4) & low;
            var l2 = q2 & low;
            var h2 = (q2 >>> 4) & low;
            var l3 = q3 & low;
            var h3 = (q3 >>> 4) & low;
            var s0 = Vector256.Create((short)sm[0]);
            var s1 = Vector256.Create((short)sm[1]);
            var s2 = Vector256.Create((short)sm[2]);
            var s3 = Vector256.Create((short)sm[3]);
            var s4 = Vector256.Create((short)sm[4]);
            var s5 = Vector256.Create((short)sm[5]);
            var s6 = Vector256.Create((short)sm[6]);
            var s7 = Vector256.Create((short)sm[7]);
            float dw = HalfBits.ToSingle(*(ushort*)w), dmin = HalfBits.ToSingle(*(ushort*)(w + 2));
            long o = (long)b * XBytes;
            acc0 = Column4(x + o, l0, h0, l1, h1, l2, h2, l3, h3, s0, s1, s2, s3, s4, s5, s6, s7, dw, dmin, sm + 8, ref min0, acc0);
            acc1 = Column4(x + xStride + o, l0, h0, l1, h1, l2, h2, l3, h3, s0, s1, s2, s3, s4, s5, s6, s7, dw, dmin, sm + 8, ref min1, acc1);
            acc2 = Column4(x + (2 * xStride) + o, l0, h0, l1, h1, l2, h2, l3, h3, s0, s1, s2, s3, s4, s5, s6, s7, dw, dmin, sm + 8, ref min2, acc2);
            acc3 = Column4(x + (3 * xStride) + o, l0, h0, l1, h1, l2, h2, l3, h3, s0, s1, s2, s3, s4, s5, s6, s7, dw, dmin, sm + 8, ref min3, acc3);
        }

        y[0] = MatVec.Sum(acc0) + MatVec.Sum(min0);
        y[yStride] = MatVec.Sum(acc1) + MatVec.Sum(min1);
        y[2 * yStride] = MatVec.Sum(acc2) + MatVec.Sum(min2);
        y[3 * yStride] = MatVec.Sum(acc3) + MatVec.Sum(min3);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Column4(
        byte* x,
        Vector256<byte> l0, Vector256<byte> h0, Vector256<byte> l1, Vector256<byte> h1,
        Vector256<byte> l2, Vector256<byte> h2, Vector256<byte> l3, Vector256<byte> h3,
        Vector256<short> s0, Vector256<short> s1, Vector256<short> s2, Vector256<short> s3,
        Vector256<short> s4, Vector256<short> s5, Vector256<short> s6, Vector256<short> s7,
        float dw, float dmin, byte* mins, ref Vector128<float> minLanes, Vector256<float> acc)
    {
        sbyte* xq = (sbyte*)(x + 4);
        var sumi = MatVec.Widen(MatVec.MulAdd(l0, Vector256.Load(xq)), s0) + MatVec.Widen(MatVec.MulAdd(h0, Vector256.Load(xq + 32)), s1)
            + MatVec.Widen(MatVec.MulAdd(l1, Vector256.Load(xq + 64)), s2) + MatVec.Widen(MatVec.MulAdd(h1, Vector256.Load(xq + 96)), s3)
            + MatVec.Widen(MatVec.MulAdd(l2, Vector256.Load(xq + 128)), s4) + MatVec.Widen(MatVec.MulAdd(h2, Vector256.Load(xq + 160)), s5)
            + MatVec.Widen(MatVec.MulAdd(l3, Vector256.Load(xq + 192)), s6) + MatVec.Widen(MatVec.MulAdd(h3, Vector256.Load(xq + 224)), s7);
        float dx = *(float*)x;
        minLanes = Minimums128(-dx * dmin, mins, (short*)(x + 260), minLanes);
        return Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(sumi), Vector256.Create(dx * dw), acc);
    }
}
