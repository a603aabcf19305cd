using System.Buffers;
using System.Text;
using MicroLlm.Gguf;
using MicroLlm.Tokenization.Bpe;
using Microsoft.ML.Tokenizers;

namespace MicroLlm.Tokenization;

/// <summary>
/// A <see cref="Tokenizer"/> built from a GGUF file's own <c>tokenizer.*</c> metadata, giving the ids the reference
/// runtime (llama.cpp) gives: SentencePiece BPE for <c>llama</c> vocabularies, byte-level BPE with the named
/// pre-tokenizer for <c>gpt2</c> ones, WordPiece for <c>bert</c> ones.
/// </summary>
/// <remarks>
/// <para>
/// Encoding first cuts special tokens out of the text: user-defined tokens always, control tokens only when special
/// tokens are parsed (with the strip attributes the reference gives some models' special tokens); the text between
/// them goes through the vocabulary's encoder. BOS and EOS are added as the model declares
/// (<c>tokenizer.ggml.add_bos_token</c>, <c>add_eos_token</c>, else the reference's default for the vocabulary type);
/// WordPiece vocabularies get <c>[CLS]</c> … <c>[SEP]</c>.
/// </para>
/// <para>
/// The <see cref="Tokenizer"/> methods (<c>EncodeToIds</c>, <c>EncodeToTokens</c>, <c>CountTokens</c>,
/// <c>GetIndexByTokenCount</c>) add special tokens as the model declares and do not parse special tokens in the text;
/// normalization and pre-tokenization are part of the vocabulary's definition and always applied, whatever the
/// settings say. Token values are the vocabulary's pieces (<c>▁Hello</c>, <c>Ġworld</c>, <c>&lt;0x0A&gt;</c>); offsets
/// are in chars of the input, and a token standing for part of a character covers the whole character.
/// </para>
/// <para>
/// Decoding writes each token's bytes (<see cref="GetTokenBytes"/>) one after another, control tokens as their text,
/// and reads the result as UTF-8; a SentencePiece space prefix is taken off the first token. Unlike the reference's
/// <c>llama_detokenize</c>, it does not tidy spaces before punctuation for byte-level vocabularies, so that decoding
/// gives back the text. Round trips are exact for byte-level BPE (but for bytes the vocabulary has no token for,
/// which the reference drops too) and for SentencePiece with byte fallback (but for text that starts right after a
/// special token, which gains the space prefix); WordPiece is lossy (case, accents, white space).
/// </para>
/// <para>Thread-safe: one instance may be used on many threads at once.</para>
/// </remarks>
public sealed class GgufTokenizer : Tokenizer
{
    // Texts the reference re-types as control tokens when the file does not name these tokens by id.
    private static readonly string[] EndOfGenerationNames = ["<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|eom_id|>", "<EOT>"];
    private static readonly (string Key, string[] Names)[] FillInTheMiddleNames =
    [
        ("fim_pre", ["<|fim_prefix|>", "<fim-prefix>", "<｜fim▁begin｜>", "<PRE>"]),
        ("fim_suf", ["<|fim_suffix|>", "<fim-suffix>", "<｜fim▁hole｜>", "<SUF>"]),
        ("fim_mid", ["<|fim_middle|>", "<fim-middle>", "<｜fim▁end｜>", "<MID>"]),
        ("fim_pad", ["<|fim_pad|>", "<fim-pad>", "<PAD>"]),
        ("fim_rep", ["<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>"]),
        ("fim_sep", ["<|file_sep|>"]),
    ];

    private readonly VocabularyKind _kind;
    private readonly ReferencePieces _pieces;
    private readonly TextEncoder _encoder;
    private readonly SpecialTokenSplitter _splitter;
    private readonly bool _addBos;
    private readonly bool _addEos;
    private readonly bool _addSpacePrefix;
    private readonly int? _separatorId;

