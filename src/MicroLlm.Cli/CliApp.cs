namespace MicroLlm.Cli;

/// <summary>The <c>microllm</c> command line: parses arguments and runs one command.</summary>
internal static class CliApp
{
    /// <summary>Runs the command line; returns the process exit code. Errors are one line on <paramref name="stderr"/>.</summary>
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        stdout.WriteLine("microllm: no commands yet");
        return args.Length == 0 ? 0 : 1;
    }
}
