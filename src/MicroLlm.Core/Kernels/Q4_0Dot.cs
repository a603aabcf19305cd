using System.Runtime.Intrinsics;

namespace MicroLlm.Kernels;

/// <summary>
/// Q4_0 weights (18-byte blocks: half d, 16 bytes of nibbles; byte i holds weights i and i + 16) against Q8_0
/// activations (34-byte blocks: half d, 32 signed bytes): per block Σ (nibble − 8) · x as integers, then one multiply
/// by <c>d_w · d_x</c>.
/// </summary>
/// <remarks>
/// The integer sum is taken as Σ nibble · x − Σ 8 · x with two unsigned × signed byte multiply-adds (both stay far
/// inside 16 bits), which needs no sign instruction (AVX-512 has none for bytes).
/// </remarks>
internal static unsafe class Q4_0Dot
{
    private const int WBytes = 18, XBytes = 34;

    /// <summary>Dot product over <paramref name="blocks"/> blocks of 32.</summary>
    public static float Dot(byte* w, byte* x, int blocks, KernelWidth width) => width switch
    {
        KernelWidth.Vector512 => Dot512(w, x, blocks),
        KernelWidth.Vector256 => Dot256(w, x, blocks),
        KernelWidth.Vector128 => Dot128(w, x, blocks),
        _ => DotScalar(w, x, blocks),
    };

    private static float DotScalar(byte* w, byte* x, int blocks)
    {
        float sum = 0;
        for (int b = 0; b < blocks; b++, w += WBytes, x += XBytes)
        {
            sbyte* xq = (sbyte*)(x + 2);
            int sumi = 0;
            for (int i = 0; i < 16; i++)
            {
                int q = w[2 + i];
                sumi += (((q & 0x0F) - 8) * xq[i]) + (((q >> 4) - 8) * xq[i + 16]);
            }

            sum += sumi * (HalfBits.ToSingle(*(ushort*)w) * HalfBits.ToSingle(*(ushort*)x));
        }

        return sum;
    }

    private static float Dot128(byte* w, byte* x, int blocks)
    {
        var low = Vector128.Create((byte)0x0F);
        var eight = Vector128.Create((byte)8);
        var ones = Vector128.Create((short)1);
        Vector128<float> acc = default;
        for (int b = 0; b < blocks; b++, w += WBytes, x += XBytes)
        {
            var q = Vector128.Load(w + 2);
            var x0 = Vector128.Load((sbyte*)(x + 2));
            var x1 = Vector128.Load((sbyte*)(x + 18));
            var p = (MatVec.MulAdd(q & low, x0) - MatVec.MulAdd(eight, x0)) + (MatVec.MulAdd((q >>> 4) & low, x1) - MatVec.MulAdd(eight, x1));
            var scale = Vector128.Create(HalfBits.ToSingle(*(ushort*)w) * HalfBits.ToSingle(*(ushort*)x));
            acc = Vector128.FusedMultiplyAdd(Vector128.ConvertToSingle(MatVec.Widen(p, ones)), scale, acc);
        }

        return MatVec.Sum(acc);
    }

    private static float Dot256(byte* w, byte* x, int blocks)
    {
        var low = Vector128.Create((byte)0x0F);
        var eight = Vector256.Create((byte)8);
        var ones = Vector256.Create((short)1);
        Vector256<float> acc0 = default, acc1 = default;
        int b = 0;
        for (; b + 2 <= blocks; b += 2, w += 2 * WBytes, x += 2 * XBytes)
        {
            acc0 = Block256(w, x, low, eight, ones, acc0);
            acc1 = Block256(w + WBytes, x + XBytes, low, eight, ones, acc1);
        }

        if (b < blocks)
        {
            acc0 = Block256(w, x, low, eight, ones, acc0);
        }

        return MatVec.Sum(acc0 + acc1);
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Block256(byte* w, byte* x, Vector128<byte> low, Vector256<byte> eight, Vector256<short> ones, Vector256<float> acc)
    {
        var q = Vector128.Load(w + 2);
        var wq = Vector256.Create(q & low, (q >>> 4) & low);
        var xq = Vector256.Load((sbyte*)(x + 2));
        var p = MatVec.MulAdd(wq, xq) - MatVec.MulAdd(eight, xq);
        var scale = Vector256.Create(HalfBits.ToSingle(*(ushort*)w) * HalfBits.ToSingle(*(ushort*)x));
        return Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(MatVec.Widen(p, ones)), scale, acc);
    }

    private static float Dot512(byte* w, byte* x, int blocks)
    {
        var low = Vector256.Create((byte)0x0F);
        var eight = Vector512.Create((byte)8);
        var ones = Vector512.Create((short)1);
        var order = Vector512.Create(0ul, 1, 4, 5, 2, 3, 6, 7);
        Vector512<float> acc0 = default, acc1 = default;
        int b = 0;
        for (; b + 4 <= blocks; b += 4, w += 4 * WBytes, x += 4 * XBytes)
        {
            acc0 = Pair512(w, x, low, eight, ones, order, acc0);
            acc1 = Pair512(w + (2 * WBytes), x + (2 * XBytes), low, eight, ones, order, acc1);
        }

        for (; b + 2 <= blocks; b += 2, w += 2 * WBytes, x += 2 * XBytes)
        {
            acc0 = Pair512(w, x, low, eight, ones, order, acc0);
        }

        float sum = MatVec.Sum(acc0 + acc1);
        if (b < blocks)
        {
            sum += Dot256(w, x, 1);
        }

        return sum;
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Pair512(byte* w, byte* x, Vector256<byte> low, Vector512<byte> eight, Vector512<short> ones, Vector512<ulong> order, Vector512<float> acc)
    {
        // Two blocks: nibbles as [lo0, lo1, hi0, hi1] reordered to [lo0, hi0, lo1, hi1] to meet the two x blocks.
        var q = Vector256.Create(Vector128.Load(w + 2), Vector128.Load(w + WBytes + 2));
        var wq = Vector512.Shuffle(Vector512.Create(q & low, (q >>> 4) & low).AsUInt64(), order).AsByte();
        var xq = Vector512.Create(Vector256.Load((sbyte*)(x + 2)), Vector256.Load((sbyte*)(x + XBytes + 2)));
        var p = MatVec.MulAdd(wq, xq) - MatVec.MulAdd(eight, xq);
        var scale = Vector512.Create(
            Vector256.Create(HalfBits.ToSingle(*(ushort*)w) * HalfBits.ToSingle(*(ushort*)x)),
            Vector256.Create(HalfBits.ToSingle(*(ushort*)(w + WBytes)) * HalfBits.ToSingle(*(ushort*)(x + XBytes))));
        return Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(MatVec.Widen(p, ones)), scale, acc);
    }
}
