using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace MicroLlm.Numerics;

/// <summary>
/// Element-wise functions and horizontal sums exactly as the reference runtime's CPU backend evaluates them on an
/// AVX-512 machine, so that our activations agree with its bit for bit: the exponential is its SIMD polynomial (not the C
/// library's <c>expf</c>), SiLU is built on it, and the horizontal sums add their lanes in the tree its intrinsics use.
/// Each function is the scalar emulation of one lane; the lanes of the reference are independent, so a scalar loop gives
/// the same bits as the vector code.
/// </summary>
internal static class ReferenceMath
{
    // The reference's constants, written there as hexadecimal floats (given in the comments).
    private static readonly float Shifter = BitConverter.Int32BitsToSingle(0x4b400000); // 0x1.8p23
    private static readonly float Log2E = BitConverter.Int32BitsToSingle(0x3fb8aa3b);   // 0x1.715476p+0
    private static readonly float Ln2High = BitConverter.Int32BitsToSingle(0x3f317200); // 0x1.62e4p-1
    private static readonly float Ln2Low = BitConverter.Int32BitsToSingle(0x35bfbe8e);  // 0x1.7f7d1cp-20
    private static readonly float C5 = BitConverter.Int32BitsToSingle(0x3c072010);      // 0x1.0e4020p-7
    private static readonly float C4 = BitConverter.Int32BitsToSingle(0x3d2b9f17);      // 0x1.573e2ep-5
    private static readonly float C3 = BitConverter.Int32BitsToSingle(0x3e2aaf33);      // 0x1.555e66p-3
    private static readonly float C2 = BitConverter.Int32BitsToSingle(0x3efffedb);      // 0x1.fffdb6p-2
    private static readonly float C1 = BitConverter.Int32BitsToSingle(0x3f7ffff6);      // 0x1.ffffecp-1

    /// <summary>
    /// e^x as the reference's 16-lane <c>ggml_v_expf</c> computes it (a range reduction by ln 2 split in two FMAs, a
    /// degree-5 polynomial, and <c>vscalefps</c>); |n| &gt; 192 gives 0 or +∞ as it does, so −∞ gives exactly 0.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Exp(float x)
    {
        float z = MathF.FusedMultiplyAdd(x, Log2E, Shifter);
        float n = z - Shifter;
        float b = MathF.FusedMultiplyAdd(-n, Ln2Low, MathF.FusedMultiplyAdd(-n, Ln2High, x));
        if (MathF.Abs(n) > 192f)
        {
            return n <= 0f ? 0f : float.PositiveInfinity; // an ordered compare, as the reference's: NaN takes the polynomial
        }

        float u = b * b;
        float j = MathF.FusedMultiplyAdd(
            MathF.FusedMultiplyAdd(MathF.FusedMultiplyAdd(C5, b, C4), u, MathF.FusedMultiplyAdd(C3, b, C2)),
            u,
            MathF.FusedMultiplyAdd(C1, b, 1.0f));
        return ScaleF(j, n);
    }

    /// <summary><c>x / (1 + e^-x)</c> as the reference's <c>ggml_v_silu</c>: <see cref="Exp(float)"/> of <c>0 - x</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Silu(float x) => x / (1.0f + Exp(0f - x));

    /// <summary>
    /// <c>vscalefps</c> for an integral <paramref name="n"/> with |n| ≤ 192: <c>j · 2^n</c> rounded once (to nearest,
    /// even on ties, including into the subnormal range), which the double product gives exactly before its one rounding.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float ScaleF(float j, float n)
    {
        if (float.IsNaN(j) || float.IsNaN(n))
        {
            return float.NaN;
        }

        return (float)(j * Math.ScaleB(1.0, (int)n));
    }

    /// <summary>
    /// <see cref="Exp(float)"/> of 16 lanes at once, the same bits per lane: the same FMAs in the same order, and where
    /// every lane has |n| ≤ 126 the scaling is one multiply by the exact float 2^n, which rounds <c>j · 2^n</c> once as
    /// <see cref="ScaleF"/> does. A vector with a lane outside that range (or NaN) is evaluated lane by lane.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Exp(Vector512<float> x)
    {
        var z = Vector512.FusedMultiplyAdd(x, Vector512.Create(Log2E), Vector512.Create(Shifter));
        var n = z - Vector512.Create(Shifter);
        var b = Vector512.FusedMultiplyAdd(-n, Vector512.Create(Ln2Low), Vector512.FusedMultiplyAdd(-n, Vector512.Create(Ln2High), x));
        var u = b * b;
        var j = Vector512.FusedMultiplyAdd(
            Vector512.FusedMultiplyAdd(
                Vector512.FusedMultiplyAdd(Vector512.Create(C5), b, Vector512.Create(C4)),
                u,
                Vector512.FusedMultiplyAdd(Vector512.Create(C3), b, Vector512.Create(C2))),
            u,
            Vector512.FusedMultiplyAdd(Vector512.Create(C1), b, Vector512.Create(1.0f)));
        if (!Vector512.LessThanOrEqualAll(Vector512.Abs(n), Vector512.Create(126f)))
        {
            return ScaleWide(x, n, j);
        }

        var power = (Vector512.ConvertToInt32(n) + Vector512.Create(127)) << 23;
        return j * power.AsSingle();
    }

