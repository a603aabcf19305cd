using MicroLlm.Gguf;
using MicroLlm.Kernels;
using MicroLlm.Quantization;

namespace MicroLlm.Core.Tests.Kernels;

/// <summary>Random weights and activations for kernel tests, and the scalar reference the kernels must agree with.</summary>
internal static class KernelTestData
{
    public static readonly GgmlType[] WeightTypes =
        [GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q4_0, GgmlType.Q8_0, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K];

    /// <summary>Random rows: any code bits, block scales spread over the finite halves from subnormal to 2^8.</summary>
    public static byte[] Weights(GgmlType type, int rows, int columns, int seed)
    {
        var rng = new Random(seed);
        var info = GgmlTypeInfo.Get(type);
        long rowBytes = info.ByteCount(columns);
        var data = new byte[rowBytes * rows];
        rng.NextBytes(data);
        int[] halfFields = type switch
        {
            GgmlType.Q4_0 or GgmlType.Q8_0 => [0],
            GgmlType.Q4_K or GgmlType.Q5_K => [0, 2],
            GgmlType.Q6_K => [208],
            _ => [],
        };

        for (int r = 0; r < rows; r++)
        {
            var row = data.AsSpan((int)(r * rowBytes), (int)rowBytes);
            switch (type)
            {
                case GgmlType.F32:
                    for (int i = 0; i < columns; i++)
                    {
                        BitConverter.TryWriteBytes(row[(4 * i)..], RandomFloat(rng));
                    }

                    break;
                case GgmlType.F16:
                    for (int i = 0; i < columns; i++)
                    {
                        BitConverter.TryWriteBytes(row[(2 * i)..], RandomHalf(rng, -24, 15));
                    }

                    break;
                case GgmlType.BF16:
                    for (int i = 0; i < columns; i++)
                    {
                        BitConverter.TryWriteBytes(row[(2 * i)..], (ushort)(BitConverter.SingleToUInt32Bits(RandomFloat(rng)) >> 16));
                    }

                    break;
                default:
                    for (int b = 0; b < columns / info.BlockSize; b++)
                    {
                        foreach (int field in halfFields)
                        {
                            BitConverter.TryWriteBytes(row[((b * info.BlockBytes) + field)..], RandomHalf(rng, -24, 8));
                        }
                    }

                    break;
            }
        }

        return data;
    }

    /// <summary>A finite half with a random sign, mantissa and binary exponent in [<paramref name="minExp"/>, <paramref name="maxExp"/>).</summary>
    private static ushort RandomHalf(Random rng, int minExp, int maxExp)
    {
        float v = (float)(rng.NextDouble() + 0.5) * MathF.Pow(2, rng.Next(minExp, maxExp)) * (rng.Next(2) == 0 ? -1 : 1);
        return BitConverter.HalfToUInt16Bits((Half)Math.Clamp(v, -65504f, 65504f));
    }

    private static float RandomFloat(Random rng) =>
        (float)((rng.NextDouble() * 2) - 1) * MathF.Pow(2, rng.Next(-20, 12));

    /// <summary>Activations whose magnitude changes from block to block; one block of zeros when there are several.</summary>
    public static float[] Activations(int columns, int seed)
    {
        var rng = new Random(seed);
        var x = new float[columns];
        for (int i = 0; i < columns; i++)
        {
            float blockScale = MathF.Pow(2, ((i / 32 * 7) % 23) - 11);
            x[i] = (float)((rng.NextDouble() * 2) - 1) * blockScale;
        }

        if (columns >= 512)
        {
            Array.Clear(x, 256, 32);
        }

        return x;
    }

    /// <summary>The activations as the kernels see them: dequantized from the prepared bytes.</summary>
    public static float[] RoundedActivations(GgmlType activationType, byte[] prepared, int columns)
    {
        var x = new float[columns];
        if (activationType is GgmlType.Q8_0 or GgmlType.Q8_K)
        {
            Dequantizer.Dequantize(activationType, prepared.AsSpan(0, ActivationQuantizer.ByteCount(activationType, columns)), x);
        }
        else
        {
            Buffer.BlockCopy(prepared, 0, x, 0, 4 * columns);
            if (activationType == GgmlType.BF16)
            {
                x = BF16Dot.Unsplit(x);
            }
        }

        return x;
    }

    /// <summary>Σ w·x in double over the dequantized row, and Σ |w·x| (the scale of the rounding error).</summary>
    public static (double Dot, double Magnitude) Reference(GgmlType type, ReadOnlySpan<byte> row, float[] x)
    {
        var w = new float[x.Length];
        Dequantizer.Dequantize(type, row, w);
        double dot = 0, magnitude = 0;
        for (int i = 0; i < x.Length; i++)
        {
            double p = (double)w[i] * x[i];
            dot += p;
            magnitude += Math.Abs(p);
        }

        return (dot, magnitude);
    }

    public static int[] ColumnsFor(GgmlType type) => GgmlTypeInfo.Get(type).BlockSize switch
    {
        1 => [1, 7, 16, 33, 100, 255, 4096],
        32 => [32, 64, 96, 160, 224, 4096],
        _ => [256, 512, 768, 2816],
    };

