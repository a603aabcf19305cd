using System.CommandLine;
using MicroLlm.Models;

namespace MicroLlm.Cli;

/// <summary>
/// <c>microllm create-model --shape S --quant Q [--seed N] [--vocab V.gguf] OUT.gguf</c>: a random-weight model in a
/// real architecture and shape, for tests and benchmarks without a download. Prints one summary line.
/// </summary>
internal static class CreateModelCommand
{
    private static readonly Dictionary<string, SyntheticModelFileType> Quants = new(StringComparer.OrdinalIgnoreCase)
    {
        ["f32"] = SyntheticModelFileType.F32,
        ["f16"] = SyntheticModelFileType.F16,
        ["bf16"] = SyntheticModelFileType.BF16,
        ["q8_0"] = SyntheticModelFileType.Q8_0,
        ["q4_0"] = SyntheticModelFileType.Q4_0,
        ["q4_k_m"] = SyntheticModelFileType.Q4_K_M,
        ["q5_k_m"] = SyntheticModelFileType.Q5_K_M,
        ["q6_k"] = SyntheticModelFileType.Q6_K,
    };

    public static Command Create(TextWriter stdout)
    {
        var shape = new Option<string>("--shape", "-s")
        {
            Description = "The architecture and size: " + string.Join(", ", SyntheticModelShape.Presets.Keys) + ".",
            Required = true,
        };
        shape.AcceptOnlyFromAmong([.. SyntheticModelShape.Presets.Keys]);
        var quant = new Option<string>("--quant", "-q") { Description = "Tensor types: " + string.Join(", ", Quants.Keys) + " (default f16).", DefaultValueFactory = _ => "f16" };
        quant.AcceptOnlyFromAmong([.. Quants.Keys]);
        var seed = new Option<ulong>("--seed") { Description = "Seed of the weights (default 1); the same arguments write the same bytes.", DefaultValueFactory = _ => 1 };
        var vocab = new Option<FileInfo?>("--vocab") { Description = "A GGUF whose tokenizer metadata is copied (its size sets the vocabulary); default: a built-in byte vocabulary." };
        var threads = new Option<int?>("--threads", "-t") { Description = "Threads generating rows (default: every core); the bytes do not depend on it." };
        var output = new Argument<FileInfo>("OUT.gguf") { Description = "The file to write (replaced)." };
        var command = new Command("create-model", "Write a random-weight GGUF model in a real architecture and shape.") { shape, quant, seed, vocab, threads, output };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var options = new SyntheticModelOptions(SyntheticModelShape.Presets[parse.GetRequiredValue(shape)])
            {
                FileType = Quants[parse.GetRequiredValue(quant)],
                Seed = parse.GetValue(seed),
                VocabularyPath = parse.GetValue(vocab)?.FullName,
                MaxDegreeOfParallelism = parse.GetValue(threads),
            };
            var path = parse.GetRequiredValue(output);
            await SyntheticModel.WriteAsync(options, path.FullName, cancellationToken).ConfigureAwait(false);
            path.Refresh();
            stdout.WriteLine($"wrote {path.FullName}: {options.Shape.Name} ({options.Shape.Architecture}), {options.FileType}, seed {options.Seed}, {path.Length:N0} bytes");
            return 0;
        });
        return command;
    }
}
