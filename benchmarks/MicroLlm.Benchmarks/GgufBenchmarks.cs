using BenchmarkDotNet.Attributes;
using MicroLlm.Gguf;

namespace MicroLlm.Benchmarks;

/// <summary>Opening a GGUF file: header, metadata (a 32,000-token vocabulary) and tensor descriptors; tensor bytes stay mapped.</summary>
[MemoryDiagnoser]
public class GgufBenchmarks
{
    private string _path = string.Empty;

    [GlobalSetup]
    public void Setup()
    {
        _path = Path.GetFullPath(Environment.GetEnvironmentVariable("MICROLLM_BENCH_MODEL")
            ?? Path.Combine(AppContext.BaseDirectory, "../../../../../../shared/conformance/models/tiny-llama-q4_0.gguf"));
        if (!File.Exists(_path))
        {
            throw new FileNotFoundException($"Benchmark model not found at {_path}; set MICROLLM_BENCH_MODEL to a GGUF file.");
        }
    }

    [Benchmark]
    public int OpenAndParse()
    {
        using var file = GgufFile.Open(_path);
        return file.Tensors.Count + file.Metadata.Count;
    }
}
