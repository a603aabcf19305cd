using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using MicroLlm.Numerics;

namespace MicroLlm.Kernels;

/// <summary>
/// One query head against the F16 KV cache in the reference's arithmetic, with 512-bit vectors: the query rounded to
/// F16; each score the 16-lane dot product of tinyBLAS (lane j accumulates elements 16c + j by FMA, lanes summed in
/// <see cref="ReferenceMath.Reduce16"/>'s tree), optionally soft-capped, times the softmax scale;
/// <see cref="ReferenceMath.SoftmaxVector512"/> (the bits of <see cref="ReferenceMath.Softmax"/>); probabilities rounded to F16 and accumulated into the values with cell t in
/// lane t mod 16 (one FMA per element), the 16 lanes summed per element in the same tree.
/// </summary>
/// <remarks>
/// The same operations, in the same order per output, as the scalar path in <c>TransformerState</c>; the vectors run
/// across the head's elements (for the values) or a key's 16 lanes (for the scores), never across a sum. Halves are
/// widened exactly (infinities and NaNs included). Scratch is per thread, grown once, so threads of a
/// <see cref="ComputePool"/> can each take heads.
/// </remarks>
internal static unsafe class F16Attention
{
    [ThreadStatic]
    private static float[]? t_scores;

    [ThreadStatic]
    private static float[]? t_acc;

    [ThreadStatic]
    private static Half[]? t_halves;

    /// <summary>Whether <paramref name="width"/> and <paramref name="headDimension"/> have this path.</summary>
    public static bool Supports(KernelWidth width, int headDimension) =>
        width == KernelWidth.Vector512 && headDimension % 16 == 0 && headDimension <= 1024;

    /// <summary>
    /// <c>output = softmax(scale · cap(K q)) V</c> over cache cells <paramref name="first"/>..<paramref name="position"/>;
    /// cell t of this head starts at <c>keys + t * kvStride</c> (and <c>values + t * kvStride</c>).
    /// </summary>
    public static void Head(Half* keys, Half* values, int kvStride, int first, int position, int headDim, float* q, float* output, float cap, float scale)
    {
        int cells = position + 1;
        float[] scoreBuffer = t_scores is { } s && s.Length >= cells ? s : (t_scores = new float[Math.Max(cells, 256) * 2]);
        float[] accBuffer = t_acc is { } a && a.Length >= 16 * headDim ? a : (t_acc = new float[16 * headDim]);
        Half[] halves = t_halves is { } hb && hb.Length >= Math.Max(cells, headDim) ? hb : (t_halves = new Half[Math.Max(Math.Max(cells, 256) * 2, headDim)]);
        int chunks = headDim / 16;

        // The query rounded to F16 (as the reference multiplies the F16 cache with it); at most 64 vectors.
        // TensorPrimitives converts with vectors, rounding to nearest even as the (Half) cast does.
        Span<float> qh = stackalloc float[headDim];
        TensorPrimitives.ConvertToHalf(new ReadOnlySpan<float>(q, headDim), halves.AsSpan(0, headDim));
        TensorPrimitives.ConvertToSingle(halves.AsSpan(0, headDim), qh);

        fixed (float* qr = qh)
        fixed (float* scores = scoreBuffer)
        fixed (float* acc = accBuffer)
        {
            for (int t = first; t <= position; t++)
            {
                ushort* k = (ushort*)(keys + ((long)t * kvStride));
                var sum = Vector512<float>.Zero;
                for (int c = 0; c < chunks; c++)
                {
                    sum = Vector512.FusedMultiplyAdd(Widen(k + (16 * c)), Vector512.Load(qr + (16 * c)), sum);
                }

                float score = MatVec.Sum(sum);
                if (cap > 0)
                {
                    score = MathF.Tanh(score * (1f / cap)) * cap; // as the reference: scale by 1/cap, tanhf, scale by cap
                }

                scores[t] = score * scale;
            }

            ReferenceMath.SoftmaxVector512(new Span<float>(scores, cells), first);

            // The probabilities rounded to F16, as the reference multiplies them with the F16 values.
            var live = new Span<float>(scores + first, cells - first);
            TensorPrimitives.ConvertToHalf(live, halves.AsSpan(0, live.Length));
            TensorPrimitives.ConvertToSingle(halves.AsSpan(0, live.Length), live);

            new Span<float>(acc, 16 * headDim).Clear();
            for (int t = first; t <= position; t++)
            {
                var p = Vector512.Create(scores[t]);
                ushort* v = (ushort*)(values + ((long)t * kvStride));
                float* lane = acc + ((t & 15) * headDim);
                for (int c = 0; c < chunks; c++)
                {
                    Vector512.FusedMultiplyAdd(p, Widen(v + (16 * c)), Vector512.Load(lane + (16 * c))).Store(lane + (16 * c));
                }
            }

            for (int c = 0; c < chunks; c++)
            {
                float* l = acc + (16 * c);
                var t0 = Vector512.Load(l + (8 * headDim)) + Vector512.Load(l);
                var t1 = Vector512.Load(l + (9 * headDim)) + Vector512.Load(l + headDim);
                var t2 = Vector512.Load(l + (10 * headDim)) + Vector512.Load(l + (2 * headDim));
                var t3 = Vector512.Load(l + (11 * headDim)) + Vector512.Load(l + (3 * headDim));
                var t4 = Vector512.Load(l + (12 * headDim)) + Vector512.Load(l + (4 * headDim));
                var t5 = Vector512.Load(l + (13 * headDim)) + Vector512.Load(l + (5 * headDim));
                var t6 = Vector512.Load(l + (14 * headDim)) + Vector512.Load(l + (6 * headDim));
                var t7 = Vector512.Load(l + (15 * headDim)) + Vector512.Load(l + (7 * headDim));
                var s0 = t4 + t0;
                var s1 = t5 + t1;
                var s2 = t6 + t2;
                var s3 = t7 + t3;
                ((s0 + s2) + (s1 + s3)).Store(output + (16 * c));
            }
        }
    }

    /// <summary>16 halves widened to floats exactly (subnormals, infinities and NaNs included).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Widen(ushort* h)
    {
        var bits = Avx512F.ConvertToVector512UInt32(Vector256.Load(h));
        var finite = HalfBits.ToSingle(bits);
        var special = Vector512.Equals(bits & Vector512.Create(0x7C00u), Vector512.Create(0x7C00u));
        var infNan = ((bits & Vector512.Create(0x8000u)) << 16) | Vector512.Create(0x7F80_0000u) | ((bits & Vector512.Create(0x03FFu)) << 13);
        return Vector512.ConditionalSelect(special, infNan, finite.AsUInt32()).AsSingle();
    }
}