    private GgufTokenizer(GgufMetadata metadata, int bpeScanMergeMaxLength)
    {
        Vocabulary = GgufVocabulary.FromMetadata(metadata);
        GgufVocabulary v = Vocabulary;
        _pieces = new ReferencePieces(v);
        CheckDistinct(_pieces);

        _kind = v.Model switch
        {
            "llama" => VocabularyKind.SentencePiece,
            "gpt2" => VocabularyKind.ByteLevel,
            "bert" => VocabularyKind.WordPiece,
            _ => throw new NotSupportedException(
                $"The GGUF file's tokenizer.ggml.model is '{v.Model}'; MicroLlm reads 'llama' (SentencePiece BPE), 'gpt2' (byte-level BPE) and 'bert' (WordPiece) vocabularies."),
        };

        // The reference's defaults for the vocabulary type, then what the file says.
        ByteLevelPreTokenizer? pre = _kind == VocabularyKind.ByteLevel ? ByteLevelPreTokenizer.ForName(v.PreTokenizer) : null;
        (int? bos, int? eos, int? unk, int? sep, bool addBos) = _kind switch
        {
            VocabularyKind.SentencePiece => ((int?)1, (int?)2, (int?)0, (int?)null, true),
            VocabularyKind.ByteLevel => (pre!.DefaultBosNone ? null : 11, 11, null, null, pre.DefaultAddBos),
            _ => ((int?)101, (int?)null, (int?)100, (int?)102, true),
        };
        BeginningOfSentenceId = v.BosId ?? InRange(bos, v);
        EndOfSentenceId = v.EosId ?? InRange(eos, v);
        UnknownId = v.UnknownId ?? InRange(unk, v);
        _separatorId = v.SeparatorId ?? InRange(sep, v);
        _addBos = v.AddBos ?? addBos;
        _addEos = v.AddEos ?? false;
        _addSpacePrefix = v.AddSpacePrefix ?? _kind == VocabularyKind.SentencePiece;

        GgufTokenType[] types = EffectiveTypes(metadata, v);
        (HashSet<int> lstrip, HashSet<int> rstrip) = StripAttributes(metadata, v, types);
        _splitter = new SpecialTokenSplitter(_pieces, types, lstrip, rstrip);

        _encoder = _kind switch
        {
            VocabularyKind.SentencePiece => new SentencePieceBpeEncoder(v, _pieces, _addSpacePrefix, UnknownId),
            VocabularyKind.ByteLevel => new ByteLevelBpeEncoder(v, bpeScanMergeMaxLength),
            _ => new WordPieceEncoder(v, _pieces, UnknownId ?? throw new InvalidDataException(
                $"The GGUF file's bert vocabulary has no unknown token: tokenizer.ggml.unknown_token_id is missing and the default, 100, is outside its {v.Count} tokens.")),
        };
    }

    /// <summary>The vocabulary the tokenizer was built from.</summary>
    public GgufVocabulary Vocabulary { get; }

    /// <summary>The beginning-of-sequence token (<c>[CLS]</c> for WordPiece): the file's, else the reference's default for the vocabulary type; <see langword="null"/> if none.</summary>
    public int? BeginningOfSentenceId { get; }

    /// <summary>The end-of-sequence token: the file's, else the reference's default for the vocabulary type; <see langword="null"/> if none.</summary>
    public int? EndOfSentenceId { get; }

    /// <summary>The unknown token: the file's, else the reference's default for the vocabulary type; <see langword="null"/> if none.</summary>
    public int? UnknownId { get; }

    /// <summary>Builds the tokenizer of a GGUF model or vocabulary file.</summary>
    /// <param name="file">An open GGUF file; the tokenizer keeps nothing of it, so it may be disposed afterwards.</param>
    /// <returns>The tokenizer.</returns>
    /// <exception cref="InvalidDataException">The file has no tokenizer, or its tokenizer metadata is inconsistent; the message names the key.</exception>
    /// <exception cref="NotSupportedException">The vocabulary type (<c>tokenizer.ggml.model</c>) or pre-tokenizer (<c>tokenizer.ggml.pre</c>) is not supported; the message lists those that are.</exception>
    public static GgufTokenizer Create(GgufFile file)
    {
        ArgumentNullException.ThrowIfNull(file);
        return Create(file.Metadata);
    }

