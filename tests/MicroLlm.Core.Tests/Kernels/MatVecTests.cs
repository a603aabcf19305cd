using ReferenceDot = MicroLlm.Numerics.ReferenceDot;
using MicroLlm.Gguf;
using MicroLlm.Kernels;
using static MicroLlm.Core.Tests.Kernels.KernelTestData;

namespace MicroLlm.Core.Tests.Kernels;

/// <summary>Every weight kernel at every width this machine runs agrees with the dequantize-and-dot reference.</summary>
public unsafe class MatVecTests
{
    private static IEnumerable<TestCaseData> Cases()
    {
        foreach (var type in WeightTypes)
        {
            foreach (var width in Kernel.Supported)
            {
                yield return new TestCaseData(type, (int)width).SetName($"{type}_{width}");
            }
        }
    }

    [TestCaseSource(nameof(Cases))]
    public void RowsMatchTheReferenceDotProduct(GgmlType type, int widthIndex)
    {
        var width = (KernelWidth)widthIndex;
        var activationType = ActivationQuantizer.ActivationTypeFor(type);
        foreach (int columns in ColumnsFor(type))
        {
            const int rows = 7;
            byte[] weights = Weights(type, rows, columns, seed: columns);
            long rowBytes = GgmlTypeInfo.Get(type).ByteCount(columns);
            var prepared = new byte[ActivationQuantizer.ByteCount(activationType, columns)];
            ActivationQuantizer.Quantize(activationType, Activations(columns, seed: columns + 1), prepared, width);
            float[] x = RoundedActivations(activationType, prepared, columns);
            var y = new float[rows + 1];
            y[^1] = 12345f;

            fixed (byte* w = weights)
            fixed (byte* px = prepared)
            fixed (float* py = y)
            {
                MatVec.Compute(type, w, rowBytes, columns, 0, rows, px, py, width);
            }

            for (int r = 0; r < rows; r++)
            {
                var (dot, magnitude) = Reference(type, weights.AsSpan((int)(r * rowBytes), (int)rowBytes), x);
                double tolerance = (2e-6 * magnitude) + 1e-35;
                Assert.That(Math.Abs(y[r] - dot), Is.LessThanOrEqualTo(tolerance),
                    $"{type} {width} columns {columns} row {r}: got {y[r]}, reference {dot} (Σ|w·x| {magnitude})");
            }

            Assert.That(y[^1], Is.EqualTo(12345f), "nothing written past the rows");
        }
    }

    [TestCaseSource(nameof(Cases))]
    public void RangesAndBatchesGiveTheSameBitsAsWholeRows(GgmlType type, int widthIndex)
    {
        var width = (KernelWidth)widthIndex;
        var activationType = ActivationQuantizer.ActivationTypeFor(type);
        int columns = ColumnsFor(type)[^2];
        const int rows = 9, batch = 3;
        byte[] weights = Weights(type, rows, columns, seed: 5);
        long rowBytes = GgmlTypeInfo.Get(type).ByteCount(columns);
        int xBytes = ActivationQuantizer.ByteCount(activationType, columns);
        var prepared = new byte[xBytes * batch];
        for (int t = 0; t < batch; t++)
        {
            ActivationQuantizer.Quantize(activationType, Activations(columns, seed: 10 + t), prepared.AsSpan(t * xBytes, xBytes), width);
        }

        var whole = new float[batch * rows];
        var ranged = Enumerable.Repeat(float.NaN, batch * rows).ToArray();
        var batched = new float[batch * rows];
        fixed (byte* w = weights)
        fixed (byte* px = prepared)
        fixed (float* pw = whole)
        fixed (float* pr = ranged)
        fixed (float* pb = batched)
        {
            for (int t = 0; t < batch; t++)
            {
                MatVec.Compute(type, w, rowBytes, columns, 0, rows, px + (t * xBytes), pw + (t * rows), width);
                MatVec.Compute(type, w, rowBytes, columns, 0, 2, px + (t * xBytes), pr + (t * rows), width);
                MatVec.Compute(type, w, rowBytes, columns, 2, 5, px + (t * xBytes), pr + (t * rows), width);
                MatVec.Compute(type, w, rowBytes, columns, 5, rows, px + (t * xBytes), pr + (t * rows), width);
            }

            MatVec.ComputeBatch(type, w, rowBytes, columns, 0, rows, px, xBytes, batch, pb, rows, width);
        }

        Assert.That(ranged, Is.EqualTo(whole));
        Assert.That(batched, Is.EqualTo(whole));
    }

