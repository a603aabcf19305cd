using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using MicroLlm.Guardrails.Catalog;
using MicroLlm.Guardrails.Text;
using MicroLlm.Guardrails.Verification;

namespace MicroLlm.Guardrails;

/// <summary>
/// Checks that an alert text states every fact of its event unchanged and nothing else: the location, ids, free text and
/// choice phrases verbatim; each number with its unit (in either digit system for Bangla); the time (with the right
/// Bangla part of the day or AM/PM); the severity label and no wording of another level; the required action and policy
/// phrases; no other number, time or name; only the language's script outside quoted data and units; no banned term;
/// the length limit. Usable on any text, from any model.
/// </summary>
/// <remarks>
/// Each fact found is masked before the next check, so a fact cannot be "found" inside another (a sensor id <c>4</c>
/// inside the location <c>Gate 4</c>), and whatever is left after masking is the model's own wording, which may hold no
/// digit at all.
/// </remarks>
public sealed partial class AlertVerifier
{
    private const char Mask = '\uFFFF';
    private const int MinimumLength = 20;

    private readonly AlertCatalog _catalog;
    private readonly AlertPolicy _policy;

    /// <summary>Creates a verifier.</summary>
    /// <param name="catalog">The catalogue; null for <see cref="AlertCatalog.Default"/>.</param>
    /// <param name="policy">The policy; null for <see cref="AlertPolicy.Default"/>.</param>
    public AlertVerifier(AlertCatalog? catalog = null, AlertPolicy? policy = null)
    {
        _catalog = catalog ?? AlertCatalog.Default;
        _policy = policy ?? AlertPolicy.Default;
    }

    [GeneratedRegex(@"(?<![\p{Nd}.,:])(?:(?<h>\p{Nd}{1,2}):(?<m>\p{Nd}{2})(?:\s*(?<ap>[AaPp])\.?\s?[Mm]\.?(?!\p{L}))?|(?<h>\p{Nd}{1,2})\s*(?<ap>[AaPp])\.?\s?[Mm]\.?(?!\p{L}))(?![\p{Nd}:])", RegexOptions.CultureInvariant)]
    private static partial Regex EnglishTime();

    private static readonly Regex BanglaTime = new(
        AlertCatalog.Nfc(@"(?:(?<p>ভোর|সকাল|দুপুর|বিকাল|বিকেল|সন্ধ্যা|রাত)(?:ে|ের)?\s*)?(?<![\p{Nd}.,:])(?:(?<h>\p{Nd}{1,2}):(?<m>\p{Nd}{2})(?![\p{Nd}:])|(?<h>\p{Nd}{1,2})\s*টা(?:য়)?(?:\s*(?<m>\p{Nd}{1,2})\s*মিনিট(?:ে)?)?)"),
        RegexOptions.CultureInvariant);

    /// <summary>Verifies an alert text against its event.</summary>
    /// <param name="alertEvent">The event (after any PII redaction the policy asks for).</param>
    /// <param name="language">The language the text must be in.</param>
    /// <param name="text">The alert text (untrusted).</param>
    /// <returns>The report; <see cref="VerificationReport.Passed"/> only when every check passed.</returns>
    /// <exception cref="ArgumentException">The event's type is not in the catalogue.</exception>
    public VerificationReport Verify(AlertEvent alertEvent, AlertLanguage language, string text)
    {
        ArgumentNullException.ThrowIfNull(alertEvent);
        ArgumentNullException.ThrowIfNull(text);
        return Verify(alertEvent, language, text, isTemplate: false);
    }

