using MicroLlm.Gguf;
using MicroLlm.Kernels;
using static MicroLlm.Core.Tests.Kernels.KernelTestData;

namespace MicroLlm.Core.Tests.Kernels;

/// <summary>
/// Q4_K, Q5_K, Q6_K and Q8_0 matrices in <see cref="RowGroups"/> (4 rows, each block of the 4 side by side, as a model's
/// store holds them): every output has the bits of <c>ReferenceDot</c> on the file's rows at every width, for decode (one
/// vector), batches too small for the prefill tiles and prefill batches, ranges of whole groups, one block per row and
/// several, and two threads; packing keeps every byte and unpacking restores the rows.
/// </summary>
public unsafe class RowGroupsTests
{
    private static readonly GgmlType[] Types = [GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K, GgmlType.Q8_0];

    private static IEnumerable<TestCaseData> Cases() =>
        from type in Types
        from width in Kernel.Supported
        select new TestCaseData(type, (int)width).SetName($"RowGroups_{type}_{width}");

    [TestCaseSource(nameof(Cases))]
    public void EveryOutputHasTheReferenceBits(GgmlType type, int widthIndex)
    {
        var width = (KernelWidth)widthIndex;
        var activationType = ActivationQuantizer.ActivationTypeFor(type);
        int[] columnCounts = type == GgmlType.Q8_0 ? [32, 96, 160] : [256, 768];
        foreach (int columns in columnCounts)
        {
            const int rows = 20; // five groups
            byte[] weights = Weights(type, rows, columns, seed: columns + (int)type);
            long rowBytes = GgmlTypeInfo.Get(type).ByteCount(columns);
            byte[] grouped = Grouped(type, weights, rows, columns);
            const int maxBatch = 9;
            var (prepared, xBytes, referencePrepared, referenceBytes) = ActivationBatch(activationType, columns, maxBatch, seed: 5 * columns, width);
            float[] expected = ReferenceOutputs(type, weights, rows, columns, referencePrepared, referenceBytes, maxBatch);

            CheckBatches(type, grouped, rows, columns, prepared, xBytes, expected, [1, 2, 3, 4, 5, 9], [(0, rows), (4, 16), (8, 12), (16, 20)], width, WeightLayout.RowGroups, $"{type} {width} columns {columns}");

            // One vector through Compute, the decode entry.
            var single = Enumerable.Repeat(float.NaN, rows).ToArray();
            fixed (byte* w = grouped)
            fixed (byte* px = prepared)
            fixed (float* py = single)
            {
                MatVec.Compute(type, w, rowBytes, columns, 4, 20, px, py, width, WeightLayout.RowGroups);
            }

            CheckBits(single, expected, rows, 1, 4, 20, $"{type} {width} columns {columns} Compute rows 4..20");
        }
    }

    [Test]
    public void PackingKeepsEveryByteAndUnpackingRestoresTheRows()
    {
        foreach (var type in Types)
        {
            int columns = type == GgmlType.Q8_0 ? 96 : 512;
            const int rows = 8;
            byte[] weights = Weights(type, rows, columns, seed: columns);
            int rowBytes = (int)GgmlTypeInfo.Get(type).ByteCount(columns);
            int blockBytes = RowGroups.BlockBytes(type);
            Assert.That(blockBytes, Is.EqualTo(GgmlTypeInfo.Get(type).BlockBytes), $"{type} block size");
            byte[] grouped = Grouped(type, weights, rows, columns);
            Assert.That(grouped.Length, Is.EqualTo(weights.Length), "the groups take the file's bytes");

            // Row 5's second block (group 1, row 1 of it) lies after the group's first block step and row 0's second block.
            Assert.That(grouped.AsSpan((4 * rowBytes) + (5 * blockBytes), blockBytes).ToArray(), Is.EqualTo(weights.AsSpan((5 * rowBytes) + blockBytes, blockBytes).ToArray()), $"{type} row 5 block 1");
            var rowsBack = new byte[4 * rowBytes];
            for (int g = 0; g < rows / 4; g++)
            {
                fixed (byte* p = grouped)
                fixed (byte* dst = rowsBack)
                {
                    RowGroups.Unpack(p + (g * 4 * rowBytes), rowBytes, blockBytes, dst);
                }

                Assert.That(rowsBack, Is.EqualTo(weights.AsSpan(g * 4 * rowBytes, 4 * rowBytes).ToArray()), $"{type} group {g}");
            }
        }
    }

    [Test]
    public void ARangeThatSplitsAGroupIsRefused()
    {
        const int columns = 256;
        byte[] grouped = Grouped(GgmlType.Q4_K, Weights(GgmlType.Q4_K, 8, columns, seed: 5), 8, columns);
        var x = new byte[ActivationQuantizer.ByteCount(GgmlType.Q8_K, columns)];
        var y = new float[8];
        var e = Assert.Throws<ArgumentException>(() =>
        {
            fixed (byte* w = grouped)
            fixed (byte* px = x)
            fixed (float* py = y)
            {
                MatVec.ComputeBatch(GgmlType.Q4_K, w, 144, columns, 2, 8, px, x.Length, 1, py, 8, KernelWidth.Vector512, WeightLayout.RowGroups);
            }
        });
        Assert.That(e!.Message, Does.Contain("groups of 4 rows"));
    }

    /// <summary>The rows in groups of 4, as a model's store holds them.</summary>
    private static byte[] Grouped(GgmlType type, byte[] weights, int rows, int columns)
    {
        long rowBytes = GgmlTypeInfo.Get(type).ByteCount(columns);
        var grouped = new byte[weights.Length];
        fixed (byte* src = weights)
        fixed (byte* dst = grouped)
        {
            for (int g = 0; g < rows / 4; g++)
            {
                RowGroups.Pack(src + (g * 4 * rowBytes), rowBytes, RowGroups.BlockBytes(type), dst + (g * 4 * rowBytes));
            }
        }

        return grouped;
    }
}
