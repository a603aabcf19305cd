namespace MicroLlm.Tokenization.Bpe;

/// <summary>
/// The GPT-2 pre-tokenizer expression <c>'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+</c>,
/// written out by hand as the reference runtime does (its own splitter, not a regular expression engine).
/// </summary>
internal sealed class Gpt2WordSplitter : WordSplitStep
{
    /// <summary>The one instance.</summary>
    public static readonly Gpt2WordSplitter Instance = new();

    private const CodePointClass WordLike = CodePointClass.Whitespace | CodePointClass.Letter | CodePointClass.Number;

    private Gpt2WordSplitter()
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

            // 's 't 'm 'd 're 've 'll (lower case only)
            if (cp == '\'' && pos + 1 < end)
            {
                int next = cps[pos + 1];
                if (next is 's' or 't' or 'm' or 'd')
                {
                    pos = Emit(pieces, pos, pos + 2);
                    continue;
                }

                if (pos + 2 < end)
                {
                    int nextNext = cps[pos + 2];
                    if ((next == 'r' && nextNext == 'e') || (next == 'v' && nextNext == 'e') || (next == 'l' && nextNext == 'l'))
                    {
                        pos = Emit(pieces, pos, pos + 3);
                        continue;
                    }
                }
            }

            // An optional leading space, then a run of letters, of numbers, or of anything but those and white space.
            RunKind run = KindOf(cp == ' ' ? text.ClassAt(pos + 1, start, end) : cls);
            if (run != RunKind.None)
            {
                int p = cp == ' ' ? pos + 1 : pos;
                while (InRun(text.ClassAt(p, start, end), run))
                {
                    p++;
                }

                pos = Emit(pieces, pos, p);
                continue;
            }

            int spaces = 0;
            while ((text.ClassAt(pos + spaces, start, end) & CodePointClass.Whitespace) != 0)
            {
                spaces++;
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

    private static RunKind KindOf(CodePointClass cls) =>
        (cls & CodePointClass.Letter) != 0 ? RunKind.Letters
        : (cls & CodePointClass.Number) != 0 ? RunKind.Numbers
        : (cls & WordLike) == 0 && cls != CodePointClass.None ? RunKind.Others
        : RunKind.None;

    private static bool InRun(CodePointClass cls, RunKind run) => KindOf(cls) == run;

    private static int Emit(List<int> pieces, int from, int to)
    {
        Add(pieces, to - from);
        return to;
    }

    /// <summary>The three kinds of run the expression takes after an optional space.</summary>
    private enum RunKind
    {
        /// <summary>Not the start of a run: white space, or past the end.</summary>
        None,

        /// <summary><c>\p{L}+</c>.</summary>
        Letters,

        /// <summary><c>\p{N}+</c>.</summary>
        Numbers,

        /// <summary><c>[^\s\p{L}\p{N}]+</c>.</summary>
        Others,
    }
}
