using System.Text;

namespace MicroLlm.Tokenization;

/// <summary>
/// The vocabulary-type-specific half of a GGUF tokenizer: turns one fragment of plain text (special tokens
/// already split out by the GGUF tokenizer) into ids, and gives the bytes each id stands for.
/// </summary>
internal abstract class TextEncoder
{
    /// <summary>Appends the ids of <paramref name="text"/> to <paramref name="output"/>.</summary>
    /// <param name="text">A fragment of raw text with no special tokens in it.</param>
    /// <param name="afterSpecialOrStart">Whether the fragment starts the input or follows a special token (SentencePiece adds its space prefix only then).</param>
    /// <param name="output">Where the ids go.</param>
    public abstract void Encode(string text, bool afterSpecialOrStart, List<int> output);

    /// <summary>Appends the ids of <paramref name="text"/> and, for each, the range of <paramref name="text"/> it covers.</summary>
    /// <param name="text">A fragment of raw text with no special tokens in it.</param>
    /// <param name="afterSpecialOrStart">As for <see cref="Encode(string, bool, List{int})"/>.</param>
    /// <param name="output">Where the ids go.</param>
    /// <param name="offsets">Where the ranges go, one per id: (start, end) in chars of <paramref name="text"/>. Tokens that stand for part of a character cover the whole character.</param>
    public virtual void Encode(string text, bool afterSpecialOrStart, List<int> output, List<(int Start, int End)> offsets)
    {
        int first = output.Count;
        Encode(text, afterSpecialOrStart, output);
        AlignByBytes(text, 0, output, first, offsets);
    }

    /// <summary>The UTF-8 bytes token <paramref name="id"/> contributes to decoded text (possibly part of a character).</summary>
    /// <param name="id">A token id in range.</param>
    /// <returns>The bytes; empty for tokens that render as nothing.</returns>
    public abstract ReadOnlySpan<byte> TokenBytes(int id);

    /// <summary>
    /// Finds the range of <paramref name="text"/> each new id covers by laying the tokens' bytes over the text's UTF-8
    /// bytes in order. A token whose bytes are not next in the text is looked for further on (the encoder dropped bytes
    /// it had no token for); one that is nowhere (an unknown token) covers nothing.
    /// </summary>
    /// <param name="text">The fragment.</param>
    /// <param name="skipBytes">Bytes at the start of the first token that are not in the text (a space prefix).</param>
    /// <param name="ids">All ids so far.</param>
    /// <param name="first">The first id of this fragment.</param>
    /// <param name="offsets">Where the ranges go.</param>
    protected void AlignByBytes(string text, int skipBytes, List<int> ids, int first, List<(int Start, int End)> offsets)
    {
        byte[] utf8 = Encoding.UTF8.GetBytes(text);

        // charAt[b]: the char index where the character holding byte b starts; charAt[utf8.Length] = text.Length.
        var charAt = new int[utf8.Length + 1];
        int b = 0;
        for (int c = 0; c < text.Length;)
        {
            int chars = char.IsHighSurrogate(text[c]) && c + 1 < text.Length ? 2 : 1;
            int bytes = Encoding.UTF8.GetByteCount(text.AsSpan(c, chars));
            for (int k = 0; k < bytes; k++)
            {
                charAt[b + k] = c;
            }

            b += bytes;
            c += chars;
        }

        charAt[utf8.Length] = text.Length;
        int cursor = 0;
        for (int i = first; i < ids.Count; i++)
        {
            ReadOnlySpan<byte> piece = TokenBytes(ids[i]);
            if (i == first && skipBytes > 0)
            {
                piece = piece[Math.Min(skipBytes, piece.Length)..];
            }

            int at = piece.IsEmpty ? -1 : utf8.AsSpan(cursor).IndexOf(piece);
            if (at < 0)
            {
                offsets.Add((charAt[cursor], charAt[cursor]));
                continue;
            }

            int start = cursor + at, end = start + piece.Length;
            offsets.Add((charAt[start], end == utf8.Length ? text.Length : CharEnd(charAt, end)));
            cursor = end;
        }
    }

    // The end of the character holding byte end - 1.
    private static int CharEnd(int[] charAt, int end)
    {
        int c = charAt[end - 1];
        int next = end;
        while (next < charAt.Length - 1 && charAt[next] == c)
        {
            next++;
        }

        return charAt[next];
    }
}
