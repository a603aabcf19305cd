namespace MicroLlm.Constraints;

/// <summary>
/// Constrains generation to a <see cref="Grammar"/>: before each token, <see cref="ComputeMask"/> says which tokens keep
/// the output a prefix of some string of the grammar; after it, <see cref="Accept"/> moves on by the chosen token's bytes.
/// End-of-generation tokens are allowed exactly where the grammar may end (<see cref="CanEnd"/>).
/// </summary>
/// <remarks>
/// <para>
/// Matching is over UTF-8 bytes, so a token may end in the middle of a character (a Bangla letter split over two byte
/// tokens) or span several grammar symbols (<c>"},{"</c>); only valid UTF-8 is ever allowed.
/// </para>
/// <para>
/// Cost model: a mask is one forward scan of the vocabulary's token trie from the current grammar state; a trie node costs
/// one cached table read, and a rejected node skips its whole subtree. So the cost is proportional to the number of trie
/// nodes whose byte prefix the grammar allows here: small where the grammar expects punctuation, and the whole trie
/// (about 90,000 nodes for a 32,000-token SentencePiece vocabulary) inside free text such as a JSON string. The
/// first visit to a grammar configuration computes its transitions (a closure over the grammar's rules); later visits
/// reuse them. <see cref="Accept"/> costs one table read per byte. Nothing is allocated per token once the caches are warm.
/// </para>
/// <para>
/// Every rule of a compiled grammar can finish, so from every state an ending exists; a grammar that lets the output run on
/// forever is stopped by the caller's token limit, and <see cref="CanEnd"/> then says whether what was produced is complete.
/// Not thread-safe: use one constraint per generation (they are cheap to create from a shared grammar and vocabulary).
/// </para>
/// </remarks>
public sealed class TokenConstraint
{
    private readonly GrammarMachine _machine;
    private readonly ConstraintVocabulary _vocabulary;
    private readonly TokenTrie _trie;
    private readonly byte[] _labelClasses; // (trie nodes) byte class of each node's label
    private readonly int[] _depthStates;   // (max token length + 1) state at each depth during a walk
    private readonly int _maxStates;
    private int _state;
    private bool _ended;

    private TokenConstraint(Grammar grammar, ConstraintVocabulary vocabulary, TokenConstraintOptions options)
    {
        Grammar = grammar;
        _vocabulary = vocabulary;
        _machine = new GrammarMachine(grammar.Program);
        _trie = vocabulary.Trie;
        _labelClasses = new byte[_trie.NodeCount];
        var classes = grammar.Program.ByteClasses;
        for (int i = 0; i < _labelClasses.Length; i++)
        {
            _labelClasses[i] = classes[_trie.Labels[i]];
        }

        _depthStates = new int[_trie.MaxDepth + 1];
        _maxStates = options.MaxCachedStates;
        _state = _machine.Initial;
    }

    /// <summary>The grammar this constraint enforces.</summary>
    public Grammar Grammar { get; }

    /// <summary>The vocabulary the masks are over.</summary>
    public ConstraintVocabulary Vocabulary => _vocabulary;

    /// <summary>Whether the output so far is a complete string of the grammar, so an end-of-generation token is allowed now.</summary>
    public bool CanEnd => !_ended && _machine.IsAccepting(_state);

    /// <summary>
    /// Whether the output is finished: an end-of-generation token was accepted, or the grammar has ended and allows nothing
    /// more (only an end-of-generation token is allowed). The caller can stop generating.
    /// </summary>
    public bool IsComplete => _ended || _machine.IsFinished(_state);

