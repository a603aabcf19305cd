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

    /// <summary>The UTF-8 bytes token <paramref name="id"/> contributes to decoded text (possibly part of a character).</summary>
    /// <param name="id">A token id in range.</param>
    /// <returns>The bytes; empty for tokens that render as nothing.</returns>
    public abstract ReadOnlySpan<byte> TokenBytes(int id);
}
