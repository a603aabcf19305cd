using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using MicroLlm.Gguf;
using MicroLlm.Kernels;

namespace MicroLlm.Benchmarks;

/// <summary>
/// Decode matrix-vector products: one activation vector against a matrix of about 128 MiB (4096 columns, rows to fill
/// it: far larger than the caches, so weights stream from memory as in a real model), per weight type, width and
/// thread count; and the streaming-read baseline (a plain vector sum over the same bytes), the bandwidth ceiling.
/// The GB/s column is weight bytes read per second; GFLOP/s counts 2 per weight.
/// </summary>
/// <remarks><c>dotnet run -c Release --project benchmarks/MicroLlm.Benchmarks -- --filter '*KernelBenchmarks*'</c></remarks>
[Config(typeof(Config))]
public unsafe class KernelBenchmarks
{
    internal const int Columns = 4096;
    internal const long TargetBytes = 128L << 20;

    private byte* _weights;
    private byte* _x;
    private float* _y;
    private long _rowBytes;
    private int _rows;
    private GgmlType _activationType;
    private ComputePool _pool = null!;
    private WeightLayout _layout;

    /// <summary>The weight format.</summary>
    [Params(GgmlType.Q4_0, GgmlType.Q8_0, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K, GgmlType.F16, GgmlType.BF16, GgmlType.F32)]
    public GgmlType Type { get; set; }

    /// <summary>The kernel width ("Best" for the machine's widest).</summary>
    [Params("Best")]
    public string Width { get; set; } = "Best";

    /// <summary>Threads sharing each product.</summary>
    [Params(1, 2)]
    public int Threads { get; set; }

    /// <summary>
    /// Where the rows lie: "Store" (as a model's store holds them: Q4_0 packed in groups of 8 rows, Q4_K/Q5_K/Q6_K/Q8_0
    /// in row groups of 4, floats as they are) or "File" (the file's layout, as with <c>KeepWeightsMapped</c>).
    /// </summary>
    [Params("Store", "File")]
    public string Layout { get; set; } = "Store";

    /// <summary>
    /// The half scales of the quantized formats: "Normal" (0.1) or "Subnormal" (about 6e-6, as in matrices of small
    /// weights, where a conversion through subnormal floats takes microcode assists).
    /// </summary>
    [Params("Normal", "Subnormal")]
    public string Scales { get; set; } = "Normal";

    internal static long RowBytes(GgmlType type) => GgmlTypeInfo.Get(type).ByteCount(Columns);

    internal static int RowsFor(GgmlType type) => (int)(TargetBytes / RowBytes(type));

    /// <summary>Random codes with finite half scales (<paramref name="scale"/>, 0.1 by default) wherever the format keeps them (F16: finite values).</summary>
    internal static void FillWeights(GgmlType type, byte* weights, long bytes, Random rng, ushort scale = 0x2E66)
    {
        rng.NextBytes(new Span<byte>(weights, (int)bytes));
        var info = GgmlTypeInfo.Get(type);
        if (info.BlockSize > 1)
        {
            int[] fields = type switch { GgmlType.Q4_K or GgmlType.Q5_K => [0, 2], GgmlType.Q6_K => [208], _ => [0] };
            for (long b = 0; b < bytes / info.BlockBytes; b++)
            {
                foreach (int f in fields)
                {
                    *(ushort*)(weights + (b * info.BlockBytes) + f) = scale;
                }
            }
        }
        else if (type is GgmlType.F16 or GgmlType.BF16 or GgmlType.F32)
        {
            // Finite values of moderate size (random bits would give NaNs and infinities).
            for (long i = 0; i < bytes / 2; i++)
            {
                ((ushort*)weights)[i] = type switch
                {
                    GgmlType.F16 => (ushort)(0x2000 + (i & 0x0FFF)),
                    GgmlType.BF16 => (ushort)(0x3C00 + (i & 0x00FF)),
                    _ => (ushort)((i & 1) == 0 ? (i & 0xFFFE) : 0x3C00 + ((i >> 1) & 0x00FF)),
                };
            }
        }
    }

