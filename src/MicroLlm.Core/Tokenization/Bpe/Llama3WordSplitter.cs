namespace MicroLlm.Tokenization.Bpe;

/// <summary>
/// The Llama 3 pre-tokenizer expression
/// <c>(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+</c>,
/// written out by hand as the reference runtime does (its own splitter, not a regular expression engine).
/// </summary>
internal sealed class Llama3WordSplitter : WordSplitStep
{
    /// <summary>The one instance.</summary>
    public static readonly Llama3WordSplitter Instance = new();

    private const CodePointClass WordLike = CodePointClass.Whitespace | CodePointClass.Letter | CodePointClass.Number;

    private Llama3WordSplitter()
    {
    }

    /// <inheritdoc/>
    public override void Split(CodePointText text, int start, int length, List<int> pieces)
    {
        ReadOnlySpan<int> cps = text.CodePoints;
        int end = start + length;
        int pos = start;
        while (pos < end)
        {
            int cp = cps[pos];
            CodePointClass cls = text.ClassAt(pos, start, end);

            // 's 't 'm 'd 're 've 'll in any case (only ASCII letters fold to these)
            if (cp == '\'' && pos + 1 < end)
            {
                int next = AsciiLower(cps[pos + 1]);
                if (next is 's' or 't' or 'm' or 'd')
                {
                    pos = Emit(pieces, pos, pos + 2);
                    continue;
                }

                if (pos + 2 < end)
                {
                    int nextNext = AsciiLower(cps[pos + 2]);
                    if ((next == 'r' && nextNext == 'e') || (next == 'v' && nextNext == 'e') || (next == 'l' && nextNext == 'l'))
                    {
                        pos = Emit(pieces, pos, pos + 3);
                        continue;
                    }
                }
            }

            // [^\r\n\p{L}\p{N}]?\p{L}+
            if (!(cp == '\r' || cp == '\n' || (cls & CodePointClass.Number) != 0)
                && ((cls & CodePointClass.Letter) != 0 || (text.ClassAt(pos + 1, start, end) & CodePointClass.Letter) != 0))
            {
                int p = pos + 1;
                while ((text.ClassAt(p, start, end) & CodePointClass.Letter) != 0)
                {
                    p++;
                }

                pos = Emit(pieces, pos, p);
                continue;
            }

            // \p{N}{1,3}: a run of numbers in pieces of three
            if ((cls & CodePointClass.Number) != 0)
            {
                int p = pos;
                while ((text.ClassAt(p, start, end) & CodePointClass.Number) != 0)
                {
                    p++;
                    if (p - pos == 3)
                    {
                        pos = Emit(pieces, pos, p);
                    }
                }

                pos = Emit(pieces, pos, p);
                continue;
            }

            // ' ?[^\s\p{L}\p{N}]+[\r\n]*'
            CodePointClass first = cp == ' ' ? text.ClassAt(pos + 1, start, end) : cls;
            if ((first & WordLike) == 0 && cls != CodePointClass.None)
            {
                int p = cp == ' ' ? pos + 1 : pos;
                CodePointClass c = first;
                while ((c & WordLike) == 0 && c != CodePointClass.None)
                {
                    c = text.ClassAt(++p, start, end);
                }

                while (p < end && cps[p] is '\r' or '\n')
                {
                    p++;
                }

                pos = Emit(pieces, pos, p);
                continue;
            }

            int spaces = 0;
            int afterLastLineBreak = -1;
            while ((text.ClassAt(pos + spaces, start, end) & CodePointClass.Whitespace) != 0)
            {
                if (cps[pos + spaces] is '\r' or '\n')
                {
                    afterLastLineBreak = pos + spaces + 1;
                }

                spaces++;
            }

            // \s*[\r\n]+: white space up to and including the last line break of the run
            if (afterLastLineBreak >= 0)
            {
                pos = Emit(pieces, pos, afterLastLineBreak);
                continue;
            }

            // \s+(?!\S): white space followed by more text leaves its last character to the next piece.
            if (spaces > 1 && pos + spaces < end)
            {
                pos = Emit(pieces, pos, pos + spaces - 1);
                continue;
            }

            pos = Emit(pieces, pos, pos + Math.Max(spaces, 1));
        }
    }

    private static int AsciiLower(int cp) => cp is >= 'A' and <= 'Z' ? cp + 32 : cp;

    private static int Emit(List<int> pieces, int from, int to)
    {
        Add(pieces, to - from);
        return to;
    }
}
