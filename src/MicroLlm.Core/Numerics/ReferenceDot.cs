using System.Buffers.Binary;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using MicroLlm.Gguf;
using MicroLlm.Quantization;

namespace MicroLlm.Numerics;

/// <summary>
/// Dot products of a stored weight row with a quantized activation row, in the reference runtime's float order on an
/// AVX2/AVX-512 CPU, so that every product agrees with its bit for bit.
/// </summary>
/// <remarks>
/// <para>
/// The integer part of a quantized dot product is exact in any order; only the float accumulation decides the bits.
/// The reference's AVX2 kernels (<c>ggml_vec_dot_{q4_0,q5_0,q8_0}_q8_0</c>, <c>ggml_vec_dot_{q4,q5,q6}_K_q8_K</c>, and
/// tinyBLAS's <c>tinyBLAS_Q0_AVX</c>, which prompt batches take for Q8_0) keep 8 float lanes: lane L holds the integer
/// sum of the elements whose index within their 32-element chunk is 4L..4L+3 (weighted by the sub-block scale for the
/// K-quants), and each block adds <c>fma(d, lane, acc)</c> with <c>d = d_activation · d_weight</c>. The 8 lanes are then
/// summed in <see cref="ReferenceMath.Reduce8"/>'s tree. Q4_K adds its minimums in 4 more lanes, Q5_K in one scalar FMA.
/// </para>
/// <para>
/// Q4_0 matrices whose row count is a multiple of 8 are repacked by the reference into interleaved 8-row blocks
/// (<c>q4_0_8x8</c>), whose kernels accumulate one float per row: <c>acc = fma(block sum, d_w · d_a, acc)</c> over
/// the blocks in order (<see cref="Q4_0Sequential"/>).
/// </para>
/// <para>
/// F16 and F32 weights take tinyBLAS in prompt batches: 16 lanes, lane i accumulating elements 16c + i with FMA, then
/// <see cref="ReferenceMath.Reduce16"/>. The reference's single-token path (<c>ggml_vec_dot_f16</c>) uses another order;
/// we follow the batched one everywhere so that a prompt and a decode give the same bits.
/// </para>
/// <para>
/// Activations are quantized as the reference's CPU path does: Q8_0 with <see cref="QuantizeQ8_0"/> (scale 127/max,
/// rounding to nearest even, unlike the reference quantizer's half-away-from-zero), Q8_K with the reference quantizer,
/// F16 rounding to nearest even, BF16 rounding to nearest even with NaNs made quiet (<c>GGML_FP32_TO_BF16</c>).
/// </para>
/// <para>
/// BF16 weights take tinyBLAS with AVX512-BF16 (the reference's build on this machine kind defines
/// <c>__AVX512BF16__</c>), whose <c>vdpbf16ps</c> gives lane i of 16 the pair 2i, 2i+1 of every 32 elements: two FMAs
/// per pair, the odd element first, inputs denormal-as-zero and every result flushed to zero when subnormal; then
/// <see cref="ReferenceMath.Reduce16"/> (<see cref="BF16"/>). Matrices tinyBLAS refuses (rows not a multiple of 4, or
/// rows not a multiple of 32 long) take <c>ggml_vec_dot_bf16</c> (<see cref="BF16VecDot"/>).
/// </para>
/// </remarks>
internal static class ReferenceDot
{
    private const int Q8_0Bytes = 34, Q4_0Bytes = 18, Q5_0Bytes = 22, Q8_KBytes = 292, Q3_KBytes = 110, Q4_KBytes = 144, Q5_KBytes = 176, Q6_KBytes = 210;

    /// <summary>Whether <see cref="Dot"/> computes with weights of <paramref name="weightType"/>.</summary>
    public static bool Supports(GgmlType weightType) => weightType is GgmlType.F32 or GgmlType.F16 or GgmlType.BF16 or GgmlType.Q4_0
        or GgmlType.Q5_0 or GgmlType.Q8_0 or GgmlType.Q3_K or GgmlType.Q4_K or GgmlType.Q5_K or GgmlType.Q6_K;

