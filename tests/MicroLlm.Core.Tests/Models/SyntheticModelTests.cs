using System.Security.Cryptography;
using MicroLlm.Gguf;
using MicroLlm.Inference;
using MicroLlm.Models;
using MicroLlm.Tokenization;

namespace MicroLlm.Core.Tests.Models;

/// <summary>
/// The synthetic-model writer: real tensor names, shapes and metadata per architecture; the reference quantizer's
/// per-tensor choices and bytes; the same bytes for the same options; files our runtime and tokenizer load.
/// </summary>
public class SyntheticModelTests
{
    private static readonly string[] TinyShapes = ["tiny-llama", "tiny-qwen2", "tiny-phi3", "tiny-gemma2"];

    internal static byte[] Write(SyntheticModelOptions options)
    {
        using var ms = new MemoryStream();
        SyntheticModel.WriteAsync(options, ms).GetAwaiter().GetResult();
        return ms.ToArray();
    }

    private static SyntheticModelOptions Options(string shape, SyntheticModelFileType type, ulong seed = 11) =>
        new(SyntheticModelShape.Presets[shape]) { FileType = type, Seed = seed };

    private static IEnumerable<TestCaseData> ReferenceQuantizations()
    {
        foreach (string line in File.ReadLines(Path.Combine(ArchOracle.Folder, "llama-quantize.txt")))
        {
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }

            string[] f = line.Split(' ');
            yield return new TestCaseData(f[0], f[1], ulong.Parse(f[2], System.Globalization.CultureInfo.InvariantCulture), f[3])
                .SetName($"MatchesTheReferenceQuantizer_{f[0]}_{f[1]}");
        }
    }

    [TestCaseSource(nameof(ReferenceQuantizations))]
    public void TensorsEqualWhatTheReferenceQuantizerMakesOfOurF32File(string shape, string fileType, ulong seed, string sha256)
    {
        var type = ArchOracle.ParseFileType(fileType);
        using var file = GgufFile.FromMemory(Write(Options(shape, type, seed)));
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var t in file.Tensors.OrderBy(t => t.Name, StringComparer.Ordinal))
        {
            sha.AppendData(file.GetTensorData(t));
        }

        Assert.That(Convert.ToHexStringLower(sha.GetHashAndReset()), Is.EqualTo(sha256),
            "tensor types or bytes differ from llama-quantize's output for the same weights");
    }

    [Test]
    public void SameOptionsGiveTheSameBytesWhateverTheThreadCount()
    {
        var options = Options("tiny-qwen2", SyntheticModelFileType.Q4_K_M, seed: 3);
        byte[] a = Write(options);
        options.MaxDegreeOfParallelism = 1;
        byte[] b = Write(options);
        Assert.That(b, Is.EqualTo(a));
        options.Seed = 4;
        Assert.That(Write(options), Is.Not.EqualTo(a), "another seed, other weights");
    }

    [Test]
    public void OneSeedIsOneModelAtEveryPrecision()
    {
        using var f32 = GgufFile.FromMemory(Write(Options("tiny-llama", SyntheticModelFileType.F32)));
        using var q8 = GgufFile.FromMemory(Write(Options("tiny-llama", SyntheticModelFileType.Q8_0)));
        var a = Floats(f32, "blk.1.ffn_down.weight");
        var b = Floats(q8, "blk.1.ffn_down.weight");
        Assert.That(Quantization.QuantizerTests.RelativeRms(b, a), Is.LessThan(0.01), "Q8_0 of the same weights");
        float std = MathF.Sqrt(a.Select(v => v * v).Sum() / a.Length);
        Assert.That(std, Is.EqualTo(1 / MathF.Sqrt(768)).Within(0.02f / MathF.Sqrt(768)), "standard deviation 1/sqrt(row length)");
    }

    [TestCase("tiny-llama")]
    [TestCase("tiny-qwen2")]
    [TestCase("tiny-phi3")]
    [TestCase("tiny-gemma2")]
    public void TensorsAndMetadataAreTheArchitecturesOwn(string name)
    {
        var shape = SyntheticModelShape.Presets[name];
        using var file = GgufFile.FromMemory(Write(Options(name, SyntheticModelFileType.F16)));
        string a = shape.Architecture;
        var m = file.Metadata;
        Assert.That(m.GetString("general.architecture"), Is.EqualTo(a));
        Assert.That(m.GetInt64("general.file_type"), Is.EqualTo(1));
        Assert.That(m.GetInt64($"{a}.embedding_length"), Is.EqualTo(256));
        Assert.That(m.GetInt64($"{a}.block_count"), Is.EqualTo(shape.BlockCount));
        Assert.That(m.GetInt64($"{a}.attention.head_count_kv"), Is.EqualTo(shape.KvHeadCount));
        int hd = shape.EffectiveHeadDimension, q = shape.HeadCount * hd, kv = shape.KvHeadCount * hd, ffn = shape.FeedForwardLength;

        void Has(string tensor, GgmlType type, params long[] dims)
        {
            var t = file.FindTensor(tensor);
            Assert.That(t, Is.Not.Null, tensor);
            Assert.That(t!.Type, Is.EqualTo(type), tensor);
            Assert.That(t.Dimensions, Is.EqualTo(dims), tensor);
        }

        Has("token_embd.weight", GgmlType.F16, 256, 512);
        Has("output_norm.weight", GgmlType.F32, 256);
        Has("blk.1.attn_output.weight", GgmlType.F16, q, 256);
        Has("blk.1.ffn_down.weight", GgmlType.F16, ffn, 256);
        Assert.That(file.FindTensor("output.weight") is null, Is.EqualTo(shape.TiedOutput));
        switch (a)
        {
            case "qwen2":
                Has("blk.0.attn_q.bias", GgmlType.F32, q);
                Has("blk.0.attn_k.bias", GgmlType.F32, kv);
                Has("blk.0.attn_v.bias", GgmlType.F32, kv);
                Has("output.weight", GgmlType.F16, 256, 512);
                break;
            case "phi3":
                Has("blk.0.attn_qkv.weight", GgmlType.F16, 256, q + (2 * kv));
                Has("blk.0.ffn_up.weight", GgmlType.F16, 256, 2 * ffn);
                Assert.That(file.FindTensor("blk.0.ffn_gate.weight"), Is.Null);
                Assert.That(file.FindTensor("blk.0.attn_q.weight"), Is.Null);
                Assert.That(m.GetInt64("phi3.attention.sliding_window"), Is.EqualTo(16));
                break;
            case "gemma2":
                Has("blk.25.post_attention_norm.weight", GgmlType.F32, 256);
                Has("blk.25.post_ffw_norm.weight", GgmlType.F32, 256);
                Has("blk.0.attn_q.weight", GgmlType.F16, 256, q);
                Assert.That(m.GetInt64("gemma2.attention.key_length"), Is.EqualTo(64));
                Assert.That(m.GetSingle("gemma2.attn_logit_softcapping"), Is.EqualTo(50f));
                Assert.That(m.GetSingle("gemma2.final_logit_softcapping"), Is.EqualTo(30f));
                Assert.That(m.GetInt64("gemma2.attention.sliding_window"), Is.EqualTo(16));
                break;
            default:
                Has("blk.0.attn_k.weight", GgmlType.F16, 256, kv);
                Assert.That(file.FindTensor("blk.0.attn_q.bias"), Is.Null);
                break;
        }
    }

    [TestCaseSource(nameof(TinyShapes))]
    public void OurRuntimeLoadsAndRunsEveryArchitecture(string name)
    {
        using var file = GgufFile.FromMemory(Write(Options(name, SyntheticModelFileType.Q8_0)));
        var tokenizer = GgufTokenizer.Create(file);
        var ids = tokenizer.Encode("Smoke in B", addSpecialTokens: true, parseSpecialTokens: false);
        Assert.That(ids[0], Is.EqualTo(1), "BOS first");
        Assert.That(tokenizer.Decode(ids.Skip(1)), Is.EqualTo("Smoke in B"), "the built-in vocabulary spells text in bytes");

        using var model = LanguageModel.FromFile(file);
        Assert.That(model.Info.Architecture, Is.EqualTo(SyntheticModelShape.Presets[name].Architecture));
        using var session = model.CreateSession(new SessionOptions { ContextLength = 64 });
        var logits = session.Evaluate([.. ids]).ToArray();
        Assert.That(logits, Has.Length.EqualTo(512));
        Assert.That(logits.All(float.IsFinite));
        Assert.That(logits.Max() - logits.Min(), Is.GreaterThan(0.5f), "random weights give spread logits");
    }

    [Test]
    public void PresetsPlanTheReferencesTypesForRealShapes()
    {
        // Qwen2.5 0.5B: rows of 896 are not whole 256-blocks, so Q4_K falls back to Q5_0 and the tied embedding to Q8_0.
        var qwen = SyntheticModel.PlanTensors(SyntheticModelShape.Qwen2Size500M, SyntheticModelFileType.Q4_K_M, 151936)
            .ToDictionary(t => t.Name);
        Assert.That(qwen["token_embd.weight"].Type, Is.EqualTo(GgmlType.Q8_0));
        Assert.That(qwen["blk.5.attn_q.weight"].Type, Is.EqualTo(GgmlType.Q5_0));
        Assert.That(qwen["blk.0.attn_v.weight"].Type, Is.EqualTo(GgmlType.Q8_0), "Q6_K falls back to Q8_0");
        Assert.That(qwen["blk.0.ffn_down.weight"].Type, Is.EqualTo(GgmlType.Q6_K), "rows of 4864 are whole blocks");
        Assert.That(qwen["blk.4.ffn_down.weight"].Type, Is.EqualTo(GgmlType.Q4_K));
        Assert.That(qwen.ContainsKey("output.weight"), Is.False);

        var llama = SyntheticModel.PlanTensors(SyntheticModelShape.Llama2Size7B, SyntheticModelFileType.Q4_0, 32000);
        Assert.That(llama, Has.Count.EqualTo(2 + (32 * 9) + 1));
        Assert.That(llama.Single(t => t.Name == "output.weight").Type, Is.EqualTo(GgmlType.Q6_K), "the reference keeps the output matrix at Q6_K");
        long bytes = llama.Sum(t => GgmlTypeInfo.Get(t.Type).ByteCount(t.Dimensions.Aggregate(1L, (x, y) => x * y)));
        Assert.That(bytes / (double)(1 << 30), Is.EqualTo(3.56).Within(0.02), "GiB of tensors, as the reference's 7B Q4_0 files");

        // use_more_bits over 32 layers: 0-3, 28-31 and every third from 4 + 2.
        var moreBits = Enumerable.Range(0, 32).Where(l => SyntheticModel.UseMoreBits(l, 32));
        Assert.That(moreBits, Is.EqualTo(new[] { 0, 1, 2, 3, 6, 9, 12, 15, 18, 21, 24, 27, 28, 29, 30, 31 }));
    }

    [Test]
    public void WritesAFileAndHonoursCancellation()
    {
        string path = Path.Combine(Path.GetTempPath(), $"synthetic-{Guid.NewGuid():N}.gguf");
        try
        {
            SyntheticModel.WriteAsync(Options("tiny-llama", SyntheticModelFileType.Q4_0), path).GetAwaiter().GetResult();
            Assert.That(File.ReadAllBytes(path), Is.EqualTo(Write(Options("tiny-llama", SyntheticModelFileType.Q4_0))));
        }
        finally
        {
            File.Delete(path);
        }

        using var cts = new CancellationTokenSource();
        cts.Cancel();
        Assert.That(
            () => SyntheticModel.WriteAsync(Options("tiny-llama", SyntheticModelFileType.F16), Stream.Null, cts.Token).GetAwaiter().GetResult(),
            Throws.InstanceOf<OperationCanceledException>());
    }

    [Test]
    public void BadShapesAreRefusedWithTheReason()
    {
        var shape = SyntheticModelShape.TinyLlama with { KvHeadCount = 3 };
        var ex = Assert.Throws<ArgumentException>(() => Write(new SyntheticModelOptions(shape)));
        Assert.That(ex!.Message, Does.Contain("KvHeadCount must divide HeadCount"));

        ex = Assert.Throws<ArgumentException>(() => Write(new SyntheticModelOptions(SyntheticModelShape.TinyPhi3 with { SlidingWindow = null })));
        Assert.That(ex!.Message, Does.Contain("phi3 needs a SlidingWindow"));

        ex = Assert.Throws<ArgumentException>(() => Write(new SyntheticModelOptions(SyntheticModelShape.TinyLlama with { EmbeddingLength = 264, HeadCount = 4, KvHeadCount = 4 }) { FileType = SyntheticModelFileType.Q8_0 }));
        Assert.That(ex!.Message, Does.Contain("multiples of 32"));

        Assert.Throws<ArgumentException>(() => Write(new SyntheticModelOptions(SyntheticModelShape.TinyLlama with { Architecture = "mamba" })));
    }

    [Test]
    public void AVocabularyFileSetsTheTokenizerAndTheVocabularySize()
    {
        string vocab = MicroLlm.Tests.Conformance.RequireFile("tokenizer", "ggml-vocab-phi-3.gguf");
        using var file = GgufFile.FromMemory(Write(new SyntheticModelOptions(SyntheticModelShape.TinyPhi3) { VocabularyPath = vocab, FileType = SyntheticModelFileType.Q8_0 }));
        using var source = GgufFile.Open(vocab);
        Assert.That(file.GetTensor("token_embd.weight").Dimensions[1], Is.EqualTo(32064));
        Assert.That(GgufTokenizer.Create(file).Encode("Fire alert"), Is.EqualTo(GgufTokenizer.Create(source).Encode("Fire alert")));
    }

    private static float[] Floats(GgufFile file, string name)
    {
        var t = file.GetTensor(name);
        var values = new float[t.ElementCount];
        MicroLlm.Quantization.Dequantizer.Dequantize(t.Type, file.GetTensorData(t), values);
        return values;
    }
}