    /// <summary>
    /// The scaling of <see cref="Exp(Vector512{float})"/> when some lane has |n| &gt; 126: j · 2^n as two multiplies by
    /// exact powers of two, the first exact (j is within [0.7, 1.5] and the first power within 2^±66) and the second the
    /// one rounding (into the subnormal range, or to +∞); |n| &gt; 192 gives 0 or +∞ as <see cref="Exp(float)"/>. A
    /// NaN lane sends the vector lane by lane (the scalar code returns <see cref="float.NaN"/> itself).
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static Vector512<float> ScaleWide(Vector512<float> x, Vector512<float> n, Vector512<float> j)
    {
        if (!Vector512.EqualsAll(n, n))
        {
            return ExpLaneByLane(x);
        }

        var whole = Vector512.ConvertToInt32(n);
        var second = Vector512.ConditionalSelect(
            Vector512.GreaterThan(whole, Vector512.Create(126)),
            Vector512.Create(127),
            Vector512.ConditionalSelect(Vector512.LessThan(whole, Vector512.Create(-126)), Vector512.Create(-126), Vector512<int>.Zero));
        var first = whole - second;
        var scaled = j * ((first + Vector512.Create(127)) << 23).AsSingle() * ((second + Vector512.Create(127)) << 23).AsSingle();
        var beyond = Vector512.ConditionalSelect(Vector512.LessThanOrEqual(n, Vector512<float>.Zero), Vector512<float>.Zero, Vector512.Create(float.PositiveInfinity));
        return Vector512.ConditionalSelect(Vector512.GreaterThan(Vector512.Abs(n), Vector512.Create(192f)), beyond, scaled);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static Vector512<float> ExpLaneByLane(Vector512<float> x)
    {
        Span<float> lanes = stackalloc float[16];
        x.CopyTo(lanes);
        for (int i = 0; i < 16; i++)
        {
            lanes[i] = Exp(lanes[i]);
        }

        return Vector512.Create<float>(lanes);
    }

    /// <summary>
    /// <c>gate[i] = Silu(gate[i]) · up[i]</c> (<see cref="Silu"/>), 16 lanes at a time through
    /// <see cref="Exp(Vector512{float})"/> where <paramref name="vectorized"/> (the same bits), the tail lane by lane.
    /// </summary>
    public static void SiluTimes(Span<float> gate, ReadOnlySpan<float> up, bool vectorized)
    {
        int i = 0;
        if (vectorized && Vector512.IsHardwareAccelerated)
        {
            ref float g = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(gate);
            ref float u = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(up);
            for (; i <= gate.Length - 16; i += 16)
            {
                var x = Vector512.LoadUnsafe(ref g, (nuint)i);
                var silu = x / (Vector512.Create(1.0f) + Exp(Vector512<float>.Zero - x));
                (silu * Vector512.LoadUnsafe(ref u, (nuint)i)).StoreUnsafe(ref g, (nuint)i);
            }
        }

        for (; i < gate.Length; i++)
        {
            gate[i] = Silu(gate[i]) * up[i];
        }
    }

    /// <summary>The sum of 8 lanes in the order of the reference's <c>hsum_float_8</c> (and tinyBLAS's 256-bit <c>hsum</c>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Reduce8(ReadOnlySpan<float> lanes)
    {
        float r0 = lanes[4] + lanes[0], r1 = lanes[5] + lanes[1], r2 = lanes[6] + lanes[2], r3 = lanes[7] + lanes[3];
        return (r0 + r2) + (r1 + r3);
    }

    /// <summary>The sum of 16 lanes in the order of <c>_mm512_reduce_add_ps</c> as GCC expands it (halves, then quarters, then pairs).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Reduce16(ReadOnlySpan<float> lanes)
    {
        float t0 = lanes[8] + lanes[0], t1 = lanes[9] + lanes[1], t2 = lanes[10] + lanes[2], t3 = lanes[11] + lanes[3];
        float t4 = lanes[12] + lanes[4], t5 = lanes[13] + lanes[5], t6 = lanes[14] + lanes[6], t7 = lanes[15] + lanes[7];
        float s0 = t4 + t0, s1 = t5 + t1, s2 = t6 + t2, s3 = t7 + t3;
        return (s0 + s2) + (s1 + s3);
    }

    /// <summary>
    /// <see cref="Softmax"/> with 512-bit vectors, the same bits: the maximum is order-free, each 16-cell group's
    /// exponentials come from <see cref="Exp(Vector512{float})"/> (lanes outside the row or before
    /// <paramref name="first"/> set to 0) and are summed in <see cref="Reduce16"/>'s tree into the same double, and the
    /// scaling is per element. A row whose maximum is not finite (a NaN or only −∞) goes through <see cref="Softmax"/>.
    /// </summary>
    public static void SoftmaxVector512(Span<float> row, int first = 0)
    {
        int length = row.Length;
        ref float r = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(row);
        var maxes = Vector512.Create(float.NegativeInfinity);
        var nan = Vector512<float>.Zero;
        int t = first;
        for (; t <= length - 16; t += 16)
        {
            var v = Vector512.LoadUnsafe(ref r, (nuint)t);
            maxes = Vector512.Max(maxes, v);
            nan |= ~Vector512.Equals(v, v);
        }

        float max = float.NegativeInfinity;
        bool anyNaN = nan != Vector512<float>.Zero;
        for (; t < length; t++)
        {
            anyNaN |= float.IsNaN(row[t]);
            max = MathF.Max(max, row[t]);
        }

        for (int l = 0; l < 16; l++)
        {
            max = MathF.Max(max, maxes[l]);
        }

        if (anyNaN || !float.IsFinite(max))
        {
            Softmax(row, first);
            return;
        }

        var vmax = Vector512.Create(max);
        var lane = Vector512.Create(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
        Span<float> edge = stackalloc float[16];
        ref float e = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(edge);
        double sum = 0;
        for (int start = first & ~15; start < length; start += 16)
        {
            Vector512<float> exps;
            if (start >= first && start + 16 <= length)
            {
                exps = Exp(Vector512.LoadUnsafe(ref r, (nuint)start) - vmax);
                exps.StoreUnsafe(ref r, (nuint)start);
            }
            else
            {
                // A partial group: its live cells through a buffer, the others exactly 0 (and not written).
                int from = Math.Max(first, start), to = Math.Min(length, start + 16);
                edge.Fill(max);
                row[from..to].CopyTo(edge[(from - start)..]);
                var index = lane + Vector512.Create(start);
                var live = Vector512.GreaterThanOrEqual(index, Vector512.Create(from)) & Vector512.LessThan(index, Vector512.Create(to));
                exps = Vector512.ConditionalSelect(live.AsSingle(), Exp(Vector512.LoadUnsafe(ref e) - vmax), Vector512<float>.Zero);
                exps.StoreUnsafe(ref e);
                edge[(from - start)..(to - start)].CopyTo(row[from..to]);
            }

            var half = exps.GetLower() + exps.GetUpper();
            var quarter = half.GetLower() + half.GetUpper();
            sum += (quarter[0] + quarter[2]) + (quarter[1] + quarter[3]);
        }

        var scale = Vector512.Create((float)(1.0 / sum));
        t = first;
        for (; t <= length - 16; t += 16)
        {
            (Vector512.LoadUnsafe(ref r, (nuint)t) * scale).StoreUnsafe(ref r, (nuint)t);
        }

        for (; t < length; t++)
        {
            row[t] *= scale[0];
        }
    }

    /// <summary>
    /// Softmax of <c>row[first..]</c> in place, as the reference computes a row of its (padded, masked) KV view: cells
    /// in groups of 16 from cell 0 (cells before <paramref name="first"/> are masked and count as exactly 0), each group's
    /// exponentials (<see cref="Exp(float)"/> of <c>x - max</c>) summed in <see cref="Reduce16"/>'s order and added to a double,
    /// then every value multiplied by the float of <c>1 / sum</c>. Cells past the row are padding, also 0.
    /// </summary>
    public static void Softmax(Span<float> row, int first = 0)
    {
        Span<float> lanes = stackalloc float[16];
        var live = row[first..];
        float max = float.NegativeInfinity;
        foreach (float v in live)
        {
            max = MathF.Max(max, v);
        }

        double sum = 0;
        for (int start = first & ~15; start < row.Length; start += 16)
        {
            for (int l = 0; l < 16; l++)
            {
                int t = start + l;
                float e = 0f;
                if (t >= first && t < row.Length)
                {
                    e = Exp(row[t] - max);
                    row[t] = e;
                }

                lanes[l] = e;
            }

            sum += Reduce16(lanes);
        }

        float scale = (float)(1.0 / sum);
        for (int t = first; t < row.Length; t++)
        {
            row[t] *= scale;
        }
    }
}