    /// <summary>Creates a constraint at the start of the grammar.</summary>
    /// <param name="grammar">The grammar the output must match.</param>
    /// <param name="vocabulary">The model's vocabulary.</param>
    /// <param name="options">Tuning; null means the defaults.</param>
    /// <returns>The constraint.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="grammar"/> or <paramref name="vocabulary"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    public static TokenConstraint Create(Grammar grammar, ConstraintVocabulary vocabulary, TokenConstraintOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(grammar);
        ArgumentNullException.ThrowIfNull(vocabulary);
        options = (options ?? new TokenConstraintOptions()).Clone();
        options.Validate();
        return new TokenConstraint(grammar, vocabulary, options);
    }

    /// <summary>Computes which tokens may come next.</summary>
    /// <param name="allowed">One entry per vocabulary token; set to true for the allowed tokens and false for the rest.</param>
    /// <returns>The number of allowed tokens; 0 after an end-of-generation token, or where the vocabulary cannot spell any continuation.</returns>
    /// <exception cref="ArgumentException"><paramref name="allowed"/> is not the vocabulary's size.</exception>
    public int ComputeMask(Span<bool> allowed)
    {
        if (allowed.Length != _vocabulary.Count)
        {
            throw new ArgumentException($"The mask needs one entry per token: {_vocabulary.Count}, got {allowed.Length}.", nameof(allowed));
        }

        allowed.Clear();
        if (_ended)
        {
            return 0;
        }

        int count = 0;
        if (_machine.IsAccepting(_state))
        {
            foreach (int id in _vocabulary.EndOfGenerationIds)
            {
                allowed[id] = true;
                count++;
            }
        }

        if (_machine.IsFinished(_state))
        {
            return count;
        }

        return count + Walk(allowed);
    }

    private int Walk(Span<bool> allowed)
    {
        var labelClasses = _labelClasses;
        var depths = _trie.Depths;
        var ends = _trie.SubtreeEnds;
        var tokens = _trie.Tokens;
        var nextSame = _trie.NextSameBytes;
        var states = _depthStates;
        int classes = _machine.ClassCount;
        int[] transitions = _machine.Transitions;
        int nodes = labelClasses.Length;
        int count = 0;
        states[0] = _state;
        for (int i = 0; i < nodes;)
        {
            int parent = states[depths[i] - 1];
            int c = labelClasses[i];
            int next = transitions[(parent * classes) + c];
            if (next < 0)
            {
                next = _machine.ComputeTransition(parent, c);
                transitions = _machine.Transitions;
            }

            if (next == GrammarMachine.Dead)
            {
                i = ends[i];
                continue;
            }

            states[depths[i]] = next;
            for (int token = tokens[i]; token >= 0; token = nextSame[token])
            {
                allowed[token] = true;
                count++;
            }

            i++;
        }

        return count;
    }

    /// <summary>Whether token <paramref name="tokenId"/> may come next (one token's check, without a whole mask).</summary>
    /// <param name="tokenId">A token id.</param>
    /// <returns><see langword="true"/> if the token keeps the output valid.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="tokenId"/> is outside the vocabulary.</exception>
    public bool IsAllowed(int tokenId)
    {
        ReadOnlySpan<byte> bytes = _vocabulary.GetTokenBytes(tokenId);
        if (_ended)
        {
            return false;
        }

        if (_vocabulary.IsEndOfGeneration(tokenId))
        {
            return _machine.IsAccepting(_state);
        }

        return bytes.Length > 0 && _machine.Run(_state, bytes) != GrammarMachine.Dead;
    }

    /// <summary>Moves past token <paramref name="tokenId"/>, the one chosen with the last mask.</summary>
    /// <param name="tokenId">The chosen token id.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="tokenId"/> is outside the vocabulary.</exception>
    /// <exception cref="InvalidOperationException">The token is not allowed here (sample with the mask), or the output already ended.</exception>
    public void Accept(int tokenId)
    {
        ReadOnlySpan<byte> bytes = _vocabulary.GetTokenBytes(tokenId);
        if (_ended)
        {
            throw new InvalidOperationException("The constraint already accepted an end-of-generation token; call Reset to start a new output.");
        }

        if (_vocabulary.IsEndOfGeneration(tokenId))
        {
            if (!_machine.IsAccepting(_state))
            {
                throw new InvalidOperationException($"End-of-generation token {tokenId} is not allowed here: the grammar is not complete. Sample with the mask from ComputeMask.");
            }

            _ended = true;
            return;
        }

        int next = bytes.Length == 0 ? GrammarMachine.Dead : _machine.Run(_state, bytes);
        if (next == GrammarMachine.Dead)
        {
            throw new InvalidOperationException($"Token {tokenId} is not allowed here by the grammar. Sample with the mask from ComputeMask.");
        }

        _state = _machine.CachedStates > _maxStates ? _machine.Rebase(next) : next;
    }

    /// <summary>Moves past text the model did not choose token by token (a prefilled start of the answer, for example).</summary>
    /// <param name="utf8">The text's UTF-8 bytes.</param>
    /// <exception cref="InvalidOperationException">The text does not continue a string of the grammar, or the output already ended.</exception>
    public void AcceptBytes(ReadOnlySpan<byte> utf8)
    {
        if (_ended)
        {
            throw new InvalidOperationException("The constraint already accepted an end-of-generation token; call Reset to start a new output.");
        }

        int next = _machine.Run(_state, utf8);
        if (next == GrammarMachine.Dead)
        {
            throw new InvalidOperationException("The text is not allowed here by the grammar.");
        }

        _state = _machine.CachedStates > _maxStates ? _machine.Rebase(next) : next;
    }

    /// <summary>Goes back to the start of the grammar for a new output; cached transitions are kept.</summary>
    public void Reset()
    {
        _ended = false;
        if (_machine.CachedStates > _maxStates)
        {
            _machine.Clear();
        }

        _state = _machine.Initial;
    }
}
