using ReferenceDot = MicroLlm.Numerics.ReferenceDot;
using MicroLlm.Gguf;
using MicroLlm.Kernels;
using static MicroLlm.Core.Tests.Kernels.KernelTestData;

namespace MicroLlm.Core.Tests.Kernels;

/// <summary>
/// Q4_0 in the repacked kernels' order (<see cref="Q4_0SequentialTiles"/>, <see cref="Q4_0SequentialPanels"/>): every
/// output has the bits of <c>ReferenceDot.Q4_0Sequential</c> at every width, for decode (one vector) and prefill
/// batches, row ranges that start and end inside a tile, one block per row and many, two threads; with rows and
/// activation blocks at the extremes (every nibble 15 or 0 against ±127 everywhere), which push the tiles' 16-bit
/// partial sums to their largest.
/// </summary>
public unsafe class Q4_0SequentialTilesTests
{
    private static IEnumerable<TestCaseData> Cases()
    {
        foreach (var width in Kernel.Supported)
        {
            yield return new TestCaseData((int)width).SetName($"Q4_0Sequential_{width}");
        }
    }

    [TestCaseSource(nameof(Cases))]
    public void EveryOutputHasTheReferenceBits(int widthIndex)
    {
        var width = (KernelWidth)widthIndex;
        const GgmlType type = GgmlType.Q4_0;
        foreach (int columns in new[] { 32, 96, 2080 })
        {
            const int rows = 43; // five tiles of 8 and a tail of 3; two panels of 16 and the rest
            byte[] weights = Weights(type, rows, columns, seed: columns + 11);
            long rowBytes = GgmlTypeInfo.Get(type).ByteCount(columns);
            for (int b = 0; b < columns / 32; b++)
            {
                // Row 2: every nibble 15; row 13: every nibble 0; row 21: 15 in the low nibbles, 0 in the high ones.
                weights.AsSpan((int)((2 * rowBytes) + (b * 18) + 2), 16).Fill(0xFF);
                weights.AsSpan((int)((13 * rowBytes) + (b * 18) + 2), 16).Clear();
                weights.AsSpan((int)((21 * rowBytes) + (b * 18) + 2), 16).Fill(0x0F);
            }

            const int maxBatch = 9;
            int xBytes = ActivationQuantizer.ByteCount(GgmlType.Q8_0, columns);
            int referenceBytes = ReferenceDot.ActivationBytes(GgmlType.Q8_0, columns);
            var prepared = new byte[xBytes * maxBatch];
            var referencePrepared = new byte[referenceBytes * maxBatch];
            for (int t = 0; t < maxBatch; t++)
            {
                float[] activations = Activations(columns, seed: (3 * columns) + t);
                if (t % 2 == 0)
                {
                    // Whole blocks of one value: every activation quantizes to +127 (or −127 in odd blocks).
                    for (int i = 0; i < columns; i++)
                    {
                        activations[i] = (i / 32 % 2 == 0 ? 1f : -1f) * (t + 1);
                    }
                }

                ActivationQuantizer.Quantize(GgmlType.Q8_0, activations, prepared.AsSpan(t * xBytes, xBytes), width);
                ReferenceDot.QuantizeActivations(GgmlType.Q8_0, activations, referencePrepared.AsSpan(t * referenceBytes, referenceBytes));
            }

            var expected = new float[maxBatch * rows];
            for (int t = 0; t < maxBatch; t++)
            {
                for (int r = 0; r < rows; r++)
                {
                    expected[(t * rows) + r] = ReferenceDot.Dot(type, weights.AsSpan((int)(r * rowBytes), (int)rowBytes), referencePrepared.AsSpan(t * referenceBytes, referenceBytes), columns, interleavedQ4_0: true);
                }
            }

            foreach (int batch in new[] { 1, 2, 3, 4, 5, 9 })
            {
                foreach (var (rowStart, rowEnd) in new[] { (0, rows), (3, 37), (8, 16), (5, 6) })
                {
                    var y = Enumerable.Repeat(float.NaN, batch * rows).ToArray();
                    fixed (byte* w = weights)
                    fixed (byte* px = prepared)
                    fixed (float* py = y)
                    {
                        MatVec.ComputeBatch(type, w, rowBytes, columns, rowStart, rowEnd, px, xBytes, batch, py, rows, width, sequentialQ4_0: true);
                    }

                    Check(y, expected, rows, batch, rowStart, rowEnd, $"{width} columns {columns} batch {batch} rows {rowStart}..{rowEnd}");
                }

                var parallel = Enumerable.Repeat(float.NaN, batch * rows).ToArray();
                using var pool = new ComputePool(2);
                fixed (byte* w = weights)
                fixed (byte* px = prepared)
                fixed (float* py = parallel)
                {
                    ParallelMatVec.Run(pool, type, w, rowBytes, columns, rows, px, xBytes, batch, py, rows, width, sequentialQ4_0: true);
                }

                Check(parallel, expected, rows, batch, 0, rows, $"{width} columns {columns} batch {batch}, 2 threads");
            }
        }
    }

    private static void Check(float[] y, float[] expected, int rows, int batch, int rowStart, int rowEnd, string what)
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
