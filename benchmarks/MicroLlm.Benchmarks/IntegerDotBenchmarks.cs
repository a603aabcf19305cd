using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;

namespace MicroLlm.Benchmarks;

/// <summary>
/// The byte dot product the quantized kernels are built on, from L1 (16 KiB of unsigned × signed byte pairs, one
/// thread): 512-bit <c>vpmaddubsw</c> + <c>vpmaddwd</c> + add (what the kernels use) against the 256-bit AVX-VNNI
/// <c>vpdpbusd</c>, the only VNNI form .NET 10 exposes on this machine (no AVX512-VNNI class). Both give the same
/// integers here (codes of at most 4 bits, so no 16-bit saturation). GB/s counts byte pairs.
/// </summary>
/// <remarks><c>dotnet run -c Release --project benchmarks/MicroLlm.Benchmarks -- --filter '*IntegerDotBenchmarks*'</c></remarks>
[Config(typeof(Config))]
public unsafe class IntegerDotBenchmarks
{
    private const int Bytes = 16384;
    private byte* _u;
    private sbyte* _s;

    [GlobalSetup]
    public void Setup()
    {
        _u = (byte*)NativeMemory.AlignedAlloc(Bytes, 64);
        _s = (sbyte*)NativeMemory.AlignedAlloc(Bytes, 64);
        var rng = new Random(1);
        for (int i = 0; i < Bytes; i++)
        {
            _u[i] = (byte)rng.Next(16);
            _s[i] = (sbyte)rng.Next(-127, 128);
        }

        if (MaddubsMadd512() != (AvxVnni.IsSupported ? Vnni256() : MaddubsMadd512()))
        {
            throw new InvalidOperationException("The two routes disagree.");
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        NativeMemory.AlignedFree(_u);
        NativeMemory.AlignedFree(_s);
    }

    /// <summary>512-bit unsigned × signed byte pairs to 16 bits, then to 32 bits, four independent accumulators.</summary>
    [Benchmark(Baseline = true)]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public int MaddubsMadd512()
    {
        if (!Avx512BW.IsSupported)
        {
            return 0;
        }

        var ones = Vector512.Create((short)1);
        Vector512<int> c0 = default, c1 = default, c2 = default, c3 = default;
        byte* u = _u;
        sbyte* s = _s;
        for (int i = 0; i < Bytes; i += 256)
        {
            c0 += Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(Vector512.Load(u + i), Vector512.Load(s + i)), ones);
            c1 += Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(Vector512.Load(u + i + 64), Vector512.Load(s + i + 64)), ones);
            c2 += Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(Vector512.Load(u + i + 128), Vector512.Load(s + i + 128)), ones);
            c3 += Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(Vector512.Load(u + i + 192), Vector512.Load(s + i + 192)), ones);
        }

        return Vector512.Sum(c0 + c1 + c2 + c3);
    }

    /// <summary>256-bit AVX-VNNI <c>vpdpbusd</c>, eight independent accumulators.</summary>
    [Benchmark]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public int Vnni256()
    {
        if (!AvxVnni.IsSupported)
        {
            return 0;
        }

        Vector256<int> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default, c6 = default, c7 = default;
        byte* u = _u;
        sbyte* s = _s;
        for (int i = 0; i < Bytes; i += 256)
        {
            c0 = AvxVnni.MultiplyWideningAndAdd(c0, Vector256.Load(u + i), Vector256.Load(s + i));
            c1 = AvxVnni.MultiplyWideningAndAdd(c1, Vector256.Load(u + i + 32), Vector256.Load(s + i + 32));
            c2 = AvxVnni.MultiplyWideningAndAdd(c2, Vector256.Load(u + i + 64), Vector256.Load(s + i + 64));
            c3 = AvxVnni.MultiplyWideningAndAdd(c3, Vector256.Load(u + i + 96), Vector256.Load(s + i + 96));
            c4 = AvxVnni.MultiplyWideningAndAdd(c4, Vector256.Load(u + i + 128), Vector256.Load(s + i + 128));
            c5 = AvxVnni.MultiplyWideningAndAdd(c5, Vector256.Load(u + i + 160), Vector256.Load(s + i + 160));
            c6 = AvxVnni.MultiplyWideningAndAdd(c6, Vector256.Load(u + i + 192), Vector256.Load(s + i + 192));
            c7 = AvxVnni.MultiplyWideningAndAdd(c7, Vector256.Load(u + i + 224), Vector256.Load(s + i + 224));
        }

        return Vector256.Sum(c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7);
    }

    private sealed class Config : ManualConfig
    {
        public Config() => AddColumn(new RateColumn("GB/s", _ => Bytes / 1e9));
    }
}