    private static IEnumerable<TestCaseData> ReferenceOrderCases()
    {
        foreach (var (type, sequential) in new[] { (GgmlType.Q4_0, false), (GgmlType.Q4_0, true), (GgmlType.Q8_0, false), (GgmlType.Q4_K, false), (GgmlType.Q5_K, false), (GgmlType.Q6_K, false), (GgmlType.F32, false), (GgmlType.F16, false), (GgmlType.BF16, false) })
        {
            foreach (var width in Kernel.Supported)
            {
                yield return new TestCaseData(type, sequential, (int)width).SetName($"ReferenceOrder_{type}{(sequential ? "_sequential" : "")}_{width}");
            }
        }
    }

    [TestCaseSource(nameof(ReferenceOrderCases))]
    public void ReferenceOrderKernelsGiveTheReferenceBits(GgmlType type, bool sequential, int widthIndex)
    {
        // The numerics contract (docs/ARCHITECTURE.md): these kernels sum in the reference runtime's order at every width.
        var width = (KernelWidth)widthIndex;
        var activationType = ActivationQuantizer.ActivationTypeFor(type);
        Assert.That(ReferenceDot.ActivationType(type), Is.EqualTo(activationType));
        // BF16 kernels keep the reference's order at every length (tinyBLAS's, or ggml_vec_dot_bf16's with its tail).
        int[] lengths = type == GgmlType.BF16 ? [1, 7, 16, 33, 64, 96, 100, 160, 255, 4096] : [.. ColumnsFor(type).Where(c => c % 16 == 0)];
        foreach (int columns in lengths)
        {
            const int rows = 5;
            byte[] weights = Weights(type, rows, columns, seed: 3 * columns);
            long rowBytes = GgmlTypeInfo.Get(type).ByteCount(columns);
            float[] activations = Activations(columns, seed: columns + 7);
            var prepared = new byte[ActivationQuantizer.ByteCount(activationType, columns)];
            ActivationQuantizer.Quantize(activationType, activations, prepared, width);
            var referencePrepared = new byte[ReferenceDot.ActivationBytes(activationType, columns)];
            ReferenceDot.QuantizeActivations(activationType, activations, referencePrepared);
            if (type == GgmlType.F16)
            {
                // The kernels read F16-rounded activations as floats; the reference keeps them as halves.
                var halves = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, Half>(referencePrepared).ToArray();
                var floats = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(prepared).ToArray();
                Assert.That(Enumerable.Range(0, columns).All(i => (float)halves[i] == floats[i]), "activations rounded to F16 as the reference does");
            }
            else if (type == GgmlType.BF16)
            {
                // The kernels read BF16-rounded activations as floats split into odd and even halves of each 32 (subnormals
                // zero there, as vdpbf16ps reads them); the reference keeps them as bfloat16s.
                var bf16 = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, ushort>(referencePrepared).ToArray();
                float[] floats = BF16Dot.Unsplit(System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(prepared)[..columns]);
                int split = BF16Dot.SplitChunks(columns) * 32;
                Assert.That(Enumerable.Range(0, columns).All(i => floats[i] == (i < split ? ReferenceDot.ZeroIfSubnormal(bf16[i]) : MicroLlm.Quantization.Bf16.ToSingle(bf16[i]))), "activations rounded to BF16 as the reference does");
            }
            else
            {
                Assert.That(prepared, Is.EqualTo(referencePrepared), "activations quantized as the reference's CPU path does");
            }

            var y = new float[rows];
            fixed (byte* w = weights)
            fixed (byte* px = prepared)
            fixed (float* py = y)
            {
                MatVec.Compute(type, w, rowBytes, columns, 0, rows, px, py, width, sequential ? WeightLayout.SequentialQ4_0 : WeightLayout.Rows);
            }

            for (int r = 0; r < rows; r++)
            {
                float expected = ReferenceDot.Dot(type, weights.AsSpan((int)(r * rowBytes), (int)rowBytes), referencePrepared, columns, sequential);
                Assert.That(BitConverter.SingleToUInt32Bits(y[r]), Is.EqualTo(BitConverter.SingleToUInt32Bits(expected)),
                    $"{type} {width} columns {columns} row {r}: {y[r]} vs reference {expected}");
            }
        }
    }

