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
        var job = new Job
        {
            WeightType = weightType,
            Weights = weights,
            RowBytes = rowBytes,
            Columns = columns,
            X = x,
            XStride = xStride,
            Count = count,
            Y = y,
            YStride = yStride,
            Width = width,
            Layout = layout,
        };
        // Tiled kernels get whole tiles of rows (the last may be partial): items are groups of RowsPerItem rows; a
        // relayout's groups are whole (every tile's rows divide them).
        job.RowsPerItem = layout == WeightLayout.PackedQ4_0 && weightType == GgmlType.Q4_0 ? Q4_0SequentialTiles.GroupRows
            : layout == WeightLayout.RowGroups ? RowGroups.Size
            : count >= 2 && FloatTiles.Supports(weightType, columns, width) ? FloatTiles.TileRows
            : Q8_0Tiles.Supports(weightType, count, width) ? Q8_0Tiles.TileRows
            : Q4_KPrefillTiles.Supports(weightType, count, width) ? Q4_KPrefillTiles.TileRows
            : Q6_KPrefillTiles.Supports(weightType, count, width) ? Q6_KPrefillTiles.TileRows : 1;
        job.Rows = rows;
        int items = (rows + job.RowsPerItem - 1) / job.RowsPerItem;
        int minChunk = (int)Math.Clamp(MinChunkBytes / Math.Max(1, rowBytes * job.RowsPerItem * Math.Max(1, count / 4)), 1, items);
        pool.For(items, minChunk, ref job);
    }

    private struct Job : IRangeBody
    {
        public GgmlType WeightType;
        public byte* Weights;
        public long RowBytes;
        public int Columns;
        public byte* X;
        public long XStride;
        public int Count;
        public float* Y;
        public long YStride;
        public KernelWidth Width;
        public WeightLayout Layout;
        public int RowsPerItem;
        public int Rows;

        public readonly void Invoke(int start, int end) =>
            MatVec.ComputeBatch(
                WeightType, Weights, RowBytes, Columns, start * RowsPerItem, Math.Min(end * RowsPerItem, Rows),
                X, XStride, Count, Y, YStride, Width, Layout);
    }
}
