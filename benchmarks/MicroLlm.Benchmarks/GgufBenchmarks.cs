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
        _path = BenchData.Model("tiny-llama-q4_0.gguf");
    }

    [Benchmark]
    public int OpenAndParse()
    {
        using var file = GgufFile.Open(_path);
        return file.Tensors.Count + file.Metadata.Count;
    }
}