    /// <summary>The type the reference quantizes activations to before the dot products with <paramref name="weightType"/>.</summary>
    public static GgmlType ActivationType(GgmlType weightType) => weightType switch
    {
        GgmlType.F32 => GgmlType.F32,
        GgmlType.F16 => GgmlType.F16,
        GgmlType.BF16 => GgmlType.BF16,
        GgmlType.Q4_0 or GgmlType.Q5_0 or GgmlType.Q8_0 => GgmlType.Q8_0,
        GgmlType.Q3_K or GgmlType.Q4_K or GgmlType.Q5_K or GgmlType.Q6_K => GgmlType.Q8_K,
        _ => throw new NotSupportedException($"No reference-order dot product for {weightType}."),
    };

    /// <summary>Bytes of one activation row of <paramref name="columns"/> elements in <paramref name="activationType"/>.</summary>
    public static int ActivationBytes(GgmlType activationType, int columns) => (int)GgmlTypeInfo.Get(activationType).ByteCount(columns);

    /// <summary>Quantizes one activation row as the reference's CPU path does before its dot products.</summary>
    public static void QuantizeActivations(GgmlType activationType, ReadOnlySpan<float> x, Span<byte> destination)
    {
        switch (activationType)
        {
            case GgmlType.F32:
                System.Runtime.InteropServices.MemoryMarshal.AsBytes(x).CopyTo(destination);
                break;
            case GgmlType.Q8_0:
                QuantizeQ8_0(x, destination);
                break;
            default:
                Quantizer.Quantize(activationType, x, destination[..ActivationBytes(activationType, x.Length)]);
                break;
        }
    }

    /// <summary>
    /// Q8_0 as the reference's AVX <c>quantize_row_q8_0</c>: <c>d = max|x| / 127</c> stored as a half,
    /// codes <c>round_to_nearest_even(x · (127 / max|x|))</c>.
    /// </summary>
    public static void QuantizeQ8_0(ReadOnlySpan<float> x, Span<byte> blocks)
    {
        for (int b = 0; b < x.Length / 32; b++)
        {
            var v = x.Slice(b * 32, 32);
            var block = blocks.Slice(b * Q8_0Bytes, Q8_0Bytes);
            float max = 0f;
            foreach (float e in v)
            {
                max = MathF.Max(max, MathF.Abs(e));
            }

            float d = max / 127f;
            float id = max != 0f ? 127f / max : 0f;
            BlockReader.WriteHalf(block, 0, d);
            for (int j = 0; j < 32; j++)
            {
                float q = MathF.Round(v[j] * id, MidpointRounding.ToEven);
                block[2 + j] = unchecked((byte)(sbyte)Math.Clamp((int)q, -128, 127));
            }
        }
    }

    /// <summary>
    /// The dot product of weight row <paramref name="weights"/> (<paramref name="n"/> elements of
    /// <paramref name="weightType"/>) with <paramref name="activations"/> quantized by <see cref="QuantizeActivations"/>.
    /// <paramref name="interleavedQ4_0"/> selects the order of the reference's repacked Q4_0 kernels. BF16 rows take
    /// tinyBLAS's order (<see cref="BF16"/>); a matrix whose row count is not a multiple of 4 takes <see cref="BF16VecDot"/>.
    /// </summary>
    public static float Dot(GgmlType weightType, ReadOnlySpan<byte> weights, ReadOnlySpan<byte> activations, int n, bool interleavedQ4_0 = false) => weightType switch
    {
        GgmlType.F32 => F32(System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(weights)[..n], System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(activations)[..n]),
        GgmlType.F16 => F16(System.Runtime.InteropServices.MemoryMarshal.Cast<byte, Half>(weights)[..n], System.Runtime.InteropServices.MemoryMarshal.Cast<byte, Half>(activations)[..n]),
        GgmlType.BF16 => BF16(System.Runtime.InteropServices.MemoryMarshal.Cast<byte, ushort>(weights)[..n], System.Runtime.InteropServices.MemoryMarshal.Cast<byte, ushort>(activations)[..n]),
        GgmlType.Q8_0 => Q8_0(weights, activations, n),
        GgmlType.Q4_0 => interleavedQ4_0 ? Q4_0Sequential(weights, activations, n) : Q4_0(weights, activations, n),
        GgmlType.Q5_0 => Q5_0(weights, activations, n),
        GgmlType.Q3_K => Q3_K(weights, activations, n),
        GgmlType.Q4_K => Q4_K(weights, activations, n),
        GgmlType.Q5_K => Q5_K(weights, activations, n),
        GgmlType.Q6_K => Q6_K(weights, activations, n),
        _ => throw new NotSupportedException($"No reference-order dot product for {weightType}."),
    };

