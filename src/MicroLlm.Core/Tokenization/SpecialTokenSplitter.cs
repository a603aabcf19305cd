using System.Buffers;
using System.Text;

namespace MicroLlm.Tokenization;

/// <summary>One piece of a text cut at special tokens: raw text (<see cref="TokenId"/> &lt; 0) or one special token.</summary>
/// <param name="Start">Where it starts in the text, in chars.</param>
/// <param name="Length">Its length in chars.</param>
/// <param name="TokenId">The special token's id, or -1 for raw text.</param>
internal readonly record struct TextFragment(int Start, int Length, int TokenId)
{
    /// <summary>Whether this is raw text for the text encoder.</summary>
    public bool IsText => TokenId < 0;
}

/// <summary>
/// Cuts special tokens out of a text before the text encoder sees it, as the reference runtime's
/// <c>tokenizer_st_partition</c> does: token by token, longest text first, every occurrence in every piece of raw
/// text left so far. User-defined tokens are always cut out; control and unknown tokens only when special tokens are
/// parsed. A token with the left-strip (right-strip) attribute also swallows the ASCII white space before (after) it.
/// </summary>
internal sealed class SpecialTokenSplitter
{
    private readonly SpecialToken[] _tokens;

    // The first chars of the special tokens: a text without any of them has no special token in it, and one token
    // needs looking for only when its first char is in the text.
    private readonly SearchValues<char> _firstChars;

    /// <summary>Collects the special tokens.</summary>
    /// <param name="pieces">The token texts as the reference keeps them.</param>
    /// <param name="types">The effective token types.</param>
    /// <param name="lstrip">Ids with the left-strip attribute.</param>
    /// <param name="rstrip">Ids with the right-strip attribute.</param>
    public SpecialTokenSplitter(ReferencePieces pieces, IReadOnlyList<GgufTokenType> types, ISet<int> lstrip, ISet<int> rstrip)
    {
        var tokens = new List<SpecialToken>();
        for (int id = 0; id < types.Count; id++)
        {
            if (types[id] is GgufTokenType.Control or GgufTokenType.UserDefined or GgufTokenType.Unknown)
            {
                tokens.Add(new SpecialToken(pieces[id], id, types[id] != GgufTokenType.UserDefined, lstrip.Contains(id), rstrip.Contains(id)));
            }
        }

        // Longest (in UTF-8 bytes) first, as the reference sorts them; ties (which it leaves to its sort) by id.
        _tokens = [.. tokens.OrderByDescending(t => Encoding.UTF8.GetByteCount(t.Text)).ThenBy(t => t.Id)];
        _firstChars = SearchValues.Create([.. _tokens.Select(t => t.Text[0]).Distinct()]);
    }

    /// <summary>Cuts <paramref name="text"/> at special tokens.</summary>
    /// <param name="text">The text (not empty).</param>
    /// <param name="parseSpecial">Whether control and unknown tokens are recognised too.</param>
    /// <returns>The fragments in order; raw-text fragments are never empty.</returns>
    public List<TextFragment> Split(string text, bool parseSpecial)
    {
        var fragments = new List<TextFragment> { new(0, text.Length, -1) };
        HashSet<char>? present = FirstCharsIn(text);
        if (present is null)
        {
            return fragments;
        }

        var next = new List<TextFragment>();
        foreach (SpecialToken token in _tokens)
        {
            if ((token.OnlyWhenParsing && !parseSpecial) || !present.Contains(token.Text[0]) || !text.Contains(token.Text, StringComparison.Ordinal))
            {
                continue;
            }

            next.Clear();
            foreach (TextFragment fragment in fragments)
            {
                if (fragment.IsText)
                {
                    Cut(text, fragment, token, next);
                }
                else
                {
                    next.Add(fragment);
                }
            }

            (fragments, next) = (next, fragments);
        }

        return fragments;
    }

    // The special tokens' first chars that occur in the text; null when none does.
    private HashSet<char>? FirstCharsIn(string text)
    {
        HashSet<char>? present = null;
        ReadOnlySpan<char> rest = text;
        int at;
        while ((at = rest.IndexOfAny(_firstChars)) >= 0)
        {
            (present ??= []).Add(rest[at]);
            rest = rest[(at + 1)..];
        }

        return present;
    }

    private static void Cut(string text, TextFragment fragment, SpecialToken token, List<TextFragment> output)
    {
        int start = fragment.Start, length = fragment.Length;
        while (true)
        {
            int at = text.AsSpan(start, length).IndexOf(token.Text, StringComparison.Ordinal);
            if (at < 0)
            {
                output.Add(new TextFragment(start, length, -1));
                return;
            }

            int left = at;
            if (token.LStrip)
            {
                while (left > 0 && IsAsciiSpace(text[start + left - 1]))
                {
                    left--;
                }
            }

            if (left > 0)
            {
                output.Add(new TextFragment(start, left, -1));
            }

            output.Add(new TextFragment(start + at, token.Text.Length, token.Id));
            int rightStart = start + at + token.Text.Length;
            int rightLength = start + length - rightStart;
            if (token.RStrip)
            {
                while (rightLength > 0 && IsAsciiSpace(text[rightStart]))
                {
                    rightStart++;
                    rightLength--;
                }
            }

            if (rightLength <= 0)
            {
                return;
            }

            (start, length) = (rightStart, rightLength);
        }
    }

    // C's isspace in the "C" locale, which the reference uses for the strip attributes.
    private static bool IsAsciiSpace(char c) => c is ' ' or '\t' or '\n' or '\v' or '\f' or '\r';

    private readonly record struct SpecialToken(string Text, int Id, bool OnlyWhenParsing, bool LStrip, bool RStrip);
}