    /// <summary>
    /// <paramref name="batch"/> random activation vectors (seeds <paramref name="seed"/> + t) prepared for the kernels at
    /// <paramref name="width"/> and, as the reference's CPU path quantizes them, for <c>ReferenceDot</c>; each vector
    /// <c>XBytes</c> (<c>ReferenceBytes</c>) apart.
    /// </summary>
    public static (byte[] Prepared, int XBytes, byte[] Reference, int ReferenceBytes) ActivationBatch(GgmlType activationType, int columns, int batch, int seed, KernelWidth width)
    {
        int xBytes = ActivationQuantizer.ByteCount(activationType, columns);
        int referenceBytes = MicroLlm.Numerics.ReferenceDot.ActivationBytes(activationType, columns);
        var prepared = new byte[xBytes * batch];
        var reference = new byte[referenceBytes * batch];
        for (int t = 0; t < batch; t++)
        {
            float[] activations = Activations(columns, seed: seed + t);
            ActivationQuantizer.Quantize(activationType, activations, prepared.AsSpan(t * xBytes, xBytes), width);
            MicroLlm.Numerics.ReferenceDot.QuantizeActivations(activationType, activations, reference.AsSpan(t * referenceBytes, referenceBytes));
        }

        return (prepared, xBytes, reference, referenceBytes);
    }

    /// <summary><c>ReferenceDot.Dot</c> of every row with every prepared vector: <c>[t * rows + r]</c>.</summary>
    public static float[] ReferenceOutputs(GgmlType type, byte[] weights, int rows, int columns, byte[] reference, int referenceBytes, int batch, bool interleavedQ4_0 = false)
    {
        long rowBytes = GgmlTypeInfo.Get(type).ByteCount(columns);
        var expected = new float[batch * rows];
        for (int t = 0; t < batch; t++)
        {
            for (int r = 0; r < rows; r++)
            {
                expected[(t * rows) + r] = MicroLlm.Numerics.ReferenceDot.Dot(type, weights.AsSpan((int)(r * rowBytes), (int)rowBytes), reference.AsSpan(t * referenceBytes, referenceBytes), columns, interleavedQ4_0);
            }
        }

        return expected;
    }

    /// <summary>
    /// Each batch size of <paramref name="batches"/> over each row range of <paramref name="ranges"/> through
    /// <see cref="MatVec.ComputeBatch"/>, and over every row on two threads through <see cref="ParallelMatVec.Run"/>,
    /// each output against <paramref name="expected"/> bit for bit (<see cref="CheckBits"/>); <paramref name="weights"/>
    /// in <paramref name="layout"/>, the activations as <see cref="ActivationBatch"/> prepares them.
    /// </summary>
    public static unsafe void CheckBatches(
        GgmlType type, byte[] weights, int rows, int columns, byte[] prepared, int xBytes, float[] expected,
        int[] batches, (int Start, int End)[] ranges, KernelWidth width, WeightLayout layout, string what)
    {
        long rowBytes = GgmlTypeInfo.Get(type).ByteCount(columns);
        foreach (int batch in batches)
        {
            foreach (var (rowStart, rowEnd) in ranges)
            {
                var y = Enumerable.Repeat(float.NaN, batch * rows).ToArray();
                fixed (byte* w = weights)
                fixed (byte* px = prepared)
                fixed (float* py = y)
                {
                    MatVec.ComputeBatch(type, w, rowBytes, columns, rowStart, rowEnd, px, xBytes, batch, py, rows, width, layout);
                }

                CheckBits(y, expected, rows, batch, rowStart, rowEnd, $"{what} batch {batch} rows {rowStart}..{rowEnd}");
            }

            var parallel = Enumerable.Repeat(float.NaN, batch * rows).ToArray();
            using var pool = new ComputePool(2);
            fixed (byte* w = weights)
            fixed (byte* px = prepared)
            fixed (float* py = parallel)
            {
                ParallelMatVec.Run(pool, type, w, rowBytes, columns, rows, px, xBytes, batch, py, rows, width, layout);
            }

            CheckBits(parallel, expected, rows, batch, 0, rows, $"{what} batch {batch}, 2 threads");
        }
    }

    /// <summary>
    /// Outputs <c>y[t * rows + r]</c> of a row range against the reference's, bit for bit; rows outside the range must
    /// still hold the NaN they were filled with.
    /// </summary>
    public static void CheckBits(float[] y, float[] expected, int rows, int batch, int rowStart, int rowEnd, string what)
    {
        for (int t = 0; t < batch; t++)
        {
            for (int r = 0; r < rows; r++)
            {
                float got = y[(t * rows) + r];
                if (r < rowStart || r >= rowEnd)
                {
                    Assert.That(float.IsNaN(got), $"{what}: row {r} outside the range was written");
                    continue;
                }

                float want = expected[(t * rows) + r];
                Assert.That(BitConverter.SingleToUInt32Bits(got), Is.EqualTo(BitConverter.SingleToUInt32Bits(want)), $"{what}: vector {t} row {r}: {got} vs reference {want}");
            }
        }
    }
}
