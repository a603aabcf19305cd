using System.Numerics.Tensors;
using MicroLlm.Gguf;
using MicroLlm.Kernels;
using MicroLlm.Numerics;
using MicroLlm.Quantization;

namespace MicroLlm.Models;

/// <summary>
/// A weight matrix read in place from the memory map: <c>Rows</c> rows of <c>Columns</c> elements in its stored type
/// (the kernels read <see cref="ReadsFromStore"/> matrices of a model from a copy instead, made on first use).
/// This is the scalar reference path. For the types of <see cref="ReferenceDot"/> (F32, F16, BF16, Q4_0, Q5_0, Q8_0, Q3_K,
/// Q4_K, Q5_K, Q6_K) <see cref="MatMul"/> is <see cref="ReferenceMatMul"/>: activations are quantized as the reference runtime's CPU
/// path quantizes them and every output is the reference's dot product in its float order, bit for bit. Other types
/// round the activations to their multiplication type, dequantize each weight row and dot in float
/// (<see cref="ApproximateMatMul"/>). The SIMD kernels of the performance issue replace it and are tested against it:
/// to keep conformance they must reproduce the reference's per-row summation order (see docs/ARCHITECTURE.md).
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA1001", Justification = "The packed store belongs to the model (TransformerModel.Dispose); a matrix's own store, made only outside a model, is freed by its SafeHandle finalizer.")]
internal sealed unsafe class WeightMatrix
{
    private readonly byte* _data;
    private readonly long _rowBytes;
    private readonly Lock _packGate = new();
    private PackedWeightStore? _store;
    private long _storeOffset;
    private nint _packed; // the copy in the store once made (ReadsFromStore), else 0
    private readonly GgufFile _file; // releases the mapped pages of what was copied (never the caller's memory)

    public WeightMatrix(GgufFile file, GgufTensorInfo tensor, int expectedColumns, int expectedRows)
    {
        if (tensor.Dimensions.Count != 2 || tensor.Dimensions[0] != expectedColumns || tensor.Dimensions[1] != expectedRows)
        {
            throw new InvalidDataException($"Tensor '{tensor.Name}' has shape {tensor.ShapeText()}; the model's hyperparameters need [{expectedColumns}, {expectedRows}].");
        }

        if (!Dequantizer.IsSupported(tensor.Type))
        {
            throw new NotSupportedException($"Tensor '{tensor.Name}' is {GgmlTypeInfo.Get(tensor.Type).Name}, which this runtime cannot compute with yet.");
        }

        Name = tensor.Name;
        Type = tensor.Type;
        Columns = expectedColumns;
        Rows = expectedRows;
        _data = file.TensorPointer(tensor);
        _file = file;
        _rowBytes = GgmlTypeInfo.Get(tensor.Type).ByteCount(expectedColumns);
        ActivationType = ActivationTypeFor(tensor.Type);
        HasReferenceOrder = ReferenceDot.Supports(tensor.Type);

        // The token embedding's rows are looked up, so it stays where lookups read it (a model with tied embeddings
        // multiplies it from the map). The reference repacks the other Q4_0 matrices of 8k rows into interleaved
        // blocks, and their kernels accumulate in another order; Q4_K, Q5_K, Q6_K and Q8_0 ones go to the store in
        // groups of 4 rows.
        bool lookedUp = tensor.Name == "token_embd.weight";
        InterleavedQ4_0 = tensor.Type == GgmlType.Q4_0 && expectedRows % 8 == 0 && !lookedUp;
        StoreLayout = InterleavedQ4_0 ? WeightLayout.PackedQ4_0
            : RowGroups.Supports(tensor.Type) && expectedRows % RowGroups.Size == 0 && !lookedUp ? WeightLayout.RowGroups
            : WeightLayout.Rows;
    }

    public string Name { get; }
    public GgmlType Type { get; }
    public int Columns { get; }
    public int Rows { get; }

    /// <summary>The type the input vector is rounded to before the dot products, as in the reference runtime.</summary>
    public GgmlType ActivationType { get; }

    /// <summary>Whether <see cref="MatMul"/> reproduces the reference's arithmetic bit for bit (<see cref="ReferenceMatMul"/>).</summary>
    public bool HasReferenceOrder { get; }

