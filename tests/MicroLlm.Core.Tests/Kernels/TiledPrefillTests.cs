using MicroLlm.Gguf;
using MicroLlm.Kernels;
using static MicroLlm.Core.Tests.Kernels.KernelTestData;

namespace MicroLlm.Core.Tests.Kernels;

/// <summary>
/// The register-tiled prefill kernels (several rows × several activation vectors per tile) give every output the
/// reference's bits: batches that fill no tile, one tile and several with a remainder, row ranges that start and end
/// inside a tile, odd column counts, one thread and two (rows split over the pool in whole tiles).
/// </summary>
public unsafe class TiledPrefillTests
{
    private static readonly GgmlType[] TiledTypes = [GgmlType.F16, GgmlType.F32, GgmlType.BF16, GgmlType.Q8_0, GgmlType.Q4_K, GgmlType.Q6_K];

    private static IEnumerable<TestCaseData> Cases()
    {
        foreach (var type in TiledTypes)
        {
            foreach (var width in Kernel.Supported)
            {
                yield return new TestCaseData(type, (int)width).SetName($"Tiled_{type}_{width}");
            }
        }
    }

    [TestCaseSource(nameof(Cases))]
    public void EveryOutputHasTheReferenceBits(GgmlType type, int widthIndex)
    {
        var width = (KernelWidth)widthIndex;
        var activationType = ActivationQuantizer.ActivationTypeFor(type);
        int blockSize = GgmlTypeInfo.Get(type).BlockSize;
        // BF16 tiles take rows of a multiple of 32 (tinyBLAS's order: vdpbf16ps's pairs); 48 keeps ggml_vec_dot_bf16's.
        // F16 decode (batches 1-3) takes rows of a multiple of 32 through FloatDot.F16Rows, staggered by n / 64 chunks of
        // 32: 32 (no first part), 96 (an odd multiple: one chunk left over) and 128 (two equal parts).
        int[] columnCounts = type == GgmlType.BF16 ? [32, 48, 96, 128, 2080] : blockSize == 1 ? [16, 32, 48, 96, 128, 2064] : blockSize == 32 ? [32, 96, 2080] : [256, 768, 2304];
        foreach (int columns in columnCounts)
        {
            const int rows = 23;
            byte[] weights = Weights(type, rows, columns, seed: columns + 5);
            long rowBytes = GgmlTypeInfo.Get(type).ByteCount(columns);
            const int maxBatch = 17;
            var (prepared, xBytes, referencePrepared, referenceBytes) = ActivationBatch(activationType, columns, maxBatch, seed: 7 * columns, width);
            float[] expected = ReferenceOutputs(type, weights, rows, columns, referencePrepared, referenceBytes, maxBatch);

            CheckBatches(type, weights, rows, columns, prepared, xBytes, expected, [1, 2, 3, 4, 5, 8, 13, 17], [(0, rows), (1, 20), (5, 6), (7, 9), (10, 13)], width, WeightLayout.Rows, $"{type} {width} columns {columns}");
        }
    }

    [Test]
    public void EveryHalfWidensToTheSameFloatInTheTilesLoader()
    {
        if (!Kernel.IsSupported(KernelWidth.Vector512))
        {
            Assert.Ignore("needs 512-bit vectors");
        }

        var halves = new short[65536];
        for (int i = 0; i < halves.Length; i++)
        {
            halves[i] = unchecked((short)i);
        }

        fixed (short* h = halves)
        {
            for (int i = 0; i < halves.Length; i += 16)
            {
                var fast = HalfBits.Load16(h + i);
                for (int l = 0; l < 16; l++)
                {
                    Assert.That(BitConverter.SingleToUInt32Bits(fast[l]), Is.EqualTo(BitConverter.SingleToUInt32Bits(HalfBits.ToSingle((ushort)(i + l)))), $"half 0x{i + l:X4}");
                }
            }
        }
    }
}
