using System.Text;
using MicroLlm.Tokenization.Bpe;
using MicroLlm.Tokenization.WordPiece;

namespace MicroLlm.Tokenization;

/// <summary>
/// The text encoder of <c>bert</c> vocabularies (WordPiece: BERT, BGE, …), giving the ids the reference runtime
/// (llama.cpp) gives. The text is normalized as the reference does it: each code point replaced by the first code point
/// of its canonical decomposition (accents dropped), control characters dropped, letters lowercased; it is cut into
/// words at white space, and every punctuation mark, ASCII symbol and CJK ideograph is a word of its own. Each word,
/// with <c>▁</c> put before it, is covered greedily by the longest vocabulary tokens from the left; a word that cannot
/// be covered becomes the unknown token.
/// </summary>
/// <remarks>Thread-safe. Lossy by design: case, accents, control characters and the kind and amount of white space are not kept.</remarks>
internal sealed class WordPieceEncoder : TextEncoder
{
    private const char SpaceMark = '\u2581';

    private readonly ReferencePieces _pieces;
    private readonly int _unknownId;
    private readonly byte[] _pieceBytes;
    private readonly int[] _pieceStarts;

    /// <summary>Prepares the encoder for a vocabulary.</summary>
    /// <param name="vocabulary">A <c>bert</c> vocabulary.</param>
    /// <param name="pieces">Its texts as the reference keeps them.</param>
    /// <param name="unknownId">The token for words the vocabulary cannot cover.</param>
    public WordPieceEncoder(GgufVocabulary vocabulary, ReferencePieces pieces, int unknownId)
    {
        _pieces = pieces;
        _unknownId = unknownId;
        (_pieceBytes, _pieceStarts) = SentencePieceBpeEncoder.RenderPieces(vocabulary, pieces, byteFallback: false);
    }

    /// <inheritdoc/>
    public override void Encode(string text, bool afterSpecialOrStart, List<int> output) => EncodeCore(text, output, null);

    /// <inheritdoc/>
    public override void Encode(string text, bool afterSpecialOrStart, List<int> output, List<(int Start, int End)> offsets) => EncodeCore(text, output, offsets);

    /// <inheritdoc/>
    public override ReadOnlySpan<byte> TokenBytes(int id) => _pieceBytes.AsSpan(_pieceStarts[id], _pieceStarts[id + 1] - _pieceStarts[id]);

    /// <summary>The reference's lowercase mapping: Unicode 15.1 simple lowercase (.NET's, less its Turkish exception, and nothing for later code points).</summary>
    /// <param name="codePoint">A code point.</param>
    /// <param name="cls">Its class.</param>
    /// <returns>The lowercase code point.</returns>
    internal static int ToLower(int codePoint, CodePointClass cls) => codePoint switch
    {
        0x130 => 0x69,
        _ when (cls & CodePointClass.CategoryMask) == CodePointClass.Unassigned => codePoint,
        _ => Rune.ToLowerInvariant(new Rune(codePoint)).Value,
    };

    /// <summary>The CJK ideograph blocks the reference makes words of their own (as Hugging Face's BERT does).</summary>
    /// <param name="cp">A code point.</param>
    /// <returns>Whether it is one.</returns>
    internal static bool IsChinese(int cp) =>
        cp is (>= 0x4E00 and <= 0x9FFF) or (>= 0x3400 and <= 0x4DBF) or (>= 0x20000 and <= 0x2A6DF) or (>= 0x2A700 and <= 0x2B73F)
            or (>= 0x2B740 and <= 0x2B81F) or (>= 0x2B920 and <= 0x2CEAF) or (>= 0xF900 and <= 0xFAFF) or (>= 0x2F800 and <= 0x2FA1F);

    private void EncodeCore(string text, List<int> output, List<(int Start, int End)>? offsets)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(output);

        // The current word: "▁" then its normalized code points, with the source range of each.
        var word = new StringBuilder();
        var sources = new List<(int Start, int End)>();
        Span<char> utf16 = stackalloc char[2];
        for (int at = 0; at < text.Length;)
        {
            Rune.DecodeFromUtf16(text.AsSpan(at), out Rune rune, out int consumed);
            (int Start, int End) source = (at, at + consumed);
            at += consumed;

            int cp = FirstDecomposition.Map(rune.Value);
            CodePointClass cls = CodePointClassifier.Classify(cp);
            if ((cls & CodePointClass.Whitespace) != 0)
            {
                Flush(word, sources, output, offsets);
                continue;
            }

            CodePointClass category = cls & CodePointClass.CategoryMask;
            if (cp is 0 or 0xFFFD || category == CodePointClass.Other)
            {
                continue;
            }

            int written = new Rune(ToLower(cp, cls)).EncodeToUtf16(utf16);
            bool alone = category == CodePointClass.Punctuation || (cp < 0x7F && category == CodePointClass.Symbol) || IsChinese(cp);
            if (alone)
            {
                Flush(word, sources, output, offsets);
            }

            if (word.Length == 0)
            {
                word.Append(SpaceMark);
            }

            word.Append(utf16[..written]);
            sources.Add(source);
            if (written == 2)
            {
                sources.Add(source);
            }

            if (alone)
            {
                Flush(word, sources, output, offsets);
            }
        }

        Flush(word, sources, output, offsets);
    }

    /// <summary>Covers the word greedily with the longest tokens from the left; the unknown token if it cannot be covered.</summary>
    private void Flush(StringBuilder wordBuilder, List<(int Start, int End)> sources, List<int> output, List<(int Start, int End)>? offsets)
    {
        if (wordBuilder.Length == 0)
        {
            return;
        }

        string word = wordBuilder.ToString();
        wordBuilder.Clear();
        int first = output.Count;
        int firstOffset = offsets?.Count ?? 0;
        int n = word.Length;
        for (int i = 0; i < n;)
        {
            int end = -1;
            for (int j = Math.Min(n, i + _pieces.MaxLength); j > i; j--)
            {
                if (_pieces.TryGetId(word.AsSpan(i, j - i), out int id))
                {
                    output.Add(id);
                    offsets?.Add((sources[Math.Max(i, 1) - 1].Start, j > 1 ? sources[j - 2].End : sources[0].Start));
                    end = j;
                    break;
                }
            }

            if (end < 0)
            {
                // A part of the word has no token: the whole word is unknown.
                output.RemoveRange(first, output.Count - first);
                offsets?.RemoveRange(firstOffset, offsets.Count - firstOffset);
                break;
            }

            i = end;
        }

        if (output.Count == first)
        {
            output.Add(_unknownId);
            offsets?.Add((sources[0].Start, sources[^1].End));
        }

        sources.Clear();
    }
}
