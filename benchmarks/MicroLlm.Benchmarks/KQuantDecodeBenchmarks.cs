using System.Runtime.InteropServices;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using MicroLlm.Gguf;
using MicroLlm.Kernels;

namespace MicroLlm.Benchmarks;

/// <summary>
/// K-quant decode, one thread, 4096 columns: one row at a time (<c>Q4_KDot</c>/<c>Q6_KDot</c> at the machine's widest
/// width, the kernels before the tiles) against <see cref="MatVec.Compute"/> (at 512 bits the tiles of 4 rows,
/// <c>Q4_KTiles</c>/<c>Q6_KTiles</c>), on matrices of 1 MiB (L2-resident: the kernel's own speed) and 128 MiB (from memory).
/// </summary>
/// <remarks><c>dotnet run -c Release --project benchmarks/MicroLlm.Benchmarks -- --filter '*KQuantDecodeBenchmarks*' --job short</c></remarks>
[Config(typeof(Config))]
public unsafe class KQuantDecodeBenchmarks
{
    private byte* _weights;
    private byte* _x;
    private float* _y;
    private long _rowBytes;
    private int _rows;

    /// <summary>The weight format.</summary>
    [Params(GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K)]
    public GgmlType Type { get; set; }

    /// <summary>Matrix size in MiB: 128 streams from memory, 1 stays in L2.</summary>
    [Params(128, 1)]
    public int MiB { get; set; }

    private static int Rows(GgmlType type, int mib) => (int)(((long)mib << 20) / KernelBenchmarks.RowBytes(type)) / 4 * 4;

    [GlobalSetup]
    public void Setup()
    {
        _rowBytes = KernelBenchmarks.RowBytes(Type);
        _rows = Rows(Type, MiB);
        long bytes = _rowBytes * _rows;
        _weights = (byte*)NativeMemory.AlignedAlloc((nuint)bytes, 64);
        var rng = new Random(1);
        KernelBenchmarks.FillWeights(Type, _weights, bytes, rng);
        var x = new float[KernelBenchmarks.Columns];
        for (int i = 0; i < x.Length; i++)
        {
            x[i] = (float)(rng.NextDouble() - 0.5);
        }

        int xBytes = ActivationQuantizer.ByteCount(GgmlType.Q8_K, x.Length);
        _x = (byte*)NativeMemory.AlignedAlloc((nuint)xBytes, 64);
        ActivationQuantizer.Quantize(GgmlType.Q8_K, x, new Span<byte>(_x, xBytes));
        _y = (float*)NativeMemory.AlignedAlloc((nuint)(_rows * sizeof(float)), 64);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        NativeMemory.AlignedFree(_weights);
        NativeMemory.AlignedFree(_x);
        NativeMemory.AlignedFree(_y);
    }

    /// <summary>One row at a time.</summary>
    [Benchmark(Baseline = true)]
    public void OneRow()
    {
        for (int r = 0; r < _rows; r++)
        {
            _y[r] = MatVec.Dot(Type, _weights + (r * _rowBytes), _x, KernelBenchmarks.Columns, Kernel.Best);
        }
    }

    /// <summary>What models run (tiles of 4 rows at 512 bits).</summary>
    [Benchmark]
    public void Tiles() => MatVec.Compute(Type, _weights, _rowBytes, KernelBenchmarks.Columns, 0, _rows, _x, _y, Kernel.Best);

    private sealed class Config : ManualConfig
    {
        public Config() => AddColumn(new RateColumn("GB/s", c =>
        {
            var type = (GgmlType)c.Parameters["Type"];
            return KernelBenchmarks.RowBytes(type) * (double)Rows(type, (int)c.Parameters["MiB"]) / 1e9;
        }));
    }
}