    /// <summary>Whether the reference computes this Q4_0 matrix with its repacked (8-row interleaved) kernels.</summary>
    public bool InterleavedQ4_0 { get; }

    /// <summary>Whether SIMD widths compute this matrix with integer kernels against quantized activations (Q4_0, Q8_0, Q4_K, Q5_K, Q6_K).</summary>
    private bool HasIntegerKernels => Type is GgmlType.Q4_0 or GgmlType.Q8_0 or GgmlType.Q4_K or GgmlType.Q5_K or GgmlType.Q6_K;

    /// <summary>
    /// The layout of this matrix's copy in a store: <see cref="WeightLayout.PackedQ4_0"/> for <see cref="InterleavedQ4_0"/>
    /// matrices, <see cref="WeightLayout.RowGroups"/> for Q4_K, Q5_K, Q6_K and Q8_0 ones of 4k rows (not the token
    /// embedding), <see cref="WeightLayout.Rows"/> for the rest (copied as they are, or not copied).
    /// </summary>
    public WeightLayout StoreLayout { get; }

    /// <summary>
    /// Whether the kernels should read this matrix from a copy in a model's <see cref="PackedWeightStore"/> rather than
    /// from the map: those with a <see cref="StoreLayout"/> (Q4_0 packed in groups of 8 rows, the K-quants and Q8_0 in
    /// groups of 4), and F16, BF16 and F32 ones (copied as they are). A 2048-column F16 row is one 4 KiB
    /// page: streamed from the map, every row starts on a new page (a TLB miss, and the hardware prefetcher stops
    /// there); from the store's huge pages it does not (measured, TinyLlama, 1 thread, decode kernel CPU samples: F16
    /// -25 %). The decode tiles read 4 rows side by side: from the file's layout four streams a row apart, from a
    /// group one.
    /// </summary>
    public bool ReadsFromStore => !KeepMapped && (StoreLayout != WeightLayout.Rows || Type is GgmlType.F16 or GgmlType.BF16 or GgmlType.F32);

    /// <summary>
    /// Whether the kernels read the map even where a copy would be faster (<see cref="Inference.LanguageModelOptions.KeepWeightsMapped"/>);
    /// set before the first product. <see cref="InterleavedQ4_0"/> rows are then summed one at a time in the same order.
    /// </summary>
    public bool KeepMapped { get; set; }

    /// <summary>
    /// Gives this <see cref="ReadsFromStore"/> matrix its place in a model's store (at <paramref name="offset"/>, of
    /// <see cref="PackedWeightStore.Slot"/> bytes). Without one, a matrix with a <see cref="StoreLayout"/> takes a store
    /// of its own when first packed and other matrices stay in the map.
    /// </summary>
    public void UsePackedStore(PackedWeightStore store, long offset)
    {
        lock (_packGate)
        {
            if (_packed != 0)
            {
                throw new InvalidOperationException($"Matrix '{Name}' is already packed.");
            }

            _store = store;
            _storeOffset = offset;
        }
    }

    /// <summary>
    /// The bytes the kernels read and their <paramref name="layout"/>: the memory map, or their copy in the store
    /// (<see cref="ReadsFromStore"/>, in <see cref="StoreLayout"/>), made on first use on <paramref name="threads"/>
    /// threads. A file's mapped pages are then dropped from the process, so the copy replaces them; memory the caller
    /// handed to <see cref="GgufFile.FromMemory"/> is left as it is.
    /// </summary>
    private byte* KernelWeights(int threads, out WeightLayout layout)
    {
        if (KeepMapped || (StoreLayout == WeightLayout.Rows && Volatile.Read(ref _store) is null))
        {
            layout = InterleavedQ4_0 ? WeightLayout.SequentialQ4_0 : WeightLayout.Rows;
            return _data;
        }

        layout = StoreLayout;
        nint packed = Volatile.Read(ref _packed);
        return packed != 0 ? (byte*)packed : Pack(threads);
    }

    /// <summary>Whether the kernels' bytes are in place: a <see cref="ReadsFromStore"/> matrix's copy is made.</summary>
    public bool IsPrepared => !ReadsFromStore || Volatile.Read(ref _packed) != 0;

