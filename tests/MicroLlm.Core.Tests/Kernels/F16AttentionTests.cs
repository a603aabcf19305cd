using System.Runtime.Intrinsics;
using MicroLlm.Kernels;
using MicroLlm.Numerics;

namespace MicroLlm.Core.Tests.Kernels;

/// <summary>
/// <see cref="F16Attention.Group"/> (cells widened once per call, lane-by-lane value accumulation) against the scalar
/// attention it must equal bit for bit: <see cref="ReferenceDot.F16"/> scores, <see cref="ReferenceMath.Softmax"/>,
/// probabilities rounded to F16, cell t in lane t mod 16, <see cref="ReferenceMath.Reduce16"/> per element.
/// </summary>
public unsafe class F16AttentionTests
{
    [Test]
    public void GroupGivesTheScalarAttentionsBits(
        [Values(16, 64, 80, 128)] int headDim,
        [Values(1, 3)] int group,
        [Values(0, 5)] int window,
        [Values(0f, 20f)] float cap)
    {
        if (!Vector512.IsHardwareAccelerated)
        {
            Assert.Ignore("F16Attention runs at 512 bits only.");
        }

        const int kvHeads = 2;
        int kvDim = kvHeads * headDim, qDim = kvHeads * group * headDim;
        var random = new Random(headDim + (7 * group) + window + (int)cap);
        foreach ((int position, int tokens) in new[] { (0, 1), (0, 5), (17, 1), (30, 4), (47, 3) })
        {
            int cells = position + tokens;
            var keys = new Half[cells * kvDim];
            var values = new Half[cells * kvDim];
            for (int i = 0; i < keys.Length; i++)
            {
                keys[i] = (Half)((random.NextDouble() - 0.5) * 4);
                values[i] = (Half)((random.NextDouble() - 0.5) * 2);
            }

            var q = new float[tokens * qDim];
            for (int i = 0; i < q.Length; i++)
            {
                q[i] = (float)((random.NextDouble() - 0.5) * 3);
            }

            float scale = 1f / MathF.Sqrt(headDim) * 4f;
            var actual = new float[q.Length];
            fixed (Half* k = keys)
            fixed (Half* v = values)
            fixed (float* qp = q)
            fixed (float* op = actual)
            {
                for (int g = 0; g < kvHeads; g++)
                {
                    F16Attention.Group(k + (g * headDim), v + (g * headDim), kvDim, headDim, qp + (g * group * headDim), op + (g * group * headDim), qDim, group, position, tokens, window, cap, scale, cells);
                }
            }

            for (int i = 0; i < tokens; i++)
            {
                for (int h = 0; h < kvHeads * group; h++)
                {
                    var expected = Scalar(keys, values, kvDim, (h / group) * headDim, headDim, q.AsSpan((i * qDim) + (h * headDim), headDim), position + i, window, cap, scale);
                    var got = actual.AsSpan((i * qDim) + (h * headDim), headDim).ToArray();
                    Assert.That(got.Select(BitConverter.SingleToUInt32Bits), Is.EqualTo(expected.Select(BitConverter.SingleToUInt32Bits)), $"position {position + i}, head {h}");
                }
            }
        }
    }

    private static float[] Scalar(Half[] keys, Half[] values, int kvDim, int kvOffset, int headDim, ReadOnlySpan<float> q, int position, int window, float cap, float scale)
    {
        int first = window > 0 ? Math.Max(0, position - window + 1) : 0;
        var qh = new Half[headDim];
        for (int i = 0; i < headDim; i++)
        {
            qh[i] = (Half)q[i];
        }

        var scores = new float[position + 1];
        for (int t = first; t <= position; t++)
        {
            float s = ReferenceDot.F16(keys.AsSpan((t * kvDim) + kvOffset, headDim), qh);
            if (cap > 0)
            {
                s = MathF.Tanh(s * (1f / cap)) * cap;
            }

            scores[t] = s * scale;
        }

        ReferenceMath.Softmax(scores, first);
        var acc = new float[16 * headDim];
        for (int t = first; t <= position; t++)
        {
            float p = (float)(Half)scores[t];
            for (int i = 0; i < headDim; i++)
            {
                int at = ((t & 15) * headDim) + i;
                acc[at] = MathF.FusedMultiplyAdd(p, (float)values[(t * kvDim) + kvOffset + i], acc[at]);
            }
        }

        var output = new float[headDim];
        var lanes = new float[16];
        for (int i = 0; i < headDim; i++)
        {
            for (int l = 0; l < 16; l++)
            {
                lanes[l] = acc[(l * headDim) + i];
            }

            output[i] = ReferenceMath.Reduce16(lanes);
        }

        return output;
    }
}
