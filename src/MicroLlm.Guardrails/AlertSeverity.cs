namespace MicroLlm.Guardrails;

/// <summary>How serious an alert is; each level has its own wording in every language, which the verifier enforces.</summary>
public enum AlertSeverity
{
    /// <summary><c>info</c>: for information; no action is urgent.</summary>
    Info,

    /// <summary><c>low</c>: a minor condition.</summary>
    Low,

    /// <summary><c>medium</c>: attention needed soon.</summary>
    Medium,

    /// <summary><c>high</c>: act now.</summary>
    High,

    /// <summary><c>critical</c>: danger to life or property; act immediately.</summary>
    Critical,
}

/// <summary>The language of an alert text.</summary>
public enum AlertLanguage
{
    /// <summary>English (<c>en</c>), Latin script, ASCII digits.</summary>
    English,

    /// <summary>Bangla (<c>bn</c>), Bengali script, Bangla digits ০-৯ with lakh/crore grouping.</summary>
    Bangla,
}

/// <summary>Codes used in JSON and on the command line for <see cref="AlertSeverity"/> and <see cref="AlertLanguage"/>.</summary>
public static class AlertCodes
{
    /// <summary>The JSON code of a severity: <c>info</c>, <c>low</c>, <c>medium</c>, <c>high</c> or <c>critical</c>.</summary>
    /// <param name="severity">The severity.</param>
    /// <returns>The lower-case code.</returns>
    public static string ToCode(this AlertSeverity severity) => severity switch
    {
        AlertSeverity.Info => "info",
        AlertSeverity.Low => "low",
        AlertSeverity.Medium => "medium",
        AlertSeverity.High => "high",
        AlertSeverity.Critical => "critical",
        _ => throw new ArgumentOutOfRangeException(nameof(severity), severity, "Not a defined AlertSeverity."),
    };

    /// <summary>The code of a language: <c>en</c> or <c>bn</c>.</summary>
    /// <param name="language">The language.</param>
    /// <returns>The two-letter code.</returns>
    public static string ToCode(this AlertLanguage language) => language switch
    {
        AlertLanguage.English => "en",
        AlertLanguage.Bangla => "bn",
        _ => throw new ArgumentOutOfRangeException(nameof(language), language, "Not a defined AlertLanguage."),
    };

    /// <summary>Parses a severity code (exact, lower case).</summary>
    /// <param name="code">The code, e.g. <c>high</c>.</param>
    /// <param name="severity">The severity, when the code is known.</param>
    /// <returns>Whether the code is one of the five levels.</returns>
    public static bool TryParseSeverity(string? code, out AlertSeverity severity)
    {
        foreach (AlertSeverity s in Enum.GetValues<AlertSeverity>())
        {
            if (string.Equals(s.ToCode(), code, StringComparison.Ordinal))
            {
                severity = s;
                return true;
            }
        }

        severity = default;
        return false;
    }

    /// <summary>Parses a language code: <c>en</c> or <c>bn</c>.</summary>
    /// <param name="code">The code.</param>
    /// <param name="language">The language, when the code is known.</param>
    /// <returns>Whether the code names a supported language.</returns>
    public static bool TryParseLanguage(string? code, out AlertLanguage language)
    {
        switch (code)
        {
            case "en":
                language = AlertLanguage.English;
                return true;
            case "bn":
                language = AlertLanguage.Bangla;
                return true;
            default:
                language = default;
                return false;
        }
    }
}
