using MicroLlm.Gguf;

namespace MicroLlm.Kernels;

/// <summary>
/// <see cref="MatVec.ComputeBatch"/> split by rows over a <see cref="ComputePool"/>: each thread takes chunks of rows
/// (at least 32 KiB of weights each, so small matrices are not spread thinner than a call costs) and runs the whole
/// batch over them, so each output is one thread's work and the bits do not depend on the thread count.
/// </summary>
internal static unsafe class ParallelMatVec
{
    private const long MinChunkBytes = 32 * 1024;

    /// <summary>
    /// <c>y[t * yStride + r] = dot(row r, x + t * xStride)</c> for every row r &lt; <paramref name="rows"/> and t &lt;
    /// <paramref name="count"/> (<paramref name="layout"/> as in <see cref="MatVec.Compute"/>).
    /// </summary>
    public static void Run(
        ComputePool pool, GgmlType weightType, byte* weights, long rowBytes, int columns, int rows,
        byte* x, long xStride, int count, float* y, long yStride, KernelWidth width, WeightLayout layout = WeightLayout.Rows)
    {
        Span<Product> product = stackalloc Product[1];
        product[0] = new Product(weightType, weights, rowBytes, columns, rows, y, yStride, layout);
        RunShared(pool, product, x, xStride, count, width);
    }

    /// <summary>
    /// Rows per pool item: tiled kernels get whole tiles of rows (the last may be partial); a relayout's groups are
    /// whole (every tile's rows divide them).
    /// </summary>
    private static int RowsPerItem(GgmlType weightType, int columns, int count, KernelWidth width, WeightLayout layout) =>
        layout == WeightLayout.PackedQ4_0 && weightType == GgmlType.Q4_0 ? Q4_0SequentialTiles.GroupRows
            : layout == WeightLayout.RowGroups ? RowGroups.Size
            : count >= 2 && FloatTiles.Supports(weightType, columns, width) ? FloatTiles.TileRows
            : Q8_0Tiles.Supports(weightType, count, width) ? Q8_0Tiles.TileRows
            : Q4_KPrefillTiles.Supports(weightType, count, width) ? Q4_KPrefillTiles.TileRows
            : Q6_KPrefillTiles.Supports(weightType, count, width) ? Q6_KPrefillTiles.TileRows : 1;

    /// <summary>
    /// <see cref="Run"/> for up to three products that read the same prepared activations (a layer's query, key and
    /// value; gate and up) in one pool call: their row items are handed out as one range, so the caller waits for the
    /// workers once and a small matrix's rows fill the tail of a large one's. Each output is computed as alone.
    /// </summary>
    public static void RunShared(ComputePool pool, ReadOnlySpan<Product> products, byte* x, long xStride, int count, KernelWidth width)
    {
        if (products.Length is < 1 or > SharedJob.MaxProducts)
        {
            throw new ArgumentOutOfRangeException(nameof(products), $"1 to {SharedJob.MaxProducts} products share one call; got {products.Length}.");
        }

        var job = new SharedJob { X = x, XStride = xStride, Count = count, Width = width, Length = products.Length };
        int items = 0;
        long largestItemBytes = 1;
        for (int i = 0; i < products.Length; i++)
        {
            var p = products[i];
            int rowsPerItem = RowsPerItem(p.WeightType, p.Columns, count, width, p.Layout);
            job.Set(i, p, rowsPerItem, items);
            items += (p.Rows + rowsPerItem - 1) / rowsPerItem;
            largestItemBytes = Math.Max(largestItemBytes, p.RowBytes * rowsPerItem);
        }

        job.Items = items;
        int minChunk = (int)Math.Clamp(MinChunkBytes / (largestItemBytes * Math.Max(1, count / 4)), 1, Math.Max(1, items));
        pool.For(items, minChunk, ref job);
    }

    /// <summary>One product of <see cref="RunShared"/>: <c>y[t * YStride + r] = row r · x_t</c> for every row.</summary>
    public readonly struct Product(GgmlType weightType, byte* weights, long rowBytes, int columns, int rows, float* y, long yStride, WeightLayout layout)
    {
        public GgmlType WeightType { get; } = weightType;
        public byte* Weights { get; } = weights;
        public long RowBytes { get; } = rowBytes;
        public int Columns { get; } = columns;
        public int Rows { get; } = rows;
        public float* Y { get; } = y;
        public long YStride { get; } = yStride;
        public WeightLayout Layout { get; } = layout;
    }

    /// <summary>The products of a <see cref="RunShared"/> call, each with its first item in the shared range.</summary>
    private struct SharedJob : IRangeBody
    {
        public const int MaxProducts = 3;

        public byte* X;
        public long XStride;
        public int Count;
        public KernelWidth Width;
        public int Length;
        public int Items;
        private Product _p0, _p1, _p2;
        private int _rows0, _rows1, _rows2; // rows per item
        private int _first0, _first1, _first2; // first item

        public void Set(int i, Product p, int rowsPerItem, int firstItem)
        {
            switch (i)
            {
                case 0: (_p0, _rows0, _first0) = (p, rowsPerItem, firstItem); break;
                case 1: (_p1, _rows1, _first1) = (p, rowsPerItem, firstItem); break;
                default: (_p2, _rows2, _first2) = (p, rowsPerItem, firstItem); break;
            }
        }

        public readonly void Invoke(int start, int end)
        {
            Run(_p0, _rows0, _first0, start, end);
            if (Length > 1)
            {
                Run(_p1, _rows1, _first1, start, end);
            }

            if (Length > 2)
            {
                Run(_p2, _rows2, _first2, start, end);
            }
        }

        /// <summary>The part of [start, end) that falls on product <paramref name="p"/>'s items.</summary>
        private readonly void Run(in Product p, int rowsPerItem, int firstItem, int start, int end)
        {
            int items = (p.Rows + rowsPerItem - 1) / rowsPerItem;
            int from = Math.Max(start, firstItem) - firstItem, to = Math.Min(end, firstItem + items) - firstItem;
            if (from < to)
            {
                MatVec.ComputeBatch(
                    p.WeightType, p.Weights, p.RowBytes, p.Columns, from * rowsPerItem, Math.Min(to * rowsPerItem, p.Rows),
                    X, XStride, Count, p.Y, p.YStride, Width, p.Layout);
            }
        }
    }
}