    /// <summary>Builds the tokenizer from GGUF metadata.</summary>
    /// <param name="metadata">The metadata of a GGUF model or vocabulary file.</param>
    /// <returns>The tokenizer.</returns>
    /// <exception cref="InvalidDataException">The metadata has no tokenizer, or it is inconsistent; the message names the key.</exception>
    /// <exception cref="NotSupportedException">The vocabulary type or pre-tokenizer is not supported; the message lists those that are.</exception>
    public static GgufTokenizer Create(GgufMetadata metadata) => Create(metadata, BpeMergeEngine.DefaultScanMergeMaxLength);

    /// <summary>Builds the tokenizer, choosing where byte-level BPE switches from scanning to its priority queue (for tests, which run both).</summary>
    internal static GgufTokenizer Create(GgufMetadata metadata, int bpeScanMergeMaxLength)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        try
        {
            return new GgufTokenizer(metadata, bpeScanMergeMaxLength);
        }
        catch (InvalidOperationException e)
        {
            throw new InvalidDataException($"The GGUF file's tokenizer metadata is malformed: {e.Message}", e);
        }
    }

    /// <summary>Encodes a text as the model expects a prompt: special tokens added as the model declares, special-token texts not parsed.</summary>
    /// <param name="text">The text.</param>
    /// <returns>The ids.</returns>
    /// <exception cref="InvalidOperationException">The model asks for a BOS or EOS token it does not have.</exception>
    public IReadOnlyList<int> Encode(string text) => Encode(text, addSpecialTokens: true, parseSpecialTokens: false);

    /// <summary>Encodes a text with the reference runtime's semantics (<c>llama_tokenize</c>).</summary>
    /// <param name="text">The text.</param>
    /// <param name="addSpecialTokens">Whether to add BOS and EOS as the model declares (WordPiece: <c>[CLS]</c> and <c>[SEP]</c>).</param>
    /// <param name="parseSpecialTokens">Whether control tokens written in the text (<c>&lt;|im_start|&gt;</c>, <c>&lt;s&gt;</c>) become those tokens; user-defined tokens always do.</param>
    /// <returns>The ids.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="text"/> is null.</exception>
    /// <exception cref="InvalidOperationException"><paramref name="addSpecialTokens"/> is set and the model asks for a BOS or EOS token it does not have.</exception>
    /// <exception cref="ArgumentException">The text has a character a SentencePiece vocabulary without byte tokens or unknown token cannot write.</exception>
    public IReadOnlyList<int> Encode(string text, bool addSpecialTokens, bool parseSpecialTokens)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = new List<int>();
        EncodeCore(text, addSpecialTokens, parseSpecialTokens, ids, null);
        return ids;
    }

    /// <summary>The UTF-8 bytes token <paramref name="id"/> stands for in decoded text: possibly part of a character, empty for tokens that print nothing.</summary>
    /// <param name="id">A token id.</param>
    /// <returns>The bytes.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="id"/> is not a token of this vocabulary.</exception>
    public ReadOnlySpan<byte> GetTokenBytes(int id)
    {
        CheckId(id);
        return _encoder.TokenBytes(id);
    }

    /// <summary>Decodes ids to text: the tokens' bytes, read as UTF-8 (invalid sequences become U+FFFD).</summary>
    /// <param name="ids">Token ids.</param>
    /// <returns>The text.</returns>
    /// <exception cref="ArgumentOutOfRangeException">An id is not a token of this vocabulary.</exception>
    public override string Decode(IEnumerable<int> ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var bytes = new ArrayBufferWriter<byte>();
        bool first = true;
        foreach (int id in ids)
        {
            bytes.Write(Piece(id, first));
            first = false;
        }

        return Encoding.UTF8.GetString(bytes.WrittenSpan);
    }

    /// <summary>Decodes ids into <paramref name="destination"/>, stopping before the first token whose characters do not fit.</summary>
    /// <param name="ids">Token ids.</param>
    /// <param name="destination">Where the characters go.</param>
    /// <param name="idsConsumed">How many ids were decoded.</param>
    /// <param name="charsWritten">How many characters were written.</param>
    /// <returns><see cref="OperationStatus.Done"/>, or <see cref="OperationStatus.DestinationTooSmall"/> when the text did not fit.</returns>
    /// <exception cref="ArgumentOutOfRangeException">An id is not a token of this vocabulary.</exception>
    public override OperationStatus Decode(IEnumerable<int> ids, Span<char> destination, out int idsConsumed, out int charsWritten)
    {
        ArgumentNullException.ThrowIfNull(ids);
        Decoder decoder = Encoding.UTF8.GetDecoder();
        idsConsumed = 0;
        charsWritten = 0;
        foreach (int id in ids)
        {
            ReadOnlySpan<byte> piece = Piece(id, idsConsumed == 0);
            if (decoder.GetCharCount(piece, flush: false) > destination.Length - charsWritten)
            {
                return OperationStatus.DestinationTooSmall;
            }

            charsWritten += decoder.GetChars(piece, destination[charsWritten..], flush: false);
            idsConsumed++;
        }

        if (decoder.GetCharCount([], flush: true) > destination.Length - charsWritten)
        {
            return OperationStatus.DestinationTooSmall;
        }

        charsWritten += decoder.GetChars([], destination[charsWritten..], flush: true);
        return OperationStatus.Done;
    }

    /// <inheritdoc/>
    protected override EncodeResults<EncodedToken> EncodeToTokens(string? text, ReadOnlySpan<char> textSpan, EncodeSettings settings)
    {
        string input = text ?? textSpan.ToString();
        var ids = new List<int>();
        var offsets = new List<(int Start, int End)>();
        EncodeCore(input, addSpecial: true, parseSpecial: false, ids, offsets);
        int count = FitFromStart(offsets, settings.MaxTokenCount, input.Length, out int consumed);
        var tokens = new EncodedToken[count];
        for (int i = 0; i < count; i++)
        {
            tokens[i] = new EncodedToken(ids[i], _pieces[ids[i]], new Range(offsets[i].Start, offsets[i].End));
        }

        return new EncodeResults<EncodedToken> { Tokens = tokens, NormalizedText = null, CharsConsumed = consumed };
    }

    /// <inheritdoc/>
    protected override EncodeResults<int> EncodeToIds(string? text, ReadOnlySpan<char> textSpan, EncodeSettings settings)
    {
        string input = text ?? textSpan.ToString();
        var ids = new List<int>();
        if (settings.MaxTokenCount == int.MaxValue)
        {
            EncodeCore(input, addSpecial: true, parseSpecial: false, ids, null);
            return new EncodeResults<int> { Tokens = ids, NormalizedText = null, CharsConsumed = input.Length };
        }

        var offsets = new List<(int Start, int End)>();
        EncodeCore(input, addSpecial: true, parseSpecial: false, ids, offsets);
        int count = FitFromStart(offsets, settings.MaxTokenCount, input.Length, out int consumed);
        ids.RemoveRange(count, ids.Count - count);
        return new EncodeResults<int> { Tokens = ids, NormalizedText = null, CharsConsumed = consumed };
    }

    /// <inheritdoc/>
    protected override int CountTokens(string? text, ReadOnlySpan<char> textSpan, EncodeSettings settings) =>
        EncodeToIds(text, textSpan, settings).Tokens.Count;

    /// <inheritdoc/>
    protected override int GetIndexByTokenCount(string? text, ReadOnlySpan<char> textSpan, EncodeSettings settings, bool fromEnd, out string? normalizedText, out int tokenCount)
    {
        string input = text ?? textSpan.ToString();
        var ids = new List<int>();
        var offsets = new List<(int Start, int End)>();
        EncodeCore(input, addSpecial: true, parseSpecial: false, ids, offsets);
        normalizedText = null;
        if (!fromEnd)
        {
            tokenCount = FitFromStart(offsets, settings.MaxTokenCount, input.Length, out int consumed);
            return consumed;
        }

        // The first token k such that tokens k.. fit and token k shares no character with token k - 1.
        int n = offsets.Count;
        for (int k = Math.Max(0, n - settings.MaxTokenCount); k <= n; k++)
        {
            if (k == 0 || k == n || offsets[k].Start >= offsets[k - 1].End)
            {
                tokenCount = n - k;
                return k == n ? input.Length : offsets[k].Start;
            }
        }

        tokenCount = 0;
        return input.Length;
    }

    // The first count tokens that fit in max and end on a character boundary.
    private static int FitFromStart(List<(int Start, int End)> offsets, int max, int length, out int consumed)
    {
        int n = offsets.Count;
        if (max >= n)
        {
            consumed = length;
            return n;
        }

        for (int k = max; k > 0; k--)
        {
            if (offsets[k].Start >= offsets[k - 1].End)
            {
                consumed = offsets[k - 1].End;
                return k;
            }
        }

        consumed = 0;
        return 0;
    }

    private void EncodeCore(string text, bool addSpecial, bool parseSpecial, List<int> ids, List<(int Start, int End)>? offsets)
    {
        text = ReplaceLoneSurrogates(text);
        if (addSpecial && (_addBos || _kind == VocabularyKind.WordPiece))
        {
            ids.Add(BeginningOfSentenceId ?? throw new InvalidOperationException(
                "The model asks for a beginning-of-sequence token but declares none (tokenizer.ggml.bos_token_id); encode with addSpecialTokens: false."));
            offsets?.Add((0, 0));
        }

        if (text.Length > 0)
        {
            bool afterSpecialOrStart = true;
            var fragmentOffsets = offsets is null ? null : new List<(int Start, int End)>();
            foreach (TextFragment fragment in _splitter.Split(text, parseSpecial))
            {
                if (!fragment.IsText)
                {
                    ids.Add(fragment.TokenId);
                    offsets?.Add((fragment.Start, fragment.Start + fragment.Length));
                    afterSpecialOrStart = true;
                    continue;
                }

                string piece = fragment.Start == 0 && fragment.Length == text.Length ? text : text.Substring(fragment.Start, fragment.Length);
                if (fragmentOffsets is null)
                {
                    _encoder.Encode(piece, afterSpecialOrStart, ids);
                }
                else
                {
                    fragmentOffsets.Clear();
                    _encoder.Encode(piece, afterSpecialOrStart, ids, fragmentOffsets);
                    foreach (var (start, end) in fragmentOffsets)
                    {
                        offsets!.Add((fragment.Start + start, fragment.Start + end));
                    }
                }

                afterSpecialOrStart = false;
            }
        }

        if (addSpecial && (_kind == VocabularyKind.WordPiece || _addEos))
        {
            int? last = _kind == VocabularyKind.WordPiece ? _separatorId : EndOfSentenceId;
            ids.Add(last ?? throw new InvalidOperationException(
                "The model asks for an end-of-sequence (or separator) token but declares none (tokenizer.ggml.eos_token_id, seperator_token_id); encode with addSpecialTokens: false."));
            offsets?.Add((text.Length, text.Length));
        }
    }

    // The piece of one token in decoded text; the first loses one leading space where the encoder puts a space prefix.
    private ReadOnlySpan<byte> Piece(int id, bool first)
    {
        CheckId(id);
        ReadOnlySpan<byte> piece = _encoder.TokenBytes(id);
        return first && _addSpacePrefix && piece.Length > 0 && piece[0] == (byte)' ' ? piece[1..] : piece;
    }

    private void CheckId(int id)
    {
        if ((uint)id >= (uint)Vocabulary.Count)
        {
            throw new ArgumentOutOfRangeException(nameof(id), id, $"Token id {id} is outside this vocabulary of {Vocabulary.Count} tokens (0 to {Vocabulary.Count - 1}).");
        }
    }

    // The UTF-8 the reference works on cannot hold a lone surrogate; encoding it gives U+FFFD, and so does this.
    private static string ReplaceLoneSurrogates(string text)
    {
        int bad = -1;
        for (int i = 0; i < text.Length; i++)
        {
            if (char.IsSurrogate(text[i]))
            {
                if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
                {
                    i++;
                    continue;
                }

                bad = i;
                break;
            }
        }

        if (bad < 0)
        {
            return text;
        }

        char[] chars = text.ToCharArray();
        for (int i = bad; i < chars.Length; i++)
        {
            if (char.IsHighSurrogate(chars[i]) && i + 1 < chars.Length && char.IsLowSurrogate(chars[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(chars[i]))
            {
                chars[i] = '\uFFFD';
            }
        }

        return new string(chars);
    }

    private static int? InRange(int? id, GgufVocabulary v) => id is { } i && i < v.Count ? i : null;

    private static void CheckDistinct(ReferencePieces pieces)
    {
        if (pieces.FirstDuplicate is var (first, second))
        {
            throw new InvalidDataException(
                $"The GGUF file's tokenizer.ggml.tokens has the piece '{pieces[second]}' at ids {first} and {second}; a vocabulary's pieces must be distinct " +
                "(the reference runtime refuses such a file too). Convert the model again.");
        }
    }

    /// <summary>
    /// The token types the reference works with: the file's, with the end-of-generation and fill-in-the-middle markers
    /// it recognises by their text made control tokens (so they are no longer cut out of unparsed text).
    /// </summary>
    private GgufTokenType[] EffectiveTypes(GgufMetadata metadata, GgufVocabulary v)
    {
        GgufTokenType[] types = [.. v.TokenTypes];
        void MakeControl(string name)
        {
            if (_pieces.TryGetId(name, out int id))
            {
                types[id] = GgufTokenType.Control;
            }
        }

        foreach (string name in EndOfGenerationNames)
        {
            MakeControl(name);
        }

        // DeepSeek's end of sentence becomes the end-of-turn token when the file names none and it is the only candidate.
        if (v.EotId is null && !EndOfGenerationNames.Any(n => n != "<|eom_id|>" && _pieces.TryGetId(n, out _)))
        {
            MakeControl("<｜end▁of▁sentence｜>");
        }

        foreach (var (key, names) in FillInTheMiddleNames)
        {
            if (!DeclaresFimToken(metadata, key, v.Count))
            {
                foreach (string name in names)
                {
                    MakeControl(name);
                }
            }
        }

        return types;
    }

    private static bool DeclaresFimToken(GgufMetadata metadata, string key, int count)
    {
        string? deprecated = key switch { "fim_pre" => "prefix", "fim_suf" => "suffix", "fim_mid" => "middle", _ => null };
        foreach (string name in deprecated is null ? [key] : new[] { key, deprecated })
        {
            if (metadata.TryGetValue($"tokenizer.ggml.{name}_token_id", out GgufValue? value) && value.AsInt64() is >= 0 and var id && id < count)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The strip attributes the reference gives some models' special tokens (it reads none from the file).</summary>
    private (HashSet<int> LStrip, HashSet<int> RStrip) StripAttributes(GgufMetadata metadata, GgufVocabulary v, GgufTokenType[] types)
    {
        var lstrip = new HashSet<int>();
        var rstrip = new HashSet<int>();
        string name = (metadata.GetString("general.name") ?? string.Empty).ToLowerInvariant();
        string pre = v.PreTokenizer ?? string.Empty;
        if (pre.Contains("jina-v2-de", StringComparison.Ordinal) || pre.Contains("jina-v2-es", StringComparison.Ordinal) || pre.Contains("jina-v2-code", StringComparison.Ordinal))
        {
            if (_pieces.TryGetId("<mask>", out int mask))
            {
                lstrip.Add(mask);
            }
        }
        else if (name.Contains("phi-3", StringComparison.Ordinal) || name.Contains("phi3", StringComparison.Ordinal))
        {
            for (int id = 0; id < types.Length; id++)
            {
                if (types[id] is GgufTokenType.Control or GgufTokenType.UserDefined or GgufTokenType.Unknown)
                {
                    rstrip.Add(id);
                }
            }

            if (_pieces.TryGetId("</s>", out int eos))
            {
                rstrip.Add(eos);
            }

            foreach (string keep in new[] { "<unk>", "<s>", "<|endoftext|>" })
            {
                if (_pieces.TryGetId(keep, out int id))
                {
                    rstrip.Remove(id);
                }
            }
        }

        return (lstrip, rstrip);
    }

    private enum VocabularyKind
    {
        SentencePiece,
        ByteLevel,
        WordPiece,
    }
}
