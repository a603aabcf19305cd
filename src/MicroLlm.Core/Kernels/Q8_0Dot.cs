using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace MicroLlm.Kernels;

/// <summary>
/// Q8_0 weights against Q8_0 activations (34-byte blocks: half d, 32 signed bytes): per block Σ w · x as integers,
/// then one multiply by <c>d_w · d_x</c>. The signed × signed products go through the unsigned × signed multiply-add as
/// |w| · (x with w's sign). Every width accumulates in the reference's order (<c>ggml_vec_dot_q8_0_q8_0</c>, AVX2):
/// 8 float lanes of 4 elements each, one FMA per block, the <c>_mm256</c> reduction tree; the bits of
/// <c>Numerics/ReferenceDot.Q8_0</c>.
/// </summary>
internal static unsafe class Q8_0Dot
{
    private const int Bytes = 34;

    /// <summary>Dot product over <paramref name="blocks"/> blocks of 32.</summary>
    public static float Dot(byte* w, byte* x, int blocks, KernelWidth width) => width switch
    {
        KernelWidth.Vector512 => Dot512(w, x, blocks),
        KernelWidth.Vector256 => Dot256(w, x, blocks),
        KernelWidth.Vector128 => Dot128(w, x, blocks),
        _ => DotScalar(w, x, blocks),
    };

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Scale(byte* w, byte* x) => HalfBits.ToSingle(*(ushort*)w) * HalfBits.ToSingle(*(ushort*)x);

    private static float DotScalar(byte* w, byte* x, int blocks)
    {
        float* acc = stackalloc float[8];
        new Span<float>(acc, 8).Clear();
        for (int b = 0; b < blocks; b++, w += Bytes, x += Bytes)
        {
            sbyte* wq = (sbyte*)(w + 2), xq = (sbyte*)(x + 2);
            float d = Scale(w, x);
            for (int lane = 0; lane < 8; lane++)
            {
                int sumi = 0;
                for (int i = 4 * lane; i < (4 * lane) + 4; i++)
                {
                    sumi += wq[i] * xq[i];
                }

                acc[lane] = MathF.FusedMultiplyAdd(d, sumi, acc[lane]);
            }
        }

        return MatVec.Reduce8(acc);
    }

    private static float Dot128(byte* w, byte* x, int blocks)
    {
        var ones = Vector128.Create((short)1);
        Vector128<float> acc0 = default, acc1 = default; // lanes 0-3 (elements 0-15) and 4-7 (16-31)
        for (int b = 0; b < blocks; b++, w += Bytes, x += Bytes)
        {
            var w0 = Vector128.Load((sbyte*)(w + 2));
            var w1 = Vector128.Load((sbyte*)(w + 18));
            var p0 = MatVec.MulAdd(Ssse3.Abs(w0), Ssse3.Sign(Vector128.Load((sbyte*)(x + 2)), w0));
            var p1 = MatVec.MulAdd(Ssse3.Abs(w1), Ssse3.Sign(Vector128.Load((sbyte*)(x + 18)), w1));
            var scale = Vector128.Create(Scale(w, x));
            acc0 = Vector128.FusedMultiplyAdd(Vector128.ConvertToSingle(MatVec.Widen(p0, ones)), scale, acc0);
            acc1 = Vector128.FusedMultiplyAdd(Vector128.ConvertToSingle(MatVec.Widen(p1, ones)), scale, acc1);
        }

        return MatVec.Sum(Vector256.Create(acc0, acc1));
    }

    private static float Dot256(byte* w, byte* x, int blocks)
    {
        var ones = Vector256.Create((short)1);
        Vector256<float> acc = default;
        for (int b = 0; b < blocks; b++, w += Bytes, x += Bytes)
        {
            acc = Block256(w, x, ones, acc);
        }

        return MatVec.Sum(acc);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Block256(byte* w, byte* x, Vector256<short> ones, Vector256<float> acc)
    {
        var wq = Vector256.Load((sbyte*)(w + 2));
        var p = MatVec.MulAdd(Avx2.Abs(wq), Avx2.Sign(Vector256.Load((sbyte*)(x + 2)), wq));
        return Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(MatVec.Widen(p, ones)), Vector256.Create(Scale(w, x)), acc);
    }