    internal VerificationReport Verify(AlertEvent ev, AlertLanguage language, string text, bool isTemplate)
    {
        var type = _catalog.GetType(ev.Type);
        var checks = new List<VerificationCheck>();
        bool english = language == AlertLanguage.English;

        if (string.IsNullOrWhiteSpace(text))
        {
            checks.Add(new("not_empty", false, "the text is empty"));
            return new VerificationReport(checks);
        }

        checks.Add(Nfc.IsNormalized(text) ? new("nfc", true) : new("nfc", false, "the text is not NFC-normalised"));
        checks.Add(CheckCharacters(text));
        string? bangla = Scripts.FindInvalidBanglaSequence(text);
        checks.Add(bangla is null ? new("bangla_sequences", true) : new("bangla_sequences", false, bangla));

        var buffer = text.ToCharArray();

        // 1. Verbatim facts, longest first, each masked once found.
        var facts = new List<(string Check, string Name, string Value, bool IgnoreCase)>
        {
            ("facts", "location", ev.Location, false),
        };
        foreach (var (name, value) in ev.Slots)
        {
            var slot = type.FindSlot(name)!;
            switch (slot.Kind)
            {
                case AlertSlotKind.Text or AlertSlotKind.Id:
                    facts.Add(("facts", name, value.Text!, false));
                    break;
                case AlertSlotKind.Choice:
                    facts.Add((name == "action" ? "required_action" : "facts", name, slot.ChoicePhrases[value.Text!][language], english));
                    break;
            }
        }

        foreach (string phrase in _policy.RequiredPhrasesFor(ev.Type, language))
        {
            facts.Add(("required_phrases", "policy phrase", phrase, false));
        }

        var missing = new Dictionary<string, List<string>>(StringComparer.Ordinal) { ["facts"] = [], ["required_action"] = [], ["required_phrases"] = [] };
        var done = new HashSet<string>(StringComparer.Ordinal);
        foreach (var fact in facts.OrderByDescending(f => f.Value.Length))
        {
            if (!done.Add(fact.Value) && !fact.IgnoreCase)
            {
                continue; // the same text twice (e.g. location and river alike): one occurrence states both
            }

            if (MaskAll(buffer, fact.Value, fact.IgnoreCase, language) == 0)
            {
                missing[fact.Check].Add($"{fact.Name} \"{fact.Value}\" is missing or changed");
            }
        }

        checks.Add(Result("facts", missing["facts"]));
        checks.Add(Result("required_action", missing["required_action"]));
        if (facts.Any(f => f.Check == "required_phrases"))
        {
            checks.Add(Result("required_phrases", missing["required_phrases"]));
        }

        // 2. Severity: the level's label present; no other level's label or this level's forbidden words.
        var wording = _catalog.Severities[(ev.Severity, language)];
        var severityProblems = new List<string>();
        if (MaskAll(buffer, wording.Label, english, language) == 0)
        {
            severityProblems.Add($"the {ev.Severity.ToCode()} label \"{wording.Label}\" is missing");
        }

        var forbidden = _catalog.Severities.Where(kv => kv.Key.Item2 == language && kv.Key.Item1 != ev.Severity).Select(kv => kv.Value.Label).Concat(wording.Forbidden);
        foreach (string word in forbidden.Distinct(StringComparer.Ordinal))
        {
            if (Find(new string(buffer), word, true, language).Count > 0)
            {
                severityProblems.Add($"\"{word}\" does not fit severity {ev.Severity.ToCode()}");
            }
        }

        checks.Add(Result("severity", severityProblems));

        // 3. Time: at least one mention; every mention is the event's local time.
        checks.Add(CheckTimes(buffer, ev.Time, language));

        // 4. Numbers with their units, in the language's digit systems.
        var numberProblems = new List<string>();
        foreach (var (name, value) in ev.Slots)
        {
            if (value.Kind is not (AlertSlotKind.Count or AlertSlotKind.Measurement))
            {
                continue;
            }

            var unit = _catalog.Units[value.Unit!];
            int found = 0;
            foreach (string form in unit.FormsFor(value.Number!.Value, language))
            {
                found += MaskRegex(buffer, NumberFactPattern(form, value.Number.Value, language), english);
            }

            if (found == 0)
            {
                numberProblems.Add($"{name} \"{TemplateRenderer.NumberWithUnit(unit, value.Number.Value, language)}\" is missing or changed");
            }
        }

        checks.Add(Result("numbers", numberProblems));

        // 5. What is left is the writer's own wording: no digits, only the language's script, no unknown names.
        string rest = new(buffer);
        checks.Add(CheckLeftoverNumbers(rest, language));
        checks.Add(CheckScript(rest, language));
        checks.Add(CheckNames(rest, ev, language));

        var banned = _policy.BannedTerms.Where(t => Find(rest, t, true, language).Count > 0).Select(t => $"\"{t}\" is banned by the policy").ToList();
        checks.Add(Result("banned_terms", banned));

        int length = text.Length;
        checks.Add(isTemplate
            ? new("length", true)
            : length > _policy.MaxLength
                ? new("length", false, $"{Inv(length)} characters; the policy allows {Inv(_policy.MaxLength)}")
                : length < MinimumLength ? new("length", false, $"{Inv(length)} characters is too short for an alert") : new("length", true));
        return new VerificationReport(checks);
    }

