namespace MicroLlm.Tokenization.Bpe;

/// <summary>
/// Pre-tokenizer stages whose expressions name no Unicode class; the reference runtime matches those against
/// code points (<see cref="CodePointText.WideAt"/>: white space outside ASCII reads as a vertical tab). Each is
/// simple enough to write out: it finds the leftmost match, then the next one after it, as a regex iterator does.
/// </summary>
internal abstract class WideRegexSplitter : WordSplitStep
{
    /// <inheritdoc/>
    public override void Split(CodePointText text, int start, int length, List<int> pieces)
    {
        int end = start + length;
        int gapStart = start;
        int pos = start;
        while (pos < end)
        {
            int matched = MatchAt(text, pos, end);
            if (matched > 0)
            {
                Add(pieces, pos - gapStart);
                Add(pieces, matched);
                pos += matched;
                gapStart = pos;
            }
            else
            {
                pos++;
            }
        }

        Add(pieces, end - gapStart);
    }

    /// <summary>The length of the match that starts at <paramref name="pos"/>, or 0 when none starts there.</summary>
    /// <param name="text">The text.</param>
    /// <param name="pos">Where the match would start.</param>
    /// <param name="end">One past the last code point of the span being split.</param>
    /// <returns>The match length in code points, or 0.</returns>
    protected abstract int MatchAt(CodePointText text, int pos, int end);

    /// <summary>Whether the code point at <paramref name="index"/> is <c>\s</c> for a wide-character expression.</summary>
    /// <param name="text">The text.</param>
    /// <param name="index">A position in range.</param>
    /// <returns><see langword="true"/> for white space.</returns>
    protected static bool IsSpace(CodePointText text, int index) => (text.Classes[index] & CodePointClass.Whitespace) != 0;
}

/// <summary>What may precede the run of a <see cref="SetRunSplitter"/>.</summary>
internal enum RunPrefix
{
    /// <summary>Nothing: <c>[set]+</c>.</summary>
    None,

    /// <summary>An optional space character: <c> ?[set]+</c>.</summary>
    OptionalSpace,

    /// <summary>An optional white-space character: <c>\s?[set]+</c>.</summary>
    OptionalWhitespace,
}

/// <summary><c>prefix?[set]{min,max}</c>: a run of members of a character class, greedy, with an optional one-character prefix.</summary>
internal sealed class SetRunSplitter : WideRegexSplitter
{
    private readonly CodePointSet _set;
    private readonly RunPrefix _prefix;
    private readonly int _min;
    private readonly int _max;

    /// <summary>Creates the stage.</summary>
    /// <param name="set">The class of the run.</param>
    /// <param name="prefix">What may come before the run.</param>
    /// <param name="min">The fewest members in a match.</param>
    /// <param name="max">The most members in a match.</param>
    public SetRunSplitter(CodePointSet set, RunPrefix prefix = RunPrefix.None, int min = 1, int max = int.MaxValue)
    {
        _set = set;
        _prefix = prefix;
        _min = min;
        _max = max;
    }

    /// <inheritdoc/>
    protected override int MatchAt(CodePointText text, int pos, int end)
    {
        // The optional prefix is greedy: taken when the run still matches after it.
        bool prefixHere = _prefix switch
        {
            RunPrefix.OptionalSpace => text.CodePoints[pos] == ' ',
            RunPrefix.OptionalWhitespace => IsSpace(text, pos),
            _ => false,
        };
        if (prefixHere && pos + 1 < end)
        {
            int run = Run(text, pos + 1, end);
            if (run >= _min)
            {
                return run + 1;
            }
        }

        int plain = Run(text, pos, end);
        return plain >= _min ? plain : 0;
    }

    private int Run(CodePointText text, int pos, int end)
    {
        int n = 0;
        while (pos + n < end && n < _max && _set.Contains(text.WideAt(pos + n)))
        {
            n++;
        }

        return n;
    }
}

/// <summary><c>\s+$</c>: the white space that ends a span.</summary>
internal sealed class TrailingWhitespaceSplitter : WideRegexSplitter
{
    /// <summary>The one instance.</summary>
    public static readonly TrailingWhitespaceSplitter Instance = new();

    private TrailingWhitespaceSplitter()
    {
    }

    /// <inheritdoc/>
    public override void Split(CodePointText text, int start, int length, List<int> pieces)
    {
        // The leftmost match is the whole trailing run; finding it from the end keeps this linear.
        int end = start + length;
        int runStart = end;
        while (runStart > start && IsSpace(text, runStart - 1))
        {
            runStart--;
        }

        Add(pieces, runStart - start);
        Add(pieces, end - runStart);
    }

    /// <inheritdoc/>
    protected override int MatchAt(CodePointText text, int pos, int end)
    {
        for (int i = pos; i < end; i++)
        {
            if (!IsSpace(text, i))
            {
                return 0;
            }
        }

        return end - pos;
    }
}

/// <summary>A fixed sequence of parts, each a literal or a bounded run of a class: the Chameleon stages.</summary>
internal sealed class SequenceSplitter : WideRegexSplitter
{
    private readonly (string? Literal, CodePointSet? Set, int Min, int Max)[] _parts;

    private SequenceSplitter(params (string? Literal, CodePointSet? Set, int Min, int Max)[] parts) => _parts = parts;

    /// <summary><c>&lt;sentinel:[0-9]+&gt;</c>.</summary>
    public static SequenceSplitter ChameleonSentinel { get; } = new(
        ("<sentinel:", null, 0, 0), (null, CodePointSet.Of('0', '9'), 1, int.MaxValue), (">", null, 0, 0));

    /// <summary><c>(IMGIMG)((A|B|C|D|E|F|G|H|I){1,4})Z</c>.</summary>
    public static SequenceSplitter ChameleonImage { get; } = new(
        ("IMGIMG", null, 0, 0), (null, CodePointSet.Of('A', 'I'), 1, 4), ("Z", null, 0, 0));

    /// <inheritdoc/>
    protected override int MatchAt(CodePointText text, int pos, int end)
    {
        // No run's class holds the character that can follow it, so greedy runs never need to give back.
        ReadOnlySpan<int> cps = text.CodePoints;
        int p = pos;
        foreach (var (literal, set, min, max) in _parts)
        {
            if (literal is not null)
            {
                foreach (char c in literal)
                {
                    if (p >= end || cps[p] != c)
                    {
                        return 0;
                    }

                    p++;
                }
            }
            else
            {
                int n = 0;
                while (p < end && n < max && set!.Contains(cps[p]))
                {
                    p++;
                    n++;
                }

                if (n < min)
                {
                    return 0;
                }
            }
        }

        return p - pos;
    }
}

/// <summary><c>([\t\n]|    |  )</c>: a tab or line feed, four spaces, or two spaces (Chameleon).</summary>
internal sealed class ChameleonWhitespaceSplitter : WideRegexSplitter
{
    /// <summary>The one instance.</summary>
    public static readonly ChameleonWhitespaceSplitter Instance = new();

    private ChameleonWhitespaceSplitter()
    {
    }

    /// <inheritdoc/>
    protected override int MatchAt(CodePointText text, int pos, int end)
    {
        ReadOnlySpan<int> cps = text.CodePoints;
        if (cps[pos] is '\t' or '\n')
        {
            return 1;
        }

        int spaces = 0;
        while (spaces < 4 && pos + spaces < end && cps[pos + spaces] == ' ')
        {
            spaces++;
        }

        return spaces == 4 ? 4 : spaces >= 2 ? 2 : 0;
    }
}