    /// <summary>Q8_0 · Q8_0 in 8 lanes (<c>ggml_vec_dot_q8_0_q8_0</c>, tinyBLAS_Q0_AVX).</summary>
    public static float Q8_0(ReadOnlySpan<byte> weights, ReadOnlySpan<byte> activations, int n)
    {
        Span<float> acc = stackalloc float[8];
        acc.Clear();
        for (int b = 0; b < n / 32; b++)
        {
            var w = weights.Slice(b * Q8_0Bytes, Q8_0Bytes);
            var a = activations.Slice(b * Q8_0Bytes, Q8_0Bytes);
            float d = BlockReader.Half(w, 0) * BlockReader.Half(a, 0);
            for (int lane = 0; lane < 8; lane++)
            {
                int s = 0;
                for (int e = 2 + (4 * lane); e < 6 + (4 * lane); e++)
                {
                    s += (sbyte)w[e] * (sbyte)a[e];
                }

                acc[lane] = MathF.FusedMultiplyAdd(d, s, acc[lane]);
            }
        }

        return ReferenceMath.Reduce8(acc);
    }

    /// <summary>Q4_0 · Q8_0 in 8 lanes (<c>ggml_vec_dot_q4_0_q8_0</c>, tinyBLAS_Q0_AVX).</summary>
    public static float Q4_0(ReadOnlySpan<byte> weights, ReadOnlySpan<byte> activations, int n)
    {
        Span<float> acc = stackalloc float[8];
        acc.Clear();
        for (int b = 0; b < n / 32; b++)
        {
            var w = weights.Slice(b * Q4_0Bytes, Q4_0Bytes);
            var a = activations.Slice(b * Q8_0Bytes, Q8_0Bytes);
            float d = BlockReader.Half(w, 0) * BlockReader.Half(a, 0);
            for (int lane = 0; lane < 8; lane++)
            {
                int s = 0;
                for (int i = 4 * lane; i < (4 * lane) + 4; i++)
                {
                    s += Q4_0Code(w, i) * (sbyte)a[2 + i];
                }

                acc[lane] = MathF.FusedMultiplyAdd(d, s, acc[lane]);
            }
        }

        return ReferenceMath.Reduce8(acc);
    }

    /// <summary>Q5_0 · Q8_0 in 8 lanes (<c>ggml_vec_dot_q5_0_q8_0</c>, tinyBLAS_Q0_AVX): Q4_0's order with 5-bit codes.</summary>
    public static float Q5_0(ReadOnlySpan<byte> weights, ReadOnlySpan<byte> activations, int n)
    {
        Span<float> acc = stackalloc float[8];
        acc.Clear();
        for (int b = 0; b < n / 32; b++)
        {
            var w = weights.Slice(b * Q5_0Bytes, Q5_0Bytes);
            var a = activations.Slice(b * Q8_0Bytes, Q8_0Bytes);
            float d = BlockReader.Half(w, 0) * BlockReader.Half(a, 0);
            uint qh = BlockReader.U32(w, 2);
            for (int lane = 0; lane < 8; lane++)
            {
                int s = 0;
                for (int i = 4 * lane; i < (4 * lane) + 4; i++)
                {
                    int nibble = i < 16 ? w[6 + i] & 0xF : w[6 + i - 16] >> 4;
                    s += ((nibble | (int)(((qh >> i) & 1) << 4)) - 16) * (sbyte)a[2 + i];
                }

                acc[lane] = MathF.FusedMultiplyAdd(d, s, acc[lane]);
            }
        }

        return ReferenceMath.Reduce8(acc);
    }

