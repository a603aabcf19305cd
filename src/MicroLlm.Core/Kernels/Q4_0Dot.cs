using System.Runtime.Intrinsics;

namespace MicroLlm.Kernels;

/// <summary>
/// Q4_0 weights (18-byte blocks: half d, 16 bytes of nibbles; byte i holds weights i and i + 16) against Q8_0
/// activations (34-byte blocks: half d, 32 signed bytes): per block Σ (nibble − 8) · x as integers, then one multiply
/// by <c>d_w · d_x</c>.
/// </summary>
/// <remarks>
/// The integer sum is taken as Σ nibble · x − Σ 8 · x with two unsigned × signed byte multiply-adds (both stay far
/// inside 16 bits), which needs no sign instruction (AVX-512 has none for bytes). Every width accumulates in the
/// reference's order (<c>ggml_vec_dot_q4_0_q8_0</c> on AVX2): 8 float lanes, lane k holding elements 4k..4k+3 of
/// each block, one FMA per block, the lanes summed as <c>_mm256</c> reductions do; so all widths give the same bits,
/// those of <c>Numerics/ReferenceDot.Q4_0</c>.
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
        float* acc = stackalloc float[8];
        new Span<float>(acc, 8).Clear();
        for (int b = 0; b < blocks; b++, w += WBytes, x += XBytes)
        {
            sbyte* xq = (sbyte*)(x + 2);
            float d = HalfBits.ToSingle(*(ushort*)w) * HalfBits.ToSingle(*(ushort*)x);
            for (int lane = 0; lane < 8; lane++)
            {
                int sumi = 0;
                for (int i = 4 * lane; i < (4 * lane) + 4; i++)
                {
                    int code = i < 16 ? w[2 + i] & 0x0F : w[2 + i - 16] >> 4;
                    sumi += (code - 8) * xq[i];
                }

                acc[lane] = MathF.FusedMultiplyAdd(d, sumi, acc[lane]);
            }
        }

        return MatVec.Reduce8(acc);
    }

    private static float Dot128(byte* w, byte* x, int blocks)
    {
        var low = Vector128.Create((byte)0x0F);
        var eight = Vector128.Create((byte)8);
        var ones = Vector128.Create((short)1);
        Vector128<float> acc0 = default, acc1 = default; // lanes 0-3 (elements 0-15) and 4-7 (16-31)
        for (int b = 0; b < blocks; b++, w += WBytes, x += XBytes)
        {
            var q = Vector128.Load(w + 2);
            var x0 = Vector128.Load((sbyte*)(x + 2));
            var x1 = Vector128.Load((sbyte*)(x + 18));
            var p0 = MatVec.MulAdd(q & low, x0) - MatVec.MulAdd(eight, x0);
            var p1 = MatVec.MulAdd((q >>> 4) & low, x1) - MatVec.MulAdd(eight, x1);
            var scale = Vector128.Create(HalfBits.ToSingle(*(ushort*)w) * HalfBits.ToSingle(*(ushort*)x));
            acc0 = Vector128.FusedMultiplyAdd(Vector128.ConvertToSingle(MatVec.Widen(p0, ones)), scale, acc0);
            acc1 = Vector128.FusedMultiplyAdd(Vector128.ConvertToSingle(MatVec.Widen(p1, ones)), scale, acc1);
        }

        return MatVec.Sum(Vector256.Create(acc0, acc1));
    }

    private static float Dot256(byte* w, byte* x, int blocks)
    {
        var low = Vector128.Create((byte)0x0F);
        var eight = Vector256.Create((byte)8);
        var ones = Vector256.Create((short)1);
        Vector256<float> acc = default;
        for (int b = 0; b < blocks; b++, w += WBytes, x += XBytes)
        {
            acc = Block256(w, x, low, eight, ones, acc);
        }

        return MatVec.Sum(acc);
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> BlockSums256(byte* w, byte* x, Vector128<byte> low, Vector256<byte> eight, Vector256<short> ones)
    {
        var q = Vector128.Load(w + 2);
        var wq = Vector256.Create(q & low, (q >>> 4) & low);
        var xq = Vector256.Load((sbyte*)(x + 2));
        return MatVec.Widen(MatVec.MulAdd(wq, xq) - MatVec.MulAdd(eight, xq), ones);
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Block256(byte* w, byte* x, Vector128<byte> low, Vector256<byte> eight, Vector256<short> ones, Vector256<float> acc)
    {
        var scale = Vector256.Create(HalfBits.ToSingle(*(ushort*)w) * HalfBits.ToSingle(*(ushort*)x));
        return Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(BlockSums256(w, x, low, eight, ones)), scale, acc);
    }

    private static float Dot512(byte* w, byte* x, int blocks)
    {
        // Integer sums two blocks at a time; the float accumulation stays the 8-lane chain, block after block.
        var low = Vector256.Create((byte)0x0F);
        var eight = Vector512.Create((byte)8);
        var ones = Vector512.Create((short)1);
        var order = Vector512.Create(0ul, 1, 4, 5, 2, 3, 6, 7);
        Vector256<float> acc = default;
        int b = 0;
        for (; b + 2 <= blocks; b += 2, w += 2 * WBytes, x += 2 * XBytes)
        {
            var sums = Vector512.ConvertToSingle(Pair512(w, x, low, eight, ones, order));
            acc = Vector256.FusedMultiplyAdd(sums.GetLower(), Vector256.Create(HalfBits.ToSingle(*(ushort*)w) * HalfBits.ToSingle(*(ushort*)x)), acc);
            acc = Vector256.FusedMultiplyAdd(sums.GetUpper(), Vector256.Create(HalfBits.ToSingle(*(ushort*)(w + WBytes)) * HalfBits.ToSingle(*(ushort*)(x + XBytes))), acc);
        }

        if (b < blocks)
        {
            acc = Block256(w, x, low.GetLower(), eight.GetLower(), ones.GetLower(), acc);
        }

        return MatVec.Sum(acc);
    }

    /// <summary>
    /// The order of the reference's repacked Q4_0 kernels: each block's integer sum whole, then one scalar
    /// <c>fma(sum, d_w · d_x, acc)</c> per block, block after block.
    /// </summary>
    public static float DotSequential(byte* w, byte* x, int blocks, KernelWidth width)
    {
        float acc = 0;
        if (width is KernelWidth.Vector256 or KernelWidth.Vector512)
        {
            var low = Vector128.Create((byte)0x0F);
            var eight = Vector256.Create((byte)8);
            var ones = Vector256.Create((short)1);
            for (int b = 0; b < blocks; b++, w += WBytes, x += XBytes)
            {
                int sumi = Vector256.Sum(BlockSums256(w, x, low, eight, ones));
                acc = MathF.FusedMultiplyAdd(sumi, HalfBits.ToSingle(*(ushort*)w) * HalfBits.ToSingle(*(ushort*)x), acc);
            }

            return acc;
        }

        for (int b = 0; b < blocks; b++, w += WBytes, x += XBytes)
        {
            sbyte* xq = (sbyte*)(x + 2);
            int sumi = 0;
            for (int i = 0; i < 16; i++)
            {
                int q = w[2 + i];
                sumi += (((q & 0x0F) - 8) * xq[i]) + (((q >> 4) - 8) * xq[i + 16]);
            }

            acc = MathF.FusedMultiplyAdd(sumi, HalfBits.ToSingle(*(ushort*)w) * HalfBits.ToSingle(*(ushort*)x), acc);
        }

        return acc;
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> Pair512(byte* w, byte* x, Vector256<byte> low, Vector512<byte> eight, Vector512<short> ones, Vector512<ulong> order)
    {
        // Two blocks: nibbles as [lo0, lo1, hi0, hi1] reordered to [lo0, hi0, lo1, hi1] to meet the two x blocks.
        var q = Vector256.Create(Vector128.Load(w + 2), Vector128.Load(w + WBytes + 2));
        var wq = Vector512.Shuffle(Vector512.Create(q & low, (q >>> 4) & low).AsUInt64(), order).AsByte();
        var xq = Vector512.Create(Vector256.Load((sbyte*)(x + 2)), Vector256.Load((sbyte*)(x + XBytes + 2)));
        return MatVec.Widen(MatVec.MulAdd(wq, xq) - MatVec.MulAdd(eight, xq), ones);
    }
}
