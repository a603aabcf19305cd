using System.Globalization;
using System.Text;

namespace MicroLlm.Tokenization;

/// <summary>
/// The text encoder of <c>llama</c> vocabularies (SentencePiece BPE: Llama 1/2, Mistral, Phi-3, Baichuan, …), giving
/// the ids the reference runtime (llama.cpp) gives. Spaces become <c>▁</c> (and one is put before a fragment that
/// starts the text or follows a special token, when the vocabulary asks for a space prefix); the text is cut into
/// characters, and the adjacent pair whose joined text is the vocabulary token with the highest score is merged,
/// over and over (ties: the leftmost pair), through a priority queue; a character left over that is no token is
/// written as its UTF-8 bytes through the <c>&lt;0xAB&gt;</c> byte tokens.
/// </summary>
/// <remarks>
/// <para>Thread-safe: one instance may encode on many threads at once. Time is O(n log n) in the fragment's length.</para>
/// <para>
/// Where a byte has no byte token (a vocabulary without byte fallback) the reference runtime fails; this encoder then
/// writes the character as the unknown token, as SentencePiece itself does, or throws when there is none.
/// </para>
/// </remarks>
internal sealed class SentencePieceBpeEncoder : TextEncoder
{
    private const char SpaceMark = '\u2581';

    private readonly ReferencePieces _pieces;
    private readonly float[] _scores;
    private readonly int[] _byteIds;
    private readonly int? _unknownId;
    private readonly bool _addSpacePrefix;
    private readonly byte[] _pieceBytes;
    private readonly int[] _pieceStarts;

    [ThreadStatic]
    private static Scratch? t_scratch;

    /// <summary>Prepares the encoder for a vocabulary.</summary>
    /// <param name="vocabulary">A <c>llama</c> vocabulary.</param>
    /// <param name="pieces">Its texts as the reference keeps them.</param>
    /// <param name="addSpacePrefix">Whether a space is put before a fragment that starts the text or follows a special token.</param>
    /// <param name="unknownId">The unknown token, for characters that have neither a token nor byte tokens.</param>
    /// <exception cref="InvalidDataException">A token typed as a byte is not written <c>&lt;0xAB&gt;</c>.</exception>
    public SentencePieceBpeEncoder(GgufVocabulary vocabulary, ReferencePieces pieces, bool addSpacePrefix, int? unknownId)
    {
        _pieces = pieces;
        _addSpacePrefix = addSpacePrefix;
        _unknownId = unknownId;
        _scores = vocabulary.Scores is { } scores ? [.. scores] : new float[vocabulary.Count];

        // The reference looks a byte up as <0xAB> first, then as the one-character text.
        _byteIds = new int[256];
        for (int b = 0; b < 256; b++)
        {
            _byteIds[b] = pieces.TryGetId($"<0x{b:X2}>", out int id) || (b < 0x80 && pieces.TryGetId(((char)b).ToString(), out id)) ? id : -1;
        }

        (_pieceBytes, _pieceStarts) = RenderPieces(vocabulary, pieces, byteFallback: true);
    }

    /// <inheritdoc/>
    public override void Encode(string text, bool afterSpecialOrStart, List<int> output) => EncodeCore(text, afterSpecialOrStart, output);

    /// <inheritdoc/>
    public override void Encode(string text, bool afterSpecialOrStart, List<int> output, List<(int Start, int End)> offsets)
    {
        int first = output.Count;
        bool prefixed = EncodeCore(text, afterSpecialOrStart, output);
        AlignByBytes(text, prefixed ? 1 : 0, output, first, offsets);
    }

    /// <inheritdoc/>
    public override ReadOnlySpan<byte> TokenBytes(int id) => _pieceBytes.AsSpan(_pieceStarts[id], _pieceStarts[id + 1] - _pieceStarts[id]);

    /// <summary>
    /// The bytes each token stands for, as the reference renders tokens: control, unknown and user-defined tokens as
    /// their text, normal ones with <c>▁</c> read as a space, byte tokens as their byte (with
    /// <paramref name="byteFallback"/>), anything else as nothing.
    /// </summary>
    /// <exception cref="InvalidDataException">A byte token is not written <c>&lt;0xAB&gt;</c>.</exception>
    internal static (byte[] Bytes, int[] Starts) RenderPieces(GgufVocabulary vocabulary, ReferencePieces pieces, bool byteFallback)
    {
        var bytes = new List<byte>(vocabulary.Count * 8);
        var starts = new int[vocabulary.Count + 1];
        for (int id = 0; id < vocabulary.Count; id++)
        {
            starts[id] = bytes.Count;
            string piece = pieces[id];
            switch (vocabulary.GetTokenType(id))
            {
                case GgufTokenType.Control or GgufTokenType.Unknown or GgufTokenType.UserDefined:
                    bytes.AddRange(Encoding.UTF8.GetBytes(piece));
                    break;
                case GgufTokenType.Normal:
                    bytes.AddRange(Encoding.UTF8.GetBytes(piece.Replace(SpaceMark, ' ')));
                    break;
                case GgufTokenType.Byte when byteFallback:
                    bytes.Add(ParseByteToken(piece, id));
                    break;
                default:
                    break;
            }
        }

        starts[vocabulary.Count] = bytes.Count;
        return ([.. bytes], starts);
    }

