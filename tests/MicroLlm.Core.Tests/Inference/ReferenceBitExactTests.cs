using System.Security.Cryptography;
using MicroLlm.Inference;
using MicroLlm.Models;
using MicroLlm.Tests;

namespace MicroLlm.Core.Tests.Inference;

/// <summary>
/// Every logit of synthetic qwen2, phi3, gemma2 and llama models equals the reference runtime's bit for bit (its CPU
/// backend as built for AVX-512, batch of 40 tokens, 2 threads): the SHA-256 of all logits (40 × vocabulary float32,
/// little-endian) is the one of the reference's. This pins the numerics of docs/ARCHITECTURE.md beyond llama: NeoX
/// RoPE, QKV biases, fused QKV and gate-up, soft-capping, sliding windows, GELU, post-norms, repacked Q4_0.
/// Linux only: RoPE and soft-capping call the C library's <c>cosf</c>/<c>sinf</c>/<c>tanhf</c> (through MathF), which are
/// glibc's there, as the reference's; another C library may round them differently in the last bit.
/// </summary>
[Platform("Linux")]
public class ReferenceBitExactTests
{
    // ids (37 i + 11) mod 500 + 3 after BOS: inside every vocabulary used here.
    private static readonly int[] Tokens = [1, .. Enumerable.Range(0, 39).Select(i => ((i * 37) + 11) % 500 + 3)];

    private static IEnumerable<TestCaseData> Cases()
    {
        yield return new TestCaseData("tiny-qwen2", SyntheticModelFileType.Q4_0, false, "e736f58ff4470683051616610a0f2d5a968d182da34bb24b2c3fc781a943aa9b");
        yield return new TestCaseData("tiny-phi3", SyntheticModelFileType.Q4_K_M, true, "e0c949f0c64f8eaff21da8fd4f38725ec17cb664a45132e87da91cd63550c3eb");
        yield return new TestCaseData("tiny-gemma2", SyntheticModelFileType.Q4_K_M, false, "f0c4edd93533ebb4d705289241d06c99a674645bbc141ec5e115e53420b23ea0");
        yield return new TestCaseData("tiny-gemma2", SyntheticModelFileType.F16, false, "836331fff8fecc4be5d1cad91fdf260e5da8eec83a85efb2c3026fb9a430ca66");
        yield return new TestCaseData("tiny-llama", SyntheticModelFileType.Q5_K_M, false, "fc46d455005fcb0df1b0eb4635c899dcd6606d9df6b1d42eb4b6b166abfa4761");

        // BF16: the reference's build here has AVX512-BF16, so tinyBLAS with vdpbf16ps (ReferenceDot.BF16).
        yield return new TestCaseData("tiny-llama", SyntheticModelFileType.BF16, false, "cecba3327e3cffbbba187e453915348704eaecc23cc76367c2a972d5bcb38929");
        yield return new TestCaseData("tiny-qwen2", SyntheticModelFileType.BF16, false, "7d817be655e0d450cd7adfd28a122dcdf68a9d921090924a3eb4026e74608f61");
        yield return new TestCaseData("tiny-gemma2", SyntheticModelFileType.BF16, false, "94e00a9ea1c96fc47d0364f09240c6bb8f49bd4d431fe5d1f504073773e6a39d");
        yield return new TestCaseData("tiny-phi3", SyntheticModelFileType.BF16, true, "342da28f99913601be029c663a6719de8b3b11d99ad518e7d08c7a1daa863712");
    }

    [TestCaseSource(nameof(Cases))]
    public async Task LogitsEqualTheReferencesBitForBit(string shape, SyntheticModelFileType fileType, bool phi3Vocabulary, string sha256)
    {
        var options = new SyntheticModelOptions(SyntheticModelShape.Presets[shape])
        {
            FileType = fileType,
            Seed = 11,
            VocabularyPath = phi3Vocabulary ? Conformance.RequireFile("tokenizer", "ggml-vocab-phi-3.gguf") : null,
        };
        string path = Path.Combine(Path.GetTempPath(), $"bitexact-{Guid.NewGuid():N}.gguf");
        try
        {
            await SyntheticModel.WriteAsync(options, path);
            using var model = LanguageModel.Load(path);
            int vocab = model.Info.VocabularySize;
            using var session = model.CreateSession(new SessionOptions { ContextLength = Tokens.Length + 1 });
            var logits = new float[Tokens.Length * vocab];
            session.EvaluateAll(Tokens, logits);
            string actual = Convert.ToHexStringLower(SHA256.HashData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(logits.AsSpan())));
            Assert.That(actual, Is.EqualTo(sha256), $"first logits {logits[0]:R} … last {logits[^1]:R}");
        }
        finally
        {
            File.Delete(path);
        }
    }
}