    /// <summary>Makes this matrix's copy now if the kernels read one (<see cref="ReadsFromStore"/>), on <paramref name="threads"/> threads.</summary>
    public void Prepare(int threads)
    {
        if (ReadsFromStore && Kernel.Current != KernelWidth.Scalar)
        {
            KernelWeights(threads, out _);
        }
    }

    private byte* Pack(int threads)
    {
        lock (_packGate)
        {
            if (_packed == 0)
            {
                if (_store is null)
                {
                    _store = new PackedWeightStore(PackedWeightStore.Slot(ByteCount));
                    _storeOffset = 0;
                }

                // Items of a group's rows (8 packed Q4_0 rows or 4 of a row group; copies take 8, the last one maybe shorter).
                int groupRows = StoreLayout == WeightLayout.RowGroups ? RowGroups.Size : Q4_0SequentialTiles.GroupRows;
                var body = new PackBody
                {
                    Source = _data,
                    Target = _store.Pointer + _storeOffset,
                    GroupBytes = _rowBytes * groupRows,
                    RowBytes = _rowBytes,
                    Rows = Rows,
                    Blocks = Columns / 32,
                    Layout = StoreLayout,
                    BlockBytes = StoreLayout == WeightLayout.RowGroups ? RowGroups.BlockBytes(Type) : 0,
                    File = _file,
                };
                int groups = (Rows + groupRows - 1) / groupRows;
                ComputePool.ForThreads(threads).For(groups, Math.Max(1, (int)((1L << 20) / body.GroupBytes)), ref body);
                _file.ReleasePages(_data, ByteCount); // the pages that straddled two chunks, which neither could release whole

                Volatile.Write(ref _packed, (nint)body.Target);
            }

            return (byte*)_packed;
        }
    }

    /// <summary>Packs (Q4_0), groups (<see cref="RowGroups"/>) or copies groups of rows, then drops the mapped pages they came from (file mappings only).</summary>
    private struct PackBody : IRangeBody
    {
        public WeightLayout Layout;
        public int BlockBytes; // of a row group's blocks
        public GgufFile File;
        public byte* Source;
        public byte* Target;
        public long GroupBytes;
        public long RowBytes;
        public int Rows;
        public int Blocks;

        public readonly void Invoke(int start, int end)
        {
            long from = start * GroupBytes, to = Math.Min(end * GroupBytes, Rows * RowBytes);
            if (Layout == WeightLayout.PackedQ4_0)
            {
                for (int g = start; g < end; g++)
                {
                    Q4_0SequentialTiles.Pack(Source + (g * GroupBytes), RowBytes, Blocks, Target + (g * GroupBytes));
                }
            }
            else if (Layout == WeightLayout.RowGroups)
            {
                for (int g = start; g < end; g++)
                {
                    RowGroups.Pack(Source + (g * GroupBytes), RowBytes, BlockBytes, Target + (g * GroupBytes));
                }
            }
            else
            {
                Buffer.MemoryCopy(Source + from, Target + from, to - from, to - from);
            }

            File.ReleasePages(Source + from, to - from);
        }
    }

    public long RowBytes => _rowBytes;

    /// <summary>Bytes of the whole matrix in the map.</summary>
    public long ByteCount => _rowBytes * Rows;

    public ReadOnlySpan<byte> Row(int r) => new(_data + (r * _rowBytes), (int)_rowBytes);

    /// <summary>Dequantizes row <paramref name="r"/> into <paramref name="destination"/> (an embedding lookup).</summary>
    public void ReadRow(int r, Span<float> destination) => Dequantizer.Dequantize(Type, Row(r), destination[..Columns]);

    /// <summary>Rounds <paramref name="x"/> to <see cref="ActivationType"/> in place (quantize then dequantize).</summary>
    public static void RoundActivations(GgmlType activationType, Span<float> x, Span<byte> scratch)
    {
        if (activationType == GgmlType.F32)
        {
            return;
        }

        int bytes = (int)GgmlTypeInfo.Get(activationType).ByteCount(x.Length);
        Quantizer.Quantize(activationType, x, scratch[..bytes]);
        Dequantizer.Dequantize(activationType, scratch[..bytes], x);
    }

