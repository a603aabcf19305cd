using System.Runtime.InteropServices;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Running;
using MicroLlm.Gguf;
using MicroLlm.Kernels;

namespace MicroLlm.Benchmarks;

/// <summary>
/// Prefill matrix-matrix products: a batch of 64 activation vectors against a TinyLlama-1.1B feed-forward matrix
/// (2048 columns × 5632 rows, as <c>ffn_gate</c>), per weight type and thread count, through
/// <see cref="ParallelMatVec"/> as the runtime calls it (Q4_0 in the repacked order its models use). Prefill is bound
/// by arithmetic, not bandwidth: the GFLOP/s column (2 per weight per vector) is what to read against the machine's
/// FMA peak; GB/s counts each weight once per batch.
/// </summary>
/// <remarks><c>dotnet run -c Release --project benchmarks/MicroLlm.Benchmarks -- --filter '*PrefillKernelBenchmarks*'</c></remarks>
[Config(typeof(Config))]
public unsafe class PrefillKernelBenchmarks
{
    internal const int Columns = 2048;
    internal const int Rows = 5632;
    internal const int Batch = 64;

    private byte* _weights;
    private byte* _x;
    private float* _y;
    private long _rowBytes;
    private long _xBytes;
    private ComputePool _pool = null!;

    /// <summary>The weight format.</summary>
    [Params(GgmlType.Q4_0, GgmlType.Q8_0, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K, GgmlType.F16, GgmlType.BF16, GgmlType.F32)]
    public GgmlType Type { get; set; }

    /// <summary>Threads sharing each product.</summary>
    [Params(1, 2)]
    public int Threads { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _rowBytes = GgmlTypeInfo.Get(Type).ByteCount(Columns);
        long bytes = _rowBytes * Rows;
        _weights = (byte*)NativeMemory.AlignedAlloc((nuint)bytes, 64);
        KernelBenchmarks.FillWeights(Type, _weights, bytes, new Random(1));

        var activationType = ActivationQuantizer.ActivationTypeFor(Type);
        _xBytes = ActivationQuantizer.ByteCount(activationType, Columns);
        _x = (byte*)NativeMemory.AlignedAlloc((nuint)(_xBytes * Batch), 64);
        var x = new float[Columns];
        for (int t = 0; t < Batch; t++)
        {
            for (int i = 0; i < x.Length; i++)
            {
                x[i] = MathF.Sin((t * 31) + i);
            }

            ActivationQuantizer.Quantize(activationType, x, new Span<byte>(_x + (t * _xBytes), (int)_xBytes));
        }

        _y = (float*)NativeMemory.AlignedAlloc((nuint)((long)Rows * Batch * sizeof(float)), 64);
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

    /// <summary>Y = W X for the whole batch.</summary>
    [Benchmark]
    public void MatMul() =>
        ParallelMatVec.Run(_pool, Type, _weights, _rowBytes, Columns, Rows, _x, _xBytes, Batch, _y, Rows, Kernel.Best, Type == GgmlType.Q4_0 ? WeightLayout.SequentialQ4_0 : WeightLayout.Rows);

    /// <summary>Columns of the GFLOP/s and GB/s figures, from the mean time and the matrix size.</summary>
    private sealed class Config : ManualConfig
    {
        public Config()
        {
            AddColumn(new RateColumn("GFLOP/s", _ => 2.0 * Columns * Rows * Batch / 1e9));
            AddColumn(new RateColumn("GB/s", c => GgmlTypeInfo.Get((GgmlType)c.Parameters["Type"]).ByteCount(Columns) * (double)Rows / 1e9));
        }
    }
}
