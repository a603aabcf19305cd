using MicroLlm.Cli;
using MicroLlm.Gguf;
using MicroLlm.Tests;

namespace MicroLlm.Cli.Tests;

public class CliTests
{
    private string _dir = string.Empty;

    [SetUp]
    public void SetUp()
    {
        _dir = Path.Combine(Path.GetTempPath(), "microllm-cli-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_dir);
    }

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private static (int Code, string Out, string Err) Run(params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        int code = CliApp.Run(args, o, e);
        return (code, o.ToString(), e.ToString());
    }

    private string WriteSmallModel()
    {
        var w = new GgufWriter();
        w.SetMetadata("general.architecture", GgufValue.From("llama"));
        w.SetMetadata("general.name", GgufValue.From("cli-test"));
        w.SetMetadata("llama.embedding_length", GgufValue.From(64u));
        w.SetMetadata("llama.block_count", GgufValue.From(1u));
        w.AddTensor("token_embd.weight", GgmlType.F32, [64, 10], new byte[64 * 10 * 4]);
        w.AddTensor("blk.0.attn_q.weight", GgmlType.Q8_0, [64, 64], new byte[64 * 64 / 32 * 34]);
        string path = Path.Combine(_dir, "small.gguf");
        File.WriteAllBytes(path, w.ToArray());
        return path;
    }

    [Test]
    public void InfoShowsArchitectureHyperparametersTensorsAndMetadata()
    {
        var (code, output, err) = Run("info", "--model", WriteSmallModel());
        Assert.That(code, Is.EqualTo(0), err);
        Assert.That(err, Is.Empty);
        Assert.That(output, Does.Contain("architecture:  llama"));
        Assert.That(output, Does.Contain("embedding_length").And.Contain("64"));
        Assert.That(output, Does.Contain("blk.0.attn_q.weight").And.Contain("q8_0").And.Contain("[64, 64]"));
        Assert.That(output, Does.Contain("tensors:       2, 4,736 parameters"));
        Assert.That(output, Does.Contain("general.name").And.Contain("cli-test"));
    }

    private static IEnumerable<string> ConformanceFiles() =>
        Conformance.Files("models", "*.gguf").Concat(Conformance.Files("tokenizer", "*.gguf")).DefaultIfEmpty("(conformance folder absent)");

    [TestCaseSource(nameof(ConformanceFiles))]
    public void InfoReadsEveryConformanceFile(string path)
    {
        if (!File.Exists(path))
        {
            Conformance.Require();
        }

        var (code, output, err) = Run("info", "--model", path);
        Assert.That(code, Is.EqualTo(0), err);
        Assert.That(output, Does.Contain("tokenizer:"));
    }

    [Test]
    public void TokenizePrintsIdsOnOneLineAndBosOnRequest()
    {
        string vocab = Conformance.RequireFile("tokenizer", "ggml-vocab-llama-spm.gguf");
        var (code, output, err) = Run("tokenize", "--model", vocab, "--text", "Hello world");
        Assert.That(code, Is.EqualTo(0), err);
        Assert.That(output, Is.EqualTo("15043 3186" + Environment.NewLine));
        (code, output, _) = Run("tokenize", "--model", vocab, "--text", "Hello world", "--bos");
        Assert.That(code, Is.EqualTo(0));
        Assert.That(output, Is.EqualTo("1 15043 3186" + Environment.NewLine));
    }

    [Test]
    public void TokenizeParsesControlTokensOnlyWhenAsked()
    {
        // Reference: llama-tokenize -m ggml-vocab-gpt-2.gguf -p "Hello<|endoftext|>world" --ids --no-bos [--no-parse-special]
        string vocab = Conformance.RequireFile("tokenizer", "ggml-vocab-gpt-2.gguf");
        var (code, output, err) = Run("tokenize", "--model", vocab, "--text", "Hello<|endoftext|>world");
        Assert.That(code, Is.EqualTo(0), err);
        Assert.That(output, Is.EqualTo("15496 27 91 437 1659 5239 91 29 6894" + Environment.NewLine));
        (code, output, err) = Run("tokenize", "--model", vocab, "--text", "Hello<|endoftext|>world", "--parse-special");
        Assert.That(code, Is.EqualTo(0), err);
        Assert.That(output, Is.EqualTo("15496 50256 6894" + Environment.NewLine));
    }

    private string WriteVocabulary(string model)
    {
        var w = new GgufWriter();
        w.SetMetadata("general.architecture", GgufValue.From("t5"));
        w.SetMetadata("tokenizer.ggml.model", GgufValue.From(model));
        w.SetMetadata("tokenizer.ggml.tokens", GgufValue.FromArray<string>(["<pad>", "</s>", "<unk>", "▁hi"]));
        string path = Path.Combine(_dir, model + ".gguf");
        File.WriteAllBytes(path, w.ToArray());
        return path;
    }

    [Test]
    public void ErrorsAreOneLineOnStderrWithNonZeroExit()
    {
        string notGguf = Path.Combine(_dir, "notes.txt");
        File.WriteAllText(notGguf, "this is not a model file at all");
        string truncated = Path.Combine(_dir, "truncated.gguf");
        File.WriteAllBytes(truncated, File.ReadAllBytes(WriteSmallModel())[..100]);

        foreach (string[] args in new[]
        {
            new[] { "info", "--model", Path.Combine(_dir, "missing.gguf") },
            new[] { "info", "--model", notGguf },
            new[] { "info", "--model", truncated },
            new[] { "info" },
            new[] { "tokenize", "--model", WriteSmallModel(), "--text", "hi" },
            new[] { "tokenize", "--model", WriteVocabulary("t5"), "--text", "hi" },
            new[] { "tokenize", "--model", notGguf, "--text", "hi" },
            new[] { "tokenize", "--model", WriteVocabulary("llama") },
            new[] { "frobnicate" },
        })
        {
            var (code, output, err) = Run(args);
            string what = string.Join(' ', args);
            Assert.That(code, Is.Not.EqualTo(0), what);
            Assert.That(output, Is.Empty, what);
            Assert.That(err.TrimEnd().Split('\n'), Has.Length.EqualTo(1), what + ": " + err);
            Assert.That(err, Does.StartWith("microllm: error: "), what);
            Assert.That(err, Does.Not.Contain("   at "), what);
        }
    }
}