    /// <summary><c>y = W x</c> where <paramref name="xRounded"/> was already rounded with <see cref="RoundActivations"/>.</summary>
    public void MatVec(ReadOnlySpan<float> xRounded, Span<float> y, Span<float> rowScratch)
    {
        var row = rowScratch[..Columns];
        for (int r = 0; r < Rows; r++)
        {
            Dequantizer.Dequantize(Type, Row(r), row);
            y[r] = TensorPrimitives.Dot(row, xRounded[..Columns]);
        }
    }

    /// <summary>
    /// <c>y[t] = W x[t]</c> for <paramref name="count"/> activation rows of <see cref="Columns"/> floats (row-major in
    /// <paramref name="x"/>); <paramref name="y"/> receives <paramref name="count"/> rows of <see cref="Rows"/> floats.
    /// Each weight row is read once for the whole batch.
    /// </summary>
    public void MatMul(ReadOnlySpan<float> x, int count, Span<float> y, MatMulScratch scratch, int threads = 1)
    {
        if (HasReferenceOrder)
        {
            ReferenceMatMul(x, count, y, scratch, threads);
        }
        else
        {
            ApproximateMatMul(x, count, y, scratch, threads);
        }
    }

    /// <summary>
    /// <see cref="MatMul"/> of two or three matrices that read the same input <paramref name="x"/> (a layer's query, key
    /// and value, or its gate and up) in one pool call (<see cref="ParallelMatVec.RunShared"/>), the input quantized
    /// once, where their kernels take the same activations (quantized formats of one activation type, a SIMD width);
    /// otherwise one <see cref="MatMul"/> each. Every output has the bits <see cref="MatMul"/> gives it.
    /// </summary>
    public static void MatMulShared(
        ReadOnlySpan<float> x, int count, MatMulScratch scratch, int threads,
        WeightMatrix a, Span<float> ya, WeightMatrix b, Span<float> yb, WeightMatrix? c = null, Span<float> yc = default)
    {
        if (!CanShare(a, b) || (c is not null && !CanShare(a, c)))
        {
            a.MatMul(x, count, ya, scratch, threads);
            b.MatMul(x, count, yb, scratch, threads);
            c?.MatMul(x, count, yc, scratch, threads);
            return;
        }

        int cols = a.Columns;
        var activationType = ReferenceDot.ActivationType(a.Type);
        int stride = ReferenceDot.ActivationBytes(activationType, cols);
        var quantized = scratch.Quantized.AsSpan(0, count * stride);
        var width = Kernel.Current;
        fixed (float* xp = x)
        fixed (byte* qp = quantized)
        fixed (float* pa = ya)
        fixed (float* pb = yb)
        fixed (float* pc = yc)
        {
            QuantizeVectors(xp, cols, count, activationType, qp, stride, width, threads);

            Span<ParallelMatVec.Product> products = stackalloc ParallelMatVec.Product[3];
            products[0] = a.KernelProduct(threads, pa);
            products[1] = b.KernelProduct(threads, pb);
            int length = 2;
            if (c is not null)
            {
                products[length++] = c.KernelProduct(threads, pc);
            }

            ParallelMatVec.RunShared(ComputePool.ForThreads(threads), products[..length], qp, stride, count, width);
        }
    }

    /// <summary>Whether <see cref="MatMulShared"/> can run <paramref name="a"/> and <paramref name="b"/> in one call.</summary>
    private static bool CanShare(WeightMatrix a, WeightMatrix b) =>
        Kernel.Current != KernelWidth.Scalar && a.Columns == b.Columns && a.HasReferenceOrder && b.HasReferenceOrder
        && a.HasIntegerKernels && b.HasIntegerKernels && ReferenceDot.ActivationType(a.Type) == ReferenceDot.ActivationType(b.Type);

    /// <summary>This matrix as one product of <see cref="ParallelMatVec.RunShared"/>, its outputs to <paramref name="y"/>.</summary>
    private ParallelMatVec.Product KernelProduct(int threads, float* y)
    {
        byte* weights = KernelWeights(threads, out var layout);
        return new ParallelMatVec.Product(Type, weights, _rowBytes, Columns, Rows, y, Rows, layout);
    }

