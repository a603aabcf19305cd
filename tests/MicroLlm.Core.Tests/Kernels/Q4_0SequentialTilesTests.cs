using ReferenceDot = MicroLlm.Numerics.ReferenceDot;
using MicroLlm.Gguf;
using MicroLlm.Kernels;
using static MicroLlm.Core.Tests.Kernels.KernelTestData;

namespace MicroLlm.Core.Tests.Kernels;

/// <summary>
/// Q4_0 in the repacked kernels' order over the packed layout (<see cref="Q4_0SequentialTiles"/>,
/// <see cref="Q4_0SequentialPanels"/>): every output has the bits of <c>ReferenceDot.Q4_0Sequential</c> on the file's
/// rows at every width, for decode (one vector) and prefill batches, row ranges of whole panels, of panels and a tile,
/// and of single tiles, one block per row and many, two threads; with rows and
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
            const int rows = 40; // five groups of 8: two panels of 16 and a tile
            byte[] weights = Weights(type, rows, columns, seed: columns + 11);
            long rowBytes = GgmlTypeInfo.Get(type).ByteCount(columns);
            for (int b = 0; b < columns / 32; b++)
            {
                // Row 2: every nibble 15; row 13: every nibble 0; row 21: 15 in the low nibbles, 0 in the high ones.
                weights.AsSpan((int)((2 * rowBytes) + (b * 18) + 2), 16).Fill(0xFF);
                weights.AsSpan((int)((13 * rowBytes) + (b * 18) + 2), 16).Clear();
                weights.AsSpan((int)((21 * rowBytes) + (b * 18) + 2), 16).Fill(0x0F);
            }

            byte[] packed = Packed(weights, rows, columns);
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

            CheckBatches(type, packed, rows, columns, prepared, xBytes, expected, [1, 2, 3, 4, 5, 9], [(0, rows), (8, 40), (8, 16), (16, 24), (0, 24)], width, WeightLayout.PackedQ4_0, $"{width} columns {columns}");
        }
    }

    [Test]
    public void PackingKeepsEveryRowAndUnpackingRestoresIt()
    {
        foreach (int columns in new[] { 32, 2080 })
        {
            const int rows = 16;
            byte[] weights = Weights(GgmlType.Q4_0, rows, columns, seed: columns);
            int rowBytes = (int)GgmlTypeInfo.Get(GgmlType.Q4_0).ByteCount(columns);
            byte[] packed = Packed(weights, rows, columns);
            Assert.That(packed.Length, Is.EqualTo(weights.Length), "the packed layout takes the file's bytes");
            Assert.That(packed, Is.Not.EqualTo(weights), "the bytes moved");
            var row = new byte[rowBytes];
            for (int r = 0; r < rows; r++)
            {
                fixed (byte* p = packed)
                fixed (byte* dst = row)
                {
                    Q4_0SequentialTiles.UnpackRow(p + ((r / 8) * 8 * rowBytes), columns / 32, r % 8, dst);
                }

                Assert.That(row, Is.EqualTo(weights.AsSpan(r * rowBytes, rowBytes).ToArray()), $"columns {columns} row {r}");
            }
        }
    }

    [Test]
    public void ARangeThatSplitsAGroupIsRefused()
    {
        byte[] packed = Packed(Weights(GgmlType.Q4_0, 16, 64, seed: 5), 16, 64);
        var x = new byte[ActivationQuantizer.ByteCount(GgmlType.Q8_0, 64)];
        var y = new float[16];
        var e = Assert.Throws<ArgumentException>(() =>
        {
            fixed (byte* w = packed)
            fixed (byte* px = x)
            fixed (float* py = y)
            {
                MatVec.ComputeBatch(GgmlType.Q4_0, w, 36, 64, 3, 16, px, x.Length, 1, py, 16, KernelWidth.Vector256, WeightLayout.PackedQ4_0);
            }
        });
        Assert.That(e!.Message, Does.Contain("groups of 8 rows"));
    }

    /// <summary>The rows packed group by group, as a model packs its Q4_0 matrices.</summary>
    private static byte[] Packed(byte[] weights, int rows, int columns)
    {
        long rowBytes = GgmlTypeInfo.Get(GgmlType.Q4_0).ByteCount(columns);
        var packed = new byte[weights.Length];
        fixed (byte* src = weights)
        fixed (byte* dst = packed)
        {
            for (int g = 0; g < rows / 8; g++)
            {
                Q4_0SequentialTiles.Pack(src + (g * 8 * rowBytes), rowBytes, columns / 32, dst + (g * 8 * rowBytes));
            }
        }

        return packed;
    }
}
