using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace MicroLlm.Guardrails.Text;

/// <summary>Checks on free text and identifiers coming from events and policies (untrusted input).</summary>
internal static partial class TextRules
{
    public const int MaxIdLength = 48;

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9._:/#-]{0,47}$", RegexOptions.CultureInvariant)]
    private static partial Regex IdPattern();

    [GeneratedRegex(@" {2,}", RegexOptions.CultureInvariant)]
    private static partial Regex SpaceRun();

    /// <summary>
    /// Validates free text and returns it NFC-normalised, trimmed, with runs of spaces collapsed (none of which changes a
    /// fact). Adds an error for: empty text, more than <paramref name="maxLength"/> code points, control, format and bidi
    /// characters, unusual spaces, letters outside Latin and Bangla, digits outside ASCII and Bangla, a word that mixes
    /// scripts or digit systems, and invalid Bangla sequences.
    /// </summary>
    public static string CheckText(string raw, string path, int maxLength, List<AlertEventError> errors)
    {
        string text = Nfc.Normalize(raw);
        text = SpaceRun().Replace(text.Trim(' '), " ");
        if (text.Length == 0)
        {
            errors.Add(new(path, "empty", "must not be empty; give the text it stands for."));
            return text;
        }

        int count = 0;
        foreach (Rune _ in text.EnumerateRunes())
        {
            count++;
        }

        if (count > maxLength)
        {
            errors.Add(new(path, "too_long", $"has {Inv(count)} characters; at most {Inv(maxLength)} are allowed. Shorten it."));
            return text;
        }

        string? bad = FindBadCharacter(text);
        if (bad is not null)
        {
            errors.Add(new(path, bad.StartsWith("control", StringComparison.Ordinal) ? "control_character" : bad.StartsWith("digit", StringComparison.Ordinal) ? "digit_system" : "script", bad));
            return text;
        }

        string? mixed = FindMixedWord(text);
        if (mixed is not null)
        {
            errors.Add(new(path, "mixed_script", mixed));
            return text;
        }

        string? bangla = Scripts.FindInvalidBanglaSequence(text);
        if (bangla is not null)
        {
            errors.Add(new(path, "invalid_bangla", $"has {bangla}; fix the spelling."));
        }

        return text;
    }

    public static bool IsValidId(string value) => IdPattern().IsMatch(value);

    private static string? FindBadCharacter(string text)
    {
        int index = 0;
        foreach (Rune r in text.EnumerateRunes())
        {
            int c = r.Value;
            UnicodeCategory cat = Rune.GetUnicodeCategory(r);
            string at = $"{Scripts.CodePoint(r)} at index {Inv(index)}";
            index += r.Utf16SequenceLength;
            if (cat is UnicodeCategory.Control or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator)
            {
                return $"control character {at} is not allowed; alert text is one line of plain text.";
            }

            if (cat == UnicodeCategory.Format && c is not Scripts.Zwj and not Scripts.Zwnj)
            {
                return $"control character {at} (a format or bidirectional mark) is not allowed; remove it.";
            }

            if (cat == UnicodeCategory.SpaceSeparator && c != ' ')
            {
                return $"control character {at} (an unusual space) is not allowed; use a plain space.";
            }

            if (cat is UnicodeCategory.PrivateUse or UnicodeCategory.OtherNotAssigned or UnicodeCategory.Surrogate)
            {
                return $"control character {at} (unassigned or private-use) is not allowed.";
            }

            if (cat == UnicodeCategory.DecimalDigitNumber && !Scripts.IsAsciiDigit(c) && !Scripts.IsBanglaDigit(c))
            {
                return $"digit {at} is not an ASCII (0-9) or Bangla (০-৯) digit; write the number with one of those.";
            }

            Script script = Scripts.Classify(r);
            if (script == Script.Other)
            {
                return $"letter or mark {at} is not Latin or Bangla; alerts use only those scripts (look-alike letters from other scripts are rejected).";
            }

            if (script == Script.Common && !Scripts.IsAsciiDigit(c) && c is not ' ' and not Scripts.Zwj and not Scripts.Zwnj && !Scripts.IsAllowedSymbol(c))
            {
                return $"symbol {at} is not allowed in alert text; use plain punctuation.";
            }
        }

        return null;
    }

    /// <summary>A word (letters, digits, marks) may not mix Latin and Bangla letters, or ASCII and Bangla digits.</summary>
    private static string? FindMixedWord(string text)
    {
        int start = 0;
        while (start < text.Length)
        {
            while (start < text.Length && !Scripts.IsWordChar(text[start]))
            {
                start++;
            }

            int end = start;
            while (end < text.Length && Scripts.IsWordChar(text[end]))
            {
                end++;
            }

            if (end > start)
            {
                string word = text[start..end];
                bool latin = false, bengaliLetter = false, asciiDigit = false, banglaDigit = false;
                foreach (char c in word)
                {
                    latin |= Scripts.IsLatinLetter(c);
                    asciiDigit |= Scripts.IsAsciiDigit(c);
                    banglaDigit |= Scripts.IsBanglaDigit(c);
                    bengaliLetter |= Scripts.IsBengali(c) && !Scripts.IsBanglaDigit(c);
                }

                if (latin && bengaliLetter)
                {
                    return $"the word '{word}' mixes Latin and Bangla letters; write each word in one script.";
                }

                if ((asciiDigit && banglaDigit) || (latin && banglaDigit) || (bengaliLetter && asciiDigit))
                {
                    return $"the number '{word}' mixes digit systems or scripts (ASCII and Bangla digits, or digits of one with letters of the other); write it in one script.";
                }
            }

            start = end;
        }

        return null;
    }

    private static string Inv(int value) => value.ToString(CultureInfo.InvariantCulture);
}