    [TestCaseSource(nameof(ReferenceOrderCases))]
    public void BatchedTilesGiveTheReferenceBits(GgmlType type, bool sequential, int widthIndex)
    {
        // Tiled kernels (several rows and activation vectors per step) must keep each output's own order: a row range
        // with a partial tile at each end, batches of 1, 4 and 7 vectors (a full 4-vector tile and leftovers).
        var width = (KernelWidth)widthIndex;
        var activationType = ActivationQuantizer.ActivationTypeFor(type);
        int columns = GgmlTypeInfo.Get(type).BlockSize switch { 1 => 4096, 32 => 160, _ => 768 };
        const int rows = 29, rowStart = 3, rowEnd = 27;
        byte[] weights = Weights(type, rows, columns, seed: 41);
        long rowBytes = GgmlTypeInfo.Get(type).ByteCount(columns);
        foreach (int batch in new[] { 1, 4, 7 })
        {
            int xBytes = ActivationQuantizer.ByteCount(activationType, columns);
            int referenceBytes = ReferenceDot.ActivationBytes(activationType, columns);
            var prepared = new byte[xBytes * batch];
            var referencePrepared = new byte[referenceBytes * batch];
            for (int t = 0; t < batch; t++)
            {
                float[] activations = Activations(columns, seed: 100 + t);
                ActivationQuantizer.Quantize(activationType, activations, prepared.AsSpan(t * xBytes, xBytes), width);
                ReferenceDot.QuantizeActivations(activationType, activations, referencePrepared.AsSpan(t * referenceBytes, referenceBytes));
            }

            var y = Enumerable.Repeat(float.NaN, batch * rows).ToArray();
            fixed (byte* w = weights)
            fixed (byte* px = prepared)
            fixed (float* py = y)
            {
                MatVec.ComputeBatch(type, w, rowBytes, columns, rowStart, rowEnd, px, xBytes, batch, py, rows, width, sequential ? WeightLayout.SequentialQ4_0 : WeightLayout.Rows);
            }

            for (int t = 0; t < batch; t++)
            {
                for (int r = 0; r < rows; r++)
                {
                    float got = y[(t * rows) + r];
                    if (r < rowStart || r >= rowEnd)
                    {
                        Assert.That(float.IsNaN(got), $"row {r} outside the range was written");
                        continue;
                    }

                    float expected = ReferenceDot.Dot(type, weights.AsSpan((int)(r * rowBytes), (int)rowBytes), referencePrepared.AsSpan(t * referenceBytes, referenceBytes), columns, sequential);
                    Assert.That(BitConverter.SingleToUInt32Bits(got), Is.EqualTo(BitConverter.SingleToUInt32Bits(expected)),
                        $"{type} {width} batch {batch} vector {t} row {r}: {got} vs reference {expected}");
                }
            }
        }
    }
    private static IEnumerable<TestCaseData> Q8_0DecodeCases() => Kernel.Supported.Select(w => new TestCaseData((int)w).SetName($"Q8_0DecodeRows_{w}"));

    [TestCaseSource(nameof(Q8_0DecodeCases))]
    public void Q8_0DecodeRowsGiveTheReferenceBits(int widthIndex)
    {
        var width = (KernelWidth)widthIndex;
        // Decode (one vector; Vector512 runs 4 rows per pass): ranges with 1-3 leftover rows or fewer rows than a pass,
        // an odd block count (the last block alone), and rows of -128 and 127 against activations that quantize to ±127.
        const GgmlType type = GgmlType.Q8_0;
        foreach (int columns in new[] { 32, 96, 160, 2048 })
        {
            const int rows = 13;
            long rowBytes = GgmlTypeInfo.Get(type).ByteCount(columns);
            byte[] weights = Weights(type, rows, columns, seed: columns + 9);
            for (int b = 0; b < columns / 32; b++)
            {
                weights.AsSpan((int)((2 * rowBytes) + (b * 34) + 2), 32).Fill(0x80);
                weights.AsSpan((int)((7 * rowBytes) + (b * 34) + 2), 32).Fill(0x7F);
            }

            foreach (bool saturated in new[] { false, true })
            {
                float[] activations = saturated ? [.. Enumerable.Range(0, columns).Select(i => i / 32 % 2 == 0 ? 1f : -1f)] : Activations(columns, seed: columns);
                var prepared = new byte[ActivationQuantizer.ByteCount(type, columns)];
                var referencePrepared = new byte[ReferenceDot.ActivationBytes(type, columns)];
                ActivationQuantizer.Quantize(type, activations, prepared, width);
                ReferenceDot.QuantizeActivations(type, activations, referencePrepared);
                foreach (var (start, end) in new[] { (0, 13), (0, 1), (1, 4), (3, 12), (2, 11), (5, 6), (4, 8) })
                {
                    var y = Enumerable.Repeat(float.NaN, rows).ToArray();
                    fixed (byte* w = weights)
                    fixed (byte* px = prepared)
                    fixed (float* py = y)
                    {
                        MatVec.ComputeBatch(type, w, rowBytes, columns, start, end, px, prepared.Length, 1, py, rows, width);
                    }

                    for (int r = 0; r < rows; r++)
                    {
                        if (r < start || r >= end)
                        {
                            Assert.That(float.IsNaN(y[r]), $"row {r} outside {start}..{end} was written");
                            continue;
                        }

                        float expected = ReferenceDot.Dot(type, weights.AsSpan((int)(r * rowBytes), (int)rowBytes), referencePrepared, columns);
                        Assert.That(BitConverter.SingleToUInt32Bits(y[r]), Is.EqualTo(BitConverter.SingleToUInt32Bits(expected)),
                            $"{width} columns {columns} rows {start}..{end} row {r}: {y[r]} vs reference {expected}");
                    }
                }
            }
        }
    }

