using MicroLlm.Gguf;
using MicroLlm.Inference;
using MicroLlm.Models;

namespace MicroLlm.Core.Tests.Models;

/// <summary>
/// Matrices that the kernels read from a copy (Q4_0 packed in groups of 8 rows, Q4_K/Q5_K/Q6_K/Q8_0 in groups of 4, F16 as
/// it is; made on first use): the copy never
/// writes to its source, whether that is a read-only file mapping (whose pages are dropped after packing and read again
/// from the file when touched) or memory the caller handed to <see cref="GgufFile.FromMemory"/> (left alone), and the
/// model computes the same logits from a file, from memory, and with every weight kept in the map.
/// </summary>
public class PackedWeightsTests
{
    private static readonly int[] Tokens = [1, 17, 230, 5, 99, 41, 7, 300, 12];

    [TestCase(SyntheticModelFileType.Q4_0)]
    [TestCase(SyntheticModelFileType.F16)]
    [TestCase(SyntheticModelFileType.Q4_K_M)]
    [TestCase(SyntheticModelFileType.Q5_K_M)]
    [TestCase(SyntheticModelFileType.Q8_0)]
    public void PackingLeavesTheCallersMemoryAndTheMappedFileAsTheyWere(SyntheticModelFileType fileType)
    {
        byte[] bytes = SyntheticModelTests.Write(new SyntheticModelOptions(SyntheticModelShape.Presets["tiny-llama"]) { FileType = fileType, Seed = 5 });
        byte[] original = (byte[])bytes.Clone();
        string path = Path.Combine(Path.GetTempPath(), $"packed-{Guid.NewGuid():N}.gguf");
        File.WriteAllBytes(path, bytes);
        try
        {
            float[] fromMemory, fromFile;
            using (var memoryFile = GgufFile.FromMemory(bytes))
            using (var model = LanguageModel.FromFile(memoryFile, new LanguageModelOptions { ThreadCount = 2 }))
            {
                Assert.That(model.Transformer.Layers[0].Down.ReadsFromStore, "this model's matrices are read from the store");
                fromMemory = Logits(model);
                Assert.That(bytes, Is.EqualTo(original), "the caller's memory is unchanged");
            }

            using (var mapped = GgufFile.Open(path))
            using (var model = LanguageModel.FromFile(mapped, new LanguageModelOptions { ThreadCount = 2, KeepWeightsMapped = true }))
            {
                Assert.That(model.Transformer.Layers[0].Down.ReadsFromStore, Is.False, "KeepWeightsMapped reads the map");
                Assert.That(Logits(model), Is.EqualTo(fromMemory), "the same bits from the map");
            }

            using (var mapped = GgufFile.Open(path))
            using (var model = LanguageModel.FromFile(mapped, new LanguageModelOptions { ThreadCount = 2 }))
            {
                fromFile = Logits(model);
                foreach (var tensor in mapped.Tensors)
                {
                    long offset = mapped.DataOffset + tensor.Offset;
                    Assert.That(mapped.GetTensorData(tensor).SequenceEqual(original.AsSpan((int)offset, mapped.GetTensorData(tensor).Length)), $"{tensor.Name} reads as in the file after packing");
                }
            }

            Assert.That(fromFile, Is.EqualTo(fromMemory));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [TestCase(SyntheticModelFileType.Q4_0)]
    [TestCase(SyntheticModelFileType.Q4_K_M)]
    [TestCase(SyntheticModelFileType.F16)]
    public async Task PrepareMakesEveryCopyBeforeTheFirstEvaluation(SyntheticModelFileType fileType)
    {
        byte[] bytes = SyntheticModelTests.Write(new SyntheticModelOptions(SyntheticModelShape.Presets["tiny-llama"]) { FileType = fileType, Seed = 6 });
        float[] lazily;
        using (var file = GgufFile.FromMemory(bytes))
        using (var model = LanguageModel.FromFile(file, new LanguageModelOptions { ThreadCount = 2 }))
        {
            lazily = Logits(model);
        }

        using (var file = GgufFile.FromMemory(bytes))
        using (var model = LanguageModel.FromFile(file, new LanguageModelOptions { ThreadCount = 2 }))
        {
            var copied = model.Transformer.Matrices.Where(m => m.ReadsFromStore).ToArray();
            Assert.That(copied, Is.Not.Empty, "this model's matrices are read from the store");
            Assert.That(copied.Any(m => m.IsPrepared), Is.False, "nothing is copied at load");
            await model.PrepareAsync();
            Assert.That(copied.All(m => m.IsPrepared), "every copy made");
            Assert.That(Logits(model), Is.EqualTo(lazily), "the same bits as copies made on first use");
        }
    }

    [Test]
    public void PrepareStopsWhenCancelledAndRefusesADisposedModel()
    {
        byte[] bytes = SyntheticModelTests.Write(new SyntheticModelOptions(SyntheticModelShape.Presets["tiny-llama"]) { FileType = SyntheticModelFileType.Q4_0, Seed = 6 });
        using var file = GgufFile.FromMemory(bytes);
        var model = LanguageModel.FromFile(file, new LanguageModelOptions { ThreadCount = 1 });
        using (var cancelled = new CancellationTokenSource())
        {
            cancelled.Cancel();
            Assert.That(async () => await model.PrepareAsync(cancelled.Token), Throws.InstanceOf<OperationCanceledException>());
        }

        model.Dispose();
        Assert.That(() => model.PrepareAsync(), Throws.InstanceOf<ObjectDisposedException>());
    }

    private static float[] Logits(LanguageModel model)
    {
        using var session = model.CreateSession(new SessionOptions { ContextLength = 32 });
        var logits = new float[Tokens.Length * model.Info.VocabularySize];
        session.EvaluateAll(Tokens, logits);
        Assert.That(logits.All(float.IsFinite));
        return logits;
    }
}
