using System.Globalization;
using System.Text.Json;
using MicroLlm.Models;
using MicroLlm.Tests;

namespace MicroLlm.Core.Tests.Models;

/// <summary>One synthetic model the reference runtime evaluated: how to write it again, and the SHA-256 it must have.</summary>
/// <param name="File">The file name the reference was given, e.g. <c>tiny-qwen2-f16.gguf</c>.</param>
/// <param name="Shape">The <see cref="SyntheticModelShape.Presets"/> name.</param>
/// <param name="FileType">The file type.</param>
/// <param name="Seed">The seed.</param>
/// <param name="Vocabulary">The vocabulary file, relative to the conformance folder (e.g. <c>tokenizer/ggml-vocab-gpt-2.gguf</c>).</param>
/// <param name="Sha256">The SHA-256 of the file, lower-case hex.</param>
internal sealed record ArchOracleModel(string File, string Shape, SyntheticModelFileType FileType, ulong Seed, string Vocabulary, string Sha256)
{
    /// <summary>The options that write this model; the vocabulary comes from the conformance folder (the test is ignored without it).</summary>
    public SyntheticModelOptions Options() => new(SyntheticModelShape.Presets[Shape])
    {
        FileType = FileType,
        Seed = Seed,
        VocabularyPath = Conformance.RequireFile(Vocabulary.Split('/')),
    };

    /// <summary>Writes this model to a temporary file (deleted with the returned handle) and returns its path.</summary>
    public TempModel WriteTemporary()
    {
        string path = Path.Combine(Path.GetTempPath(), $"arch-oracle-{Guid.NewGuid():N}-{File}");
        SyntheticModel.WriteAsync(Options(), path).GetAwaiter().GetResult();
        return new TempModel(path);
    }
}

/// <summary>A model file written for a test; deleted on dispose.</summary>
internal sealed class TempModel(string path) : IDisposable
{
    public string Path { get; } = path;

    public void Dispose() => File.Delete(Path);
}

/// <summary>The reference runtime's output for one prompt on one <see cref="ArchOracleModel"/>.</summary>
/// <param name="Model">The model.</param>
/// <param name="Language">The prompt's tag: <c>en</c> or <c>bn</c>.</param>
/// <param name="Prompt">The prompt text.</param>
/// <param name="Tokens">The prompt's ids, with BOS where the model adds it.</param>
/// <param name="Logits">Per prompt position, the top [id, logit] pairs, highest first.</param>
/// <param name="Greedy">The greedy continuation after the prompt.</param>
internal sealed record ArchOracleCase(ArchOracleModel Model, string Language, string Prompt, int[] Tokens, (int Id, float Logit)[][] Logits, int[] Greedy)
{
    public override string ToString() => $"{System.IO.Path.GetFileNameWithoutExtension(Model.File)}.{Language}";
}

/// <summary>
/// Reads <c>TestData/arch</c>: the reference runtime's (llama.cpp c392e509) logits for synthetic qwen2, phi3, gemma2
/// and llama models (<c>models.json</c> lists each model's options and SHA-256; <c>NAME.LANG.json</c> holds the
/// prompt's tokens, top logits per position and greedy ids, in the shape of <c>../shared/conformance/models/*.json</c>).
/// </summary>
/// <remarks>
/// A forward-pass test: <c>foreach (var c in ArchOracle.Cases())</c>, <c>using var m = c.Model.WriteTemporary()</c>,
/// evaluate <c>c.Tokens</c> and compare with <c>c.Logits</c> and <c>c.Greedy</c>. The writer is checked against each
/// SHA-256 by <see cref="ArchOracleDataTests"/>, so the numbers apply to the file written.
/// </remarks>
internal static class ArchOracle
{
    private static readonly Lazy<IReadOnlyList<ArchOracleModel>> ModelList = new(ReadModels);

    public static string Folder { get; } = FindFolder();

    public static IReadOnlyList<ArchOracleModel> Models => ModelList.Value;

    /// <summary>Every model and prompt, in file order.</summary>
    public static IEnumerable<ArchOracleCase> Cases()
    {
        foreach (var model in Models)
        {
            string stem = Path.GetFileNameWithoutExtension(model.File);
            foreach (string path in Directory.GetFiles(Folder, stem + ".*.json").Order(StringComparer.Ordinal))
            {
                yield return ReadCase(model, path);
            }
        }
    }

    public static SyntheticModelFileType ParseFileType(string name) =>
        Enum.Parse<SyntheticModelFileType>(name, ignoreCase: true);

    private static ArchOracleCase ReadCase(ArchOracleModel model, string path)
    {
        using var json = JsonDocument.Parse(File.ReadAllText(path));
        var root = json.RootElement;
        string language = Path.GetFileNameWithoutExtension(path).Split('.')[^1];
        var logits = root.GetProperty("logits").EnumerateArray()
            .Select(position => position.EnumerateArray().Select(p => (p[0].GetInt32(), p[1].GetSingle())).ToArray())
            .ToArray();
        return new ArchOracleCase(
            model,
            language,
            root.GetProperty("prompt").GetString()!,
            root.GetProperty("tokens").EnumerateArray().Select(e => e.GetInt32()).ToArray(),
            logits,
            root.GetProperty("greedy").EnumerateArray().Select(e => e.GetInt32()).ToArray());
    }

    private static List<ArchOracleModel> ReadModels()
    {
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(Folder, "models.json")));
        return json.RootElement.GetProperty("models").EnumerateArray().Select(m => new ArchOracleModel(
            m.GetProperty("file").GetString()!,
            m.GetProperty("shape").GetString()!,
            ParseFileType(m.GetProperty("fileType").GetString()!),
            ulong.Parse(m.GetProperty("seed").GetRawText(), CultureInfo.InvariantCulture),
            m.GetProperty("vocabulary").GetString()!,
            m.GetProperty("sha256").GetString()!)).ToList();
    }

    private static string FindFolder()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "MicroLlm.sln")))
            {
                return Path.Combine(dir.FullName, "tests", "MicroLlm.Core.Tests", "TestData", "arch");
            }
        }

        throw new DirectoryNotFoundException("TestData/arch: no MicroLlm.sln above " + AppContext.BaseDirectory);
    }
}
