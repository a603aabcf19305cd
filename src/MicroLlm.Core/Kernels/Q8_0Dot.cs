using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace MicroLlm.Kernels;

/// <summary>
/// Q8_0 weights against Q8_0 activations (34-byte blocks: half d, 32 signed bytes): per block Σ w · x as integers,
/// then one multiply by <c>d_w · d_x</c>. The signed × signed products go through the unsigned × signed multiply-add as
/// |w| · (x with w's sign).
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
        float sum = 0;
        for (int b = 0; b < blocks; b++, w += Bytes, x += Bytes)
        {
            sbyte* wq = (sbyte*)(w + 2), xq = (sbyte*)(x + 2);
            int sumi = 0;
            for (int i = 0; i < 32; i++)
            {
                sumi += wq[i] * xq[i];
            }

            sum += sumi * Scale(w, x);
        }

        return sum;
    }

    private static float Dot128(byte* w, byte* x, int blocks)
    {
        var ones = Vector128.Create((short)1);
        Vector128<float> acc = default;
        for (int b = 0; b < blocks; b++, w += Bytes, x += Bytes)
        {
            var w0 = Vector128.Load((sbyte*)(w + 2));
            var w1 = Vector128.Load((sbyte*)(w + 18));
            // Each half is widened to 32 bits on its own: two 16-bit pair sums of ±128·127 would overflow.
            var p0 = MatVec.MulAdd(Ssse3.Abs(w0).AsByte(), Ssse3.Sign(Vector128.Load((sbyte*)(x + 2)), w0));
            var p1 = MatVec.MulAdd(Ssse3.Abs(w1).AsByte(), Ssse3.Sign(Vector128.Load((sbyte*)(x + 18)), w1));
            var sumi = MatVec.Widen(p0, ones) + MatVec.Widen(p1, ones);
            acc = Vector128.FusedMultiplyAdd(Vector128.ConvertToSingle(sumi), Vector128.Create(Scale(w, x)), acc);
        }

        return MatVec.Sum(acc);
    }

    private static float Dot256(byte* w, byte* x, int blocks)
    {
        var ones = Vector256.Create((short)1);
        Vector256<float> acc0 = default, acc1 = default;
        int b = 0;
        for (; b + 2 <= blocks; b += 2, w += 2 * Bytes, x += 2 * Bytes)
        {
            acc0 = Block256(w, x, ones, acc0);
            acc1 = Block256(w + Bytes, x + Bytes, ones, acc1);
        }

        if (b < blocks)
        {
            acc0 = Block256(w, x, ones, acc0);
        }

        return MatVec.Sum(acc0 + acc1);
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
        var ones = Vector512.Create((short)1);
        Vector512<float> acc0 = default, acc1 = default;
        int b = 0;
        for (; b + 4 <= blocks; b += 4, w += 4 * Bytes, x += 4 * Bytes)
        {
            acc0 = Pair512(w, x, ones, acc0);
            acc1 = Pair512(w + (2 * Bytes), x + (2 * Bytes), ones, acc1);
        }

        for (; b + 2 <= blocks; b += 2, w += 2 * Bytes, x += 2 * Bytes)
        {
            acc0 = Pair512(w, x, ones, acc0);
        }

        float sum = MatVec.Sum(acc0 + acc1);
        if (b < blocks)
        {
            sum += Dot256(w, x, 1);
        }

        return sum;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Pair512(byte* w, byte* x, Vector512<short> ones, Vector512<float> acc)
    {
        var wq = Vector512.Create(Vector256.Load((sbyte*)(w + 2)), Vector256.Load((sbyte*)(w + Bytes + 2)));
        var xq = Vector512.Create(Vector256.Load((sbyte*)(x + 2)), Vector256.Load((sbyte*)(x + Bytes + 2)));
        // AVX-512 has no byte sign instruction: negate x where w is negative (where w is 0, |w| is 0 anyway).
        var signed = Vector512.ConditionalSelect(Vector512.LessThan(wq, Vector512<sbyte>.Zero), -xq, xq);
        var p = MatVec.MulAdd(Vector512.Abs(wq).AsByte(), signed);
        var scale = Vector512.Create(Vector256.Create(Scale(w, x)), Vector256.Create(Scale(w + Bytes, x + Bytes)));
        return Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(MatVec.Widen(p, ones)), scale, acc);
    }
}
