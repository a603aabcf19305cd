using System.Text;

namespace MicroLlm.Tokenization.Bpe;

/// <summary>
/// A text fragment as the pre-tokenizer sees it: one entry per code point, with its class and the two
/// single-unit spellings the reference runtime's regular expressions run on. Reused between calls on one thread.
/// </summary>
internal sealed class CodePointText
{
    /// <summary>The collapsed spelling of a code point outside ASCII that is white space.</summary>
    public const char CollapsedWhitespace = '\v';

    /// <summary>The collapsed spelling of a number outside ASCII (<c>\p{N}</c>).</summary>
    public const char CollapsedNumber = '\u00D1';

    /// <summary>The collapsed spelling of a letter outside ASCII (<c>\p{L}</c>).</summary>
    public const char CollapsedLetter = '\u00D2';

    /// <summary>The collapsed spelling of punctuation outside ASCII (<c>\p{P}</c>).</summary>
    public const char CollapsedPunctuation = '\u00D3';

    /// <summary>The collapsed spelling of a mark outside ASCII (<c>\p{M}</c>).</summary>
    public const char CollapsedMark = '\u00D4';

    /// <summary>The collapsed spelling of a symbol outside ASCII (<c>\p{S}</c>).</summary>
    public const char CollapsedSymbol = '\u00D5';

    /// <summary>The collapsed spelling of anything else outside ASCII: separators that are not white space, controls, format characters, unassigned code points.</summary>
    public const char CollapsedOther = '\u00D0';

    private int[] _codePoints = new int[64];
    private CodePointClass[] _classes = new CodePointClass[64];
    private char[] _collapsed = new char[64];
    private bool _collapsedReady;

    /// <summary>The number of code points.</summary>
    public int Length { get; private set; }

    /// <summary>The code points; unpaired surrogates read as U+FFFD, as their UTF-8 encoding does.</summary>
    public ReadOnlySpan<int> CodePoints => _codePoints.AsSpan(0, Length);

    /// <summary>The class of each code point.</summary>
    public ReadOnlySpan<CodePointClass> Classes => _classes.AsSpan(0, Length);

    /// <summary>
    /// The text with each code point written as one <see langword="char"/>: ASCII as itself, anything else as the
    /// stand-in of its class (<see cref="CollapsedLetter"/>, …). The reference runtime matches its regular
    /// expressions that name Unicode classes against this spelling, so a regular expression over it sees exactly
    /// what the reference sees, and match positions are code point positions.
    /// </summary>
    public ReadOnlySpan<char> Collapsed
    {
        get
        {
            if (!_collapsedReady)
            {
                BuildCollapsed();
            }

            return _collapsed.AsSpan(0, Length);
        }
    }

    /// <summary>Loads <paramref name="text"/>, replacing what was there.</summary>
    /// <param name="text">UTF-16 text.</param>
    public void Load(string text)
    {
        if (_codePoints.Length < text.Length)
        {
            int size = Math.Max(text.Length, _codePoints.Length * 2);
            _codePoints = new int[size];
            _classes = new CodePointClass[size];
            _collapsed = new char[size];
        }

        int n = 0;
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            int cp = c;
            if (char.IsSurrogate(c))
            {
                if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
                {
                    cp = char.ConvertToUtf32(c, text[i + 1]);
                    i++;
                }
                else
                {
                    cp = Rune.ReplacementChar.Value;
                }
            }

            _codePoints[n] = cp;
            _classes[n] = CodePointClassifier.Classify(cp);
            n++;
        }

        Length = n;
        _collapsedReady = false;
    }

    /// <summary>The class at <paramref name="index"/>, or <see cref="CodePointClass.None"/> outside [<paramref name="start"/>, <paramref name="end"/>).</summary>
    /// <param name="index">A code point position.</param>
    /// <param name="start">The first position of the span being split.</param>
    /// <param name="end">One past its last position.</param>
    /// <returns>The class, or <see cref="CodePointClass.None"/>.</returns>
    public CodePointClass ClassAt(int index, int start, int end) => index >= start && index < end ? _classes[index] : CodePointClass.None;

    /// <summary>
    /// The code point as the reference runtime's wide-character regular expressions see it: itself, except that
    /// white space outside ASCII reads as a vertical tab (their <c>\s</c> matches only ASCII white space).
    /// </summary>
    /// <param name="index">A code point position.</param>
    /// <returns>The code point to match.</returns>
    public int WideAt(int index)
    {
        int cp = _codePoints[index];
        return cp > 0x7F && (_classes[index] & CodePointClass.Whitespace) != 0 ? CollapsedWhitespace : cp;
    }

    /// <summary>Writes the UTF-8 bytes of code points [<paramref name="start"/>, +<paramref name="length"/>) as byte-level alphabet characters.</summary>
    /// <param name="start">The first code point.</param>
    /// <param name="length">The number of code points.</param>
    /// <param name="destination">Where the characters go: at least 4 per code point.</param>
    /// <returns>The number of characters written (the number of UTF-8 bytes).</returns>
    public int WriteByteLevel(int start, int length, Span<char> destination)
    {
        Span<byte> utf8 = stackalloc byte[4];
        int written = 0;
        for (int i = start; i < start + length; i++)
        {
            int n = new Rune(_codePoints[i]).EncodeToUtf8(utf8);
            for (int k = 0; k < n; k++)
            {
                destination[written++] = ByteLevelAlphabet.ToChar(utf8[k]);
            }
        }

        return written;
    }

    private void BuildCollapsed()
    {
        for (int i = 0; i < Length; i++)
        {
            int cp = _codePoints[i];
            CodePointClass cls = _classes[i];
            _collapsed[i] = cp < 0x80 ? (char)cp
                : (cls & CodePointClass.Whitespace) != 0 ? CollapsedWhitespace
                : (cls & CodePointClass.CategoryMask) switch
                {
                    CodePointClass.Number => CollapsedNumber,
                    CodePointClass.Letter => CollapsedLetter,
                    CodePointClass.Punctuation => CollapsedPunctuation,
                    CodePointClass.Mark => CollapsedMark,
                    CodePointClass.Symbol => CollapsedSymbol,
                    _ => CollapsedOther,
                };
        }

        _collapsedReady = true;
    }
}
