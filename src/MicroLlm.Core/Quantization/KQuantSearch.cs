namespace MicroLlm.Quantization;

/// <summary>
/// The reference runtime's searches for a group's scale (and minimum) in the K-quant formats: ggml's
/// <c>make_qkx2_quants</c>, <c>make_qx_quants</c> and <c>make_q3_quants</c>, step for step, in float, in the same
/// order of operations, so that the codes and scales come out bit for bit as the reference's.
/// </summary>
/// <remarks>
/// Comparisons are written as the reference writes them (<c>a &lt; b</c>, not <see cref="MathF.Min(float, float)"/>), so a
/// NaN or an infinity in the input takes the same branches it takes there.
/// </remarks>
internal static class KQuantSearch
{
    /// <summary>Below this largest magnitude a group counts as all zeros (the reference's <c>GROUP_MAX_EPS</c>).</summary>
    public const float GroupMaxEpsilon = 1e-15f;

    /// <summary>
    /// A scale and minimum for codes 0..<paramref name="nmax"/> minimising the weighted squared (or absolute, with
    /// <paramref name="useMad"/>) error, trying <paramref name="steps"/> + 1 code ranges from
    /// <paramref name="nmax"/> + <paramref name="rmin"/> in steps of <paramref name="rdelta"/>: ggml's <c>make_qkx2_quants</c>.
    /// </summary>
    /// <param name="nmax">The largest code.</param>
    /// <param name="x">The group's weights.</param>
    /// <param name="weights">The importance of each weight.</param>
    /// <param name="codes">Receives the codes, 0..<paramref name="nmax"/>.</param>
    /// <param name="scratch">Room for <paramref name="x"/>.Length codes.</param>
    /// <param name="negatedMin">Receives the minimum, negated (zero or positive).</param>
    /// <param name="rmin">The first code-range offset tried.</param>
    /// <param name="rdelta">The code-range step.</param>
    /// <param name="steps">How many further steps are tried.</param>
    /// <param name="useMad">Minimise the absolute error instead of the squared one.</param>
    /// <returns>The scale.</returns>
    public static float MakeQkx2Quants(
        int nmax, ReadOnlySpan<float> x, ReadOnlySpan<float> weights, Span<byte> codes, Span<byte> scratch,
        out float negatedMin, float rmin, float rdelta, int steps, bool useMad)
    {
        int n = x.Length;
        float min = x[0];
        float max = x[0];
        float sumW = weights[0];
        float sumX = sumW * x[0];
        for (int i = 1; i < n; i++)
        {
            if (x[i] < min)
            {
                min = x[i];
            }

            if (x[i] > max)
            {
                max = x[i];
            }

            float w = weights[i];
            sumW += w;
            sumX += w * x[i];
        }

        if (min > 0)
        {
            min = 0;
        }

        if (max == min)
        {
            codes[..n].Clear();
            negatedMin = -min;
            return 0f;
        }

        float iscale = nmax / (max - min);
        float scale = 1 / iscale;
        float bestMad = 0;
        for (int i = 0; i < n; i++)
        {
            int l = ReferenceRounding.NearestInt(iscale * (x[i] - min));
            codes[i] = (byte)Math.Max(0, Math.Min(nmax, l));
            float diff = (scale * codes[i]) + min - x[i];
            diff = useMad ? MathF.Abs(diff) : diff * diff;
            bestMad += weights[i] * diff;
        }

        if (steps < 1)
        {
            negatedMin = -min;
            return scale;
        }

        for (int step = 0; step <= steps; step++)
        {
            iscale = (rmin + (rdelta * step) + nmax) / (max - min);
            float sumL = 0, sumL2 = 0, sumXL = 0;
            for (int i = 0; i < n; i++)
            {
                int l = ReferenceRounding.NearestInt(iscale * (x[i] - min));
                l = Math.Max(0, Math.Min(nmax, l));
                scratch[i] = (byte)l;
                float w = weights[i];
                sumL += w * l;
                sumL2 += w * l * l;
                sumXL += w * l * x[i];
            }

            float determinant = (sumW * sumL2) - (sumL * sumL);
            if (determinant > 0)
            {
                float thisScale = ((sumW * sumXL) - (sumX * sumL)) / determinant;
                float thisMin = ((sumL2 * sumX) - (sumL * sumXL)) / determinant;
                if (thisMin > 0)
                {
                    thisMin = 0;
                    thisScale = sumXL / sumL2;
                }

                float mad = 0;
                for (int i = 0; i < n; i++)
                {
                    float diff = (thisScale * scratch[i]) + thisMin - x[i];
                    diff = useMad ? MathF.Abs(diff) : diff * diff;
                    mad += weights[i] * diff;
                }

                if (mad < bestMad)
                {
                    scratch[..n].CopyTo(codes);
                    bestMad = mad;
                    scale = thisScale;
                    min = thisMin;
                }
            }
        }

        negatedMin = -min;
        return scale;
    }

