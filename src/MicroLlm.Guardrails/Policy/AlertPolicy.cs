using System.Globalization;
using System.Text.Json;
using MicroLlm.Guardrails.Text;

namespace MicroLlm.Guardrails;

/// <summary>A phrase that every alert of a type (or of every type, <c>*</c>) must contain in one language.</summary>
/// <param name="Type">The alert type name, or <c>*</c> for every type.</param>
/// <param name="Language">The language the phrase is in.</param>
/// <param name="Phrase">The exact phrase (NFC).</param>
public sealed record AlertRequiredPhrase(string Type, AlertLanguage Language, string Phrase);

/// <summary>A word the policy lets a model use in one language (see <see cref="AlertPolicy.AllowedWords"/>).</summary>
/// <param name="Language">The language.</param>
/// <param name="Word">The word: letters and marks only.</param>
public sealed record AlertAllowedWord(AlertLanguage Language, string Word);

/// <summary>
/// The site's rules for alert text, usually from a JSON policy file (<see cref="Parse"/>): terms that must never appear,
/// phrases that must, a maximum length, and whether personal data in free-text slots is redacted.
/// </summary>
/// <remarks>
/// JSON form: <c>{"bannedTerms": ["..."], "requiredPhrases": {"fire": {"en": ["..."], "bn": ["..."]}, "*": {...}},
/// "allowedWords": {"en": ["..."], "bn": ["..."]}, "maxLength": 600, "redactPii": true}</c>; every property is optional.
/// </remarks>
public sealed class AlertPolicy
{
    /// <summary>The smallest <see cref="MaxLength"/> a policy may set: room for a template with a 200-character location.</summary>
    public const int MinimumMaxLength = 160;

    /// <summary>The built-in policy: no banned terms or extra phrases, 600 characters, PII redacted.</summary>
    public static AlertPolicy Default { get; } = new();

    /// <summary>Terms (case-insensitive, whole words) that must not appear in alert text outside the event's own data.</summary>
    public IReadOnlyList<string> BannedTerms { get; init; } = [];

    /// <summary>Phrases alerts must contain; templates append any they lack.</summary>
    public IReadOnlyList<AlertRequiredPhrase> RequiredPhrases { get; init; } = [];

    /// <summary>
    /// Words a model may use besides the catalogue's and the built-in lexicon's (a site's own terms: "warden", "muster"),
    /// per language. Words only: letters and marks, no digits or spaces; numbers are checked apart and never allowed by this.
    /// </summary>
    public IReadOnlyList<AlertAllowedWord> AllowedWords { get; init; } = [];

    /// <summary>The longest model-written alert accepted, in characters (default 600). Templates are exempt: they are the fallback.</summary>
    public int MaxLength { get; init; } = 600;

    /// <summary>Whether phone numbers, e-mail addresses and Bangladesh national ID numbers in free-text slots are replaced before any text is written (default true).</summary>
    public bool RedactPii { get; init; } = true;

    /// <summary>The required phrases for one type and language (the type's and those for every type).</summary>
    /// <param name="type">The alert type name.</param>
    /// <param name="language">The language.</param>
    /// <returns>The phrases, in policy order.</returns>
    public IEnumerable<string> RequiredPhrasesFor(string type, AlertLanguage language) =>
        RequiredPhrases.Where(p => p.Language == language && (p.Type == "*" || string.Equals(p.Type, type, StringComparison.Ordinal))).Select(p => p.Phrase);