    private static IEnumerable<TestCaseData> TiledDecodeCases()
    {
        foreach (var type in new[] { GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K })
        {
            foreach (var width in Kernel.Supported)
            {
                yield return new TestCaseData(type, (int)width).SetName($"TiledDecode_{type}_{width}");
            }
        }
    }

    [TestCaseSource(nameof(TiledDecodeCases))]
    public void TiledDecodeGivesTheReferenceBits(GgmlType type, int widthIndex)
    {
        // Decode tiles (several rows per step) keep each row's order: row ranges that start and end inside a tile, fewer
        // rows than a tile, batches of 1-3 vectors (one tile pass per vector) and of 4 and 9 (prefill tiles), and extreme codes (all bits set: codes 15 or 31,
        // scales and minimums 63; Q6_K: codes 63, scales 127 and -128) against activations that quantize to -128 and 127.
        var width = (KernelWidth)widthIndex;
        var activationType = ActivationQuantizer.ActivationTypeFor(type);
        long blockBytes = GgmlTypeInfo.Get(type).BlockBytes;
        foreach (int columns in new[] { 256, 2816 })
        {
            const int rows = 13;
            long rowBytes = GgmlTypeInfo.Get(type).ByteCount(columns);
            foreach (bool extreme in new[] { false, true })
            {
                byte[] weights = Weights(type, rows, columns, seed: columns + 5);
                if (extreme)
                {
                    for (int r = 0; r < rows; r += 2)
                    {
                        for (long b = 0; b < columns / 256; b++)
                        {
                            // Every code and scale bit (Q4_K, Q5_K: bytes 4 on; Q6_K: bytes 0-191, scales 127 and -128).
                            long o = (r * rowBytes) + (b * blockBytes);
                            if (type != GgmlType.Q6_K)
                            {
                                weights.AsSpan((int)o + 4, (int)blockBytes - 4).Fill(0xFF);
                            }
                            else
                            {
                                weights.AsSpan((int)o, 192).Fill(0xFF);
                                weights.AsSpan((int)o + 192, 8).Fill(0x7F);
                                weights.AsSpan((int)o + 200, 8).Fill(0x80);
                            }
                        }
                    }
                }

                foreach (int batch in new[] { 1, 2, 3, 4, 9 })
                {
                    int xBytes = ActivationQuantizer.ByteCount(activationType, columns);
                    int referenceBytes = ReferenceDot.ActivationBytes(activationType, columns);
                    var prepared = new byte[xBytes * batch];
                    var referencePrepared = new byte[referenceBytes * batch];
                    for (int t = 0; t < batch; t++)
                    {
                        float[] activations = extreme && t % 5 == 0
                            ? Enumerable.Range(0, columns).Select(i => (i / 256) % 2 == 0 ? 1f : -1f).ToArray()
                            : Activations(columns, seed: 200 + t + columns);
                        ActivationQuantizer.Quantize(activationType, activations, prepared.AsSpan(t * xBytes, xBytes), width);
                        ReferenceDot.QuantizeActivations(activationType, activations, referencePrepared.AsSpan(t * referenceBytes, referenceBytes));
                    }

                    foreach (var (start, end) in new[] { (0, 13), (0, 1), (1, 4), (3, 12), (2, 11), (5, 6) })
                    {
                        var y = Enumerable.Repeat(float.NaN, batch * rows).ToArray();
                        fixed (byte* w = weights)
                        fixed (byte* px = prepared)
                        fixed (float* py = y)
                        {
                            if (batch == 1)
                            {
                                MatVec.Compute(type, w, rowBytes, columns, start, end, px, py, width);
                            }
                            else
                            {
                                MatVec.ComputeBatch(type, w, rowBytes, columns, start, end, px, xBytes, batch, py, rows, width);
                            }
                        }

                        for (int t = 0; t < batch; t++)
                        {
                            for (int r = 0; r < rows; r++)
                            {
                                float got = y[(t * rows) + r];
                                if (r < start || r >= end)
                                {
                                    Assert.That(float.IsNaN(got), $"row {r} outside [{start}, {end}) was written");
                                    continue;
                                }

                                float expected = ReferenceDot.Dot(type, weights.AsSpan((int)(r * rowBytes), (int)rowBytes), referencePrepared.AsSpan(t * referenceBytes, referenceBytes), columns);
                                Assert.That(BitConverter.SingleToUInt32Bits(got), Is.EqualTo(BitConverter.SingleToUInt32Bits(expected)),
                                    $"{type} {width} columns {columns} extreme {extreme} batch {batch} vector {t} rows [{start}, {end}) row {r}: {got} vs reference {expected}");
                            }
                        }
                    }
                }
            }
        }
    }

