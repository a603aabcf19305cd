using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace MicroLlm.Kernels;

/// <summary>
/// Dot products of F32, F16 and BF16 weight rows with float activations (already rounded to the weight's type): the
/// weights are widened to float in registers and multiplied with FMA into four accumulators.
/// </summary>
internal static unsafe class FloatDot
{
    /// <summary>Σ w[i] x[i] over <paramref name="n"/> floats.</summary>
    public static float F32(float* w, float* x, int n, KernelWidth width)
    {
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

    /// <summary>Σ bf16(w[i]) x[i] over <paramref name="n"/> values; <paramref name="w"/> holds little-endian bfloat16s.</summary>
    public static float BF16(byte* w, float* x, int n, KernelWidth width)
    {
        ushort* h = (ushort*)w;
        int i = 0;
        float sum = 0;
        if (width == KernelWidth.Vector512)
        {
            Vector512<float> a0 = default, a1 = default;
            for (; i + 32 <= n; i += 32)
            {
                a0 = Vector512.FusedMultiplyAdd((Avx512F.ConvertToVector512UInt32(Vector256.Load(h + i)) << 16).AsSingle(), Vector512.Load(x + i), a0);
                a1 = Vector512.FusedMultiplyAdd((Avx512F.ConvertToVector512UInt32(Vector256.Load(h + i + 16)) << 16).AsSingle(), Vector512.Load(x + i + 16), a1);
            }

            sum = MatVec.Sum(a0 + a1);
        }
        else if (width == KernelWidth.Vector256)
        {
            Vector256<float> a0 = default, a1 = default;
            for (; i + 16 <= n; i += 16)
            {
                a0 = Vector256.FusedMultiplyAdd((Avx2.ConvertToVector256Int32(Vector128.Load(h + i)) << 16).AsSingle(), Vector256.Load(x + i), a0);
                a1 = Vector256.FusedMultiplyAdd((Avx2.ConvertToVector256Int32(Vector128.Load(h + i + 8)) << 16).AsSingle(), Vector256.Load(x + i + 8), a1);
            }

            sum = MatVec.Sum(a0 + a1);
        }
        else if (width == KernelWidth.Vector128)
        {
            Vector128<float> a0 = default, a1 = default;
            for (; i + 8 <= n; i += 8)
            {
                var bits = Vector128.Load(h + i);
                a0 = Vector128.FusedMultiplyAdd((Vector128.WidenLower(bits) << 16).AsSingle(), Vector128.Load(x + i), a0);
                a1 = Vector128.FusedMultiplyAdd((Vector128.WidenUpper(bits) << 16).AsSingle(), Vector128.Load(x + i + 4), a1);
            }

            sum = MatVec.Sum(a0 + a1);
        }

        for (; i < n; i++)
        {
            sum += BitConverter.UInt32BitsToSingle((uint)h[i] << 16) * x[i];
        }

        return sum;
    }
}
