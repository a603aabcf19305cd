namespace MicroLlm.Tokenization.Bpe;

/// <summary>
/// One stage of a byte-level pre-tokenizer: cuts a span of text into consecutive pieces. A pre-tokenizer runs its
/// stages in turn, each on every piece the stage before it produced, as the reference runtime applies its list of
/// regular expressions: the matches become pieces, and so does the text between them.
/// </summary>
internal abstract class WordSplitStep
{
    /// <summary>Appends the lengths of the pieces that span [<paramref name="start"/>, +<paramref name="length"/>) falls into, in order, covering it exactly.</summary>
    /// <param name="text">The text.</param>
    /// <param name="start">The first code point of the span.</param>
    /// <param name="length">The number of code points in the span, at least one.</param>
    /// <param name="pieces">Where the piece lengths, in code points, go; none is zero.</param>
    public abstract void Split(CodePointText text, int start, int length, List<int> pieces);

    /// <summary>Appends a piece length unless it is zero.</summary>
    /// <param name="pieces">The piece lengths.</param>
    /// <param name="length">The length to add.</param>
    protected static void Add(List<int> pieces, int length)
    {
        if (length > 0)
        {
            pieces.Add(length);
        }
    }
}