    private static byte ParseByteToken(string piece, int id) =>
        piece.Length == 6 && piece.StartsWith("<0x", StringComparison.Ordinal) && piece[5] == '>'
            && byte.TryParse(piece.AsSpan(3, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out byte value)
            ? value
            : throw new InvalidDataException($"The GGUF file's token {id} is typed as a byte (tokenizer.ggml.token_type 6) but its text '{piece}' is not of the form <0xAB>.");

    /// <summary>Encodes one fragment; returns whether a space prefix was put before it.</summary>
    private bool EncodeCore(string text, bool afterSpecialOrStart, List<int> output)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(output);
        if (text.Length == 0)
        {
            return false;
        }

        bool prefix = _addSpacePrefix && afterSpecialOrStart;
        Scratch s = t_scratch ??= new Scratch();
        char[] chars = s.Chars(text.Length + 1);
        int n = 0;
        if (prefix)
        {
            chars[n++] = SpaceMark;
        }

        foreach (char c in text)
        {
            chars[n++] = c == ' ' ? SpaceMark : c;
        }

        // One symbol per code point: start and length in chars, linked both ways.
        s.Reset(n);
        int count = 0;
        for (int i = 0; i < n;)
        {
            int len = char.IsHighSurrogate(chars[i]) && i + 1 < n && char.IsLowSurrogate(chars[i + 1]) ? 2 : 1;
            s.Start[count] = i;
            s.Length[count] = len;
            s.Prev[count] = count - 1;
            s.Next[count] = i + len == n ? -1 : count + 1;
            count++;
            i += len;
        }

        var queue = s.Queue;
        queue.Clear();
        for (int i = 1; i < count; i++)
        {
            TryAddPair(chars, s, i - 1, i);
        }

        while (queue.TryDequeue(out var pair, out _))
        {
            int left = pair.Left, right = pair.Right;
            int leftLength = s.Length[left], rightLength = s.Length[right];

            // Skip pairs whose symbols have changed since they were queued.
            if (leftLength == 0 || rightLength == 0 || leftLength + rightLength != pair.Length)
            {
                continue;
            }

            s.Length[left] = leftLength + rightLength;
            s.Length[right] = 0;
            s.Next[left] = s.Next[right];
            if (s.Next[right] >= 0)
            {
                s.Prev[s.Next[right]] = left;
            }

            TryAddPair(chars, s, s.Prev[left], left);
            TryAddPair(chars, s, left, s.Next[left]);
        }

        for (int i = 0; i != -1; i = s.Next[i])
        {
            ReadOnlySpan<char> symbol = chars.AsSpan(s.Start[i], s.Length[i]);
            if (_pieces.TryGetId(symbol, out int id))
            {
                output.Add(id);
            }
            else
            {
                WriteBytes(symbol, output);
            }
        }

        return prefix;
    }

    private void TryAddPair(char[] chars, Scratch s, int left, int right)
    {
        if (left < 0 || right < 0)
        {
            return;
        }

        int length = s.Length[left] + s.Length[right];
        if (_pieces.TryGetId(chars.AsSpan(s.Start[left], length), out int id))
        {
            s.Queue.Enqueue(new Pair(left, right, length), new Priority(_scores[id], left));
        }
    }

    private void WriteBytes(ReadOnlySpan<char> symbol, List<int> output)
    {
        Span<byte> utf8 = stackalloc byte[8];
        int n = Encoding.UTF8.GetBytes(symbol, utf8);
        bool all = true;
        for (int i = 0; i < n; i++)
        {
            all &= _byteIds[utf8[i]] >= 0;
        }

        if (all)
        {
            for (int i = 0; i < n; i++)
            {
                output.Add(_byteIds[utf8[i]]);
            }
        }
        else
        {
            Rune.DecodeFromUtf16(symbol, out Rune rune, out _);
            output.Add(_unknownId ?? throw new ArgumentException(
                $"The text has the character U+{rune.Value:X4}, which this vocabulary can write neither as a token nor as byte tokens, and it has no unknown token. Remove the character from the text."));
        }
    }

    private readonly record struct Pair(int Left, int Right, int Length);

    /// <summary>Higher score first; among equal scores, the leftmost pair.</summary>
    private readonly record struct Priority(float Score, int Left) : IComparable<Priority>
    {
        public int CompareTo(Priority other)
        {
            int byScore = other.Score.CompareTo(Score);
            return byScore != 0 ? byScore : Left.CompareTo(other.Left);
        }
    }

    /// <summary>Per-thread buffers for one encode call.</summary>
    private sealed class Scratch
    {
        private char[] _chars = new char[256];

        public int[] Start { get; private set; } = new int[256];

        public int[] Length { get; private set; } = new int[256];

        public int[] Prev { get; private set; } = new int[256];

        public int[] Next { get; private set; } = new int[256];

        public PriorityQueue<Pair, Priority> Queue { get; } = new();

        public char[] Chars(int size)
        {
            if (_chars.Length < size)
            {
                _chars = new char[Math.Max(size, _chars.Length * 2)];
            }

            return _chars;
        }

        public void Reset(int size)
        {
            if (Start.Length < size)
            {
                int n = Math.Max(size, Start.Length * 2);
                Start = new int[n];
                Length = new int[n];
                Prev = new int[n];
                Next = new int[n];
            }
        }
    }
}