    /// <summary>
    /// <see cref="MatMul"/> in the reference's arithmetic: each activation row quantized as its CPU path does
    /// (<see cref="ReferenceDot.QuantizeActivations"/>), each output the reference's dot product in its float order
    /// (<see cref="ReferenceDot.Dot"/>). Only for <see cref="HasReferenceOrder"/> types. Rows are split over
    /// <paramref name="threads"/>; each output is computed whole by one thread, so the bits do not depend on the count.
    /// </summary>
    public void ReferenceMatMul(ReadOnlySpan<float> x, int count, Span<float> y, MatMulScratch scratch, int threads = 1)
    {
        int cols = Columns;
        var activationType = ReferenceDot.ActivationType(Type);
        int stride = ReferenceDot.ActivationBytes(activationType, cols);
        var quantized = scratch.Quantized.AsSpan(0, count * stride);
        // Q8_0/Q8_K bytes from the vector quantizer equal the reference's (tested at every width); the scalar width keeps
        // ReferenceDot's as the oracle, and F32/F16 keep its layout (halves), which the F16 path widens below.
        var width = Kernel.Current;
        bool vectorQuantizer = width != KernelWidth.Scalar && activationType is GgmlType.Q8_0 or GgmlType.Q8_K;

        // BF16 kernels read the activations split into odd and even halves of each 32 (BF16Dot.Prepare); they take
        // every matrix but those whose rows are a multiple of 32 long and whose row count is not a multiple of 4,
        // which the reference gives ggml_vec_dot_bf16 instead of tinyBLAS (ReferenceDot.BF16VecDot does them).
        bool bf16Kernels = Type == GgmlType.BF16 && width != KernelWidth.Scalar && (cols % 32 != 0 || Rows % 4 == 0);
        // F16 kernels read the activations as floats holding F16-rounded values (ActivationQuantizer's F16 layout): one
        // vector pass instead of the reference quantizer's halves widened again.
        bool f16Kernels = Type == GgmlType.F16 && width != KernelWidth.Scalar && cols % 16 == 0;
        if (bf16Kernels || f16Kernels)
        {
            vectorQuantizer = true;
            stride = ActivationQuantizer.ByteCount(activationType, cols);
            quantized = scratch.Quantized.AsSpan(0, count * stride);
        }

        if (vectorQuantizer)
        {
            fixed (float* xp = x)
            fixed (byte* qp = quantized)
            {
                QuantizeVectors(xp, cols, count, activationType, qp, stride, width, threads);
            }
        }
        else
        {
            for (int t = 0; t < count; t++)
            {
                ReferenceDot.QuantizeActivations(activationType, x.Slice(t * cols, cols), quantized.Slice(t * stride, stride));
            }
        }

        if (Type == GgmlType.F16 && !f16Kernels)
        {
            // Widening is exact: F16 rows are dotted as floats, the activations widened once for all rows.
            var widened = scratch.Rounded.AsSpan(0, count * cols);
            TensorPrimitives.ConvertToSingle(System.Runtime.InteropServices.MemoryMarshal.Cast<byte, Half>(quantized), widened);
        }

        bool floatWeights = Type is GgmlType.F32 or GgmlType.F16;
        if (Kernel.Current != KernelWidth.Scalar
            && (HasIntegerKernels || (floatWeights && cols % 16 == 0) || bf16Kernels))
        {
            // The SIMD kernels sum in the reference's order (bit for bit, tested against ReferenceDot); the scalar
            // width keeps ReferenceDot itself as the oracle path. F16 activations go in widened to floats.
            fixed (byte* qp = quantized)
            fixed (float* yp = y)
            {
                byte* weights = KernelWeights(threads, out var layout);
                ParallelMatVec.Run(ComputePool.ForThreads(threads), Type, weights, _rowBytes, cols, Rows, qp, stride, count, yp, Rows, Kernel.Current, layout);
            }

            return;
        }

        int chunks = Chunks(count, threads);
        if (chunks <= 1)
        {
            ReferenceRows(0, Rows, quantized, stride, count, y, scratch.Rounded, scratch.Row);
            return;
        }

        ParallelReferenceRows(chunks, quantized, stride, count, y, scratch.Rounded);
    }

