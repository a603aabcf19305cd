using System.Collections.Concurrent;
using System.Runtime.InteropServices;

namespace MicroLlm.Tokenization.Bpe;

/// <summary>
/// Turns one pre-tokenized word, written in the byte-level alphabet, into token ids: starts from one symbol per
/// byte and repeatedly merges the adjacent pair with the best (lowest) merge rank, leftmost first on ties, as the
/// reference runtime does. Short words find the best pair by scanning, long ones through a priority queue over a
/// linked list of symbols (near-linear in the word's length); finished words are cached.
/// </summary>
/// <remarks>
/// Symbols are identified by integer: a vocabulary piece by its token id, any other piece the merges mention by an
/// id past the vocabulary. A merge is then a lookup of a pair of ids, and a symbol that the vocabulary lacks falls
/// back, as in the reference, to the ids of its single ASCII characters (the rest of it is dropped).
/// </remarks>
internal sealed class BpeMergeEngine
{
    private const int MaxCachedWords = 1 << 16;
    private const int MaxCachedWordLength = 256;

    /// <summary>Words up to this many bytes merge by scanning their pairs, longer ones through the priority queue.</summary>
    public const int DefaultScanMergeMaxLength = 48;

    private readonly GgufVocabulary _vocabulary;
    private readonly bool _ignoreMerges;
    private readonly int _scanMergeMaxLength;

    // (left symbol << 32 | right symbol) -> (rank, merged symbol); the first of duplicate merges wins.
    private readonly Dictionary<long, (int Rank, int Result)> _merges;

    // Symbols the merges mention that are not vocabulary pieces: id - vocabulary count -> ids to emit instead.
    private readonly int[][] _fallbacks;

    // Symbol id of each byte's single-character piece.
    private readonly int[] _byteSymbols = new int[256];

    private readonly ConcurrentDictionary<string, int[]> _cache = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int[]>.AlternateLookup<ReadOnlySpan<char>> _cacheBySpan;
    private int _cachedCount;

    [ThreadStatic]
    private static WordScratch? t_scratch;

    /// <summary>Builds the merge table.</summary>
    /// <param name="vocabulary">The vocabulary, with its <c>tokenizer.ggml.merges</c>.</param>
    /// <param name="ignoreMerges">Whether a word that is a piece of the vocabulary as a whole becomes that token directly.</param>
    /// <param name="scanMergeMaxLength">The longest word, in bytes, merged by scanning rather than through the queue; both give the same ids (tests run each).</param>
    /// <exception cref="InvalidDataException">A merge is not two pieces separated by a space.</exception>
    public BpeMergeEngine(GgufVocabulary vocabulary, bool ignoreMerges, int scanMergeMaxLength = DefaultScanMergeMaxLength)
    {
        _vocabulary = vocabulary;
        _ignoreMerges = ignoreMerges;
        _scanMergeMaxLength = scanMergeMaxLength;
        _cacheBySpan = _cache.GetAlternateLookup<ReadOnlySpan<char>>();

        var extra = new Dictionary<string, int>(StringComparer.Ordinal);
        var extraPieces = new List<string>();
        int Intern(string piece)
        {
            if (vocabulary.TryGetId(piece, out int id))
            {
                return id;
            }

            if (!extra.TryGetValue(piece, out id))
            {
                id = vocabulary.Count + extraPieces.Count;
                extra.Add(piece, id);
                extraPieces.Add(piece);
            }

            return id;
        }

        for (int b = 0; b < 256; b++)
        {
            _byteSymbols[b] = Intern(ByteLevelAlphabet.ToChar((byte)b).ToString());
        }

        IReadOnlyList<string> merges = vocabulary.Merges;
        _merges = new Dictionary<long, (int, int)>(merges.Count);
        for (int rank = 0; rank < merges.Count; rank++)
        {
            string line = merges[rank];

            // The split is at the first space after the first character, as in the reference, so a piece may begin with a space.
            int space = line.Length > 1 ? line.IndexOf(' ', 1) : -1;
            if (space < 0 || space == line.Length - 1)
            {
                throw new InvalidDataException(
                    $"The GGUF file's tokenizer.ggml.merges[{rank}] is \"{Printable(line)}\"; each merge must be two non-empty pieces separated by a space. The file is damaged or was not written for a byte-level BPE vocabulary.");
            }

            string left = line[..space];
            string right = line[(space + 1)..];
            long key = Pair(Intern(left), Intern(right));
            _merges.TryAdd(key, (rank, Intern(string.Concat(left, right))));
        }

        _fallbacks = new int[extraPieces.Count][];
        for (int i = 0; i < extraPieces.Count; i++)
        {
            var ids = new List<int>();
            foreach (char c in extraPieces[i])
            {
                if (c < 0x80 && vocabulary.TryGetId(c.ToString(), out int id))
                {
                    ids.Add(id);
                }
            }

            _fallbacks[i] = [.. ids];
        }
    }

