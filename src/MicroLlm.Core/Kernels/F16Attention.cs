using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using MicroLlm.Numerics;

namespace MicroLlm.Kernels;

/// <summary>
/// Query heads against the F16 KV cache in the reference's arithmetic, with 512-bit vectors, a KV head's query heads
/// and a run of tokens per call (its cells widened to floats once for all of them): each query rounded to
/// F16; each score the 16-lane dot product of tinyBLAS (lane j accumulates elements 16c + j by FMA, lanes summed in
/// <see cref="ReferenceMath.Reduce16"/>'s tree), optionally soft-capped, times the softmax scale;
/// <see cref="ReferenceMath.SoftmaxVector512"/> (the bits of <see cref="ReferenceMath.Softmax"/>); probabilities rounded to F16 and accumulated into the values with cell t in
/// lane t mod 16 (one FMA per element), the 16 lanes summed per element in the same tree.
/// </summary>
/// <remarks>
/// The same operations, in the same order per output, as the scalar path in <c>TransformerState</c>; the vectors run
/// across the head's elements (for the values) or a key's 16 lanes (for the scores), never across a sum. Halves are
/// widened exactly (infinities and NaNs included). Scratch is per thread, grown once, so threads of a
/// <see cref="ComputePool"/> can each take groups.
/// </remarks>
internal static unsafe class F16Attention
{
    [ThreadStatic]
    private static float[]? t_scores;

    [ThreadStatic]
    private static float[]? t_acc;

    [ThreadStatic]
    private static Half[]? t_halves;

    [ThreadStatic]
    private static byte[]? t_cells;

    /// <summary>Whether <paramref name="width"/> and <paramref name="headDimension"/> have this path.</summary>
    public static bool Supports(KernelWidth width, int headDimension) =>
        width == KernelWidth.Vector512 && headDimension % 16 == 0 && headDimension <= 1024;

    /// <summary>
    /// <c>output = softmax(scale · cap(K q)) V</c> for <paramref name="tokens"/> consecutive query tokens (the first at
    /// <paramref name="position"/>) and <paramref name="heads"/> query heads that share one KV head: cell t of that
    /// head starts at <c>keys + t * kvStride</c> (and <c>values + t * kvStride</c>); token i's query of head j at
    /// <c>q + i * queryStride + j * headDim</c>, its output likewise. Each token sees cells
    /// max(0, its position − <paramref name="window"/> + 1) (0 without a window) to its position.
    /// <paramref name="cacheCells"/> is the cache's capacity, which sizes this thread's scratch.
    /// </summary>
    /// <remarks>
    /// The cells the tokens see are widened to floats once, into this thread's scratch, for every head and token of
    /// the call; each output is then computed as <see cref="Head"/> describes, in the same order.
    /// </remarks>
    public static void Group(
        Half* keys, Half* values, int kvStride, int headDim, float* q, float* output, int queryStride,
        int heads, int position, int tokens, int window, float cap, float scale, int cacheCells)
    {
        int last = position + tokens - 1;
        int from = window > 0 ? Math.Max(0, position - window + 1) : 0;
        long cellFloats = (long)(last - from + 1) * headDim;

        // Sized for the whole cache, not for this call, so that a thread's scratch grows only when the cache does
        // (whichever items a thread happens to take, a decode step never allocates).
        int room = Math.Max(cacheCells, last + 1);
        float* cells = (float*)ThreadScratch.Bytes(ref t_cells, 2 * cellFloats * sizeof(float), (int)Math.Min(int.MaxValue / 2, 2L * room * headDim * sizeof(float)));
        float* keyFloats = cells, valueFloats = cells + cellFloats;
        int chunks = headDim / 16;
        for (int t = from; t <= last; t++)
        {
            ushort* k = (ushort*)(keys + ((long)t * kvStride));
            ushort* v = (ushort*)(values + ((long)t * kvStride));
            float* kf = keyFloats + ((long)(t - from) * headDim);
            float* vf = valueFloats + ((long)(t - from) * headDim);
            for (int c = 0; c < chunks; c++)
            {
                Widen(k + (16 * c)).Store(kf + (16 * c));
                Widen(v + (16 * c)).Store(vf + (16 * c));
            }
        }

        // Cell t's floats at (t - from) * headDim.
        keyFloats -= (long)from * headDim;
        valueFloats -= (long)from * headDim;
        for (int i = 0; i < tokens; i++)
        {
            int p = position + i;
            int first = window > 0 ? Math.Max(0, p - window + 1) : 0;
            for (int h = 0; h < heads; h++)
            {
                long at = ((long)i * queryStride) + ((long)h * headDim);
                Head(keyFloats, valueFloats, first, p, headDim, q + at, output + at, cap, scale, room);
            }
        }
    }

