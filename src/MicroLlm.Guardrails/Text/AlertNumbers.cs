using System.Globalization;
using System.Text;

namespace MicroLlm.Guardrails.Text;

/// <summary>Numbers and times as the templates write them and as the verifier reads them back.</summary>
internal static class AlertNumbers
{
    private const string BanglaDigits = "০১২৩৪৫৬৭৮৯";

    /// <summary>Removes trailing zeros: 12.50 becomes 12.5, 3.0 becomes 3.</summary>
    public static decimal Normalize(decimal value) => value / 1.000000000000000000000000000000000m;

    /// <summary>Digits after the decimal point once trailing zeros are gone.</summary>
    public static int DecimalPlaces(decimal value) => Normalize(value).Scale;

    /// <summary>ASCII digits to Bangla digits; everything else unchanged.</summary>
    public static string ToBanglaDigits(string ascii)
    {
        var sb = new StringBuilder(ascii.Length);
        foreach (char c in ascii)
        {
            sb.Append(c is >= '0' and <= '9' ? BanglaDigits[c - '0'] : c);
        }

        return sb.ToString();
    }

    /// <summary>The number in the language's way: English <c>1,250.5</c>; Bangla <c>১,২৫০.৫</c> and <c>১,২৫,০০০</c> (lakh grouping).</summary>
    public static string Format(decimal value, AlertLanguage language) =>
        language == AlertLanguage.Bangla ? ToBanglaDigits(Group(value, indian: true)) : Group(value, indian: false);

    /// <summary>Every way the verifier accepts the number in a language: grouped or not, and for Bangla either digit system.</summary>
    public static IReadOnlyList<string> AcceptedForms(decimal value, AlertLanguage language)
    {
        var ascii = new List<string> { Group(value, indian: false), Plain(value) };
        if (language == AlertLanguage.Bangla)
        {
            ascii.Add(Group(value, indian: true));
        }

        var forms = new List<string>(ascii);
        if (language == AlertLanguage.Bangla)
        {
            forms.AddRange(ascii.Select(ToBanglaDigits));
        }

        return forms.Distinct(StringComparer.Ordinal).OrderByDescending(f => f.Length).ToList();
    }

    private static string Plain(decimal value) => Normalize(value).ToString(CultureInfo.InvariantCulture);

    private static string Group(decimal value, bool indian)
    {
        string plain = Plain(value);
        bool negative = plain.StartsWith('-');
        string digits = negative ? plain[1..] : plain;
        int dot = digits.IndexOf('.', StringComparison.Ordinal);
        string whole = dot < 0 ? digits : digits[..dot];
        string fraction = dot < 0 ? string.Empty : digits[dot..];
        var sb = new StringBuilder();
        if (whole.Length <= 3)
        {
            sb.Append(whole);
        }
        else
        {
            string head = whole[..^3];
            int size = indian ? 2 : 3;
            int first = head.Length % size == 0 ? size : head.Length % size;
            sb.Append(head, 0, first);
            for (int i = first; i < head.Length; i += size)
            {
                sb.Append(',').Append(head, i, size);
            }

            sb.Append(',').Append(whole[^3..]);
        }

        return (negative ? "-" : string.Empty) + sb + fraction;
    }

    /// <summary>The value of a decimal digit in any digit system, or -1.</summary>
    public static int DigitValue(char c) => CharUnicodeInfo.GetDecimalDigitValue(c);

    /// <summary>Parses a run of digits written by a model or template (digits of one system, optional grouping commas and decimal point).</summary>
    public static bool TryParse(string token, out decimal value)
    {
        value = 0;
        var sb = new StringBuilder(token.Length);
        foreach (char c in token)
        {
            if (c is ',' or '.' or '-')
            {
                sb.Append(c == ',' ? string.Empty : c.ToString());
                continue;
            }

            int d = DigitValue(c);
            if (d < 0)
            {
                return false;
            }

            sb.Append((char)('0' + d));
        }

        return decimal.TryParse(sb.ToString(), NumberStyles.AllowDecimalPoint | NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value);
    }

    // ---- times ----

    /// <summary>The Bangla word for the part of the day: রাত 0-3 and 20-23, ভোর 4-5, সকাল 6-11, দুপুর 12-14, বিকাল 15-17, সন্ধ্যা 18-19.</summary>
    public static string BanglaDayPeriod(int hour) => hour switch
    {
        < 4 => "রাত",
        < 6 => "ভোর",
        < 12 => "সকাল",
        < 15 => "দুপুর",
        < 18 => "বিকাল",
        < 20 => "সন্ধ্যা",
        _ => "রাত",
    };

    /// <summary>English: <c>2:05 PM</c>. Bangla: <c>দুপুর ২টা ৫ মিনিট</c>, or <c>দুপুর ২টা</c> on the hour.</summary>
    public static string FormatTime(DateTimeOffset time, AlertLanguage language)
    {
        int h = time.Hour, m = time.Minute;
        int h12 = h % 12 == 0 ? 12 : h % 12;
        if (language == AlertLanguage.English)
        {
            return string.Create(CultureInfo.InvariantCulture, $"{h12}:{m:00} {(h < 12 ? "AM" : "PM")}");
        }

        string hour = ToBanglaDigits(h12.ToString(CultureInfo.InvariantCulture));
        string text = $"{BanglaDayPeriod(h)} {hour}টা";
        return m == 0 ? text : $"{text} {ToBanglaDigits(m.ToString(CultureInfo.InvariantCulture))} মিনিট";
    }

    /// <summary>
    /// The 24-hour hour meant by a Bangla day-period word and a 12-hour clock hour, or -1 when the word does not fit the hour
    /// (সকাল ৯টা is 9, রাত ২টা is 2, রাত ৯টা is 21, বিকাল ৪টা is 16; সকাল ১১টা fits, সকাল ৮টা রাত does not exist).
    /// </summary>
    public static int BanglaHour(string period, int h12)
    {
        if (h12 is < 1 or > 12)
        {
            return -1;
        }

        int hour = period switch
        {
            "ভোর" or "সকাল" => h12 == 12 ? -1 : h12,
            "দুপুর" => h12 == 12 ? 12 : h12 <= 5 ? h12 + 12 : h12 == 11 ? 11 : -1,
            "বিকাল" or "বিকেল" or "সন্ধ্যা" => h12 == 12 ? -1 : h12 + 12,
            "রাত" => h12 == 12 ? 0 : h12 >= 6 ? h12 + 12 : h12,
            _ => -1,
        };
        if (hour < 0)
        {
            return -1;
        }

        bool plausible = period switch
        {
            "ভোর" => hour is >= 3 and <= 6,
            "সকাল" => hour is >= 5 and <= 11,
            "দুপুর" => hour is >= 11 and <= 15,
            "বিকাল" or "বিকেল" => hour is >= 14 and <= 18,
            "সন্ধ্যা" => hour is >= 17 and <= 20,
            _ => hour is >= 19 or <= 5,
        };
        return plausible ? hour : -1;
    }
}
