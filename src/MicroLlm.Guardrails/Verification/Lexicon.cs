using System.Text.Json;

namespace MicroLlm.Guardrails.Verification;

/// <summary>The embedded word lists: common English words, common Bangla words and Bangla case suffixes, English number words.</summary>
internal static class Lexicon
{
    private static readonly Lazy<(HashSet<string> En, HashSet<string> Bn, string[] Suffixes, HashSet<string> NumberWords)> Data = new(Load);

    public static HashSet<string> English => Data.Value.En;

    public static HashSet<string> Bangla => Data.Value.Bn;

    /// <summary>Bangla case and classifier endings, longest first.</summary>
    public static string[] BanglaSuffixes => Data.Value.Suffixes;

    public static HashSet<string> EnglishNumberWords => Data.Value.NumberWords;

    /// <summary>English endings stripped before a lexicon look-up (plurals, past tense, -ing, -ly).</summary>
    public static string[] EnglishSuffixes { get; } = ["ing", "es", "ed", "ly", "s", "d"];

    private static (HashSet<string>, HashSet<string>, string[], HashSet<string>) Load()
    {
        using var doc = JsonDocument.Parse(AlertCatalog.ReadResource("lexicon.json"));
        HashSet<string> Set(string name) => [.. doc.RootElement.GetProperty(name).EnumerateArray().Select(e => AlertCatalog.Nfc(e.GetString()!).ToLowerInvariant())];
        string[] suffixes = [.. Set("bnSuffixes").OrderByDescending(s => s.Length)];
        return (Set("en"), Set("bn"), suffixes, Set("enNumberWords"));
    }
}
