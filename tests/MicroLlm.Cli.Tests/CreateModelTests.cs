using MicroLlm.Cli;
using MicroLlm.Gguf;

namespace MicroLlm.Cli.Tests;

/// <summary><c>microllm create-model</c>: small shapes only.</summary>
public class CreateModelTests
{
    private string _dir = string.Empty;

    [SetUp]
    public void SetUp()
    {
        _dir = Path.Combine(Path.GetTempPath(), "microllm-create-" + Guid.NewGuid().ToString("N"));
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

    [TestCase("tiny-llama", "q4_k_m", "llama", GgmlType.Q6_K)]
    [TestCase("tiny-qwen2", "q8_0", "qwen2", GgmlType.Q8_0)]
    [TestCase("tiny-phi3", "f16", "phi3", GgmlType.F16)]
    public void WritesTheShapeAndTypeAsked(string shape, string quant, string architecture, GgmlType attnV1)
    {
        string path = Path.Combine(_dir, "m.gguf");
        var (code, output, err) = Run("create-model", "--shape", shape, "--quant", quant, "--seed", "5", path);
        Assert.That(code, Is.EqualTo(0), err);
        Assert.That(err, Is.Empty);
        Assert.That(output, Does.StartWith("wrote ").And.Contain(shape).And.Contain("seed 5"));
        using (var file = GgufFile.Open(path))
        {
            Assert.That(file.Architecture, Is.EqualTo(architecture));
            var v = file.FindTensor("blk.1.attn_v.weight") ?? file.GetTensor("blk.1.attn_qkv.weight");
            Assert.That(v.Type, Is.EqualTo(attnV1), "the reference's mix: attn_v of the last layer gets more bits");
        }

        byte[] first = File.ReadAllBytes(path);
        Assert.That(Run("create-model", "-s", shape, "-q", quant, "--seed", "5", "--threads", "1", path).Code, Is.EqualTo(0));
        Assert.That(File.ReadAllBytes(path), Is.EqualTo(first), "same arguments, same bytes");
    }

    [Test]
    public void BadArgumentsAreOneLineUsageErrors()
    {
        var (code, _, err) = Run("create-model", "--shape", "gpt-5", Path.Combine(_dir, "x.gguf"));
        Assert.That(code, Is.EqualTo(CliApp.UsageError));
        Assert.That(err.TrimEnd(), Does.StartWith("microllm: error:").And.Contain("gpt-5").And.Not.Contain('\n'));

        (code, _, err) = Run("create-model", "--shape", "tiny-llama", "--quant", "q3_k_s", Path.Combine(_dir, "x.gguf"));
        Assert.That(code, Is.EqualTo(CliApp.UsageError));
        Assert.That(err, Does.Contain("q3_k_s"));
    }

    [Test]
    public void AMissingVocabularyFileIsAOneLineError()
    {
        var (code, _, err) = Run("create-model", "--shape", "tiny-llama", "--vocab", Path.Combine(_dir, "none.gguf"), Path.Combine(_dir, "x.gguf"));
        Assert.That(code, Is.EqualTo(CliApp.Failure));
        Assert.That(err.TrimEnd(), Does.StartWith("microllm: error:").And.Not.Contain('\n'));
    }
}
