using System.Text;
using MicroLlm.Tokenization.Bpe;

namespace MicroLlm.Tokenization;

/// <summary>
/// The text encoder of <c>gpt2</c> vocabularies (byte-level BPE: GPT-2, Llama 3, Qwen 2, Falcon, StarCoder,
/// DeepSeek, MPT, …), giving the ids the reference runtime (llama.cpp) gives. Text is cut into words by the
/// pre-tokenizer that <c>tokenizer.ggml.pre</c> names, each word's UTF-8 bytes are written in the byte-level
/// alphabet, and the merges of <c>tokenizer.ggml.merges</c> are applied in rank order.
/// </summary>
/// <remarks>
/// <para>Thread-safe: one instance may encode on many threads at once.</para>
/// <para>
/// Microsoft.ML.Tokenizers' <c>RegexPreTokenizer</c> and <c>BpeTokenizer</c> are not used: they follow Hugging Face
/// semantics, and the reference differs from those in ways that change ids. It classifies code points by Unicode
/// 15.1 (.NET 10 has 16.0), matches most expressions against text collapsed to one stand-in per Unicode class (so,
/// for instance, <c>~</c> is not <c>\p{S}</c> and <c>\s</c> is the ASCII set plus a stand-in), replaces the GPT-2 and
/// Llama 3 expressions with hand-written splitters, and, when merging yields a piece the vocabulary lacks, emits the
/// tokens of its ASCII characters and drops the rest.
/// </para>
/// </remarks>
internal sealed class ByteLevelBpeEncoder : TextEncoder
{
    private readonly ByteLevelPreTokenizer _preTokenizer;
    private readonly BpeMergeEngine _merges;

    // The bytes of every token, back to back: token i is _pieceBytes[_pieceStarts[i].._pieceStarts[i + 1]].
    private readonly byte[] _pieceBytes;
    private readonly int[] _pieceStarts;

    [ThreadStatic]
    private static EncodeScratch? t_scratch;

    /// <summary>Prepares the encoder for a vocabulary.</summary>
    /// <param name="vocabulary">A vocabulary whose <see cref="GgufVocabulary.Model"/> is <c>gpt2</c>.</param>
    /// <exception cref="ArgumentException">The vocabulary is not a <c>gpt2</c> one.</exception>
    /// <exception cref="NotSupportedException"><c>tokenizer.ggml.pre</c> names a pre-tokenizer the reference runtime does not know; the message lists the known ones.</exception>
    /// <exception cref="InvalidDataException"><c>tokenizer.ggml.merges</c> is missing or has a malformed entry.</exception>
    public ByteLevelBpeEncoder(GgufVocabulary vocabulary)
        : this(vocabulary, BpeMergeEngine.DefaultScanMergeMaxLength)
    {
    }

    /// <summary>Prepares the encoder, choosing where merging switches from scanning to the priority queue (for tests, which run both).</summary>
    /// <param name="vocabulary">A vocabulary whose <see cref="GgufVocabulary.Model"/> is <c>gpt2</c>.</param>
    /// <param name="scanMergeMaxLength">The longest word, in bytes, merged by scanning: 0 sends every word through the queue, <see cref="int.MaxValue"/> none.</param>
    /// <exception cref="ArgumentException">The vocabulary is not a <c>gpt2</c> one.</exception>
    /// <exception cref="NotSupportedException"><c>tokenizer.ggml.pre</c> names a pre-tokenizer the reference runtime does not know.</exception>
    /// <exception cref="InvalidDataException"><c>tokenizer.ggml.merges</c> is missing or has a malformed entry.</exception>
    internal ByteLevelBpeEncoder(GgufVocabulary vocabulary, int scanMergeMaxLength)
    {
        ArgumentNullException.ThrowIfNull(vocabulary);
        if (vocabulary.Model != "gpt2")
        {
            throw new ArgumentException($"The vocabulary's tokenizer model is '{vocabulary.Model}'; the byte-level BPE encoder reads only 'gpt2' vocabularies.", nameof(vocabulary));
        }

        if (vocabulary.Merges.Count == 0)
        {
            throw new InvalidDataException("The GGUF file's gpt2 vocabulary has no tokenizer.ggml.merges; byte-level BPE needs its merge list.");
        }

        _preTokenizer = ByteLevelPreTokenizer.ForName(vocabulary.PreTokenizer);
        _merges = new BpeMergeEngine(vocabulary, _preTokenizer.IgnoreMerges, scanMergeMaxLength);
        (_pieceBytes, _pieceStarts) = BuildPieceBytes(vocabulary);
    }

