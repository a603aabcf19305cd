using MicroLlm.Gguf;
using MicroLlm.Inference;
using MicroLlm.Kernels;
using MicroLlm.Models;

namespace MicroLlm.Core.Tests.Models;

/// <summary>
/// <see cref="WeightMatrix.MatMulShared"/> (a layer's query, key and value, or gate and up, in one pool call) gives every
/// output the bits of one <see cref="WeightMatrix.MatMul"/> per matrix: for decode and prefill batches, one thread and
/// two, matrices of different formats sharing an activation type (Q4_K with Q6_K) and formats that cannot share (F16,
/// which falls back to one call each), at every SIMD width.
/// </summary>
public class SharedProductTests
{
    private static IEnumerable<TestCaseData> Cases() =>
        from fileType in new[] { SyntheticModelFileType.Q4_0, SyntheticModelFileType.Q4_K_M, SyntheticModelFileType.Q8_0, SyntheticModelFileType.F16 }
        from width in Kernel.Supported
        select new TestCaseData(fileType, (int)width).SetName($"SharedProducts_{fileType}_{width}");

    [TestCaseSource(nameof(Cases))]
    public void SharedProductsGiveEachMatrixItsOwnBits(SyntheticModelFileType fileType, int widthIndex)
    {
        using var width = Kernel.Use((KernelWidth)widthIndex);
        byte[] bytes = SyntheticModelTests.Write(new SyntheticModelOptions(SyntheticModelShape.Presets["tiny-llama"]) { FileType = fileType, Seed = 9 });
        using var file = GgufFile.FromMemory(bytes);
        using var model = LanguageModel.FromFile(file, new LanguageModelOptions { ThreadCount = 2 });

        // A layer whose value matrix has another format than its query where the file type mixes them (Q4_K_M: Q6_K).
        var layer = model.Transformer.Layers.FirstOrDefault(l => l.Value!.Type != l.Query!.Type) ?? model.Transformer.Layers[0];
        var scratch = new MatMulScratch(8192, 8);
        var rng = new Random(4);
        foreach (int count in new[] { 1, 3, 5 })
        {
            var x = new float[count * layer.Query!.Columns];
            for (int i = 0; i < x.Length; i++)
            {
                x[i] = (float)(rng.NextDouble() - 0.5);
            }

            foreach (int threads in new[] { 1, 2 })
            {
                var matrices = new[] { layer.Query!, layer.Key!, layer.Value!, layer.Gate!, layer.Up };
                var separate = matrices.Select(m => new float[count * m.Rows]).ToArray();
                for (int i = 0; i < matrices.Length; i++)
                {
                    matrices[i].MatMul(x, count, separate[i], scratch, threads);
                }

                var shared = matrices.Select(m => new float[count * m.Rows]).ToArray();
                WeightMatrix.MatMulShared(x, count, scratch, threads, matrices[0], shared[0], matrices[1], shared[1], matrices[2], shared[2]);
                WeightMatrix.MatMulShared(x, count, scratch, threads, matrices[3], shared[3], matrices[4], shared[4]);
                for (int i = 0; i < matrices.Length; i++)
                {
                    Assert.That(shared[i], Is.EqualTo(separate[i]), $"{fileType} {matrices[i].Name} ({matrices[i].Type}) batch {count}, {threads} threads");
                }
            }
        }
    }
}