    private static float Dot512(byte* w, byte* x, int blocks)
    {
        // Integer sums two blocks at a time; the float accumulation stays the 8-lane chain, block after block.
        var ones = Vector512.Create((short)1);
        Vector256<float> acc = default;
        int b = 0;
        for (; b + 2 <= blocks; b += 2, w += 2 * Bytes, x += 2 * Bytes)
        {
            acc = PairStep(w, Bytes, LoadPair(x), Vector256.Create(Scale(w, x)), Vector256.Create(Scale(w + Bytes, x + Bytes)), ones, acc);
        }

        if (b < blocks)
        {
            acc = Block256(w, x, ones.GetLower(), acc);
        }

        return MatVec.Sum(acc);
    }

    /// <summary>
    /// Decode at 512 bits: rows <paramref name="rowStart"/>..<paramref name="rowEnd"/> (<paramref name="rowBytes"/>
    /// apart) against one vector, 4 rows per pass: each row's chain is <see cref="Dot512"/>'s, block pair after block pair,
    /// so the bits are the same, while 4 chains run side by side (one row's chain is bound by the FMA latency: one
    /// block per 4 cycles), each activation pair is loaded once for the 4 rows, and the rows 4 passes ahead are fetched
    /// in order. Leftover rows go through <see cref="Dot512"/>. <paramref name="grouped"/>: the matrix is in
    /// <see cref="RowGroups"/> (the range then starts and ends on a group), each pass reading one group.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Rows512(byte* weights, long rowBytes, int blocks, int rowStart, int rowEnd, byte* x, float* y, bool grouped = false)
    {
        var ones = Vector512.Create((short)1);
        var (rowStride, blockStride) = RowGroups.Strides(grouped, rowBytes, Bytes);
        Vector256<int> lane0 = Vector256.Create(0), lane1 = Vector256.Create(1), lane2 = Vector256.Create(2), lane3 = Vector256.Create(3);
        Vector256<int> lane4 = Vector256.Create(4), lane5 = Vector256.Create(5), lane6 = Vector256.Create(6), lane7 = Vector256.Create(7);
        int r = rowStart;
        for (; r + 4 <= rowEnd; r += 4)
        {
            // The 4 rows start at the same place in either layout; the rows 4 passes ahead follow them.
            byte* w = weights + (r * rowBytes);
            byte* next = w + (16 * rowBytes);
            nint r1 = (nint)rowStride, r2 = 2 * r1, r3 = 3 * r1, second = (nint)blockStride, step = 2 * second;
            Vector256<float> acc0 = default, acc1 = default, acc2 = default, acc3 = default;
            byte* xb = x;
            int b = 0;
            for (; b + 2 <= blocks; b += 2, w += step, xb += 2 * Bytes, next += 8 * Bytes)
            {
                // 4 rows × 68 bytes per step, fetched 272 bytes at a time from the contiguous rows 4 passes ahead.
                MatVec.PrefetchLines(next, 8 * Bytes);
                var xq = LoadPair(xb);

                // The 4 rows' scales of both blocks converted in one vector (HalfBits' vector form never computes with a
                // subnormal float; the scalar form takes an assist per subnormal scale: 12 against 34 GB/s one thread
                // when all are), each times its activation block's scale, one rounding as in Dot512.
                var halves = Vector128.Create(
                    *(ushort*)w, *(ushort*)(w + r1), *(ushort*)(w + r2), *(ushort*)(w + r3),
                    *(ushort*)(w + second), *(ushort*)(w + r1 + second), *(ushort*)(w + r2 + second), *(ushort*)(w + r3 + second));
                var dx = Vector256.Create(Vector128.Create(HalfBits.ToSingle(*(ushort*)xb)), Vector128.Create(HalfBits.ToSingle(*(ushort*)(xb + Bytes))));
                var d = HalfBits.ToSingle(Avx2.ConvertToVector256Int32(halves).AsUInt32()) * dx;
                acc0 = PairStep(w, second, xq, Avx2.PermuteVar8x32(d, lane0), Avx2.PermuteVar8x32(d, lane4), ones, acc0);
                acc1 = PairStep(w + r1, second, xq, Avx2.PermuteVar8x32(d, lane1), Avx2.PermuteVar8x32(d, lane5), ones, acc1);
                acc2 = PairStep(w + r2, second, xq, Avx2.PermuteVar8x32(d, lane2), Avx2.PermuteVar8x32(d, lane6), ones, acc2);
                acc3 = PairStep(w + r3, second, xq, Avx2.PermuteVar8x32(d, lane3), Avx2.PermuteVar8x32(d, lane7), ones, acc3);
            }

            if (b < blocks)
            {
                acc0 = Block256(w, xb, ones.GetLower(), acc0);
                acc1 = Block256(w + r1, xb, ones.GetLower(), acc1);
                acc2 = Block256(w + r2, xb, ones.GetLower(), acc2);
                acc3 = Block256(w + r3, xb, ones.GetLower(), acc3);
            }

            y[r] = MatVec.Sum(acc0);
            y[r + 1] = MatVec.Sum(acc1);
            y[r + 2] = MatVec.Sum(acc2);
            y[r + 3] = MatVec.Sum(acc3);
        }

        for (; r < rowEnd; r++)
        {
            y[r] = Dot512(weights + (r * rowBytes), x, blocks);
        }
    }