    /// <summary>The pre-tokenizer <c>tokenizer.ggml.pre</c> chose, with the settings it implies for BOS and decoding.</summary>
    public ByteLevelPreTokenizer PreTokenizer => _preTokenizer;

    /// <inheritdoc/>
    public override void Encode(string text, bool afterSpecialOrStart, List<int> output)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(output);
        if (text.Length == 0)
        {
            return;
        }

        EncodeScratch s = t_scratch ??= new EncodeScratch();
        s.Text.Load(text);
        _preTokenizer.Split(s.Text, s.Words, s.Pieces);

        int start = 0;
        foreach (int length in s.Words)
        {
            Span<char> word = s.WordBuffer(length * 4);
            int written = s.Text.WriteByteLevel(start, length, word);
            _merges.Encode(word[..written], output);
            start += length;
        }
    }

    /// <inheritdoc/>
    public override ReadOnlySpan<byte> TokenBytes(int id) => _pieceBytes.AsSpan(_pieceStarts[id], _pieceStarts[id + 1] - _pieceStarts[id]);

    /// <summary>
    /// The bytes each token stands for, as the reference renders tokens: a normal token's characters read back
    /// through the byte-level alphabet, a control, unknown or user-defined token's text as UTF-8, anything else
    /// (unused, byte, undefined) as nothing.
    /// </summary>
    private static (byte[] Bytes, int[] Starts) BuildPieceBytes(GgufVocabulary vocabulary)
    {
        var bytes = new List<byte>(vocabulary.Count * 8);
        var starts = new int[vocabulary.Count + 1];
        Span<byte> utf8 = stackalloc byte[4];
        for (int id = 0; id < vocabulary.Count; id++)
        {
            starts[id] = bytes.Count;
            string piece = vocabulary.Tokens[id];
            if (piece.Length == 0)
            {
                piece = $"[EMPTY_{id}]"; // the reference renames empty pieces so
            }

            switch (vocabulary.GetTokenType(id))
            {
                case GgufTokenType.Normal:
                    foreach (Rune rune in piece.EnumerateRunes())
                    {
                        if (ByteLevelAlphabet.TryGetByte(rune.Value, out byte b))
                        {
                            bytes.Add(b);
                        }
                        else
                        {
                            // Not in the alphabet: the reference writes a marker with the character's bytes and the whole piece.
                            int n = rune.EncodeToUtf8(utf8);
                            bytes.AddRange(Encoding.UTF8.GetBytes("[UNK_BYTE_0x" + Convert.ToHexStringLower(utf8[..n]) + piece + "]"));
                        }
                    }

                    break;
                case GgufTokenType.Control or GgufTokenType.Unknown or GgufTokenType.UserDefined:
                    bytes.AddRange(Encoding.UTF8.GetBytes(piece));
                    break;
                default:
                    break;
            }
        }

        starts[vocabulary.Count] = bytes.Count;
        return ([.. bytes], starts);
    }

    /// <summary>Per-thread buffers for one <see cref="Encode"/> call.</summary>
    private sealed class EncodeScratch
    {
        private char[] _word = new char[256];

        public CodePointText Text { get; } = new();

        public List<int> Words { get; } = [];

        public List<int> Pieces { get; } = [];

        public Span<char> WordBuffer(int size)
        {
            if (_word.Length < size)
            {
                _word = new char[Math.Max(size, _word.Length * 2)];
            }

            return _word;
        }
    }
}
