using System.Diagnostics;
using MicroLlm.Gguf;
using MicroLlm.Inference;
using MicroLlm.Models;
using MicroLlm.Sampling;

namespace MicroLlm.Core.Tests.Inference;

/// <summary>
/// Well-formed GGUF files whose model metadata lies (zero, negative, huge or mistyped hyperparameters, token ids out of
/// range, unknown architectures and tokenizers): loading and running one either works or fails with a clear
/// <see cref="InvalidDataException"/>, <see cref="NotSupportedException"/> or <see cref="GgufFormatException"/> (or, for a
/// context shorter than the prompt, the session's own context error) — never
/// an IndexOutOfRange, NullReference, Overflow, DivideByZero, OutOfMemory, a hang, or a crash of the host.
/// </summary>
[NonParallelizable]
public class ModelMetadataMutationTests
{
    private const int MutantsPerArchitecture = 120;
    private const int Seed = 20261123;

    private static readonly GgufValue[] Lies =
    [
        GgufValue.From(0u), GgufValue.From(1u), GgufValue.From(2u), GgufValue.From(3u), GgufValue.From(7u), GgufValue.From(16u), GgufValue.From(256u), GgufValue.From(uint.MaxValue),
        GgufValue.From(long.MinValue), GgufValue.From(1e-30f), GgufValue.From(-0f), GgufValue.From(1e300),
        GgufValue.From(-1), GgufValue.From(int.MaxValue), GgufValue.From(long.MaxValue), GgufValue.From(1L << 40),
        GgufValue.From(0f), GgufValue.From(-1f), GgufValue.From(float.NaN), GgufValue.From(float.PositiveInfinity), GgufValue.From(1e30f),
        GgufValue.From("x"), GgufValue.From(""), GgufValue.From(true), GgufValue.FromArray<int>([1, 2, 3]),
    ];

    private static IEnumerable<TestCaseData> Architectures() =>
        new[] { "tiny-llama", "tiny-qwen2", "tiny-phi3", "tiny-gemma2" }.Select(s => new TestCaseData(s).SetName($"{{m}}({s})"));

    [TestCaseSource(nameof(Architectures))]
    public async Task LyingMetadataFailsClearlyOrRuns(string shape)
    {
        string original = Path.Combine(Path.GetTempPath(), $"lying-{Guid.NewGuid():N}.gguf");
        string mutant = original + ".mutant.gguf";
        try
        {
            await SyntheticModel.WriteAsync(new SyntheticModelOptions(SyntheticModelShape.Presets[shape]) { FileType = SyntheticModelFileType.Q8_0, Seed = 2 }, original);
            string[] keys;
            using (var file = GgufFile.Open(original))
            {
                string arch = file.Architecture!;
                keys = [.. file.Metadata.Select(kv => kv.Key).Where(k => k.StartsWith(arch + ".", StringComparison.Ordinal) || (k.StartsWith("tokenizer.ggml.", StringComparison.Ordinal) && k.EndsWith("_id", StringComparison.Ordinal))),
                    "general.architecture", "tokenizer.ggml.model", "tokenizer.ggml.add_bos_token", $"{arch}.rope.scaling.type", $"{arch}.rope.scaling.factor", $"{arch}.attention.key_length"];
            }

            var rng = new Random(shape.Aggregate(Seed, (h, c) => (h * 31) + c));
            var wrong = new List<string>();
            int ran = 0, refused = 0;
            for (int i = 0; i < MutantsPerArchitecture; i++)
            {
                string key = keys[rng.Next(keys.Length)];
                GgufValue lie = key switch
                {
                    "general.architecture" => GgufValue.From(rng.Next(2) == 0 ? "llama4" : "gemma2"),
                    "tokenizer.ggml.model" => GgufValue.From(rng.Next(2) == 0 ? "t5" : "gpt2"),
                    _ when key.EndsWith("scaling.type", StringComparison.Ordinal) => GgufValue.From(rng.Next(2) == 0 ? "yarn" : "linear"),
                    _ => Lies[rng.Next(Lies.Length)],
                };
                using (var file = GgufFile.Open(original))
                {
                    await GgufWriter.FromFile(file).SetMetadata(key, lie).WriteAsync(mutant);
                }

                string how = $"{key} = {lie.RawValue}";
                var sw = Stopwatch.StartNew();
                try
                {
                    Run(mutant);
                    ran++;
                }
                catch (Exception e) when (e is InvalidDataException or NotSupportedException or GgufFormatException
                    || (e is InvalidOperationException && e.Message.Contains("past this session's context", StringComparison.Ordinal)))
                {
                    refused++;
                    if (e.Message.Length < 20)
                    {
                        wrong.Add($"{how}: {e.GetType().Name} with too terse a message: {e.Message}");
                    }
                }
                catch (Exception e)
                {
                    wrong.Add($"{how}: {e.GetType().Name}: {e.Message}");
                }

                if (sw.Elapsed > TimeSpan.FromSeconds(10))
                {
                    wrong.Add($"{how}: took {sw.Elapsed.TotalSeconds:F1} s");
                }
            }

            TestContext.Out.WriteLine($"{shape}: {MutantsPerArchitecture} lying files: {ran} ran, {refused} refused clearly, {wrong.Count} wrong");
            Assert.That(wrong, Is.Empty, string.Join(Environment.NewLine, wrong.Take(20)));
        }
        finally
        {
            File.Delete(original);
            File.Delete(mutant);
        }
    }

    private static void Run(string path)
    {
        using var model = LanguageModel.Load(path);
        using var session = model.CreateSession();
        var result = session.GenerateTextAsync(
            "Gate 4 alarm",
            new MicroLlm.Generation.GenerationOptions { MaxTokens = 3, Sampling = SamplingOptions.Greedy() }).GetAwaiter().GetResult();
        Assert.That(result.TokenIds.Count, Is.InRange(0, 3));
    }
}