    /// <summary>
    /// <paramref name="count"/> vectors of <paramref name="columns"/> floats through the vector quantizer, each
    /// <paramref name="stride"/> bytes apart; a prefill batch (4+) on the pool, one vector per item (each vector's bytes
    /// are the same whichever thread makes them; the width goes with the body, since Kernel.Current belongs to this flow).
    /// </summary>
    private static void QuantizeVectors(float* x, int columns, int count, GgmlType activationType, byte* quantized, int stride, KernelWidth width, int threads)
    {
        var body = new QuantizeBody { X = x, Columns = columns, Quantized = quantized, Stride = stride, Type = activationType, Width = width };
        if (count >= 4 && threads > 1)
        {
            ComputePool.ForThreads(threads).For(count, 1, ref body);
        }
        else
        {
            body.Invoke(0, count);
        }
    }

    private struct QuantizeBody : IRangeBody
    {
        public float* X;
        public int Columns;
        public byte* Quantized;
        public int Stride;
        public GgmlType Type;
        public KernelWidth Width;

        public readonly void Invoke(int start, int end)
        {
            for (int t = start; t < end; t++)
            {
                ActivationQuantizer.Quantize(Type, new ReadOnlySpan<float>(X + ((long)t * Columns), Columns), new Span<byte>(Quantized + ((long)t * Stride), Stride), Width);
            }
        }
    }

    /// <summary>
    /// <see cref="ReferenceRows"/> split over <paramref name="chunks"/> threads; a method of its own so that the
    /// lambda's captured state is allocated only on this path, never on the kernels' path (nothing allocates per token).
    /// </summary>
    private void ParallelReferenceRows(int chunks, Span<byte> quantized, int stride, int count, Span<float> y, float[] widened)
    {
        int cols = Columns;
        fixed (byte* qp = quantized)
        fixed (float* yp = y)
        {
            nint qa = (nint)qp, ya = (nint)yp;
            int bytes = quantized.Length, outputs = count * Rows;
            Parallel.For(0, chunks, new ParallelOptions { MaxDegreeOfParallelism = chunks }, c =>
            {
                int start = (int)((long)Rows * c / chunks), end = (int)((long)Rows * (c + 1) / chunks);
                float[] row = System.Buffers.ArrayPool<float>.Shared.Rent(cols);
                try
                {
                    ReferenceRows(start, end, new ReadOnlySpan<byte>((byte*)qa, bytes), stride, count, new Span<float>((float*)ya, outputs), widened, row);
                }
                finally
                {
                    System.Buffers.ArrayPool<float>.Shared.Return(row);
                }
            });
        }
    }

    private void ReferenceRows(int start, int end, ReadOnlySpan<byte> quantized, int stride, int count, Span<float> y, float[] widened, float[] rowBuffer)
    {
        int cols = Columns;
        for (int r = start; r < end; r++)
        {
            var row = Row(r);
            if (Type == GgmlType.F16)
            {
                var wide = rowBuffer.AsSpan(0, cols);
                TensorPrimitives.ConvertToSingle(System.Runtime.InteropServices.MemoryMarshal.Cast<byte, Half>(row), wide);
                for (int t = 0; t < count; t++)
                {
                    y[(t * Rows) + r] = ReferenceDot.F32(wide, widened.AsSpan(t * cols, cols));
                }

                continue;
            }

            if (Type == GgmlType.BF16 && Rows % 4 != 0)
            {
                // tinyBLAS takes only row counts of a multiple of 4; the others go through ggml_vec_dot_bf16.
                var weights = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, ushort>(row);
                for (int t = 0; t < count; t++)
                {
                    y[(t * Rows) + r] = ReferenceDot.BF16VecDot(weights, System.Runtime.InteropServices.MemoryMarshal.Cast<byte, ushort>(quantized.Slice(t * stride, stride)));
                }

                continue;
            }

            for (int t = 0; t < count; t++)
            {
                y[(t * Rows) + r] = ReferenceDot.Dot(Type, row, quantized.Slice(t * stride, stride), cols, InterleavedQ4_0);
            }
        }
    }