    /// <summary>
    /// A signed scale for codes -<paramref name="nmax"/>..<paramref name="nmax"/> - 1 (stored plus <paramref name="nmax"/>),
    /// weighted by x², searched over 19 code ranges around <paramref name="nmax"/>: ggml's <c>make_qx_quants</c> with
    /// <c>rmse_type</c> 1 and no importance weights.
    /// </summary>
    /// <param name="nmax">Half the code range.</param>
    /// <param name="x">The group's weights.</param>
    /// <param name="codes">Receives the codes plus <paramref name="nmax"/>.</param>
    /// <returns>The scale (zero for an all-zero group).</returns>
    public static float MakeQxQuants(int nmax, ReadOnlySpan<float> x, Span<sbyte> codes)
    {
        int n = x.Length;
        float max = 0;
        float amax = 0;
        for (int i = 0; i < n; i++)
        {
            float ax = MathF.Abs(x[i]);
            if (ax > amax)
            {
                amax = ax;
                max = x[i];
            }
        }

        if (amax < GroupMaxEpsilon)
        {
            codes[..n].Clear();
            return 0f;
        }

        float iscale = -nmax / max;
        float sumLX = 0;
        float sumL2 = 0;
        for (int i = 0; i < n; i++)
        {
            int l = ReferenceRounding.NearestInt(iscale * x[i]);
            l = Math.Max(-nmax, Math.Min(nmax - 1, l));
            codes[i] = (sbyte)(l + nmax);
            float w = x[i] * x[i];
            sumLX += w * x[i] * l;
            sumL2 += w * l * l;
        }

        float scale = sumL2 != 0 ? sumLX / sumL2 : 0f;
        float best = scale * sumLX;
        for (int step = -9; step <= 9; step++)
        {
            if (step == 0)
            {
                continue;
            }

            iscale = -(nmax + (0.1f * step)) / max;
            sumLX = sumL2 = 0;
            for (int i = 0; i < n; i++)
            {
                int l = ReferenceRounding.NearestInt(iscale * x[i]);
                l = Math.Max(-nmax, Math.Min(nmax - 1, l));
                float w = x[i] * x[i];
                sumLX += w * x[i] * l;
                sumL2 += w * l * l;
            }

            if (sumL2 > 0 && sumLX * sumLX > best * sumL2)
            {
                for (int i = 0; i < n; i++)
                {
                    int l = ReferenceRounding.NearestInt(iscale * x[i]);
                    codes[i] = (sbyte)(nmax + Math.Max(-nmax, Math.Min(nmax - 1, l)));
                }

                scale = sumLX / sumL2;
                best = scale * sumLX;
            }
        }

        return scale;
    }

    /// <summary>
    /// A signed scale for codes -<paramref name="nmax"/>..<paramref name="nmax"/> - 1 (stored plus <paramref name="nmax"/>),
    /// improved code by code for the x²-weighted error: ggml's <c>make_q3_quants</c> with <c>do_rmse</c>.
    /// </summary>
    /// <param name="nmax">Half the code range.</param>
    /// <param name="x">The group's weights.</param>
    /// <param name="codes">Receives the codes plus <paramref name="nmax"/>.</param>
    /// <returns>The scale (zero for an all-zero group).</returns>
    public static float MakeQ3Quants(int nmax, ReadOnlySpan<float> x, Span<sbyte> codes)
    {
        int n = x.Length;
        float max = 0;
        float amax = 0;
        for (int i = 0; i < n; i++)
        {
            float ax = MathF.Abs(x[i]);
            if (ax > amax)
            {
                amax = ax;
                max = x[i];
            }
        }

        if (amax < GroupMaxEpsilon)
        {
            codes[..n].Clear();
            return 0f;
        }

        float iscale = -nmax / max;
        float sumLX = 0;
        float sumL2 = 0;
        for (int i = 0; i < n; i++)
        {
            int l = ReferenceRounding.NearestInt(iscale * x[i]);
            l = Math.Max(-nmax, Math.Min(nmax - 1, l));
            codes[i] = (sbyte)l;
            float w = x[i] * x[i];
            sumLX += w * x[i] * l;
            sumL2 += w * l * l;
        }

        for (int attempt = 0; attempt < 5; attempt++)
        {
            int changed = 0;
            for (int i = 0; i < n; i++)
            {
                float w = x[i] * x[i];
                float slx = sumLX - (w * x[i] * codes[i]);
                if (slx > 0)
                {
                    float sl2 = sumL2 - (w * codes[i] * codes[i]);
                    int newL = ReferenceRounding.NearestInt(x[i] * sl2 / slx);
                    newL = Math.Max(-nmax, Math.Min(nmax - 1, newL));
                    if (newL != codes[i])
                    {
                        slx += w * x[i] * newL;
                        sl2 += w * newL * newL;
                        if (sl2 > 0 && slx * slx * sumL2 > sumLX * sumLX * sl2)
                        {
                            codes[i] = (sbyte)newL;
                            sumLX = slx;
                            sumL2 = sl2;
                            changed++;
                        }
                    }
                }
            }

            if (changed == 0)
            {
                break;
            }
        }

        for (int i = 0; i < n; i++)
        {
            codes[i] = (sbyte)(codes[i] + nmax);
        }

        return sumLX / sumL2;
    }
}
