using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using MicroLlm.Gguf;
using MicroLlm.Quantization;

namespace MicroLlm.Kernels;

/// <summary>
/// Rounds an activation vector to the type a weight multiplies with (<see cref="ActivationTypeFor"/>), in the layout
/// the dot-product kernels read.
/// </summary>
/// <remarks>
/// <para>Layouts: Q8_0 and Q8_K are GGUF blocks (34 bytes per 32 values; 292 bytes per 256 with the 16-value sums).
/// F32, F16 and BF16 activations are kept as floats (4 bytes each), F16/BF16 ones holding the rounded values, so the
/// kernels widen only the weights; BF16 ones in <see cref="BF16Dot.Prepare"/>'s order (each chunk of 32 as its odd
/// elements, then its even ones, subnormals zero, and a trailer of <see cref="BF16Dot.TrailerFloats"/>).</para>
/// <para>Rounding reproduces what the reference runtime runs on x86-64 with AVX2 (the oracle's build on this machine
/// kind), which is not always its portable <c>_ref</c> quantizer: Q8_0 follows <c>quantize_row_q8_0</c>'s AVX path
/// (<c>d = amax / 127</c>, multiplier <c>127 / amax</c>, round half to even), where the reference quantizer
/// (<see cref="Quantizer"/>) multiplies by <c>1 / d</c> and rounds half away from zero; so at ties and in the last bit of
/// the multiplier they can differ by one step. Q8_K follows <c>quantize_row_q8_K_ref</c>, which x86 uses as it is
/// (<c>nearest_int</c>: half to even; the bsums of an all-zero block are written as zeros). F16 and BF16 round half to
/// even as <see cref="Fp16"/> and <see cref="Bf16"/> do. Every width gives the same bytes.</para>
/// </remarks>
internal static unsafe class ActivationQuantizer
{
    /// <summary>The type the reference runtime rounds activations to before multiplying them with <paramref name="weightType"/>.</summary>
    public static GgmlType ActivationTypeFor(GgmlType weightType) => weightType switch
    {
        GgmlType.F32 => GgmlType.F32,
        GgmlType.F16 => GgmlType.F16,
        GgmlType.BF16 => GgmlType.BF16,
        GgmlType.Q4_0 or GgmlType.Q5_0 or GgmlType.Q8_0 or GgmlType.Q4_1 or GgmlType.Q5_1 => GgmlType.Q8_0,
        GgmlType.Q2_K or GgmlType.Q3_K or GgmlType.Q4_K or GgmlType.Q5_K or GgmlType.Q6_K => GgmlType.Q8_K,
        _ => throw new NotSupportedException($"No activation type for {weightType}."),
    };

    /// <summary>Bytes that <paramref name="columns"/> activations take in <paramref name="activationType"/>'s kernel layout.</summary>
    public static int ByteCount(GgmlType activationType, int columns) => activationType switch
    {
        GgmlType.F32 or GgmlType.F16 => columns * sizeof(float),
        GgmlType.BF16 => (columns + BF16Dot.TrailerFloats) * sizeof(float),
        GgmlType.Q8_0 => columns / Q8_0Block.Size * Q8_0Block.Bytes,
        GgmlType.Q8_K => columns / Q8_KBlock.Size * Q8_KBlock.Bytes,
        _ => throw new NotSupportedException($"{activationType} is not an activation type."),
    };

    /// <summary>Rounds <paramref name="x"/> into <paramref name="destination"/> at <see cref="Kernel.Current"/>.</summary>
    public static void Quantize(GgmlType activationType, ReadOnlySpan<float> x, Span<byte> destination) =>
        Quantize(activationType, x, destination, Kernel.Current);