    private static VerificationCheck Result(string name, List<string> problems) =>
        problems.Count == 0 ? new(name, true) : new(name, false, string.Join("; ", problems));

    private static VerificationCheck CheckCharacters(string text)
    {
        foreach (Rune r in text.EnumerateRunes())
        {
            var cat = Rune.GetUnicodeCategory(r);
            bool bad = cat is UnicodeCategory.Control or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator
                or UnicodeCategory.PrivateUse or UnicodeCategory.OtherNotAssigned or UnicodeCategory.Surrogate
                || (cat == UnicodeCategory.Format && r.Value is not Scripts.Zwj and not Scripts.Zwnj)
                || (cat == UnicodeCategory.SpaceSeparator && r.Value != ' ');
            if (bad)
            {
                return new("characters", false, $"control, format or unusual space character {Scripts.CodePoint(r)}");
            }
        }

        return new("characters", true);
    }

    private static VerificationCheck CheckTimes(char[] buffer, DateTimeOffset time, AlertLanguage language)
    {
        var problems = new List<string>();
        var regex = language == AlertLanguage.English ? EnglishTime() : BanglaTime;
        int ok = 0;
        foreach (Match m in regex.Matches(new string(buffer)))
        {
            string h = m.Groups["h"].Value, mm = m.Groups["m"].Success ? m.Groups["m"].Value : string.Empty;
            if (!OneDigitSystem(h + mm, language))
            {
                problems.Add($"time \"{m.Value}\" uses digits the language does not");
                continue;
            }

            int hour = Digits(h), minute = mm.Length == 0 ? 0 : Digits(mm);
            int hour24;
            if (m.Groups["ap"].Success)
            {
                bool pm = m.Groups["ap"].Value is "p" or "P";
                hour24 = hour is < 1 or > 12 ? -1 : (hour % 12) + (pm ? 12 : 0);
            }
            else if (m.Groups["p"].Success)
            {
                hour24 = AlertNumbers.BanglaHour(m.Groups["p"].Value, hour);
            }
            else
            {
                hour24 = hour; // no AM/PM or part of the day: read as the 24-hour clock
            }

            if (hour24 != time.Hour || minute != time.Minute || minute > 59)
            {
                problems.Add($"time \"{m.Value}\" is not the event's {time.Hour.ToString("00", CultureInfo.InvariantCulture)}:{time.Minute.ToString("00", CultureInfo.InvariantCulture)}");
            }
            else
            {
                ok++;
            }

            for (int i = m.Index; i < m.Index + m.Length; i++)
            {
                buffer[i] = Mask;
            }
        }

        if (ok == 0 && problems.Count == 0)
        {
            problems.Add("the time is missing");
        }

        return Result("time", problems);
    }

    private static VerificationCheck CheckLeftoverNumbers(string rest, AlertLanguage language)
    {
        var problems = new List<string>();
        for (int i = 0; i < rest.Length; i++)
        {
            if (char.IsNumber(rest[i]))
            {
                int start = i;
                while (i < rest.Length && (char.IsNumber(rest[i]) || ((rest[i] is '.' or ',') && i + 1 < rest.Length && char.IsNumber(rest[i + 1]))))
                {
                    i++;
                }

                problems.Add($"\"{rest[start..i]}\" is not a number of the event (or stands apart from its unit)");
            }
        }

        if (language == AlertLanguage.English)
        {
            foreach (string w in Words.Split(rest))
            {
                if (Lexicon.EnglishNumberWords.Contains(w.ToLowerInvariant()))
                {
                    problems.Add($"number word \"{w}\" states a number the event lacks");
                }
            }
        }

        return Result("invented_numbers", problems.Distinct(StringComparer.Ordinal).ToList());
    }

