using System.Globalization;

namespace MicroLlm.Tokenization.Bpe;

/// <summary>
/// Classifies code points as the reference runtime (llama.cpp) does for its pre-tokenizers: general categories of
/// Unicode 15.1, the version its tables were generated from, and the Unicode <c>White_Space</c> set.
/// </summary>
/// <remarks>
/// The categories come from <see cref="CharUnicodeInfo"/>; the code points that later Unicode versions assigned
/// (<see cref="AssignedAfterReference"/>) are reported <see cref="CodePointClass.Unassigned"/>, as the reference
/// sees them. A test compares the whole table with a digest of the reference's own table, so a runtime with a newer
/// Unicode version shows up as a failing test naming the ranges to add.
/// </remarks>
internal static class CodePointClassifier
{
    /// <summary>The highest code point plus one.</summary>
    public const int CodePointCount = 0x110000;

    /// <summary>
    /// Inclusive ranges, as (first, last) pairs in ascending order, of the code points assigned by Unicode 16.0:
    /// unassigned for the reference runtime (Unicode 15.1), assigned for .NET 10's <see cref="CharUnicodeInfo"/>.
    /// </summary>
    internal static ReadOnlySpan<int> AssignedAfterReference =>
    [
        0x0897, 0x0897, 0x1B4E, 0x1B4F, 0x1B7F, 0x1B7F, 0x1C89, 0x1C8A, 0x2427, 0x2429, 0x31E4, 0x31E5,
        0xA7CB, 0xA7CD, 0xA7DA, 0xA7DC, 0x105C0, 0x105F3, 0x10D40, 0x10D65, 0x10D69, 0x10D85, 0x10D8E, 0x10D8F,
        0x10EC2, 0x10EC4, 0x10EFC, 0x10EFC, 0x11380, 0x11389, 0x1138B, 0x1138B, 0x1138E, 0x1138E, 0x11390, 0x113B5,
        0x113B7, 0x113C0, 0x113C2, 0x113C2, 0x113C5, 0x113C5, 0x113C7, 0x113CA, 0x113CC, 0x113D5, 0x113D7, 0x113D8,
        0x113E1, 0x113E2, 0x116D0, 0x116E3, 0x11BC0, 0x11BE1, 0x11BF0, 0x11BF9, 0x11F5A, 0x11F5A, 0x13460, 0x143FA,
        0x16100, 0x16139, 0x16D40, 0x16D79, 0x18CFF, 0x18CFF, 0x1CC00, 0x1CCF9, 0x1CD00, 0x1CEB3, 0x1E5D0, 0x1E5FA,
        0x1E5FF, 0x1E5FF, 0x1F8B2, 0x1F8BB, 0x1F8C0, 0x1F8C1, 0x1FA89, 0x1FA89, 0x1FA8F, 0x1FA8F, 0x1FABE, 0x1FABE,
        0x1FAC6, 0x1FAC6, 0x1FADC, 0x1FADC, 0x1FADF, 0x1FADF, 0x1FAE9, 0x1FAE9, 0x1FBCB, 0x1FBEF,
    ];

    // The classes of the ASCII range, looked up directly: most text is mostly ASCII.
    private static readonly CodePointClass[] Ascii = BuildAscii();

    /// <summary>Gets the class of a code point.</summary>
    /// <param name="codePoint">A code point, 0 to 0x10FFFF.</param>
    /// <returns>Its category bit, plus <see cref="CodePointClass.Whitespace"/> when it is white space.</returns>
    public static CodePointClass Classify(int codePoint)
    {
        if ((uint)codePoint < 128)
        {
            return Ascii[codePoint];
        }

        if ((uint)codePoint >= CodePointCount)
        {
            return CodePointClass.Unassigned;
        }

        CodePointClass category = IsAssignedAfterReference(codePoint)
            ? CodePointClass.Unassigned
            : FromCategory(CharUnicodeInfo.GetUnicodeCategory(codePoint));
        return IsWhiteSpace(codePoint) ? category | CodePointClass.Whitespace : category;
    }

    /// <summary>Whether a code point has the Unicode <c>White_Space</c> property (25 code points).</summary>
    /// <param name="codePoint">A code point.</param>
    /// <returns><see langword="true"/> for tab through carriage return, space, U+0085, U+00A0, U+1680, U+2000-U+200A, U+2028, U+2029, U+202F, U+205F and U+3000.</returns>
    public static bool IsWhiteSpace(int codePoint) => codePoint switch
    {
        >= 0x09 and <= 0x0D or 0x20 or 0x85 or 0xA0 or 0x1680 => true,
        >= 0x2000 and <= 0x200A or 0x2028 or 0x2029 or 0x202F or 0x205F or 0x3000 => true,
        _ => false,
    };

    /// <summary>Maps a .NET general category to its class.</summary>
    /// <param name="category">The category.</param>
    /// <returns>The single category bit.</returns>
    internal static CodePointClass FromCategory(UnicodeCategory category) => category switch
    {
        UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
            or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter => CodePointClass.Letter,
        UnicodeCategory.DecimalDigitNumber or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber => CodePointClass.Number,
        UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark or UnicodeCategory.EnclosingMark => CodePointClass.Mark,
        UnicodeCategory.ConnectorPunctuation or UnicodeCategory.DashPunctuation or UnicodeCategory.OpenPunctuation
            or UnicodeCategory.ClosePunctuation or UnicodeCategory.InitialQuotePunctuation
            or UnicodeCategory.FinalQuotePunctuation or UnicodeCategory.OtherPunctuation => CodePointClass.Punctuation,
        UnicodeCategory.MathSymbol or UnicodeCategory.CurrencySymbol or UnicodeCategory.ModifierSymbol
            or UnicodeCategory.OtherSymbol => CodePointClass.Symbol,
        UnicodeCategory.SpaceSeparator or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator => CodePointClass.Separator,
        UnicodeCategory.OtherNotAssigned => CodePointClass.Unassigned,
        _ => CodePointClass.Other, // Control, Format, Surrogate, PrivateUse
    };

    private static bool IsAssignedAfterReference(int codePoint)
    {
        ReadOnlySpan<int> ranges = AssignedAfterReference;
        if (codePoint < ranges[0] || codePoint > ranges[^1])
        {
            return false;
        }

        // Binary search over the range pairs for the last range starting at or before the code point.
        int lo = 0, hi = (ranges.Length / 2) - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            if (ranges[2 * mid] <= codePoint)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid - 1;
            }
        }

        return hi >= 0 && codePoint <= ranges[(2 * hi) + 1];
    }

    private static CodePointClass[] BuildAscii()
    {
        var table = new CodePointClass[128];
        for (int c = 0; c < table.Length; c++)
        {
            CodePointClass category = FromCategory(CharUnicodeInfo.GetUnicodeCategory(c));
            table[c] = IsWhiteSpace(c) ? category | CodePointClass.Whitespace : category;
        }

        return table;
    }
}