    /// <summary>Rounds <paramref name="x"/> into <paramref name="destination"/> (at least <see cref="ByteCount"/> bytes).</summary>
    public static void Quantize(GgmlType activationType, ReadOnlySpan<float> x, Span<byte> destination, KernelWidth width)
    {
        int bytes = ByteCount(activationType, x.Length);
        ArgumentOutOfRangeException.ThrowIfLessThan(destination.Length, bytes);
        switch (activationType)
        {
            case GgmlType.F32:
                x.CopyTo(MemoryMarshal.Cast<byte, float>(destination));
                break;
            case GgmlType.F16:
                RoundToHalf(x, MemoryMarshal.Cast<byte, float>(destination)[..x.Length], width);
                break;
            case GgmlType.BF16:
                BF16Dot.Prepare(x, MemoryMarshal.Cast<byte, float>(destination)[..(x.Length + BF16Dot.TrailerFloats)]);
                break;
            case GgmlType.Q8_0:
                if (x.Length % Q8_0Block.Size != 0)
                {
                    throw new ArgumentException($"Q8_0 needs a multiple of {Q8_0Block.Size} values.", nameof(x));
                }

                fixed (float* px = x)
                fixed (byte* pd = destination)
                {
                    for (int b = 0; b < x.Length / Q8_0Block.Size; b++)
                    {
                        Q8_0(px + (b * Q8_0Block.Size), pd + (b * Q8_0Block.Bytes), width);
                    }
                }

                break;
            case GgmlType.Q8_K:
                if (x.Length % Q8_KBlock.Size != 0)
                {
                    throw new ArgumentException($"Q8_K needs a multiple of {Q8_KBlock.Size} values.", nameof(x));
                }

                fixed (float* px = x)
                fixed (byte* pd = destination)
                {
                    for (int b = 0; b < x.Length / Q8_KBlock.Size; b++)
                    {
                        Q8_K(px + (b * Q8_KBlock.Size), pd + (b * Q8_KBlock.Bytes), width);
                    }
                }

                break;
            default:
                throw new NotSupportedException($"{activationType} is not an activation type.");
        }
    }

    private static void RoundToHalf(ReadOnlySpan<float> x, Span<float> y, KernelWidth width)
    {
        if (width == KernelWidth.Scalar)
        {
            for (int i = 0; i < x.Length; i++)
            {
                y[i] = (float)(Half)x[i];
            }

            return;
        }

        // Converts in chunks through a stack buffer; TensorPrimitives rounds half to even with vector instructions.
        Span<Half> buffer = stackalloc Half[256];
        for (int i = 0; i < x.Length; i += buffer.Length)
        {
            int n = Math.Min(buffer.Length, x.Length - i);
            System.Numerics.Tensors.TensorPrimitives.ConvertToHalf(x.Slice(i, n), buffer[..n]);
            System.Numerics.Tensors.TensorPrimitives.ConvertToSingle(buffer[..n], y.Slice(i, n));
        }
    }

