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
    private readonly Dictionary<AlertLanguage, HashSet<string>> _known;

    /// <summary>Creates a verifier.</summary>
    /// <param name="catalog">The catalogue; null for <see cref="AlertCatalog.Default"/>.</param>
    /// <param name="policy">The policy; null for <see cref="AlertPolicy.Default"/>.</param>
    /// <exception cref="ArgumentException">The policy is invalid (a property out of range or bad text); the message says which.</exception>
    public AlertVerifier(AlertCatalog? catalog = null, AlertPolicy? policy = null)
    {
        _catalog = catalog ?? AlertCatalog.Default;
        _policy = policy ?? AlertPolicy.Default;
        _policy.Validate();
        _known = _catalog.Vocabulary.ToDictionary(
            kv => kv.Key,
            kv => new HashSet<string>(kv.Value.Concat(_policy.AllowedWords.Where(w => w.Language == kv.Key).Select(w => AlertCatalog.Nfc(w.Word).ToLowerInvariant())), StringComparer.Ordinal));
    }

    // A time token ends at its "M": the full stop of "p.m." or of the sentence is punctuation, not part of the time.
    // Were it taken, "85 PM." (a wrong time) would outrank the location "85 PM" it contains, and a faithful
    // "Location: 85 PM. Time: 9:00 PM." would fail as a missing location and a wrong time.
    [GeneratedRegex(@"(?<![\p{Nd}.,:])(?:(?<h>\p{Nd}{1,2}):(?<m>\p{Nd}{2})(?:\s*(?<ap>[AaPp])\.?\s?[Mm](?!\p{L}))?|(?<h>\p{Nd}{1,2})\s*(?<ap>[AaPp])\.?\s?[Mm](?!\p{L}))(?![\p{Nd}:])", RegexOptions.CultureInvariant)]
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
        var type = _catalog.GetAlertType(ev.Type);
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

        // Every fact is located as candidate spans of the text; overlapping candidates are resolved longest first
        // (data first on ties), so a fact inside another is never counted twice: the location "PM" does not eat the
        // "PM" of "1:33 PM", and the time "10:30" inside the location "10:30 Plaza" is data, not a time.
        var facts = new List<Fact>();
        var candidates = new List<Candidate>();
        void AddFact(string check, string name, string value, bool ignoreCase, int priority)
        {
            var existing = facts.FirstOrDefault(f => f.Check == check && string.Equals(f.Value, value, StringComparison.Ordinal));
            if (existing is not null)
            {
                return; // the same text twice (e.g. location and river alike): one occurrence states both
            }

            var fact = new Fact(facts.Count, check, name, value);
            facts.Add(fact);
            foreach (var (start, length) in Find(text, value, ignoreCase, language))
            {
                candidates.Add(new Candidate(start, length, fact.Id, priority));
            }
        }

        AddFact("facts", "location", ev.Location, false, 0);
        foreach (var (name, value) in ev.Slots)
        {
            var slot = type.FindSlot(name)!;
            if (slot.Kind is AlertSlotKind.Text or AlertSlotKind.Id)
            {
                AddFact("facts", name, value.Text!, false, 0);
            }
        }

        foreach (var (name, value) in ev.Slots)
        {
            var slot = type.FindSlot(name)!;
            if (slot.Kind == AlertSlotKind.Choice)
            {
                AddFact(name == "action" ? "required_action" : "facts", name, slot.ChoicePhrases[value.Text!][language], english, 1);
            }
        }

        foreach (string phrase in _policy.RequiredPhrasesFor(ev.Type, language))
        {
            AddFact("required_phrases", "policy phrase", phrase, false, 1);
        }

        var wording = _catalog.Severities[(ev.Severity, language)];
        AddFact("severity", $"the {ev.Severity.ToCode()} label", wording.Label, english, 1);

        foreach (var (name, value) in ev.Slots)
        {
            if (value.Kind is not (AlertSlotKind.Count or AlertSlotKind.Measurement))
            {
                continue;
            }

            var unit = _catalog.Units[value.Unit!];
            string rendered = TemplateRenderer.NumberWithUnit(unit, value.Number!.Value, language);
            if (facts.Any(f => f.Check == "numbers" && string.Equals(f.Value, rendered, StringComparison.Ordinal)))
            {
                continue; // two slots with the same value and unit: one mention states both
            }

            var fact = new Fact(facts.Count, "numbers", name, rendered);
            facts.Add(fact);
            foreach (string form in unit.FormsFor(value.Number.Value, language))
            {
                var regex = new Regex(NumberFactPattern(form, value.Number.Value, language), RegexOptions.CultureInvariant | (english ? RegexOptions.IgnoreCase : RegexOptions.None), TimeSpan.FromSeconds(1));
                foreach (Match m in regex.Matches(text))
                {
                    candidates.Add(new Candidate(m.Index, m.Length, fact.Id, 2));
                }
            }
        }

        var timeFact = new Fact(facts.Count, "time", "time", AlertNumbers.FormatTime(ev.Time, language));
        facts.Add(timeFact);
        var timeProblems = new List<string>();
        var wrongTimes = new Dictionary<int, string>();
        foreach (var (start, span, problem) in TimeTokens(text, ev.Time, language))
        {
            if (problem is null)
            {
                candidates.Add(new Candidate(start, span, timeFact.Id, 3));
            }
            else
            {
                var wrong = new Fact(facts.Count, "time", "wrong time", problem);
                facts.Add(wrong);
                wrongTimes[wrong.Id] = problem;
                candidates.Add(new Candidate(start, span, wrong.Id, 3));
            }
        }

        var accepted = Resolve(candidates, facts, text.Length, wrongTimes.Keys.ToHashSet());
        var found = accepted.Select(a => a.Fact).ToHashSet();
        var missing = new Dictionary<string, List<string>>(StringComparer.Ordinal) { ["facts"] = [], ["required_action"] = [], ["required_phrases"] = [], ["severity"] = [], ["numbers"] = [] };
        foreach (var fact in facts.Where(f => f.Check != "time" && !found.Contains(f.Id)))
        {
            missing[fact.Check].Add(fact.Check == "severity" ? $"{fact.Name} \"{fact.Value}\" is missing" : $"{fact.Name} \"{fact.Value}\" is missing or changed");
        }

        foreach (var id in found.Where(wrongTimes.ContainsKey))
        {
            timeProblems.Add(wrongTimes[id]);
        }

        if (!found.Contains(timeFact.Id) && timeProblems.Count == 0)
        {
            timeProblems.Add($"the time \"{timeFact.Value}\" is missing");
        }

        var buffer = text.ToCharArray();
        foreach (var a in accepted)
        {
            Array.Fill(buffer, Mask, a.Start, a.Length);
        }

        string masked = new(buffer);
        var forbidden = _catalog.Severities.Where(kv => kv.Key.Item2 == language && kv.Key.Item1 != ev.Severity).Select(kv => kv.Value.Label).Concat(wording.Forbidden);
        foreach (string word in forbidden.Distinct(StringComparer.Ordinal))
        {
            if (Find(masked, word, true, language).Count > 0)
            {
                missing["severity"].Add($"\"{word}\" does not fit severity {ev.Severity.ToCode()}");
            }
        }

        checks.Add(Result("facts", missing["facts"]));
        checks.Add(Result("required_action", missing["required_action"]));
        if (facts.Any(f => f.Check == "required_phrases"))
        {
            checks.Add(Result("required_phrases", missing["required_phrases"]));
        }

        checks.Add(Result("severity", missing["severity"]));
        checks.Add(Result("time", timeProblems));
        checks.Add(Result("numbers", missing["numbers"]));

        // What is left is the writer's own wording: no digits, only the language's script, no unknown names.
        string rest = masked;
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

    /// <summary>Every time-like token of the text, with null when it is the event's local time or what is wrong with it.</summary>
    private static List<(int Start, int Length, string? Problem)> TimeTokens(string text, DateTimeOffset time, AlertLanguage language)
    {
        var tokens = new List<(int, int, string?)>();
        var regex = language == AlertLanguage.English ? EnglishTime() : BanglaTime;
        foreach (Match m in regex.Matches(text))
        {
            string h = m.Groups["h"].Value, mm = m.Groups["m"].Success ? m.Groups["m"].Value : string.Empty;
            if (!OneDigitSystem(h + mm, language))
            {
                tokens.Add((m.Index, m.Length, $"time \"{m.Value}\" uses digits the language does not"));
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
            else if ((h.Length == 2 && m.Value.Contains(':', StringComparison.Ordinal)) || hour >= 13)
            {
                hour24 = hour; // no AM/PM or part of the day: only the 24-hour clock (HH:MM, or an hour past 12) is unambiguous
            }
            else
            {
                tokens.Add((m.Index, m.Length, $"time \"{m.Value}\" is ambiguous: add AM/PM (or the part of the day in Bangla) or write the 24-hour HH:MM"));
                continue;
            }

            bool ok = hour24 == time.Hour && minute == time.Minute;
            tokens.Add((m.Index, m.Length, ok ? null : $"time \"{m.Value}\" is not the event's {time.Hour.ToString("00", CultureInfo.InvariantCulture)}:{time.Minute.ToString("00", CultureInfo.InvariantCulture)}"));
        }

        return tokens;
    }

    private sealed record Fact(int Id, string Check, string Name, string Value);

    private readonly record struct Candidate(int Start, int Length, int Fact, int Priority);

    /// <summary>
    /// Chooses non-overlapping spans: longest first, then by priority (data, phrases, numbers, times), then position.
    /// A required fact left without a span takes an identical span from a fact that has two or more.
    /// </summary>
    private static List<Candidate> Resolve(List<Candidate> candidates, List<Fact> facts, int length, HashSet<int> optional)
    {
        var taken = new bool[length];
        var accepted = new List<Candidate>();
        foreach (var c in candidates.OrderByDescending(c => c.Length).ThenBy(c => c.Priority).ThenBy(c => c.Start))
        {
            bool free = true;
            for (int i = c.Start; i < c.Start + c.Length && free; i++)
            {
                free = !taken[i];
            }

            if (free)
            {
                Array.Fill(taken, true, c.Start, c.Length);
                accepted.Add(c);
            }
        }

        foreach (var fact in facts.Where(f => !optional.Contains(f.Id) && accepted.All(a => a.Fact != f.Id)))
        {
            foreach (var c in candidates.Where(c => c.Fact == fact.Id))
            {
                int index = accepted.FindIndex(a => a.Start == c.Start && a.Length == c.Length && accepted.Count(b => b.Fact == a.Fact) >= 2);
                if (index >= 0)
                {
                    accepted[index] = c;
                    break;
                }
            }
        }

        return accepted;
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
        var known = _known[language];
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
                if (Scripts.IsLatinLetter(word[0]) && !IsKnown(lower, known, eventWords, Lexicon.English, Lexicon.EnglishSuffixes))
                {
                    problems.Add(char.IsUpper(word[0])
                        ? $"\"{word}\" looks like a name the event does not give"
                        : $"\"{word}\" is not a word the alert vocabulary knows (a claim the event does not make?)");
                }
            }
            else if (Scripts.IsBengali(word[0]) && !IsKnown(lower, known, eventWords, Lexicon.Bangla, Lexicon.BanglaSuffixes))
            {
                problems.Add($"\"{word}\" is not a word the alert vocabulary knows (a name or fact the event does not give?)");
            }
        }

        return Result("names", problems.Distinct(StringComparer.Ordinal).Take(5).ToList());
    }

    private static bool IsKnown(string word, HashSet<string> known, HashSet<string> eventWords, HashSet<string> lexicon, string[] suffixes)
    {
        if (Known(word))
        {
            return true;
        }

        foreach (string suffix in suffixes)
        {
            if (word.Length > suffix.Length + 1 && word.EndsWith(suffix, StringComparison.Ordinal) && Known(word[..^suffix.Length]))
            {
                return true;
            }
        }

        return false;

        bool Known(string w) => known.Contains(w) || lexicon.Contains(w) || eventWords.Contains(w);
    }

    // ---------------------------------------------------------------- matching helpers

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
            bool left = (i == 0 || !Scripts.IsWordChar(text[i - 1]) || !Scripts.IsWordChar(value[0])) && !JoinsDigits(text, i - 1, -1, value[0]);
            int suffix = 0;
            bool right = (end == text.Length || !Scripts.IsWordChar(text[end]) || !Scripts.IsWordChar(value[^1])) && !JoinsDigits(text, end, 1, value[^1]);
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

    /// <summary>
    /// Whether the decimal point or group comma at <paramref name="at"/> joins the value's <paramref name="edge"/> digit to a
    /// digit one step further (<paramref name="step"/> -1 before the value, +1 after it): in "BWDB-1.34 Y" neither the id
    /// "BWDB-1" nor the river "34 Y" stands on its own, a reader sees "BWDB-1.34".
    /// </summary>
    private static bool JoinsDigits(string text, int at, int step, char edge)
    {
        int beyond = at + step;
        return char.IsDigit(edge) && at >= 0 && at < text.Length && text[at] is ('.' or ',') && beyond >= 0 && beyond < text.Length && char.IsDigit(text[beyond]);
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
