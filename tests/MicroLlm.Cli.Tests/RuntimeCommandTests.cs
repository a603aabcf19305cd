using System.Text.Json;
using MicroLlm.Cli;
using MicroLlm.Tests;

namespace MicroLlm.Cli.Tests;

/// <summary><c>microllm logits</c> and <c>microllm generate</c> on the tiny conformance model.</summary>
public class RuntimeCommandTests
{
    private static (int Code, string Out, string Err) Run(params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        int code = CliApp.Run(args, o, e);
        return (code, o.ToString(), e.ToString());
    }

    [Test]
    public void LogitsJsonHasTheConformanceShapeAndTheReferenceNumbers()
    {
        string model = Conformance.RequireFile("models", "tiny-llama-f16.gguf");
        using var reference = JsonDocument.Parse(File.ReadAllText(Conformance.RequireFile("models", "tiny-llama-f16.en.json")));
        string prompt = reference.RootElement.GetProperty("prompt").GetString()!;
        var (code, stdout, stderr) = Run("logits", "--model", model, "--prompt", prompt, "--top", "64", "--greedy", "16", "--json");
        Assert.That(code, Is.Zero, stderr);
        using var ours = JsonDocument.Parse(stdout);
        var o = ours.RootElement;
        var r = reference.RootElement;
        Assert.That(o.GetProperty("n_vocab").GetInt32(), Is.EqualTo(32000));
        Assert.That(o.GetProperty("tokens").ToString(), Is.EqualTo(r.GetProperty("tokens").ToString()));
        Assert.That(o.GetProperty("greedy").ToString(), Is.EqualTo(r.GetProperty("greedy").ToString()));
        var ol = o.GetProperty("logits").EnumerateArray().ToArray();
        var rl = r.GetProperty("logits").EnumerateArray().ToArray();
        Assert.That(ol, Has.Length.EqualTo(rl.Length));
        for (int p = 0; p < rl.Length; p++)
        {
            var mine = ol[p].EnumerateArray().ToDictionary(e => e[0].GetInt32(), e => e[1].GetSingle());
            Assert.That(mine, Has.Count.EqualTo(64));
            foreach (var pair in rl[p].EnumerateArray().Take(8))
            {
                Assert.That(mine.TryGetValue(pair[0].GetInt32(), out float v), Is.True, $"position {p}: token {pair[0]} missing from our top 64");
                Assert.That(v, Is.EqualTo(pair[1].GetSingle()).Within(0.02f));
            }
        }
    }

    [Test]
    public void GenerateStreamsOnlyTheTextToStdoutAndStatisticsToStderr()
    {
        string model = Conformance.RequireFile("models", "tiny-llama-q4_0.gguf");
        var (code, stdout, stderr) = Run("generate", "--model", model, "--prompt", "Fire alert", "--max-tokens", "12", "--seed", "4", "--temperature", "0.7");
        Assert.That(code, Is.Zero, stderr);
        Assert.That(stdout.Trim(), Is.Not.Empty);
        Assert.That(stdout, Does.Not.Contain("microllm:"));
        Assert.That(stderr, Does.Contain("12 generated").And.Contain("MaxTokens"));
        var again = Run("generate", "--model", model, "--prompt", "Fire alert", "--max-tokens", "12", "--seed", "4", "--temperature", "0.7");
        Assert.That(again.Out, Is.EqualTo(stdout), "same seed, same text");
    }

    [Test]
    public void GenerateWithAJsonSchemaPrintsValidJson()
    {
        string model = Conformance.RequireFile("models", "tiny-llama-q4_0.gguf");
        string schema = Path.Combine(Path.GetTempPath(), $"microllm-schema-{Guid.NewGuid():N}.json");
        File.WriteAllText(schema, """{"type":"object","properties":{"floor":{"type":"integer","minimum":0,"maximum":20}},"required":["floor"],"additionalProperties":false}""");
        try
        {
            var (code, stdout, stderr) = Run("generate", "--model", model, "--prompt", "x", "--max-tokens", "100", "--seed", "1", "--json-schema", schema);
            Assert.That(code, Is.Zero, stderr);
            using var doc = JsonDocument.Parse(stdout);
            Assert.That(doc.RootElement.GetProperty("floor").GetInt32(), Is.InRange(0, 20));
        }
        finally
        {
            File.Delete(schema);
        }
    }

    [TestCase("--regex", "[", "regular expression")]
    [TestCase("--top-p", "2", "TopP")]
    public void BadInputIsOneLineOnStderr(string option, string value, string mentions)
    {
        string model = Conformance.RequireFile("models", "tiny-llama-q4_0.gguf");
        var (code, stdout, stderr) = Run("generate", "--model", model, "--prompt", "x", option, value);
        Assert.That(code, Is.EqualTo(1));
        Assert.That(stdout, Is.Empty);
        Assert.That(stderr.TrimEnd().Split('\n'), Has.Length.EqualTo(1));
        Assert.That(stderr, Does.StartWith("microllm: error:").And.Contain(mentions).IgnoreCase);
    }

    [Test]
    public void AMissingModelIsAClearError()
    {
        var (code, _, stderr) = Run("generate", "--model", "/nonexistent/model.gguf", "--prompt", "x");
        Assert.That(code, Is.EqualTo(1));
        Assert.That(stderr, Does.StartWith("microllm: error:"));
    }
}

public class BenchCommandTests
{
    [Test]
    public void BenchPrintsFiguresAndEndsWithTheJsonLine()
    {
        string model = Conformance.RequireFile("models", "tiny-llama-q4_0.gguf");
        var o = new StringWriter();
        var e = new StringWriter();
        int code = CliApp.Run(["bench", "--model", model, "--threads", "2", "--prompt-tokens", "8", "--gen-tokens", "4", "--json"], o, e);
        Assert.That(code, Is.Zero, e.ToString());
        string last = o.ToString().TrimEnd().Split('\n')[^1];
        using var doc = System.Text.Json.JsonDocument.Parse(last);
        var r = doc.RootElement;
        Assert.That(r.GetProperty("pp_tok_s").GetDouble(), Is.GreaterThan(0));
        Assert.That(r.GetProperty("tg_tok_s").GetDouble(), Is.GreaterThan(0));
        Assert.That(r.GetProperty("bandwidth_gb_s").GetDouble(), Is.InRange(0.1, 10_000));
        Assert.That(r.GetProperty("roofline_ratio").GetDouble(), Is.InRange(0.0, 2.0));
        Assert.That(r.GetProperty("peak_rss_mb").GetDouble(), Is.GreaterThan(10));
        Assert.That(o.ToString(), Does.Contain("threads:    2"));
        Assert.That(o.ToString(), Does.Contain("copied to the model's memory on first use"));
    }

    [Test]
    public void BenchCanKeepEveryWeightMapped()
    {
        string model = Conformance.RequireFile("models", "tiny-llama-q4_0.gguf");
        var o = new StringWriter();
        var e = new StringWriter();
        int code = CliApp.Run(["bench", "--model", model, "--threads", "2", "--prompt-tokens", "8", "--gen-tokens", "4", "--keep-weights-mapped", "--json"], o, e);
        Assert.That(code, Is.Zero, e.ToString());
        Assert.That(o.ToString(), Does.Contain("weights:    kept in the file mapping"));
        using var doc = System.Text.Json.JsonDocument.Parse(o.ToString().TrimEnd().Split('\n')[^1]);
        Assert.That(doc.RootElement.GetProperty("tg_tok_s").GetDouble(), Is.GreaterThan(0));
    }
}
