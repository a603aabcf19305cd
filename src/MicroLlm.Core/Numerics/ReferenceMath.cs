using System.Runtime.CompilerServices;

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

    /// <summary><c>x / (1 + e^-x)</c> as the reference's <c>ggml_v_silu</c>: <see cref="Exp"/> of <c>0 - x</c>.</summary>
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
    /// Softmax of <c>row[first..]</c> in place, as the reference computes a row of its (padded, masked) KV view: cells
    /// in groups of 16 from cell 0 (cells before <paramref name="first"/> are masked and count as exactly 0), each group's
    /// exponentials (<see cref="Exp"/> of <c>x - max</c>) summed in <see cref="Reduce16"/>'s order and added to a double,
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
