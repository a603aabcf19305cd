using System.CommandLine;
using MicroLlm.Gguf;

namespace MicroLlm.Cli;

/// <summary>The <c>microllm</c> command line: parses arguments and runs one command.</summary>
internal static class CliApp
{
    /// <summary>Exit code for a command that failed on its input (bad file, bad model).</summary>
    public const int Failure = 1;

    /// <summary>Exit code for a command line that could not be parsed.</summary>
    public const int UsageError = 2;

    /// <summary>Runs the command line; returns the process exit code. Errors are one line on <paramref name="stderr"/>.</summary>
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken = default)
    {
        var root = new RootCommand("microllm: offline LLM tools for edge machines (GGUF models).")
        {
            InfoCommand.Create(stdout),
            TokenizeCommand.Create(stdout),
            LogitsCommand.Create(stdout),
            GenerateCommand.Create(stdout, stderr),
            AlertCommand.Create(stdout),
            BenchCommand.Create(stdout),
            CreateModelCommand.Create(stdout),
        };

        ParseResult parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            stderr.WriteLine($"microllm: error: {OneLine(parsed.Errors[0].Message)} Run 'microllm --help' for usage.");
            return UsageError;
        }

        var config = new InvocationConfiguration { Output = stdout, Error = stderr, EnableDefaultExceptionHandler = false };
        try
        {
            return parsed.InvokeAsync(config, cancellationToken).GetAwaiter().GetResult();
        }
        catch (OperationCanceledException)
        {
            stderr.WriteLine("microllm: cancelled.");
            return Failure;
        }
        catch (Exception e) when (IsUserFacing(e))
        {
            stderr.WriteLine($"microllm: error: {OneLine(e.Message)}");
            return Failure;
        }
    }

    private static bool IsUserFacing(Exception e) =>
        e is GgufFormatException or MicroLlm.Constraints.GrammarException or MicroLlm.Constraints.JsonSchemaException or IOException or InvalidDataException or UnauthorizedAccessException
            or NotSupportedException or ArgumentException or InvalidOperationException or FormatException;

    private static string OneLine(string message) => message.ReplaceLineEndings(" ");
}