    private static IEnumerable<TestCaseData> HalfExtremesCases() => Kernel.Supported.Select(w => new TestCaseData((int)w).SetName($"F16Extremes_{w}"));

    [TestCaseSource(nameof(HalfExtremesCases))]
    public void HalfRowsKeepTheReferenceBitsAtTheHalvesExtremes(int widthIndex)
    {
        // F16 decode (FloatDot.F16Rows: halves widened in integer operations and a multiply by 2^112, two rows
        // staggered) with weights and activations at the halves' largest (±65504) and smallest (±2^-24, subnormal)
        // magnitudes, products at the edges of the float range and sums that cancel, against ReferenceDot; rows of 32,
        // 96 and 2048 (one chunk, an odd multiple, two equal halves).
        var width = (KernelWidth)widthIndex;
        ushort[] specials = [0x7BFF, 0xFBFF, 0x0001, 0x8001, 0x03FF, 0x0400, 0x0000, 0x8000, 0x3C00, 0x7800];
        float[] activationSpecials = [65504f, -65504f, MathF.Pow(2, -24), -MathF.Pow(2, -24), 6.1e-5f, 1f, 0f, -0f, 65500f, 3e-5f];
        foreach (int columns in new[] { 32, 96, 2048 })
        {
            const int rows = 5;
            var rng = new Random(columns);
            var weights = new byte[2 * rows * columns];
            for (int i = 0; i < rows * columns; i++)
            {
                ushort bits = rng.Next(3) == 0 ? specials[rng.Next(specials.Length)] : (ushort)rng.Next(0x7C00);
                BitConverter.TryWriteBytes(weights.AsSpan(2 * i), (ushort)(bits | (rng.Next(2) << 15)));
            }

            var x = Enumerable.Range(0, columns).Select(i => rng.Next(3) == 0 ? activationSpecials[rng.Next(activationSpecials.Length)]
                : (float)((rng.NextDouble() * 2) - 1) * MathF.Pow(2, rng.Next(-24, 16))).ToArray();
            var prepared = new byte[ActivationQuantizer.ByteCount(GgmlType.F16, columns)];
            var referencePrepared = new byte[ReferenceDot.ActivationBytes(GgmlType.F16, columns)];
            ActivationQuantizer.Quantize(GgmlType.F16, x, prepared, width);
            ReferenceDot.QuantizeActivations(GgmlType.F16, x, referencePrepared);
            var y = new float[rows];
            fixed (byte* w = weights)
            fixed (byte* px = prepared)
            fixed (float* py = y)
            {
                MatVec.Compute(GgmlType.F16, w, 2 * columns, columns, 0, rows, px, py, width);
            }

            for (int r = 0; r < rows; r++)
            {
                float expected = ReferenceDot.Dot(GgmlType.F16, weights.AsSpan(2 * r * columns, 2 * columns), referencePrepared, columns);
                Assert.That(float.IsFinite(expected), $"columns {columns} row {r}: a finite case ({expected})");
                Assert.That(BitConverter.SingleToUInt32Bits(y[r]), Is.EqualTo(BitConverter.SingleToUInt32Bits(expected)),
                    $"columns {columns} row {r}: {y[r]:R} vs {expected:R}");
            }
        }
    }