    [GlobalSetup]
    public void Setup()
    {
        _rowBytes = RowBytes(Type);
        _rows = RowsFor(Type);
        long bytes = _rowBytes * _rows;
        _weights = (byte*)NativeMemory.AlignedAlloc((nuint)bytes, 64);
        var rng = new Random(1);
        FillWeights(Type, _weights, bytes, rng, Scales == "Subnormal" ? (ushort)0x0066 : (ushort)0x2E66);
        _layout = WeightLayout.Rows;
        if (Layout == "Store" && (Type == GgmlType.Q4_0 || RowGroups.Supports(Type)))
        {
            // The store's relayout, group by group, into a second buffer (a model copies from the map the same way).
            int groupRows = Type == GgmlType.Q4_0 ? Q4_0SequentialTiles.GroupRows : RowGroups.Size;
            _rows = _rows / groupRows * groupRows;
            byte* store = (byte*)NativeMemory.AlignedAlloc((nuint)bytes, 64);
            for (long g = 0; g < _rows / groupRows; g++)
            {
                long at = g * groupRows * _rowBytes;
                if (Type == GgmlType.Q4_0)
                {
                    Q4_0SequentialTiles.Pack(_weights + at, _rowBytes, Columns / 32, store + at);
                }
                else
                {
                    RowGroups.Pack(_weights + at, _rowBytes, RowGroups.BlockBytes(Type), store + at);
                }
            }

            NativeMemory.AlignedFree(_weights);
            _weights = store;
            _layout = Type == GgmlType.Q4_0 ? WeightLayout.PackedQ4_0 : WeightLayout.RowGroups;
        }

        _activationType = ActivationQuantizer.ActivationTypeFor(Type);
        var x = new float[Columns];
        for (int i = 0; i < x.Length; i++)
        {
            x[i] = (float)(rng.NextDouble() - 0.5);
        }

        int xBytes = ActivationQuantizer.ByteCount(_activationType, Columns);
        _x = (byte*)NativeMemory.AlignedAlloc((nuint)xBytes, 64);
        ActivationQuantizer.Quantize(_activationType, x, new Span<byte>(_x, xBytes));
        _y = (float*)NativeMemory.AlignedAlloc((nuint)(_rows * sizeof(float)), 64);
        _pool = new ComputePool(Threads);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _pool.Dispose();
        NativeMemory.AlignedFree(_weights);
        NativeMemory.AlignedFree(_x);
        NativeMemory.AlignedFree(_y);
    }

    private KernelWidth KernelWidth => Width == "Best" ? Kernel.Best : Enum.Parse<KernelWidth>(Width);

    /// <summary>y = W x over the whole matrix.</summary>
    [Benchmark]
    public void MatVec() =>
        ParallelMatVec.Run(_pool, Type, _weights, _rowBytes, Columns, _rows, _x, 0, 1, _y, 0, KernelWidth, _layout);

    /// <summary>Columns of the GB/s and GFLOP/s figures, from the mean time and the matrix size.</summary>
    private sealed class Config : ManualConfig
    {
        public Config()
        {
            AddColumn(new RateColumn("GB/s", c => RowBytes(Type(c)) * RowsFor(Type(c)) / 1e9));
            AddColumn(new RateColumn("GFLOP/s", c => 2.0 * Columns * RowsFor(Type(c)) / 1e9));
        }

        private static GgmlType Type(BenchmarkCase c) => (GgmlType)c.Parameters["Type"];
    }
}

/// <summary>The bandwidth ceiling: a vector sum over 128 MiB, with one and two threads.</summary>
[Config(typeof(Config))]
public unsafe class StreamingReadBenchmarks
{
    private byte* _data;
    private ComputePool _pool = null!;
    private float _sink;

    /// <summary>Threads reading at once.</summary>
    [Params(1, 2)]
    public int Threads { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _data = (byte*)NativeMemory.AlignedAlloc((nuint)KernelBenchmarks.TargetBytes, 64);
        new Span<byte>(_data, (int)KernelBenchmarks.TargetBytes).Fill(1);
        _pool = new ComputePool(Threads);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _pool.Dispose();
        NativeMemory.AlignedFree(_data);
    }

    private struct SumBody : IRangeBody
    {
        public byte* Data;
        public float* Sums;

        public readonly void Invoke(int start, int end)
        {
            // Chunks of 1 MiB: four independent accumulators of 512-bit loads.
            Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
            for (long c = start; c < end; c++)
            {
                float* p = (float*)(Data + (c << 20));
                for (int i = 0; i < (1 << 18); i += 64)
                {
                    a0 += Vector512.Load(p + i);
                    a1 += Vector512.Load(p + i + 16);
                    a2 += Vector512.Load(p + i + 32);
                    a3 += Vector512.Load(p + i + 48);
                }
            }

            Sums[start] = Vector512.Sum((a0 + a1) + (a2 + a3));
        }
    }

    /// <summary>Reads every byte once.</summary>
    [Benchmark]
    public float StreamingRead()
    {
        float* sums = stackalloc float[128];
        var body = new SumBody { Data = _data, Sums = sums };
        _pool.For((int)(KernelBenchmarks.TargetBytes >> 20), 1, ref body);
        _sink = sums[0];
        return _sink;
    }

    private sealed class Config : ManualConfig
    {
        public Config() => AddColumn(new RateColumn("GB/s", _ => KernelBenchmarks.TargetBytes / 1e9));
    }
}