    /// <summary>Appends the ids of one word.</summary>
    /// <param name="word">The word in the byte-level alphabet: one character per UTF-8 byte.</param>
    /// <param name="output">Where the ids go.</param>
    public void Encode(ReadOnlySpan<char> word, List<int> output)
    {
        if (word.IsEmpty)
        {
            return;
        }

        if (_cacheBySpan.TryGetValue(word, out int[]? cached))
        {
            output.AddRange(cached);
            return;
        }

        string key = word.ToString();
        int before = output.Count;
        if (_ignoreMerges && _vocabulary.TryGetId(key, out int whole))
        {
            output.Add(whole);
        }
        else
        {
            Merge(word, output);
        }

        if (word.Length <= MaxCachedWordLength)
        {
            // A bounded cache: emptied when full (ConcurrentDictionary.Count would take every lock).
            if (Interlocked.Increment(ref _cachedCount) > MaxCachedWords)
            {
                _cache.Clear();
                Interlocked.Exchange(ref _cachedCount, 0);
            }

            _cache.TryAdd(key, CollectionsMarshal.AsSpan(output)[before..].ToArray());
        }
    }

    private static long Pair(int left, int right) => ((long)left << 32) | (uint)right;

    private static string Printable(string s)
    {
        string shown = s.Length > 80 ? s[..80] + "…" : s;
        return shown.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal);
    }

    private void Merge(ReadOnlySpan<char> word, List<int> output)
    {
        WordScratch s = t_scratch ??= new WordScratch();
        s.Reset(word.Length);
        Span<int> symbol = s.Symbol.AsSpan(0, word.Length);
        Span<int> prev = s.Prev.AsSpan(0, word.Length);
        Span<int> next = s.Next.AsSpan(0, word.Length);

        for (int i = 0; i < word.Length; i++)
        {
            // Every character of the word is in the alphabet: the encoder writes them.
            ByteLevelAlphabet.TryGetByte(word[i], out byte b);
            symbol[i] = _byteSymbols[b];
            prev[i] = i - 1;
            next[i] = i + 1 < word.Length ? i + 1 : -1;
        }

        if (word.Length <= _scanMergeMaxLength)
        {
            MergeByScanning(symbol, prev, next, s.PairRank.AsSpan(0, word.Length), s.PairResult.AsSpan(0, word.Length));
        }
        else
        {
            MergeByQueue(symbol, prev, next, s.Queue);
        }

        for (int i = 0; i >= 0; i = next[i])
        {
            int id = symbol[i];
            if (id < _vocabulary.Count)
            {
                output.Add(id);
            }
            else
            {
                output.AddRange(_fallbacks[id - _vocabulary.Count]);
            }
        }
    }

    /// <summary>
    /// Short words: keeps the rank of each adjacent pair and merges the best one, lowest rank then leftmost, until
    /// none is left. The same order as <see cref="MergeByQueue"/> (the queue's live entries are exactly the adjacent
    /// pairs), with less work per merge when there are only a few symbols.
    /// </summary>
    private void MergeByScanning(Span<int> symbol, Span<int> prev, Span<int> next, Span<int> pairRank, Span<int> pairResult)
    {
        // pairRank[i]: rank of the pair (i, next[i]), or int.MaxValue when it has no merge or i is not live.
        for (int i = 0; i < symbol.Length; i++)
        {
            RankPair(symbol, next, pairRank, pairResult, i);
        }

        while (true)
        {
            int best = -1, bestRank = int.MaxValue;
            for (int i = 0; i >= 0; i = next[i])
            {
                if (pairRank[i] < bestRank)
                {
                    bestRank = pairRank[i];
                    best = i;
                }
            }

            if (best < 0)
            {
                return;
            }

            int right = next[best];
            symbol[best] = pairResult[best];
            int after = next[right];
            next[best] = after;
            if (after >= 0)
            {
                prev[after] = best;
            }

            pairRank[right] = int.MaxValue;
            RankPair(symbol, next, pairRank, pairResult, best);
            if (prev[best] >= 0)
            {
                RankPair(symbol, next, pairRank, pairResult, prev[best]);
            }
        }
    }

    private void RankPair(Span<int> symbol, Span<int> next, Span<int> pairRank, Span<int> pairResult, int left)
    {
        int right = next[left];
        if (right >= 0 && _merges.TryGetValue(Pair(symbol[left], symbol[right]), out var merge))
        {
            pairRank[left] = merge.Rank;
            pairResult[left] = merge.Result;
        }
        else
        {
            pairRank[left] = int.MaxValue;
        }
    }

    /// <summary>
    /// Long words: a priority queue of adjacent pairs by (rank, left position); entries that went stale when a
    /// neighbour merged are skipped when they come up. O(n log n) in the word's length.
    /// </summary>
    private void MergeByQueue(Span<int> symbol, Span<int> prev, Span<int> next, PriorityQueue<(int Left, int Right, int LeftSymbol, int RightSymbol, int Result), long> queue)
    {
        for (int i = 1; i < symbol.Length; i++)
        {
            Offer(queue, symbol, i - 1, i);
        }

        while (queue.TryDequeue(out var pair, out _))
        {
            // Skip pairs that went stale: a side was merged away or grew since the pair was queued.
            if (symbol[pair.Left] != pair.LeftSymbol || symbol[pair.Right] != pair.RightSymbol || next[pair.Left] != pair.Right)
            {
                continue;
            }

            symbol[pair.Left] = pair.Result;
            symbol[pair.Right] = -1;
            int after = next[pair.Right];
            next[pair.Left] = after;
            if (after >= 0)
            {
                prev[after] = pair.Left;
            }

            if (prev[pair.Left] >= 0)
            {
                Offer(queue, symbol, prev[pair.Left], pair.Left);
            }

            if (after >= 0)
            {
                Offer(queue, symbol, pair.Left, after);
            }
        }
    }

    private void Offer(PriorityQueue<(int, int, int, int, int), long> queue, Span<int> symbol, int left, int right)
    {
        if (_merges.TryGetValue(Pair(symbol[left], symbol[right]), out var merge))
        {
            // Lowest rank first; among equal ranks, the leftmost pair.
            queue.Enqueue((left, right, symbol[left], symbol[right], merge.Result), ((long)merge.Rank << 32) | (uint)left);
        }
    }

    /// <summary>Per-thread buffers for merging one word.</summary>
    private sealed class WordScratch
    {
        public int[] Symbol { get; private set; } = new int[64];

        public int[] Prev { get; private set; } = new int[64];

        public int[] Next { get; private set; } = new int[64];

        public int[] PairRank { get; private set; } = new int[64];

        public int[] PairResult { get; private set; } = new int[64];

        public PriorityQueue<(int Left, int Right, int LeftSymbol, int RightSymbol, int Result), long> Queue { get; } = new();

        public void Reset(int length)
        {
            if (Symbol.Length < length)
            {
                int size = Math.Max(length, Symbol.Length * 2);
                Symbol = new int[size];
                Prev = new int[size];
                Next = new int[size];
                PairRank = new int[size];
                PairResult = new int[size];
            }

            Queue.Clear();
        }
    }
}
