using MicroLlm.Gguf;

namespace MicroLlm.Tokenization;

/// <summary>
/// The vocabulary a GGUF file declares in its <c>tokenizer.*</c> metadata: tokens, their kinds and scores,
/// BPE merges, special token ids and flags. Validated when read: ids in range, arrays of matching lengths.
/// </summary>
public sealed class GgufVocabulary
{
    private readonly string[] _tokens;
    private readonly float[]? _scores;
    private readonly GgufTokenType[] _types;
    private readonly string[] _merges;
    private readonly Dictionary<string, int> _ids;

    private GgufVocabulary(GgufMetadata m)
    {
        Model = Required(m, "tokenizer.ggml.model").AsString();
        PreTokenizer = m.GetString("tokenizer.ggml.pre");
        _tokens = [.. Required(m, "tokenizer.ggml.tokens").AsStringArray()];
        if (_tokens.Length == 0)
        {
            throw new InvalidDataException("The GGUF file's tokenizer.ggml.tokens is empty; a vocabulary needs at least one token.");
        }

        _scores = m.TryGetValue("tokenizer.ggml.scores", out var scores) ? Sized(scores.ToSingleArray(), "tokenizer.ggml.scores") : null;
        _types = m.TryGetValue("tokenizer.ggml.token_type", out var types)
            ? Array.ConvertAll(Sized(types.ToInt32Array(), "tokenizer.ggml.token_type"), t => t is >= 0 and <= 6 ? (GgufTokenType)t : GgufTokenType.Undefined)
            : Enumerable.Repeat(GgufTokenType.Normal, _tokens.Length).ToArray();
        _merges = m.TryGetValue("tokenizer.ggml.merges", out var merges) ? [.. merges.AsStringArray()] : [];

        _ids = new Dictionary<string, int>(_tokens.Length, StringComparer.Ordinal);
        for (int i = 0; i < _tokens.Length; i++)
        {
            _ids[_tokens[i]] = i; // the last of duplicate pieces wins, as in the reference runtime's map (which then refuses the file)
        }

        BosId = Id(m, "tokenizer.ggml.bos_token_id");
        EosId = Id(m, "tokenizer.ggml.eos_token_id");
        EotId = Id(m, "tokenizer.ggml.eot_token_id");
        EomId = Id(m, "tokenizer.ggml.eom_token_id");
        UnknownId = Id(m, "tokenizer.ggml.unknown_token_id");
        SeparatorId = Id(m, "tokenizer.ggml.seperator_token_id");
        PaddingId = Id(m, "tokenizer.ggml.padding_token_id");
        ClsId = Id(m, "tokenizer.ggml.cls_token_id");
        MaskId = Id(m, "tokenizer.ggml.mask_token_id");
        AddBos = m.GetBoolean("tokenizer.ggml.add_bos_token");
        AddEos = m.GetBoolean("tokenizer.ggml.add_eos_token");
        AddSpacePrefix = m.GetBoolean("tokenizer.ggml.add_space_prefix");
        RemoveExtraWhitespaces = m.GetBoolean("tokenizer.ggml.remove_extra_whitespaces");
        ChatTemplate = m.GetString("tokenizer.chat_template");
    }

    /// <summary>The tokenizer model: <c>llama</c> (SentencePiece BPE), <c>gpt2</c> (byte-level BPE), <c>bert</c> (WordPiece), …</summary>
    public string Model { get; }

    /// <summary>The pre-tokenizer name for <c>gpt2</c> vocabularies (<c>tokenizer.ggml.pre</c>), such as <c>llama-bpe</c> or <c>qwen2</c>.</summary>
    public string? PreTokenizer { get; }

    /// <summary>The number of tokens.</summary>
    public int Count => _tokens.Length;

    /// <summary>The token pieces, by id.</summary>
    public IReadOnlyList<string> Tokens => _tokens;

    /// <summary>The scores (SentencePiece merge priorities), by id, or <see langword="null"/> when the file has none.</summary>
    public IReadOnlyList<float>? Scores => _scores;