    private static VerificationCheck CheckScript(string rest, AlertLanguage language)
    {
        var problems = new List<string>();
        foreach (Rune r in rest.EnumerateRunes())
        {
            if (r.Value == Mask || r.Value == ' ')
            {
                continue;
            }

            Script s = Scripts.Classify(r);
            bool ok = s switch
            {
                Script.Latin => language == AlertLanguage.English,
                Script.Bengali => language == AlertLanguage.Bangla && !Scripts.IsBanglaDigit(r.Value) && r.Value is not 0x09F3,
                Script.Other => false,
                _ => Scripts.IsAllowedSymbol(r.Value) || r.Value is Scripts.Zwj or Scripts.Zwnj || (r.Value == 0x09F3 && language == AlertLanguage.Bangla),
            };
            if (!ok)
            {
                problems.Add($"'{r}' ({Scripts.CodePoint(r)}) is not {(language == AlertLanguage.English ? "English (Latin)" : "Bangla")} text");
                if (problems.Count >= 3)
                {
                    break;
                }
            }
        }

        return Result("script", problems);
    }

    private VerificationCheck CheckNames(string rest, AlertEvent ev, AlertLanguage language)
    {
        var known = _catalog.Vocabulary[language];
        var eventWords = new HashSet<string>(StringComparer.Ordinal);
        foreach (string value in ev.Slots.Values.Where(v => v.Kind is AlertSlotKind.Text or AlertSlotKind.Id).Select(v => v.Text!).Append(ev.Location))
        {
            foreach (string w in Words.Split(value))
            {
                eventWords.Add(w.ToLowerInvariant());
            }
        }

        var problems = new List<string>();
        foreach (string word in Words.Split(rest))
        {
            string lower = word.ToLowerInvariant();
            if (language == AlertLanguage.English)
            {
                if (char.IsUpper(word[0]) && !known.Contains(lower) && !Lexicon.English.Contains(lower) && !eventWords.Contains(lower))
                {
                    problems.Add($"\"{word}\" looks like a name the event does not give");
                }
            }
            else if (Scripts.IsBengali(word[0]) && !IsKnownBangla(lower, known, eventWords))
            {
                problems.Add($"\"{word}\" is not a word the alert vocabulary knows (a name or fact the event does not give?)");
            }
        }

        return Result("names", problems.Distinct(StringComparer.Ordinal).Take(5).ToList());
    }

    private static bool IsKnownBangla(string word, HashSet<string> known, HashSet<string> eventWords)
    {
        if (Known(word))
        {
            return true;
        }

        foreach (string suffix in Lexicon.BanglaSuffixes)
        {
            if (word.Length > suffix.Length && word.EndsWith(suffix, StringComparison.Ordinal) && Known(word[..^suffix.Length]))
            {
                return true;
            }
        }

        return false;

        bool Known(string w) => known.Contains(w) || Lexicon.Bangla.Contains(w) || eventWords.Contains(w);
    }

    // ---------------------------------------------------------------- matching helpers

    /// <summary>Masks every boundary-respecting occurrence of <paramref name="value"/>; returns how many.</summary>
    private static int MaskAll(char[] buffer, string value, bool ignoreCase, AlertLanguage language)
    {
        var hits = Find(new string(buffer), value, ignoreCase, language);
        foreach (var (start, length) in hits)
        {
            Array.Fill(buffer, Mask, start, length);
        }

        return hits.Count;
    }

