using System.Globalization;
using System.Text;

namespace MicroLlm.Generation;

/// <summary>
/// Turns the bytes of generated tokens into text that is safe to show as it streams: it never returns part of a
/// UTF-8 sequence, nor part of a user-perceived character (grapheme cluster), such as a Bangla conjunct
/// <c>ক্ষ</c> whose pieces arrive in separate tokens. It holds back the last cluster until the next token shows
/// it is complete; <see cref="Flush"/> returns what is held at the end. Invalid bytes become U+FFFD.
/// </summary>
public sealed class IncrementalTextDecoder
{
    private readonly Decoder _utf8 = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false).GetDecoder();
    private readonly StringBuilder _pending = new();
    private char[] _chars = new char[64];

    /// <summary>Adds the bytes of one token and returns the text that is now complete (possibly empty).</summary>
    /// <param name="tokenBytes">The UTF-8 bytes the token stands for (may be part of a character).</param>
    /// <returns>Complete grapheme clusters, in order.</returns>
    public string Append(ReadOnlySpan<byte> tokenBytes)
    {
        int needed = _utf8.GetCharCount(tokenBytes, flush: false);
        if (needed > _chars.Length)
        {
            _chars = new char[Math.Max(needed, _chars.Length * 2)];
        }

        int written = _utf8.GetChars(tokenBytes, _chars, flush: false);
        _pending.Append(_chars, 0, written);
        return TakeCompleteClusters();
    }

    /// <summary>Returns everything still held back (call at the end of generation), and resets the decoder.</summary>
    /// <returns>The remaining text; an incomplete UTF-8 sequence at the end becomes U+FFFD.</returns>
    public string Flush()
    {
        int written = _utf8.GetChars([], _chars, flush: true);
        _pending.Append(_chars, 0, written);
        string rest = _pending.ToString();
        _pending.Clear();
        _utf8.Reset();
        return rest;
    }

    private string TakeCompleteClusters()
    {
        if (_pending.Length == 0)
        {
            return string.Empty;
        }

        string text = _pending.ToString();
        // The last cluster may still grow (a vowel sign, a hasanta and the next consonant, a ZWJ sequence): keep it.
        int lastStart = 0;
        for (int i = 0; i < text.Length;)
        {
            int len = StringInfo.GetNextTextElementLength(text, i);
            if (i + len >= text.Length)
            {
                lastStart = i;
                break;
            }

            i += len;
        }

        // A cluster that ends with hasanta (virama) or a joiner also joins the next one.
        while (lastStart > 0 && EndsWithJoiner(text.AsSpan(0, lastStart)))
        {
            lastStart = PreviousClusterStart(text, lastStart);
        }

        if (lastStart == 0)
        {
            return string.Empty;
        }

        _pending.Remove(0, lastStart);
        return text[..lastStart];
    }

    private static bool EndsWithJoiner(ReadOnlySpan<char> text)
    {
        char c = text[^1];
        return c is '\u09CD' or '\u094D' or '\u200D' or '\u200C'; // Bengali hasanta, Devanagari virama, ZWJ, ZWNJ
    }

    private static int PreviousClusterStart(string text, int end)
    {
        int start = 0;
        for (int i = 0; i < end;)
        {
            int len = StringInfo.GetNextTextElementLength(text, i);
            if (i + len >= end)
            {
                return i;
            }

            start = i + len;
            i = start;
        }

        return start;
    }
}