    /// <summary>
    /// One head over widened cells: cell t's key at <c>keys + t * headDim</c>, its value at <c>values + t * headDim</c>;
    /// the query rounded to F16, each score the 16-lane FMA chain over the key and <see cref="ReferenceMath.Reduce16"/>'s
    /// tree, soft-capped if <paramref name="cap"/> &gt; 0, times <paramref name="scale"/>;
    /// <see cref="ReferenceMath.SoftmaxVector512"/>; the probabilities rounded to F16; lane L of each output element
    /// the FMA chain over cells t ≡ L (mod 16) in increasing t (kept in registers, four vectors of the head at a time),
    /// the 16 lanes summed in the same tree.
    /// </summary>
    private static void Head(float* keys, float* values, int first, int position, int headDim, float* q, float* output, float cap, float scale, int room)
    {
        int cells = position + 1;
        float[] scoreBuffer = t_scores is { } s && s.Length >= cells ? s : (t_scores = new float[Math.Max(cells, room)]);
        float[] accBuffer = t_acc is { } a && a.Length >= 16 * headDim ? a : (t_acc = new float[16 * headDim]);
        Half[] halves = t_halves is { } hb && hb.Length >= Math.Max(cells, headDim) ? hb : (t_halves = new Half[Math.Max(Math.Max(cells, room), headDim)]);
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
                float* k = keys + ((long)t * headDim);
                var sum = Vector512<float>.Zero;
                for (int c = 0; c < chunks; c++)
                {
                    sum = Vector512.FusedMultiplyAdd(Vector512.Load(k + (16 * c)), Vector512.Load(qr + (16 * c)), sum);
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

            // Lane L: cells t = L (mod 16) in increasing t, as the reference's 16-lane accumulation over the cells.
            for (int lane = 0; lane < 16; lane++)
            {
                int t0 = first + ((lane - first) & 15);
                float* row = acc + (lane * headDim);
                int c = 0;
                for (; c + 4 <= chunks; c += 4)
                {
                    var a0 = Vector512<float>.Zero;
                    var a1 = Vector512<float>.Zero;
                    var a2 = Vector512<float>.Zero;
                    var a3 = Vector512<float>.Zero;
                    for (int t = t0; t <= position; t += 16)
                    {
                        var p = Vector512.Create(scores[t]);
                        float* v = values + ((long)t * headDim) + (16 * c);
                        a0 = Vector512.FusedMultiplyAdd(p, Vector512.Load(v), a0);
                        a1 = Vector512.FusedMultiplyAdd(p, Vector512.Load(v + 16), a1);
                        a2 = Vector512.FusedMultiplyAdd(p, Vector512.Load(v + 32), a2);
                        a3 = Vector512.FusedMultiplyAdd(p, Vector512.Load(v + 48), a3);
                    }

                    a0.Store(row + (16 * c));
                    a1.Store(row + (16 * c) + 16);
                    a2.Store(row + (16 * c) + 32);
                    a3.Store(row + (16 * c) + 48);
                }

                for (; c < chunks; c++)
                {
                    var a0 = Vector512<float>.Zero;
                    for (int t = t0; t <= position; t += 16)
                    {
                        a0 = Vector512.FusedMultiplyAdd(Vector512.Create(scores[t]), Vector512.Load(values + ((long)t * headDim) + (16 * c)), a0);
                    }

                    a0.Store(row + (16 * c));
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
