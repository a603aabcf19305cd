namespace MicroLlm.Benchmarks;

/// <summary>Finds benchmark inputs: <c>MICROLLM_BENCH_MODEL</c>, else <c>../shared/conformance/models</c> beside the checkout.</summary>
internal static class BenchData
{
    public static string Model(string conformanceName)
    {
        string? env = Environment.GetEnvironmentVariable("MICROLLM_BENCH_MODEL");
        if (!string.IsNullOrEmpty(env))
        {
            return Path.GetFullPath(env);
        }

        for (var dir = new DirectoryInfo(Environment.CurrentDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "..", "shared", "conformance", "models", conformanceName);
            if (File.Exists(Path.Combine(dir.FullName, "MicroLlm.sln")) && File.Exists(candidate))
            {
                return Path.GetFullPath(candidate);
            }
        }

        throw new FileNotFoundException($"Benchmark model '{conformanceName}' not found; run from the checkout with ../shared beside it, or set MICROLLM_BENCH_MODEL.");
    }
}