    /// <summary>
    /// Two blocks of one row (at <paramref name="w"/> and <paramref name="w"/> + <paramref name="second"/>) against two
    /// activation blocks' codes (<paramref name="xq"/>): each block's exact integer lanes, then its FMA with its scale
    /// product <c>d_w · d_x</c> (<paramref name="d0"/>, <paramref name="d1"/>, in every lane), the first block before the
    /// second (<see cref="Dot512"/>'s step, also <see cref="Rows512"/>'s).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> PairStep(byte* w, nint second, Vector512<sbyte> xq, Vector256<float> d0, Vector256<float> d1, Vector512<short> ones, Vector256<float> acc)
    {
        var wq = LoadPair(w, second);

        // AVX-512 has no byte sign instruction: negate x where w is negative (where w is 0, |w| is 0 anyway).
        var signed = Vector512.ConditionalSelect(Vector512.LessThan(wq, Vector512<sbyte>.Zero), -xq, xq);
        var sums = Vector512.ConvertToSingle(MatVec.Widen(MatVec.MulAdd(Vector512.Abs(wq).AsByte(), signed), ones));
        acc = Vector256.FusedMultiplyAdd(sums.GetLower(), d0, acc);
        return Vector256.FusedMultiplyAdd(sums.GetUpper(), d1, acc);
    }

    /// <summary>The 32 codes of the block at <paramref name="p"/> and of the one <paramref name="second"/> bytes on, in one vector.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<sbyte> LoadPair(byte* p, nint second = Bytes) =>
        Vector512.Create(Vector256.Load((sbyte*)(p + 2)), Vector256.Load((sbyte*)(p + second + 2)));

    /// <summary>
    /// Prefill: one row against four activation vectors (<paramref name="x"/>, <paramref name="xStride"/> bytes apart),
    /// writing <c>y[t * yStride]</c>; each vector's chain is <see cref="Dot256"/>'s, block after block, so the bits are
    /// the same, while the row's block is loaded and its magnitudes taken once and four FMA chains run side by side.
    /// Needs AVX2 (<see cref="KernelWidth.Vector256"/> or wider).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Dot4(byte* w, byte* x, long xStride, int blocks, float* y, long yStride)
    {
        var ones = Vector256.Create((short)1);
        Vector256<float> acc0 = default, acc1 = default, acc2 = default, acc3 = default;
        byte* x1 = x + xStride, x2 = x1 + xStride, x3 = x2 + xStride;
        for (int b = 0; b < blocks; b++, w += Bytes)
        {
            var wq = Vector256.Load((sbyte*)(w + 2));
            var magnitude = Avx2.Abs(wq);
            float dw = HalfBits.ToSingle(*(ushort*)w);
            long o = b * Bytes;
            acc0 = Column(wq, magnitude, x + o, dw, ones, acc0);
            acc1 = Column(wq, magnitude, x1 + o, dw, ones, acc1);
            acc2 = Column(wq, magnitude, x2 + o, dw, ones, acc2);
            acc3 = Column(wq, magnitude, x3 + o, dw, ones, acc3);
        }

        y[0] = MatVec.Sum(acc0);
        y[yStride] = MatVec.Sum(acc1);
        y[2 * yStride] = MatVec.Sum(acc2);
        y[3 * yStride] = MatVec.Sum(acc3);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Column(Vector256<sbyte> wq, Vector256<byte> magnitude, byte* x, float dw, Vector256<short> ones, Vector256<float> acc)
    {
        var p = MatVec.MulAdd(magnitude, Avx2.Sign(Vector256.Load((sbyte*)(x + 2)), wq));
        return Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(MatVec.Widen(p, ones)), Vector256.Create(dw * HalfBits.ToSingle(*(ushort*)x)), acc);
    }
}