    /// <summary>Q4_0 · Q8_0 in the repacked kernels' order: one accumulator, one FMA per block.</summary>
    public static float Q4_0Sequential(ReadOnlySpan<byte> weights, ReadOnlySpan<byte> activations, int n)
    {
        float acc = 0f;
        for (int b = 0; b < n / 32; b++)
        {
            var w = weights.Slice(b * Q4_0Bytes, Q4_0Bytes);
            var a = activations.Slice(b * Q8_0Bytes, Q8_0Bytes);
            int s = 0;
            for (int i = 0; i < 32; i++)
            {
                s += Q4_0Code(w, i) * (sbyte)a[2 + i];
            }

            acc = MathF.FusedMultiplyAdd(s, BlockReader.Half(w, 0) * BlockReader.Half(a, 0), acc);
        }

        return acc;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Q4_0Code(ReadOnlySpan<byte> block, int i) => (i < 16 ? block[2 + i] & 0xF : block[2 + i - 16] >> 4) - 8;

    /// <summary>Q3_K · Q8_K (<c>ggml_vec_dot_q3_K_q8_K</c>, AVX2): signed 6-bit scales per 16 weights, as Q6_K's lanes.</summary>
    public static float Q3_K(ReadOnlySpan<byte> weights, ReadOnlySpan<byte> activations, int n)
    {
        Span<float> acc = stackalloc float[8];
        Span<int> lanes = stackalloc int[8];
        Span<int> scaled = stackalloc int[256];
        Span<int> scales = stackalloc int[16];
        acc.Clear();
        for (int b = 0; b < n / 256; b++)
        {
            var w = weights.Slice(b * Q3_KBytes, Q3_KBytes);
            var a = activations.Slice(b * Q8_KBytes, Q8_KBytes);
            float d = BinaryPrimitives.ReadSingleLittleEndian(a) * BlockReader.Half(w, 108);
            var hmask = w[..32];
            var qs = w.Slice(32, 64);
            var sc = w.Slice(96, 12);
            for (int g = 0; g < 16; g++)
            {
                int low = g < 8 ? sc[g] & 0xF : sc[g - 8] >> 4;
                int high = (sc[8 + (g % 4)] >> (2 * (g / 4))) & 3;
                scales[g] = (low | (high << 4)) - 32;
            }

            for (int h = 0; h < 2; h++)
            {
                for (int part = 0; part < 4; part++)
                {
                    for (int i = 0; i < 32; i++)
                    {
                        int e = (128 * h) + (32 * part) + i;
                        int code = ((qs[(32 * h) + i] >> (2 * part)) & 3) - (((hmask[i] >> ((4 * h) + part)) & 1) != 0 ? 0 : 4);
                        scaled[e] = scales[e / 16] * code;
                    }
                }
            }

            LaneSums(scaled, a.Slice(4, 256), lanes);
            for (int lane = 0; lane < 8; lane++)
            {
                acc[lane] = MathF.FusedMultiplyAdd(d, lanes[lane], acc[lane]);
            }
        }

        return ReferenceMath.Reduce8(acc);
    }

    /// <summary>Q4_K · Q8_K (<c>ggml_vec_dot_q4_K_q8_K</c>, AVX2).</summary>
    public static float Q4_K(ReadOnlySpan<byte> weights, ReadOnlySpan<byte> activations, int n)
    {
        Span<float> acc = stackalloc float[8];
        Span<float> accMin = stackalloc float[4];
        Span<int> lanes = stackalloc int[8];
        Span<int> scaled = stackalloc int[256];
        Span<int> scales = stackalloc int[8];
        Span<int> mins = stackalloc int[8];
        acc.Clear();
        accMin.Clear();
        for (int b = 0; b < n / 256; b++)
        {
            var w = weights.Slice(b * Q4_KBytes, Q4_KBytes);
            var a = activations.Slice(b * Q8_KBytes, Q8_KBytes);
            float ad = BinaryPrimitives.ReadSingleLittleEndian(a);
            float d = ad * BlockReader.Half(w, 0);
            float dmin = -ad * BlockReader.Half(w, 2);
            ScalesAndMins(w.Slice(4, 12), scales, mins);
            var qs = w.Slice(16, 128);
            for (int j = 0; j < 4; j++)
            {
                for (int i = 0; i < 32; i++)
                {
                    scaled[(64 * j) + i] = scales[2 * j] * (qs[(32 * j) + i] & 0xF);
                    scaled[(64 * j) + 32 + i] = scales[(2 * j) + 1] * (qs[(32 * j) + i] >> 4);
                }
            }

            LaneSums(scaled, a.Slice(4, 256), lanes);
            for (int lane = 0; lane < 8; lane++)
            {
                acc[lane] = MathF.FusedMultiplyAdd(d, lanes[lane], acc[lane]);
            }

            for (int m = 0; m < 4; m++)
            {
                int prod = (mins[2 * m] * SubBlockSum(a, 2 * m)) + (mins[(2 * m) + 1] * SubBlockSum(a, (2 * m) + 1));
                accMin[m] = MathF.FusedMultiplyAdd(dmin, prod, accMin[m]);
            }
        }

        return ReferenceMath.Reduce8(acc) + ((accMin[0] + accMin[2]) + (accMin[1] + accMin[3]));
    }

    /// <summary>Q5_K · Q8_K (<c>ggml_vec_dot_q5_K_q8_K</c>, AVX2; the compiler contracts its minimum term into one FMA).</summary>
    public static float Q5_K(ReadOnlySpan<byte> weights, ReadOnlySpan<byte> activations, int n)
    {
        Span<float> acc = stackalloc float[8];
        Span<int> lanes = stackalloc int[8];
        Span<int> scaled = stackalloc int[256];
        Span<int> scales = stackalloc int[8];
        Span<int> mins = stackalloc int[8];
        acc.Clear();
        float sumMins = 0f;
        for (int b = 0; b < n / 256; b++)
        {
            var w = weights.Slice(b * Q5_KBytes, Q5_KBytes);
            var a = activations.Slice(b * Q8_KBytes, Q8_KBytes);
            float ad = BinaryPrimitives.ReadSingleLittleEndian(a);
            float d = ad * BlockReader.Half(w, 0);
            float dmin = -ad * BlockReader.Half(w, 2);
            ScalesAndMins(w.Slice(4, 12), scales, mins);
            var qh = w.Slice(16, 32);
            var qs = w.Slice(48, 128);
            for (int j = 0; j < 4; j++)
            {
                for (int i = 0; i < 32; i++)
                {
                    int lo = (qs[(32 * j) + i] & 0xF) | (((qh[i] >> (2 * j)) & 1) << 4);
                    int hi = (qs[(32 * j) + i] >> 4) | (((qh[i] >> ((2 * j) + 1)) & 1) << 4);
                    scaled[(64 * j) + i] = scales[2 * j] * lo;
                    scaled[(64 * j) + 32 + i] = scales[(2 * j) + 1] * hi;
                }
            }

            LaneSums(scaled, a.Slice(4, 256), lanes);
            for (int lane = 0; lane < 8; lane++)
            {
                acc[lane] = MathF.FusedMultiplyAdd(d, lanes[lane], acc[lane]);
            }

            int minSum = 0;
            for (int k = 0; k < 8; k++)
            {
                minSum += mins[k] * SubBlockSum(a, k);
            }

            sumMins = MathF.FusedMultiplyAdd(dmin, minSum, sumMins);
        }

        return ReferenceMath.Reduce8(acc) + sumMins;
    }

    /// <summary>Q6_K · Q8_K (<c>ggml_vec_dot_q6_K_q8_K</c>, AVX2).</summary>
    public static float Q6_K(ReadOnlySpan<byte> weights, ReadOnlySpan<byte> activations, int n)
    {
        Span<float> acc = stackalloc float[8];
        Span<int> lanes = stackalloc int[8];
        Span<int> scaled = stackalloc int[256];
        acc.Clear();
        for (int b = 0; b < n / 256; b++)
        {
            var w = weights.Slice(b * Q6_KBytes, Q6_KBytes);
            var a = activations.Slice(b * Q8_KBytes, Q8_KBytes);
            float d = BinaryPrimitives.ReadSingleLittleEndian(a) * BlockReader.Half(w, 208);
            var ql = w[..128];
            var qh = w.Slice(128, 64);
            var sc = w.Slice(192, 16);
            for (int h = 0; h < 2; h++)
            {
                for (int i = 0; i < 32; i++)
                {
                    int l0 = ql[(64 * h) + i], l1 = ql[(64 * h) + 32 + i], hb = qh[(32 * h) + i];
                    int e = 128 * h;
                    scaled[e + i] = (sbyte)sc[(e + i) / 16] * (((l0 & 0xF) | ((hb & 3) << 4)) - 32);
                    scaled[e + 32 + i] = (sbyte)sc[(e + 32 + i) / 16] * (((l1 & 0xF) | (((hb >> 2) & 3) << 4)) - 32);
                    scaled[e + 64 + i] = (sbyte)sc[(e + 64 + i) / 16] * (((l0 >> 4) | (((hb >> 4) & 3) << 4)) - 32);
                    scaled[e + 96 + i] = (sbyte)sc[(e + 96 + i) / 16] * (((l1 >> 4) | (((hb >> 6) & 3) << 4)) - 32);
                }
            }

            LaneSums(scaled, a.Slice(4, 256), lanes);
            for (int lane = 0; lane < 8; lane++)
            {
                acc[lane] = MathF.FusedMultiplyAdd(d, lanes[lane], acc[lane]);
            }
        }

        return ReferenceMath.Reduce8(acc);
    }

    /// <summary>F16 · F16 in 16 lanes (tinyBLAS); lengths that are not a multiple of 16 sum in double, as <c>ggml_vec_dot_f16</c>'s tail.</summary>
    public static float F16(ReadOnlySpan<Half> weights, ReadOnlySpan<Half> activations)
    {
        // Widening is exact, so this is F32's arithmetic on the widened values.
        int n = weights.Length;
        float[]? rented = n > 512 ? System.Buffers.ArrayPool<float>.Shared.Rent(2 * n) : null;
        Span<float> buffer = rented is null ? stackalloc float[2 * n] : rented.AsSpan(0, 2 * n);
        try
        {
            TensorPrimitives.ConvertToSingle(weights, buffer[..n]);
            TensorPrimitives.ConvertToSingle(activations, buffer[n..]);
            return F32(buffer[..n], buffer[n..]);
        }
        finally
        {
            if (rented is not null)
            {
                System.Buffers.ArrayPool<float>.Shared.Return(rented);
            }
        }
    }

    /// <summary>
    /// F32 · F32 in 16 lanes (tinyBLAS: lane i accumulates elements 16c + i with FMA, then <see cref="ReferenceMath.Reduce16"/>);
    /// other lengths sum in double. Vector512 or two Vector256 halves where the hardware has them, the same bits as
    /// <see cref="F32Scalar"/>.
    /// </summary>
    public static float F32(ReadOnlySpan<float> weights, ReadOnlySpan<float> activations)
    {
        int n = weights.Length;
        if (n % 16 != 0 || activations.Length < n)
        {
            return F32Scalar(weights, activations);
        }

        Span<float> lanes = stackalloc float[16];
        if (Vector512.IsHardwareAccelerated)
        {
            var acc = Vector512<float>.Zero;
            for (int c = 0; c < n; c += 16)
            {
                acc = Vector512.FusedMultiplyAdd(Vector512.Create(weights.Slice(c, 16)), Vector512.Create(activations.Slice(c, 16)), acc);
            }

            acc.CopyTo(lanes);
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            Vector256<float> lo = Vector256<float>.Zero, hi = Vector256<float>.Zero;
            for (int c = 0; c < n; c += 16)
            {
                lo = Vector256.FusedMultiplyAdd(Vector256.Create(weights.Slice(c, 8)), Vector256.Create(activations.Slice(c, 8)), lo);
                hi = Vector256.FusedMultiplyAdd(Vector256.Create(weights.Slice(c + 8, 8)), Vector256.Create(activations.Slice(c + 8, 8)), hi);
            }

            lo.CopyTo(lanes);
            hi.CopyTo(lanes[8..]);
        }
        else
        {
            return F32Scalar(weights, activations);
        }

        return ReferenceMath.Reduce16(lanes);
    }

    /// <summary>The scalar emulation of <see cref="F32"/>: the same lanes, one FMA at a time.</summary>
    public static float F32Scalar(ReadOnlySpan<float> weights, ReadOnlySpan<float> activations)
    {
        int n = weights.Length;
        if (n % 16 != 0)
        {
            double sum = 0;
            for (int i = 0; i < n; i++)
            {
                sum += weights[i] * activations[i];
            }

            return (float)sum;
        }

        Span<float> acc = stackalloc float[16];
        acc.Clear();
        for (int c = 0; c < n; c += 16)
        {
            for (int i = 0; i < 16; i++)
            {
                acc[i] = MathF.FusedMultiplyAdd(weights[c + i], activations[c + i], acc[i]);
            }
        }

        return ReferenceMath.Reduce16(acc);
    }

    /// <summary>
    /// BF16 · BF16 as tinyBLAS with AVX512-BF16 (rows of a multiple of 32): lane i of 16 accumulates, per 32-element
    /// chunk, <see cref="DotPair"/> of elements 2i and 2i + 1, then <see cref="ReferenceMath.Reduce16"/>. Other lengths
    /// take <see cref="BF16VecDot"/>, as the reference does.
    /// </summary>
    public static float BF16(ReadOnlySpan<ushort> weights, ReadOnlySpan<ushort> activations)
    {
        int n = weights.Length;
        if (n % 32 != 0)
        {
            return BF16VecDot(weights, activations);
        }

        Span<float> acc = stackalloc float[16];
        BF16Lanes(weights, activations, acc);
        return ReferenceMath.Reduce16(acc);
    }

    /// <summary>
    /// BF16 · BF16 as <c>ggml_vec_dot_bf16</c> with AVX512-BF16: per 64 elements, the first 32 into one set of 16
    /// <see cref="DotPair"/> lanes and the last 32 into another; each set reduced by <see cref="ReferenceMath.Reduce16"/>
    /// and added in double, then the remaining elements' float products in double.
    /// </summary>
    public static float BF16VecDot(ReadOnlySpan<ushort> weights, ReadOnlySpan<ushort> activations)
    {
        int n = weights.Length, whole = n / 64 * 64;
        Span<float> c1 = stackalloc float[16];
        Span<float> c2 = stackalloc float[16];
        c1.Clear();
        c2.Clear();
        for (int i = 0; i < whole; i += 64)
        {
            for (int lane = 0; lane < 16; lane++)
            {
                int e = i + (2 * lane);
                c1[lane] = DotPair(c1[lane], weights[e], weights[e + 1], activations[e], activations[e + 1]);
                c2[lane] = DotPair(c2[lane], weights[e + 32], weights[e + 33], activations[e + 32], activations[e + 33]);
            }
        }

        double sum = ReferenceMath.Reduce16(c1);
        sum += ReferenceMath.Reduce16(c2);
        for (int i = whole; i < n; i++)
        {
            sum += Bf16.ToSingle(weights[i]) * Bf16.ToSingle(activations[i]);
        }

        return (float)sum;
    }

    /// <summary>The 16 lanes of <see cref="BF16"/> before the reduction (n a multiple of 32), into <paramref name="acc"/>.</summary>
    private static void BF16Lanes(ReadOnlySpan<ushort> weights, ReadOnlySpan<ushort> activations, Span<float> acc)
    {
        acc.Clear();
        for (int c = 0; c < weights.Length; c += 32)
        {
            for (int lane = 0; lane < 16; lane++)
            {
                int e = c + (2 * lane);
                acc[lane] = DotPair(acc[lane], weights[e], weights[e + 1], activations[e], activations[e + 1]);
            }
        }
    }

    /// <summary>
    /// One lane of <c>vdpbf16ps</c>: <c>acc += w1·x1</c>, then <c>acc += w0·x0</c>, each one FMA (a product of two
    /// bfloat16s is exact in float), with subnormal inputs read as zero and subnormal results flushed to zero, both
    /// keeping the sign, as the instruction does whatever MXCSR says.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float DotPair(float acc, ushort w0, ushort w1, ushort x0, ushort x1)
    {
        acc = FlushSubnormal(MathF.FusedMultiplyAdd(ZeroIfSubnormal(w1), ZeroIfSubnormal(x1), FlushSubnormal(acc)));
        return FlushSubnormal(MathF.FusedMultiplyAdd(ZeroIfSubnormal(w0), ZeroIfSubnormal(x0), acc));
    }

    /// <summary>A bfloat16 widened, ±0 when it is subnormal.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float ZeroIfSubnormal(ushort bf16) => Bf16.ToSingle((bf16 & 0x7F80) == 0 ? (ushort)(bf16 & 0x8000) : bf16);

    /// <summary><paramref name="x"/>, or ±0 when it is subnormal.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float FlushSubnormal(float x)
    {
        uint bits = BitConverter.SingleToUInt32Bits(x);
        return (bits & 0x7F80_0000) == 0 ? BitConverter.UInt32BitsToSingle(bits & 0x8000_0000) : x;
    }

    /// <summary>lanes[L] = Σ scaled[i] · q8[i] over the i whose index within its 32-element chunk is 4L..4L+3.</summary>
    private static void LaneSums(ReadOnlySpan<int> scaled, ReadOnlySpan<byte> q8, Span<int> lanes)
    {
        lanes.Clear();
        for (int c = 0; c < 256; c += 32)
        {
            for (int lane = 0; lane < 8; lane++)
            {
                int i = c + (4 * lane);
                lanes[lane] += (scaled[i] * (sbyte)q8[i]) + (scaled[i + 1] * (sbyte)q8[i + 1])
                    + (scaled[i + 2] * (sbyte)q8[i + 2]) + (scaled[i + 3] * (sbyte)q8[i + 3]);
            }
        }
    }

    /// <summary>The sum of a Q8_K block's codes over 32-element sub-block <paramref name="k"/> (two of its 16-element bsums).</summary>
    private static int SubBlockSum(ReadOnlySpan<byte> q8k, int k) =>
        BinaryPrimitives.ReadInt16LittleEndian(q8k[(260 + (4 * k))..]) + BinaryPrimitives.ReadInt16LittleEndian(q8k[(262 + (4 * k))..]);

    /// <summary>The eight 6-bit scales and minimums of a Q4_K/Q5_K block.</summary>
    private static void ScalesAndMins(ReadOnlySpan<byte> s, Span<int> scales, Span<int> mins)
    {
        for (int j = 0; j < 8; j++)
        {
            if (j < 4)
            {
                scales[j] = s[j] & 63;
                mins[j] = s[j + 4] & 63;
            }
            else
            {
                scales[j] = (s[j + 4] & 0xF) | ((s[j - 4] >> 6) << 4);
                mins[j] = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
            }
        }
    }
}
