using System.Runtime.Intrinsics;
using MicroLlm.Numerics;

namespace MicroLlm.Core.Tests.Numerics;

/// <summary>
/// The 512-bit paths of <see cref="ReferenceMath"/> (<c>Exp</c> of a vector, <c>SiluTimes</c>, <c>SoftmaxVector512</c>)
/// against the scalar emulations they must equal bit for bit, including the lanes that leave the vector path
/// (|n| &gt; 126, infinities, NaN), partial groups and tails.
/// </summary>
public class VectorNumericsTests
{
    private static float[] Inputs()
    {
        var values = new List<float>
        {
            0f, -0f, float.NegativeInfinity, float.PositiveInfinity, float.NaN, float.Epsilon, -float.Epsilon,
            87.3f, -87.3f, 88.72f, -88.72f, 89f, -103.9f, -104f, -110f, 133f, -133f, 133.5f, -133.5f, 200f, -200f,
            float.MaxValue, float.MinValue,
        };
        for (float v = -140f; v <= 140f; v += 0.0371f)
        {
            values.Add(v);
        }

        var random = new Random(17);
        for (int i = 0; i < 4000; i++)
        {
            values.Add((float)((random.NextDouble() - 0.5) * Math.Pow(10, random.Next(-6, 3))));
        }

        return [.. values];
    }

    [Test]
    public void VectorExpGivesTheScalarBitsInEveryLane()
    {
        var x = Inputs();
        var lanes = new float[16];
        for (int start = 0; start + 16 <= x.Length; start += 7)
        {
            Vector512.Create<float>(x.AsSpan(start, 16)).CopyTo(lanes);
            var y = ReferenceMath.Exp(Vector512.Create<float>(x.AsSpan(start, 16)));
            for (int l = 0; l < 16; l++)
            {
                float expected = ReferenceMath.Exp(x[start + l]);
                Assert.That(BitConverter.SingleToUInt32Bits(y[l]), Is.EqualTo(BitConverter.SingleToUInt32Bits(expected)), $"exp({x[start + l]:R})");
            }
        }
    }

    [Test]
    public void VectorSiluTimesGivesTheScalarBits()
    {
        var x = Inputs();
        var up = x.Select((_, i) => (float)Math.Sin(i) * 3f).ToArray();
        foreach (int length in new[] { 0, 1, 15, 16, 17, 31, 33, 100, x.Length })
        {
            for (int offset = 0; offset < 3; offset++)
            {
                var gate = x.Skip(offset * 5).Take(length).ToArray();
                var expected = gate.Select((g, i) => ReferenceMath.Silu(g) * up[i]).ToArray();
                ReferenceMath.SiluTimes(gate, up.AsSpan(0, gate.Length), vectorized: true);
                Assert.That(gate.Select(BitConverter.SingleToUInt32Bits), Is.EqualTo(expected.Select(BitConverter.SingleToUInt32Bits)), $"length {length}");
            }
        }
    }

    [Test]
    public void VectorSoftmaxGivesTheScalarBits([Values(1f, 4f, 40f, 400f)] float spread)
    {
        var random = new Random((int)spread);
        for (int length = 1; length <= 80; length++)
        {
            foreach (int first in new[] { 0, 1, 5, 15, 16, 17, 33, length - 1 }.Where(f => f >= 0 && f < length).Distinct())
            {
                var row = new float[length];
                for (int i = 0; i < length; i++)
                {
                    row[i] = (float)((random.NextDouble() - 0.7) * spread);
                }

                if (length > 20)
                {
                    row[random.Next(length)] = float.NegativeInfinity; // a masked cell
                }

                Check(row, first);
            }
        }

        // Rows that fall back: NaN, every live cell −∞; and exponentials that leave the vector path.
        Check([1f, float.NaN, 2f, 3f, 4f, 5f, 6f, 7f, 8f, 9f, 10f, 11f, 12f, 13f, 14f, 15f, 16f, 17f], 0);
        Check(Enumerable.Repeat(float.NegativeInfinity, 40).ToArray(), 3);
        Check(Enumerable.Range(0, 50).Select(i => -3f * i).ToArray(), 2);
    }

    private static void Check(float[] row, int first)
    {
        var expected = (float[])row.Clone();
        ReferenceMath.Softmax(expected, first);
        var actual = (float[])row.Clone();
        ReferenceMath.SoftmaxVector512(actual, first);
        Assert.That(actual.Select(BitConverter.SingleToUInt32Bits), Is.EqualTo(expected.Select(BitConverter.SingleToUInt32Bits)), $"length {row.Length}, first {first}");
    }
}
