using System.Globalization;
using System.Text;
using MicroLlm.Guardrails;

namespace MicroLlm.Guardrails.Tests;

/// <summary>
/// An independent check of an alert text against its event, written without the library's verifier or formatters:
/// every fact is present in the language's form, and no number appears that the event lacks.
/// </summary>
internal static class FactOracle
{
    public static List<string> Problems(AlertEvent ev, AlertLanguage language, string text)
    {
        var problems = new List<string>();
        bool bn = language == AlertLanguage.Bangla;
        var verbatim = new List<string> { ev.Location };
        verbatim.AddRange(ev.Slots.Values.Where(v => v.Kind is AlertSlotKind.Id or AlertSlotKind.Text).Select(v => v.Text!));
        foreach (string fact in verbatim)
        {
            if (!text.Contains(fact, StringComparison.Ordinal))
            {
                problems.Add($"missing verbatim fact \"{fact}\"");
            }
        }

        var allowed = new HashSet<decimal>();
        foreach (var v in ev.Slots.Values.Where(v => v.Number is not null))
        {
            decimal n = v.Number!.Value;
            allowed.Add(Math.Abs(n));
            // A reader reads the value in any correct grouping, Western (3,3,3) or, in Bangla, Indian (3,2,2), or with no
            // group commas; in Bangla text in either digit set ("৮,৭০,০০০", "৮৭০,০০০", "8,70,000").
            string expected = bn ? BanglaDigits(Group(n, indian: true)) : Group(n, indian: false);
            var ascii = new List<string> { Group(n, indian: false), Group(n, indian: bn), Group(n, indian: false).Replace(",", "", StringComparison.Ordinal) };
            var spellings = bn ? ascii.Concat(ascii.Select(BanglaDigits)) : ascii;
            if (!spellings.Any(f => text.Contains(f, StringComparison.Ordinal)))
            {
                problems.Add($"missing number {expected}");
            }
        }

        int h24 = ev.Time.Hour, m = ev.Time.Minute, h12 = h24 % 12 == 0 ? 12 : h24 % 12;
        allowed.Add(h12);
        allowed.Add(h24);
        allowed.Add(m);
        string hourDigits = $"(?:{h12}|{BanglaDigits(h12.ToString(CultureInfo.InvariantCulture))})";
        string minuteDigits = $"(?:{m}|{m:00}|{BanglaDigits(m.ToString(CultureInfo.InvariantCulture))}|{BanglaDigits(m.ToString("00", CultureInfo.InvariantCulture))})";
        string clock24 = $"(?:{h24:00}:{m:00}|{BanglaDigits($"{h24:00}:{m:00}")})";
        string pattern = bn
            ? $"(?:{PeriodPattern(h24)})\\s*{hourDigits}\\s*টা(?:য়)?{(m == 0 ? $"(?:\\s*{minuteDigits}\\s*মিনিট)?" : $"\\s*{minuteDigits}\\s*মিনিট")}|(?<![\\d:]){clock24}(?![\\d:])"
            : $@"(?<![\d:])(?:{h12}{(m == 0 ? "(?::00)?" : $":{m:00}")}\s*{(h24 < 12 ? "[Aa]" : "[Pp]")}\.?\s?[Mm](?!\p{{L}})|{h24:00}:{m:00}(?!\s*[AaPp]\.?\s?[Mm](?!\p{{L}})))(?![\d:])";
        if (!System.Text.RegularExpressions.Regex.IsMatch(text, pattern.Normalize()))
        {
            problems.Add($"missing time {h24:00}:{m:00}");
        }

        // No other numbers: blank out the verbatim facts, then every digit run must be an allowed value.
        string rest = text;
        foreach (string fact in verbatim.OrderByDescending(f => f.Length))
        {
            // A point or comma joins digits into one number ("1.3392" is not the id "3392"), but not a digit to a letter:
            // in "BWDB/6494.alert Dhaka" the river "alert Dhaka" stands on its own.
            string notAfterANumber = char.IsDigit(fact[0]) ? @"(?<!\p{N}[.,])" : "";
            string notBeforeANumber = char.IsDigit(fact[^1]) ? @"|[.,]\p{N}" : "";
            rest = System.Text.RegularExpressions.Regex.Replace(rest, @"(?<![\p{L}\p{N}\p{M}])" + notAfterANumber + System.Text.RegularExpressions.Regex.Escape(fact)
                + (bn ? "(?:\u09C7\u09B0|\u098F\u09B0|\u09B0|\u09AF\u09BC|\u098F|\u09C7|\u09A4\u09C7|\u0995\u09C7)?" : "") // Bangla case endings
                + @"(?![\p{L}\p{N}\p{M}]" + notBeforeANumber + ")", " ");
        }

        for (int i = 0; i < rest.Length; i++)
        {
            if (!char.IsDigit(rest[i]))
            {
                continue;
            }

            var sb = new StringBuilder();
            while (i < rest.Length && (char.IsDigit(rest[i]) || (rest[i] is ',' or '.' && i + 1 < rest.Length && char.IsDigit(rest[i + 1]))))
            {
                sb.Append(rest[i] switch { ',' => "", '.' => ".", var c => ((int)char.GetNumericValue(c)).ToString(CultureInfo.InvariantCulture) });
                i++;
            }

            if (!decimal.TryParse(sb.ToString(), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out decimal value) || !allowed.Contains(value))
            {
                problems.Add($"invented number {sb}");
            }
        }

        return problems;
    }

    public static string BanglaDigits(string s) => RandomEvents.Bangla(s);

    /// <summary>Every Bangla part-of-day word a reader would accept for the hour (the template uses the first).</summary>
    private static string PeriodPattern(int h24) => h24 switch
    {
        < 4 => "রাত",
        < 6 => "ভোর|রাত",
        < 12 => "সকাল",
        < 15 => "দুপুর",
        < 18 => "বিকাল|বিকেল",
        < 20 => "সন্ধ্যা",
        _ => "রাত",
    };

    /// <summary>Western (3,3,3) or Indian (3,2,2) grouping, written out longhand.</summary>
    public static string Group(decimal value, bool indian)
    {
        string s = (value / 1.0000000000000000000000000000m).ToString(CultureInfo.InvariantCulture);
        string sign = s.StartsWith('-') ? "-" : "";
        s = s.TrimStart('-');
        string whole = s.Split('.')[0], fraction = s.Contains('.') ? "." + s.Split('.')[1] : "";
        var groups = new List<string>();
        if (whole.Length > 3)
        {
            groups.Insert(0, whole[^3..]);
            whole = whole[..^3];
            int size = indian ? 2 : 3;
            while (whole.Length > size)
            {
                groups.Insert(0, whole[^size..]);
                whole = whole[..^size];
            }
        }

        groups.Insert(0, whole);
        return sign + string.Join(",", groups) + fraction;
    }
}