    private static IEnumerable<TestCaseData> WidthCases() => Kernel.Supported.Select(w => new TestCaseData((int)w).SetName($"BF16SubnormalSums_{w}"));

    [TestCaseSource(nameof(WidthCases))]
    public void BFloat16KernelsFlushAsTheInstructionDoes(int widthIndex)
    {
        // Weights and activations small enough that products and partial sums fall below 2^-126, and some subnormal
        // weights: the unflushed 512-bit chains must notice and give the flushed bits (ReferenceDot.DotPair's), alone
        // and four vectors at a time; rows of normal weights with a tiny activation vector, and the reverse, as well.
        var width = (KernelWidth)widthIndex;
        const int columns = 256, rows = 7, batch = 5;   // register tiles of 6 rows × 4 vectors, a row and a vector left over
        var rng = new Random(77);
        var weights = new byte[2 * rows * columns];
        for (int i = 0; i < rows * columns; i++)
        {
            int r = i / columns;
            int exponent = r switch { 0 or 6 => rng.Next(0, 3), 1 or 2 => rng.Next(1, 40), _ => rng.Next(100, 140) };
            ushort bits = (ushort)((rng.Next(2) << 15) | (exponent << 7) | rng.Next(128));
            BitConverter.TryWriteBytes(weights.AsSpan(2 * i), bits);
        }

        int xBytes = ActivationQuantizer.ByteCount(GgmlType.BF16, columns);
        int referenceBytes = ReferenceDot.ActivationBytes(GgmlType.BF16, columns);
        var prepared = new byte[xBytes * batch];
        var referencePrepared = new byte[referenceBytes * batch];
        for (int t = 0; t < batch; t++)
        {
            float scale = t is 0 or 4 ? 1f : MathF.Pow(2, -100 + (10 * t));
            var x = Enumerable.Range(0, columns).Select(i => (float)((rng.NextDouble() * 2) - 1) * scale * MathF.Pow(2, -rng.Next(0, 30))).ToArray();
            x[3] = 1e-39f;
            ActivationQuantizer.Quantize(GgmlType.BF16, x, prepared.AsSpan(t * xBytes, xBytes), width);
            ReferenceDot.QuantizeActivations(GgmlType.BF16, x, referencePrepared.AsSpan(t * referenceBytes, referenceBytes));
        }

        var single = new float[batch * rows];
        var batched = new float[batch * rows];
        int subnormalOutputs = 0;
        fixed (byte* w = weights)
        fixed (byte* px = prepared)
        fixed (float* ps = single)
        fixed (float* pb = batched)
        {
            for (int t = 0; t < batch; t++)
            {
                MatVec.Compute(GgmlType.BF16, w, 2 * columns, columns, 0, rows, px + (t * xBytes), ps + (t * rows), width);
            }

            MatVec.ComputeBatch(GgmlType.BF16, w, 2 * columns, columns, 0, rows, px, xBytes, batch, pb, rows, width);
        }

        for (int t = 0; t < batch; t++)
        {
            for (int r = 0; r < rows; r++)
            {
                float expected = ReferenceDot.Dot(GgmlType.BF16, weights.AsSpan(2 * r * columns, 2 * columns), referencePrepared.AsSpan(t * referenceBytes, referenceBytes), columns);
                subnormalOutputs += expected == 0 || float.IsSubnormal(expected) ? 1 : 0;
                Assert.That(BitConverter.SingleToUInt32Bits(single[(t * rows) + r]), Is.EqualTo(BitConverter.SingleToUInt32Bits(expected)), $"row {r} vector {t}: {single[(t * rows) + r]:R} vs {expected:R}");
                Assert.That(BitConverter.SingleToUInt32Bits(batched[(t * rows) + r]), Is.EqualTo(BitConverter.SingleToUInt32Bits(expected)), $"batched row {r} vector {t}");
            }
        }

        Assert.That(subnormalOutputs, Is.GreaterThan(0), "some outputs are flushed to zero: the case is exercised");
    }
}
