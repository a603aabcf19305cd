namespace MicroLlm.Tests;

/// <summary>Locates <c>../shared/conformance</c> beside the checkout; tests that need it are ignored, with a clear message, when it is absent.</summary>
internal static class Conformance
{
    private static readonly Lazy<string?> Root = new(Find);

    /// <summary>The conformance folder, or null when absent.</summary>
    public static string? Folder => Root.Value;

    /// <summary>The conformance folder; marks the current test ignored when absent.</summary>
    public static string Require()
    {
        string? root = Root.Value;
        if (root is null)
        {
            Assert.Ignore("SKIPPED: ../shared/conformance is absent (set MICROLLM_CONFORMANCE to its path); conformance checks did not run.");
        }

        return root!;
    }

    public static string RequireFile(params string[] parts) => Path.Combine([Require(), .. parts]);

    public static IEnumerable<string> Files(string subfolder, string pattern)
    {
        string? root = Root.Value;
        if (root is null)
        {
            return [];
        }

        string dir = Path.Combine(root, subfolder);
        return Directory.Exists(dir) ? Directory.GetFiles(dir, pattern).Order(StringComparer.Ordinal) : [];
    }

    private static string? Find()
    {
        string? env = Environment.GetEnvironmentVariable("MICROLLM_CONFORMANCE");
        if (!string.IsNullOrEmpty(env) && Directory.Exists(env))
        {
            return env;
        }

        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "MicroLlm.sln")))
            {
                string candidate = Path.Combine(dir.FullName, "..", "shared", "conformance");
                return Directory.Exists(candidate) ? Path.GetFullPath(candidate) : null;
            }
        }

        return null;
    }
}
