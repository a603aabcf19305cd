using MicroLlm.Gguf;
using MicroLlm.Tests;

namespace MicroLlm.Core.Tests.Gguf;

public class GgufRoundTripTests
{
    private static IEnumerable<string> ConformanceFiles() =>
        Conformance.Files("models", "*.gguf").Concat(Conformance.Files("tokenizer", "*.gguf"))
            .DefaultIfEmpty("(conformance folder absent)");

    [TestCaseSource(nameof(ConformanceFiles))]
    public async Task ReadingAndWritingBackGivesIdenticalBytes(string path)
    {
        if (!File.Exists(path))
        {
            Conformance.Require();
        }

        using var file = GgufFile.Open(path);
        using var ms = new MemoryStream();
        await GgufWriter.FromFile(file).WriteAsync(ms);
        byte[] original = await File.ReadAllBytesAsync(path);
        byte[] written = ms.ToArray();
        Assert.That(written.Length, Is.EqualTo(original.Length), "length");
        int firstDiff = original.AsSpan().CommonPrefixLength(written);
        Assert.That(firstDiff, Is.EqualTo(original.Length), $"first differing byte at {firstDiff}");
    }

    [Test]
    public void TinyLlamaHasTheShapesItsReadmeStates()
    {
        using var file = GgufFile.Open(Conformance.RequireFile("models", "tiny-llama-q4_0.gguf"));
        Assert.That(file.Version, Is.EqualTo(3));
        Assert.That(file.Architecture, Is.EqualTo("llama"));
        Assert.That(file.Metadata.GetInt64("llama.embedding_length"), Is.EqualTo(256));
        Assert.That(file.Metadata.GetInt64("llama.block_count"), Is.EqualTo(2));
        Assert.That(file.Metadata["tokenizer.ggml.tokens"].Length, Is.EqualTo(32000));
        var q = file.GetTensor("blk.0.attn_q.weight");
        Assert.That(q.Dimensions, Is.EqualTo(new long[] { 256, 256 }));
        Assert.That(q.Type, Is.EqualTo(GgmlType.Q4_0));
        Assert.That(file.GetTensorData(q).Length, Is.EqualTo(256 * 256 / 32 * 18));
    }
}