    /// <summary>The token kinds, by id (<see cref="GgufTokenType.Normal"/> when the file does not say; <see cref="GgufTokenType.Undefined"/> for values outside 0-6, as the reference reads them).</summary>
    public IReadOnlyList<GgufTokenType> TokenTypes => _types;

    /// <summary>The BPE merges, highest priority first, each two pieces separated by a space.</summary>
    public IReadOnlyList<string> Merges => _merges;

    /// <summary>Beginning-of-sequence token id, if declared.</summary>
    public int? BosId { get; }

    /// <summary>End-of-sequence token id, if declared.</summary>
    public int? EosId { get; }

    /// <summary>End-of-turn token id, if declared.</summary>
    public int? EotId { get; }

    /// <summary>End-of-message token id, if declared.</summary>
    public int? EomId { get; }

    /// <summary>Unknown token id, if declared.</summary>
    public int? UnknownId { get; }

    /// <summary>Separator token id, if declared.</summary>
    public int? SeparatorId { get; }

    /// <summary>Padding token id, if declared.</summary>
    public int? PaddingId { get; }

    /// <summary>Classifier token id, if declared.</summary>
    public int? ClsId { get; }

    /// <summary>Mask token id, if declared.</summary>
    public int? MaskId { get; }

    /// <summary>Whether the model wants BOS added, if the file says.</summary>
    public bool? AddBos { get; }

    /// <summary>Whether the model wants EOS added, if the file says.</summary>
    public bool? AddEos { get; }

    /// <summary>Whether a space is put before the text (SentencePiece), if the file says.</summary>
    public bool? AddSpacePrefix { get; }

    /// <summary>Whether runs of whitespace are collapsed, if the file says.</summary>
    public bool? RemoveExtraWhitespaces { get; }

    /// <summary>The chat template (<c>tokenizer.chat_template</c>), if the file has one.</summary>
    public string? ChatTemplate { get; }

    /// <summary>Reads the vocabulary from a file's metadata.</summary>
    /// <param name="metadata">The metadata of a GGUF model or vocabulary file.</param>
    /// <returns>The vocabulary.</returns>
    /// <exception cref="InvalidDataException">The metadata lacks a tokenizer, or it is inconsistent; the message says which key.</exception>
    public static GgufVocabulary FromMetadata(GgufMetadata metadata)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        try
        {
            return new GgufVocabulary(metadata);
        }
        catch (InvalidOperationException e)
        {
            throw new InvalidDataException($"The GGUF file's tokenizer metadata is malformed: {e.Message}", e);
        }
    }

    /// <summary>Gets the id of a piece.</summary>
    /// <param name="piece">The token's text as stored.</param>
    /// <param name="id">The id, when found.</param>
    /// <returns><see langword="true"/> if the vocabulary has the piece.</returns>
    public bool TryGetId(string piece, out int id) => _ids.TryGetValue(piece, out id);

    /// <summary>The kind of token <paramref name="id"/>.</summary>
    /// <param name="id">A token id.</param>
    /// <returns>Its kind.</returns>
    public GgufTokenType GetTokenType(int id) => _types[id];

    private T[] Sized<T>(T[] values, string key) => values.Length == _tokens.Length
        ? values
        : throw new InvalidDataException($"The GGUF file's {key} has {values.Length} entries but tokenizer.ggml.tokens has {_tokens.Length}.");

    private static GgufValue Required(GgufMetadata m, string key) => m.TryGetValue(key, out var v)
        ? v
        : throw new InvalidDataException($"The GGUF file has no tokenizer: metadata key '{key}' is missing.");

    private int? Id(GgufMetadata m, string key)
    {
        if (!m.TryGetValue(key, out var v))
        {
            return null;
        }

        long id = v.AsInt64();
        // The reference runtime writes -1 (as uint32 0xFFFFFFFF) for "none".
        if (id == -1 || id == uint.MaxValue)
        {
            return null;
        }

        return id >= 0 && id < _tokens.Length
            ? (int)id
            : throw new InvalidDataException($"The GGUF file's {key} is {id}, outside the vocabulary of {_tokens.Length} tokens.");
    }
}