    /// <summary>
    /// Occurrences of <paramref name="value"/> that are whole words at both ends (a Bangla case ending such as র, এর, তে
    /// may follow a Bangla word, and is included in the span).
    /// </summary>
    private static List<(int Start, int Length)> Find(string text, string value, bool ignoreCase, AlertLanguage language)
    {
        var hits = new List<(int, int)>();
        var comparison = ignoreCase ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;
        int from = 0;
        while (from <= text.Length - value.Length)
        {
            int i = text.IndexOf(value, from, comparison);
            if (i < 0)
            {
                break;
            }

            int end = i + value.Length;
            bool left = i == 0 || !Scripts.IsWordChar(text[i - 1]) || !Scripts.IsWordChar(value[0]);
            int suffix = 0;
            bool right = end == text.Length || !Scripts.IsWordChar(text[end]) || !Scripts.IsWordChar(value[^1]);
            if (!right && language == AlertLanguage.Bangla && Scripts.IsBengali(value[^1]))
            {
                suffix = BanglaSuffixLength(text, end);
                right = suffix > 0;
            }

            if (left && right)
            {
                hits.Add((i, value.Length + suffix));
                from = end + suffix;
            }
            else
            {
                from = i + 1;
            }
        }

        return hits;
    }

    private static int BanglaSuffixLength(string text, int at)
    {
        int end = at;
        while (end < text.Length && Scripts.IsWordChar(text[end]))
        {
            end++;
        }

        string tail = text[at..end];
        return Lexicon.BanglaSuffixes.Contains(tail, StringComparer.Ordinal) ? tail.Length : 0;
    }

    private static int MaskRegex(char[] buffer, string pattern, bool ignoreCase)
    {
        var regex = new Regex(pattern, RegexOptions.CultureInvariant | (ignoreCase ? RegexOptions.IgnoreCase : RegexOptions.None), TimeSpan.FromSeconds(1));
        int n = 0;
        foreach (Match m in regex.Matches(new string(buffer)))
        {
            Array.Fill(buffer, Mask, m.Index, m.Length);
            n++;
        }

        return n;
    }

    /// <summary>A regex for a number in one of its accepted spellings inside a unit form, e.g. <c>(?:12|১২)\s*সেন্টিমিটার</c>.</summary>
    internal static string NumberFactPattern(string form, decimal value, AlertLanguage language)
    {
        int at = form.IndexOf("{n}", StringComparison.Ordinal);
        string prefix = form[..at], suffix = form[(at + 3)..];
        var spellings = AlertNumbers.AcceptedForms(Math.Abs(value), language).Select(Regex.Escape);
        string number = (value < 0 ? "[-\u2212]" : string.Empty) + "(?:" + string.Join("|", spellings) + ")";
        var sb = new StringBuilder();
        if (prefix.Length > 0)
        {
            sb.Append(Literal(prefix.TrimEnd())).Append(@"\s*");
        }

        sb.Append(@"(?<![\p{Nd}.,\-\u2212])").Append(number).Append(@"(?![\p{Nd}]|[.,]\p{Nd})");
        if (suffix.Length > 0)
        {
            sb.Append(@"\s*").Append(Literal(suffix.TrimStart()));
            if (Scripts.IsWordChar(suffix[^1]))
            {
                sb.Append(language == AlertLanguage.Bangla ? @"(?:ের|এর|র|য়|এ|ে|তে|কে)?" : string.Empty).Append(@"(?![\p{L}\p{M}\p{Nd}])");
            }
        }

        return AlertCatalog.Nfc(sb.ToString());
    }

    private static string Literal(string s) => string.Join(@"\s+", s.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(Regex.Escape));

    private static bool OneDigitSystem(string digits, AlertLanguage language)
    {
        bool ascii = digits.All(c => Scripts.IsAsciiDigit(c));
        bool bangla = digits.All(c => Scripts.IsBanglaDigit(c));
        return ascii || (bangla && language == AlertLanguage.Bangla);
    }

    private static int Digits(string s)
    {
        int v = 0;
        foreach (char c in s)
        {
            v = (v * 10) + AlertNumbers.DigitValue(c);
        }

        return v;
    }

    private static string Inv(int value) => value.ToString(CultureInfo.InvariantCulture);
}