    /// <summary>One Q8_0 block as ggml's AVX2 <c>quantize_row_q8_0</c> writes it.</summary>
    private static void Q8_0(float* x, byte* block, KernelWidth width)
    {
        sbyte* qs = (sbyte*)(block + 2);
        if (width == KernelWidth.Scalar)
        {
            float amax = 0;
            for (int i = 0; i < 32; i++)
            {
                amax = MathF.Max(amax, MathF.Abs(x[i]));
            }

            float id = Q8_0Scale(amax, block);
            for (int i = 0; i < 32; i++)
            {
                qs[i] = (sbyte)(int)MathF.Round(x[i] * id, MidpointRounding.ToEven);
            }

            return;
        }

        if (width == KernelWidth.Vector512)
        {
            var v0 = Vector512.Load(x);
            var v1 = Vector512.Load(x + 16);
            float id = Q8_0Scale(Vector512.Max(Vector512.Abs(v0), Vector512.Abs(v1)).MaxAcross(), block);
            var mul = Vector512.Create(id);
            var i0 = Vector512.ConvertToInt32(Vector512.Round(v0 * mul));
            var i1 = Vector512.ConvertToInt32(Vector512.Round(v1 * mul));
            var s16 = Vector512.Narrow(i0, i1);
            Vector256.Narrow(s16.GetLower(), s16.GetUpper()).Store(qs);
            return;
        }

        if (width == KernelWidth.Vector256)
        {
            var a = Vector256.Load(x);
            var b = Vector256.Load(x + 8);
            var c = Vector256.Load(x + 16);
            var d = Vector256.Load(x + 24);
            var m = Vector256.Max(Vector256.Max(Vector256.Abs(a), Vector256.Abs(b)), Vector256.Max(Vector256.Abs(c), Vector256.Abs(d)));
            float id = Q8_0Scale(MaxAcross(m.GetLower(), m.GetUpper()), block);
            var mul = Vector256.Create(id);
            var lo = Vector256.Narrow(Vector256.ConvertToInt32(Vector256.Round(a * mul)), Vector256.ConvertToInt32(Vector256.Round(b * mul)));
            var hi = Vector256.Narrow(Vector256.ConvertToInt32(Vector256.Round(c * mul)), Vector256.ConvertToInt32(Vector256.Round(d * mul)));
            Vector256.Narrow(lo, hi).Store(qs);
            return;
        }

        {
            var m = Vector128<float>.Zero;
            for (int j = 0; j < 32; j += 4)
            {
                m = Vector128.Max(m, Vector128.Abs(Vector128.Load(x + j)));
            }

            float id = Q8_0Scale(MaxAcross(m, m), block);
            var mul = Vector128.Create(id);
            for (int j = 0; j < 32; j += 16)
            {
                var s0 = Vector128.Narrow(
                    Vector128.ConvertToInt32(Vector128.Round(Vector128.Load(x + j) * mul)),
                    Vector128.ConvertToInt32(Vector128.Round(Vector128.Load(x + j + 4) * mul)));
                var s1 = Vector128.Narrow(
                    Vector128.ConvertToInt32(Vector128.Round(Vector128.Load(x + j + 8) * mul)),
                    Vector128.ConvertToInt32(Vector128.Round(Vector128.Load(x + j + 12) * mul)));
                Vector128.Narrow(s0, s1).Store(qs + j);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float MaxAcross(Vector128<float> a, Vector128<float> b)
    {
        var m = Vector128.Max(a, b);
        return MathF.Max(MathF.Max(m[0], m[1]), MathF.Max(m[2], m[3]));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float MaxAcross(this Vector512<float> m) => MaxAcross(
        Vector128.Max(m.GetLower().GetLower(), m.GetLower().GetUpper()),
        Vector128.Max(m.GetUpper().GetLower(), m.GetUpper().GetUpper()));

    /// <summary>Stores <c>d = amax / 127</c> as a half and returns the multiplier <c>127 / amax</c> (0 for an all-zero block).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Q8_0Scale(float amax, byte* block)
    {
        *(ushort*)block = Fp16.FromSingle(amax / 127f);
        return amax != 0f ? 127f / amax : 0f;
    }

    /// <summary>One Q8_K block as ggml's <c>quantize_row_q8_K_ref</c> writes it.</summary>
    private static void Q8_K(float* x, byte* block, KernelWidth width)
    {
        sbyte* qs = (sbyte*)(block + 4);
        short* bsums = (short*)(block + 4 + 256);

        // The value of largest magnitude, the first one on ties (the reference compares with '>').
        float amax = 0, max = 0;
        int start = 0;
        if (width != KernelWidth.Scalar)
        {
            var m = Vector128<float>.Zero;
            for (int j = 0; j < 256; j += 4)
            {
                m = Vector128.Max(m, Vector128.Abs(Vector128.Load(x + j)));
            }

            amax = MaxAcross(m, m);
            var target = Vector128.Create(amax);
            for (int j = 0; j < 256; j += 4)
            {
                uint hits = Vector128.Equals(Vector128.Abs(Vector128.Load(x + j)), target).ExtractMostSignificantBits();
                if (hits != 0)
                {
                    max = x[j + System.Numerics.BitOperations.TrailingZeroCount(hits)];
                    break;
                }
            }

            start = 256;
        }

        for (int j = start; j < 256; j++)
        {
            float ax = MathF.Abs(x[j]);
            if (ax > amax)
            {
                amax = ax;
                max = x[j];
            }
        }

        if (amax == 0f)
        {
            new Span<byte>(block, Q8_KBlock.Bytes).Clear();
            return;
        }

        float iscale = -127f / max;
        if (width == KernelWidth.Scalar)
        {
            for (int j = 0; j < 256; j++)
            {
                qs[j] = (sbyte)Math.Min(127, ReferenceRounding.NearestInt(iscale * x[j]));
            }

            for (int g = 0; g < 16; g++)
            {
                int sum = 0;
                for (int i = 0; i < 16; i++)
                {
                    sum += qs[(g * 16) + i];
                }

                bsums[g] = (short)sum;
            }
        }
        else
        {
            var mul = Vector128.Create(iscale);
            var top = Vector128.Create(127);
            for (int g = 0; g < 16; g++)
            {
                float* xg = x + (g * 16);
                var i0 = Vector128.Min(top, Vector128.ConvertToInt32(Vector128.Round(Vector128.Load(xg) * mul)));
                var i1 = Vector128.Min(top, Vector128.ConvertToInt32(Vector128.Round(Vector128.Load(xg + 4) * mul)));
                var i2 = Vector128.Min(top, Vector128.ConvertToInt32(Vector128.Round(Vector128.Load(xg + 8) * mul)));
                var i3 = Vector128.Min(top, Vector128.ConvertToInt32(Vector128.Round(Vector128.Load(xg + 12) * mul)));
                Vector128.Narrow(Vector128.Narrow(i0, i1), Vector128.Narrow(i2, i3)).Store(qs + (g * 16));
                bsums[g] = (short)Vector128.Sum((i0 + i1) + (i2 + i3));
            }
        }

        *(float*)block = 1f / iscale;
    }
}
