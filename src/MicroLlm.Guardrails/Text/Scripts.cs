using System.Globalization;
using System.Text;

namespace MicroLlm.Guardrails.Text;

/// <summary>The writing systems the alerts distinguish.</summary>
internal enum Script
{
    /// <summary>Not a letter or digit: punctuation, symbols, spaces.</summary>
    Common,

    /// <summary>Latin letters (Basic Latin, Latin-1, Extended-A/B, Extended Additional).</summary>
    Latin,

    /// <summary>The Bengali block U+0980-U+09FF.</summary>
    Bengali,

    /// <summary>Any other letter or mark: Cyrillic, Greek, full-width Latin and so on.</summary>
    Other,
}

/// <summary>Character classes used by event validation and by the verifier.</summary>
internal static class Scripts
{
    public const char Zwnj = '\u200C';
    public const char Zwj = '\u200D';
    public const char Hasanta = '\u09CD';
    public const char Nukta = '\u09BC';

    public static bool IsBengali(int c) => c is >= 0x0980 and <= 0x09FF;

    public static bool IsLatinLetter(int c) =>
        c is (>= 'A' and <= 'Z') or (>= 'a' and <= 'z') or (>= 0x00C0 and <= 0x024F and not 0x00D7 and not 0x00F7) or (>= 0x1E00 and <= 0x1EFF);

    public static bool IsBanglaDigit(int c) => c is >= 0x09E6 and <= 0x09EF;

    public static bool IsAsciiDigit(int c) => c is >= '0' and <= '9';

    /// <summary>Consonants that can take a hasanta or vowel sign: ক-হ, ড় ঢ় য়, ৰ ৱ.</summary>
    public static bool IsBengaliConsonant(int c) =>
        c is (>= 0x0995 and <= 0x09B9) or (>= 0x09DC and <= 0x09DF) or 0x09F0 or 0x09F1;

    /// <summary>Dependent vowel signs া-ৌ and the au length mark.</summary>
    public static bool IsBengaliVowelSign(int c) => c is (>= 0x09BE and <= 0x09CC) or 0x09D7 or 0x09E2 or 0x09E3;

    /// <summary>Independent vowels অ-ঔ, ঋ ৠ ঌ ৡ.</summary>
    public static bool IsBengaliIndependentVowel(int c) => c is (>= 0x0985 and <= 0x0994) or 0x09E0 or 0x09E1;

    /// <summary>Candrabindu, anusvara, visarga.</summary>
    public static bool IsBengaliSign(int c) => c is 0x0981 or 0x0982 or 0x0983;

    public static Script Classify(Rune r)
    {
        int c = r.Value;
        if (IsBengali(c))
        {
            return Script.Bengali;
        }

        if (IsLatinLetter(c))
        {
            return Script.Latin;
        }

        if (IsAsciiDigit(c))
        {
            return Script.Common;
        }

        UnicodeCategory cat = Rune.GetUnicodeCategory(r);
        return cat is UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
            or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter or UnicodeCategory.NonSpacingMark
            or UnicodeCategory.SpacingCombiningMark or UnicodeCategory.EnclosingMark or UnicodeCategory.DecimalDigitNumber
            or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber
            ? Script.Other
            : Script.Common;
    }

    /// <summary>Letters, digits and marks: what a word is made of.</summary>
    public static bool IsWordRune(Rune r) => Rune.IsLetterOrDigit(r) || Rune.GetUnicodeCategory(r) is UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark
        || r.Value is Zwj or Zwnj;

    public static bool IsWordChar(char c) => char.IsLetterOrDigit(c) || CharUnicodeInfo.GetUnicodeCategory(c) is UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark
        || c is Zwj or Zwnj;

    /// <summary>Punctuation and symbols allowed in alert text besides ASCII: degree, dashes, curly quotes, the danda, the taka sign.</summary>
    public static bool IsAllowedSymbol(int c) =>
        (c is >= 0x20 and <= 0x7E && !IsAsciiDigit(c) && !(c is (>= 'A' and <= 'Z') or (>= 'a' and <= 'z')))
        || c is 0x00B0 or 0x2013 or 0x2014 or 0x2018 or 0x2019 or 0x201C or 0x201D or 0x0964 or 0x0965 or 0x09F3;

    /// <summary>
    /// The first invalid Bengali sequence in <paramref name="text"/>, or null: a hasanta, vowel sign or nukta that does
    /// not follow a consonant (a hasanta may also join অ or এ to a following য, as in অ্যা), two vowel signs in a row, a sign (ঁ ং ঃ) with no base, or a ZWJ/ZWNJ outside the places
    /// Bangla uses them (after a hasanta before a consonant, or ZWJ between র and a hasanta for র‍্য).
    /// </summary>
    public static string? FindInvalidBanglaSequence(string text)
    {
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            char prev = i > 0 ? text[i - 1] : '\0';
            char next = i + 1 < text.Length ? text[i + 1] : '\0';
            switch (c)
            {
                case Nukta:
                    if (!IsBengaliConsonant(prev))
                    {
                        return Describe(text, i, "a nukta (়) must follow a consonant");
                    }

                    break;
                case Hasanta:
                    // after a consonant (with or without nukta), র + ZWJ (র‍্য), or অ/এ before য (অ্যা, এ্যা: the "æ" sound)
                    bool aPhala = prev is '\u0985' or '\u098F' && next == '\u09AF';
                    if (!(IsBengaliConsonant(prev) || aPhala || (prev == Nukta && i > 1 && IsBengaliConsonant(text[i - 2])) || (prev == Zwj && i > 1 && text[i - 2] == '\u09B0')))
                    {
                        return Describe(text, i, "a hasanta (্) must follow a consonant");
                    }

                    break;
                case Zwj or Zwnj:
                    bool afterHasanta = prev == Hasanta && IsBengaliConsonant(next);
                    bool rephYa = c == Zwj && prev == '\u09B0' && next == Hasanta;
                    if (!afterHasanta && !rephYa)
                    {
                        return Describe(text, i, c == Zwj ? "a stray zero-width joiner (U+200D)" : "a stray zero-width non-joiner (U+200C)");
                    }

                    break;
                default:
                    if (IsBengaliVowelSign(c))
                    {
                        bool base_ = IsBengaliConsonant(prev) || (prev == Nukta && i > 1 && IsBengaliConsonant(text[i - 2]));
                        if (!base_)
                        {
                            return Describe(text, i, IsBengaliVowelSign(prev) ? "two vowel signs in a row" : "a vowel sign must follow a consonant");
                        }
                    }
                    else if (IsBengaliSign(c))
                    {
                        bool base_ = IsBengaliConsonant(prev) || IsBengaliVowelSign(prev) || IsBengaliIndependentVowel(prev) || prev == Nukta;
                        if (!base_)
                        {
                            return Describe(text, i, "candrabindu, anusvara or visarga must follow a letter");
                        }
                    }

                    break;
            }
        }

        return null;
    }

    private static string Describe(string text, int index, string what) =>
        $"{what} at index {index.ToString(CultureInfo.InvariantCulture)} (U+{((int)text[index]).ToString("X4", CultureInfo.InvariantCulture)})";

    public static string CodePoint(Rune r) => "U+" + r.Value.ToString("X4", CultureInfo.InvariantCulture);
}