    /// <summary>How many row ranges a product is split into: one unless there is enough work to pay for threads.</summary>
    private int Chunks(int count, int threads)
    {
        long work = (long)Rows * Columns * count;
        return threads <= 1 || work < 1 << 20 ? 1 : Math.Min(threads, Rows / 16);
    }

    /// <summary><see cref="MatMul"/> for the types without a reference-order dot product: rounded activations, dequantized rows, float dots.</summary>
    public void ApproximateMatMul(ReadOnlySpan<float> x, int count, Span<float> y, MatMulScratch scratch, int threads = 1)
    {
        int cols = Columns;
        var rounded = scratch.Rounded.AsSpan(0, count * cols);
        x[..(count * cols)].CopyTo(rounded);
        for (int t = 0; t < count; t++)
        {
            RoundActivations(ActivationType, rounded.Slice(t * cols, cols), scratch.Quantized);
        }

        // Split the rows over threads when there is enough work to pay for it; each row is computed by one thread in
        // the same order, so the result does not depend on the thread count.
        int chunks = Chunks(count, threads);
        if (chunks <= 1)
        {
            RowRange(0, Rows, rounded, count, y, scratch.Row);
            return;
        }

        ParallelRowRange(chunks, rounded, count, y);
    }

    /// <summary><see cref="RowRange"/> split over <paramref name="chunks"/> threads (the lambda's state allocated only here).</summary>
    private void ParallelRowRange(int chunks, Span<float> rounded, int count, Span<float> y)
    {
        int cols = Columns;
        fixed (float* xp = rounded)
        fixed (float* yp = y)
        {
            nint xa = (nint)xp, ya = (nint)yp;
            int total = count * cols, outputs = count * Rows;
            Parallel.For(0, chunks, new ParallelOptions { MaxDegreeOfParallelism = chunks }, c =>
            {
                int start = (int)((long)Rows * c / chunks), end = (int)((long)Rows * (c + 1) / chunks);
                float[] row = System.Buffers.ArrayPool<float>.Shared.Rent(cols);
                try
                {
                    RowRange(start, end, new ReadOnlySpan<float>((float*)xa, total), count, new Span<float>((float*)ya, outputs), row);
                }
                finally
                {
                    System.Buffers.ArrayPool<float>.Shared.Return(row);
                }
            });
        }
    }

    private void RowRange(int start, int end, ReadOnlySpan<float> rounded, int count, Span<float> y, float[] rowBuffer)
    {
        int cols = Columns;
        var row = rowBuffer.AsSpan(0, cols);
        for (int r = start; r < end; r++)
        {
            Dequantizer.Dequantize(Type, Row(r), row);
            for (int t = 0; t < count; t++)
            {
                y[(t * Rows) + r] = TensorPrimitives.Dot(row, rounded.Slice(t * cols, cols));
            }
        }
    }

    internal static GgmlType ActivationTypeFor(GgmlType weightType) => weightType switch
    {
        GgmlType.F32 => GgmlType.F32,
        GgmlType.F16 => GgmlType.F16,
        GgmlType.BF16 => GgmlType.BF16,
        GgmlType.Q4_0 or GgmlType.Q5_0 or GgmlType.Q8_0 => GgmlType.Q8_0,
        // The reference multiplies Q4_1/Q5_1 with Q8_1, whose quants equal Q8_0's.
        GgmlType.Q4_1 or GgmlType.Q5_1 => GgmlType.Q8_0,
        GgmlType.Q2_K or GgmlType.Q3_K or GgmlType.Q4_K or GgmlType.Q5_K or GgmlType.Q6_K => GgmlType.Q8_K,
        _ => throw new NotSupportedException($"No activation type for {weightType}."),
    };
}

/// <summary>Scratch buffers for <see cref="WeightMatrix.MatMul"/>, sized once per session for its widest matrix and batch.</summary>
internal sealed class MatMulScratch(int maxColumns, int maxBatch)
{
    public float[] Rounded { get; } = new float[maxColumns * maxBatch];
    public float[] Row { get; } = new float[maxColumns];
    /// <summary>Room for a batch of activation rows in their widest multiplication type (F32, or BF16 floats with a trailer each).</summary>
    public byte[] Quantized { get; } = new byte[((maxColumns + BF16Dot.TrailerFloats) * 4 * maxBatch) + 1024];
}
