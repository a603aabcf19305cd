using System.Text;

namespace MicroLlm.Tokenization;

/// <summary>
/// The token texts as the reference runtime keeps them: an empty piece is renamed <c>[EMPTY_id]</c>, and text is
/// looked up in a map from these texts to ids. Shared by the SentencePiece and WordPiece encoders and the special-token
/// splitter.
/// </summary>
internal sealed class ReferencePieces
{
    private readonly string[] _texts;
    private readonly Dictionary<string, int> _ids;

    /// <summary>Builds the texts and the lookup for a vocabulary.</summary>
    /// <param name="vocabulary">The vocabulary (its pieces are distinct: <see cref="GgufTokenizer"/> checks that).</param>
    public ReferencePieces(GgufVocabulary vocabulary)
    {
        _texts = new string[vocabulary.Count];
        _ids = new Dictionary<string, int>(vocabulary.Count, StringComparer.Ordinal);
        for (int id = 0; id < _texts.Length; id++)
        {
            string text = vocabulary.Tokens[id];
            _texts[id] = text.Length == 0 ? $"[EMPTY_{id}]" : text;
            if (_ids.TryGetValue(_texts[id], out int earlier) && FirstDuplicate is null)
            {
                FirstDuplicate = (earlier, id);
            }

            _ids[_texts[id]] = id; // the last of duplicates wins, as in the reference's map
            MaxByteLength = Math.Max(MaxByteLength, Encoding.UTF8.GetByteCount(_texts[id]));
            MaxLength = Math.Max(MaxLength, _texts[id].Length);
        }

        Lookup = _ids.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    /// <summary>The first two ids found with the same text, if any: the reference runtime refuses such a vocabulary.</summary>
    public (int First, int Second)? FirstDuplicate { get; }

    /// <summary>Lookup by span, without allocating.</summary>
    public Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> Lookup { get; }

    /// <summary>The longest text, in UTF-8 bytes.</summary>
    public int MaxByteLength { get; }

    /// <summary>The longest text, in chars.</summary>
    public int MaxLength { get; }

    /// <summary>The text of token <paramref name="id"/> as the reference keeps it.</summary>
    /// <param name="id">A token id in range.</param>
    /// <returns>The text.</returns>
    public string this[int id] => _texts[id];

    /// <summary>Gets the id of a text.</summary>
    /// <param name="text">The text.</param>
    /// <param name="id">The id, when found.</param>
    /// <returns>Whether the vocabulary has the text.</returns>
    public bool TryGetId(ReadOnlySpan<char> text, out int id) => Lookup.TryGetValue(text, out id);
}