/// <summary>A column of <c>amount per operation / mean seconds</c>.</summary>
internal sealed class RateColumn(string name, Func<BenchmarkCase, double> amount) : IColumn
{
    public string Id => "Rate" + name;
    public string ColumnName => name;
    public bool AlwaysShow => true;
    public ColumnCategory Category => ColumnCategory.Custom;
    public int PriorityInCategory => 0;
    public bool IsNumeric => true;
    public UnitType UnitType => UnitType.Dimensionless;
    public string Legend => $"{name}: per-operation amount divided by the mean time";

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase)
    {
        var report = summary[benchmarkCase];
        double? ns = report?.ResultStatistics?.Mean;
        return ns is > 0 ? (amount(benchmarkCase) / (ns.Value / 1e9)).ToString("F2", System.Globalization.CultureInfo.InvariantCulture) : "-";
    }

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style) => GetValue(summary, benchmarkCase);

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

    public bool IsAvailable(Summary summary) => true;
}

/// <summary>
/// Q4_0 in the reference's two orders, one thread, 128 MiB: the 8-lane order (the default kernel) and the repacked
/// kernels' sequential order (what models use for Q4_0 matrices of 8k rows), one row at a time.
/// </summary>
[Config(typeof(Config))]
public unsafe class Q40OrderBenchmarks
{
    private byte* _weights;
    private byte* _x;
    private float* _y;
    private readonly long _rowBytes = KernelBenchmarks.RowBytes(GgmlType.Q4_0);
    private int _rows;

    /// <summary>Matrix size in MiB: 128 streams from memory, 1 stays in L2 (the kernel's own speed).</summary>
    [Params(128, 1)]
    public int MiB { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _rows = (int)((MiB << 20) / _rowBytes);
        long bytes = _rowBytes * _rows;
        _weights = (byte*)NativeMemory.AlignedAlloc((nuint)bytes, 64);
        new Random(1).NextBytes(new Span<byte>(_weights, (int)bytes));
        for (long b = 0; b < bytes / 18; b++)
        {
            *(ushort*)(_weights + (b * 18)) = 0x2E66;
        }

        var x = new float[KernelBenchmarks.Columns];
        for (int i = 0; i < x.Length; i++)
        {
            x[i] = MathF.Sin(i);
        }

        int xBytes = ActivationQuantizer.ByteCount(GgmlType.Q8_0, x.Length);
        _xBytes = xBytes;
        _x = (byte*)NativeMemory.AlignedAlloc((nuint)(xBytes * Batch), 64);
        for (int t = 0; t < Batch; t++)
        {
            ActivationQuantizer.Quantize(GgmlType.Q8_0, x, new Span<byte>(_x + (t * xBytes), xBytes));
        }

        _y = (float*)NativeMemory.AlignedAlloc((nuint)(_rows * Batch * sizeof(float)), 64);
    }

    private const int Batch = 32;
    private int _xBytes;

    /// <summary>
    /// Prefill: 32 activation vectors (a batch of the runtime's) through the same tiles; the GB/s column counts the
    /// weights once, so 32 × it is the rate at which weights meet activations.
    /// </summary>
    [Benchmark(OperationsPerInvoke = Batch)]
    public void SequentialTilesBatch32() => MatVec.ComputeBatch(GgmlType.Q4_0, _weights, _rowBytes, KernelBenchmarks.Columns, 0, _rows, _x, _xBytes, Batch, _y, _rows, Kernel.Best, WeightLayout.SequentialQ4_0);

    [GlobalCleanup]
    public void Cleanup()
    {
        NativeMemory.AlignedFree(_weights);
        NativeMemory.AlignedFree(_x);
        NativeMemory.AlignedFree(_y);
    }

    /// <summary>8-lane order, one row at a time.</summary>
    [Benchmark(Baseline = true)]
    public void Lanes() => MatVec.Compute(GgmlType.Q4_0, _weights, _rowBytes, KernelBenchmarks.Columns, 0, _rows, _x, _y, Kernel.Best);

    /// <summary>Sequential order, one row at a time.</summary>
    [Benchmark]
    public void SequentialOneRow()
    {
        for (int r = 0; r < _rows; r++)
        {
            _y[r] = Q4_0Dot.DotSequential(_weights + (r * _rowBytes), _x, KernelBenchmarks.Columns / 32, Kernel.Best);
        }
    }

    /// <summary>Sequential order in tiles of 8 rows (<see cref="Q4_0SequentialTiles"/>, what models run).</summary>
    [Benchmark]
    public void SequentialTiles() => MatVec.Compute(GgmlType.Q4_0, _weights, _rowBytes, KernelBenchmarks.Columns, 0, _rows, _x, _y, Kernel.Best, WeightLayout.SequentialQ4_0);

    private sealed class Config : ManualConfig
    {
        public Config() => AddColumn(new RateColumn("GB/s", c => KernelBenchmarks.RowBytes(GgmlType.Q4_0) * (((int)c.Parameters["MiB"] << 20) / KernelBenchmarks.RowBytes(GgmlType.Q4_0)) / 1e9));
    }
}
