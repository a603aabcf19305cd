using System.Text.Json;
using MicroLlm.Cli;
using MicroLlm.Guardrails;
using MicroLlm.Tests;

namespace MicroLlm.Cli.Tests;

public class AlertCommandTests
{
    private static readonly string Root = FindRoot();

    private static string FindRoot()
    {
        var dir = new DirectoryInfo(TestContext.CurrentContext.TestDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "MicroLlm.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("MicroLlm.sln not found above the test directory.");
    }

    private static (int Code, string Out, string Err) Run(params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        int code = CliApp.Run(args, o, e);
        return (code, o.ToString(), e.ToString());
    }

    private static string Sample(string name) => Path.Combine(Root, "samples", "alerts", name);

    [Test]
    public void TheReadmeMainCommandRunsOfflineOnTheSample()
    {
        string line = File.ReadLines(Path.Combine(Root, "README.md")).First(l => l.StartsWith("dotnet run --project src/MicroLlm.Cli -c Release -- alert ", StringComparison.Ordinal));
        string[] args = line[(line.IndexOf(" -- ", StringComparison.Ordinal) + 4)..].Split(' ', StringSplitOptions.RemoveEmptyEntries)
            .Select(a => a.StartsWith("samples/", StringComparison.Ordinal) ? Path.Combine(Root, a) : a).ToArray();
        var (code, output, err) = Run(args);
        Assert.That(code, Is.EqualTo(0), err);
        string[] lines = output.TrimEnd().Split('\n');
        Assert.That(lines, Has.Length.EqualTo(2));
        Assert.That(lines[0], Does.StartWith("CRITICAL ALERT: fire detected at Building B, 3rd floor at 2:05 PM"));
        Assert.That(lines[1], Does.StartWith("অতি জরুরি সতর্কতা:").And.Contain("৩টি ইউনিট").And.Contain("দুপুর ২টা ৫ মিনিট"));
    }

    [Test]
    public void JsonOutputHasTextsSourceAndAudit()
    {
        var (code, output, err) = Run("alert", "--event", Sample("flood.json"), "--lang", "bn", "--policy", Sample("policy.json"), "--json");
        Assert.That(code, Is.EqualTo(0), err);
        using var doc = JsonDocument.Parse(output);
        Assert.That(doc.RootElement.TryGetProperty("en", out _), Is.False);
        Assert.That(doc.RootElement.GetProperty("bn").GetString(), Does.Contain("যমুনা").And.EndWith("৯৯৯ নম্বরে ফোন করুন।"));
        Assert.That(doc.RootElement.GetProperty("source").GetString(), Is.EqualTo("template"));
        Assert.That(doc.RootElement.GetProperty("audit").GetProperty("attempts")[0].GetProperty("accepted").GetBoolean(), Is.True);
    }

    [Test]
    public void EveryExampleIsAValidEventThatTheCommandPhrases()
    {
        string dir = Path.Combine(Path.GetTempPath(), "microllm-alert-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            foreach (string type in AlertCatalog.Default.TypeNames)
            {
                var (code, output, err) = Run("alert", "--example", type);
                Assert.That(code, Is.EqualTo(0), err);
                string path = Path.Combine(dir, type + ".json");
                File.WriteAllText(path, output);
                var (code2, text, err2) = Run("alert", "--event", path, "--lang", "en");
                Assert.That(code2, Is.EqualTo(0), err2);
                Assert.That(text.Trim(), Is.Not.Empty);
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Test]
    public void TypesAndSchemaAreListed()
    {
        var (code, output, _) = Run("alert", "--types");
        Assert.That(code, Is.EqualTo(0));
        Assert.That(output, Does.Contain("fire").And.Contain("network_attack").And.Contain("অগ্নিকাণ্ড"));
        var (code2, schema, _) = Run("alert", "--schema");
        Assert.That(code2, Is.EqualTo(0));
        Assert.That(schema, Is.EqualTo(AlertCatalog.GetDefaultEventSchema()));
    }

    [Test]
    public void AnInvalidEventIsOneLineWithEveryProblem()
    {
        string path = Path.Combine(Path.GetTempPath(), "microllm-bad-" + Guid.NewGuid().ToString("N") + ".json");
        File.WriteAllText(path, """{"type": "fire", "severity": "grave", "location": "Gate ３", "time": "2026-11-22T14:05:00"}""");
        try
        {
            var (code, output, err) = Run("alert", "--event", path);
            Assert.That(code, Is.EqualTo(1));
            Assert.That(output, Is.Empty);
            Assert.That(err.TrimEnd().Split('\n'), Has.Length.EqualTo(1));
            Assert.That(err, Does.Contain("$.severity").And.Contain("$.location").And.Contain("$.time").And.Contain("$.sensor"));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [TestCase("--model", "/nonexistent/m.gguf", "m.gguf")]
    [TestCase("--lang", "fr", "--lang must be en, bn or both")]
    [TestCase("--deadline-ms", "0", "positive")]
    public void BadOptionsAreOneLine(string option, string value, string message)
    {
        var (code, _, err) = Run("alert", "--event", Sample("fire.json"), option, value);
        Assert.That(code, Is.Not.Zero);
        Assert.That(err.TrimEnd().Split('\n'), Has.Length.EqualTo(1));
        Assert.That(err, Does.Contain(message));
    }

    [Test]
    public void ARandomWeightModelEndsInAVerifiedAlert()
    {
        string model = Conformance.RequireFile("models", "tiny-llama-q4_0.gguf");
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var (code, output, err) = Run("alert", "--event", Sample("fire.json"), "--lang", "both", "--model", model, "--deadline-ms", "4000", "--json");
        Assert.That(code, Is.EqualTo(0), err);
        using var doc = JsonDocument.Parse(output);
        var root = doc.RootElement;
        var audit = root.GetProperty("audit");
        Assert.That(audit.GetProperty("model").GetBoolean(), Is.True);
        Assert.That(audit.GetProperty("attempts").EnumerateArray().Any(a => a.GetProperty("source").GetString() == "model"), Is.True, output);
        // Random weights never state the facts: the verified template is what comes out.
        Assert.That(root.GetProperty("source").GetString(), Is.EqualTo("template"), output);
        Assert.That(root.GetProperty("en").GetString(), Does.StartWith("CRITICAL ALERT: fire detected at Building B, 3rd floor"));
        TestContext.Out.WriteLine($"alert with model took {sw.ElapsedMilliseconds} ms (including load)");
    }

    [Test]
    public void ModesAreExclusiveAndMissingFilesAreOneLine()
    {
        Assert.That(Run("alert", "--types", "--schema").Code, Is.EqualTo(CliApp.UsageError));
        Assert.That(Run("alert").Code, Is.EqualTo(CliApp.UsageError));
        var (code, _, err) = Run("alert", "--event", "/nonexistent/e.json");
        Assert.That(code, Is.EqualTo(CliApp.Failure));
        Assert.That(err, Does.StartWith("microllm: error:"));
        Assert.That(Run("alert", "--example", "volcano").Err, Does.Contain("Unknown alert type 'volcano'"));
    }
}