    /// <summary>Parses a policy file.</summary>
    /// <param name="json">The policy JSON.</param>
    /// <returns>The policy.</returns>
    /// <exception cref="InvalidDataException">The policy is malformed; the message names the property and what to write instead.</exception>
    public static AlertPolicy Parse(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 8 });
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"The alert policy is not valid JSON: {e.Message}", e);
        }

        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw Invalid("$", "must be a JSON object");
            }

            var banned = new List<string>();
            var required = new List<AlertRequiredPhrase>();
            var allowed = new List<AlertAllowedWord>();
            int maxLength = 600;
            bool redact = true;
            foreach (var p in root.EnumerateObject())
            {
                switch (p.Name)
                {
                    case "bannedTerms":
                        banned.AddRange(Phrases(p.Value, "$.bannedTerms"));
                        break;
                    case "requiredPhrases":
                        if (p.Value.ValueKind != JsonValueKind.Object)
                        {
                            throw Invalid("$.requiredPhrases", "must be an object: {\"type or *\": {\"en\": [...], \"bn\": [...]}}");
                        }

                        foreach (var type in p.Value.EnumerateObject())
                        {
                            if (type.Value.ValueKind != JsonValueKind.Object)
                            {
                                throw Invalid("$.requiredPhrases." + type.Name, "must be an object with 'en' and/or 'bn' lists");
                            }

                            foreach (var lang in type.Value.EnumerateObject())
                            {
                                if (!AlertCodes.TryParseLanguage(lang.Name, out var language))
                                {
                                    throw Invalid($"$.requiredPhrases.{type.Name}.{lang.Name}", "is not a language; use 'en' or 'bn'");
                                }

                                required.AddRange(Phrases(lang.Value, $"$.requiredPhrases.{type.Name}.{lang.Name}").Select(s => new AlertRequiredPhrase(type.Name, language, s)));
                            }
                        }

                        break;
                    case "allowedWords":
                        if (p.Value.ValueKind != JsonValueKind.Object)
                        {
                            throw Invalid("$.allowedWords", "must be an object: {\"en\": [...], \"bn\": [...]}");
                        }

                        foreach (var lang in p.Value.EnumerateObject())
                        {
                            if (!AlertCodes.TryParseLanguage(lang.Name, out var language))
                            {
                                throw Invalid("$.allowedWords." + lang.Name, "is not a language; use 'en' or 'bn'");
                            }

                            foreach (string word in Phrases(lang.Value, "$.allowedWords." + lang.Name))
                            {
                                if (!IsWord(word))
                                {
                                    throw Invalid("$.allowedWords." + lang.Name, $"'{word}' is not a single word of letters (no digits, spaces or punctuation)");
                                }

                                allowed.Add(new AlertAllowedWord(language, word));
                            }
                        }

                        break;
                    case "maxLength":
                        if (p.Value.ValueKind != JsonValueKind.Number || !p.Value.TryGetInt32(out maxLength) || maxLength < MinimumMaxLength || maxLength > 10_000)
                        {
                            throw Invalid("$.maxLength", $"must be a whole number from {MinimumMaxLength.ToString(CultureInfo.InvariantCulture)} to 10000");
                        }

                        break;
                    case "redactPii":
                        if (p.Value.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
                        {
                            throw Invalid("$.redactPii", "must be true or false");
                        }

                        redact = p.Value.GetBoolean();
                        break;
                    default:
                        throw Invalid("$." + p.Name, "is not a policy property; use bannedTerms, requiredPhrases, allowedWords, maxLength or redactPii");
                }
            }

            return new AlertPolicy { BannedTerms = banned, RequiredPhrases = required, AllowedWords = allowed, MaxLength = maxLength, RedactPii = redact };
        }
    }

    private static bool IsWord(string word) =>
        word.Length > 0 && word.All(c => char.GetUnicodeCategory(c) is UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter
            or UnicodeCategory.OtherLetter or UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark);

    private static List<string> Phrases(JsonElement e, string path)
    {
        if (e.ValueKind != JsonValueKind.Array)
        {
            throw Invalid(path, "must be an array of strings");
        }

        var result = new List<string>();
        foreach (var item in e.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.String)
            {
                throw Invalid(path, "must hold strings only");
            }

            var errors = new List<AlertEventError>();
            string phrase = TextRules.CheckText(item.GetString()!, path, 200, errors);
            if (errors.Count > 0)
            {
                throw Invalid(path, errors[0].Message);
            }

            result.Add(phrase);
        }

        return result;
    }

    /// <summary>Checks a policy built in code (the same rules as <see cref="Parse"/>).</summary>
    /// <exception cref="ArgumentException">A property is out of range or holds bad text.</exception>
    internal void Validate()
    {
        if (MaxLength < MinimumMaxLength)
        {
            throw new ArgumentException($"AlertPolicy.MaxLength is {MaxLength.ToString(CultureInfo.InvariantCulture)}; it must be at least {MinimumMaxLength.ToString(CultureInfo.InvariantCulture)}.");
        }

        foreach (var allowed in AllowedWords)
        {
            if (allowed?.Word is null || !IsWord(allowed.Word))
            {
                throw new ArgumentException($"AlertPolicy.AllowedWords: '{allowed?.Word}' is not a single word of letters (no digits, spaces or punctuation).");
            }
        }

        foreach (string phrase in BannedTerms.Concat(RequiredPhrases.Select(p => p.Phrase)))
        {
            var errors = new List<AlertEventError>();
            string clean = TextRules.CheckText(phrase ?? string.Empty, "$", 200, errors);
            if (errors.Count > 0 || !string.Equals(clean, phrase, StringComparison.Ordinal))
            {
                throw new ArgumentException($"AlertPolicy phrase '{phrase}' is not clean single-line NFC text: {(errors.Count > 0 ? errors[0].Message : "normalise it (NFC, trimmed, single spaces)")}.");
            }
        }
    }

    private static InvalidDataException Invalid(string path, string message) => new($"Alert policy {path}: {message}.");
}
