namespace MicroLlm.Constraints;

/// <summary>
/// A model's vocabulary as constrained decoding sees it: each token's UTF-8 bytes (exactly what it adds to the output) and
/// which tokens end a generation (EOS, EOT). Built once per model and shared by every <see cref="TokenConstraint"/>; the
/// token trie it holds is what makes a mask cost one walk rather than one grammar run per token. Immutable and thread-safe.
/// </summary>
/// <remarks>
/// Tokens with no bytes (BOS, padding, control tokens that print nothing) are never allowed by a constraint, except the
/// end-of-generation tokens, which are allowed exactly where the grammar may end.
/// </remarks>
public sealed class ConstraintVocabulary
{
    private readonly byte[][] _tokens;
    private readonly bool[] _endOfGeneration;

    private ConstraintVocabulary(byte[][] tokens, bool[] endOfGeneration, int[] endIds)
    {
        _tokens = tokens;
        _endOfGeneration = endOfGeneration;
        EndOfGenerationIds = endIds;
        Trie = TokenTrie.Build(tokens, endOfGeneration);
    }

    /// <summary>The number of tokens (the length of a mask).</summary>
    public int Count => _tokens.Length;

    /// <summary>The ids of the tokens that end a generation, ascending.</summary>
    public IReadOnlyList<int> EndOfGenerationIds { get; }

    internal TokenTrie Trie { get; }

    /// <summary>Creates a vocabulary from each token's bytes and the ids that end a generation.</summary>
    /// <param name="tokenBytes">For each token id, the UTF-8 bytes it contributes to the text (empty for tokens that print nothing). Copied.</param>
    /// <param name="endOfGenerationIds">The tokens that end a generation (EOS, EOT, EOM); at least one.</param>
    /// <returns>The vocabulary.</returns>
    /// <exception cref="ArgumentNullException">An argument or a token's bytes is null.</exception>
    /// <exception cref="ArgumentException">The vocabulary is empty, or there is no end-of-generation id.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An end-of-generation id is outside the vocabulary.</exception>
    public static ConstraintVocabulary Create(IReadOnlyList<byte[]> tokenBytes, IEnumerable<int> endOfGenerationIds)
    {
        ArgumentNullException.ThrowIfNull(tokenBytes);
        ArgumentNullException.ThrowIfNull(endOfGenerationIds);
        if (tokenBytes.Count == 0)
        {
            throw new ArgumentException("The vocabulary has no tokens.", nameof(tokenBytes));
        }

        var tokens = new byte[tokenBytes.Count][];
        for (int i = 0; i < tokens.Length; i++)
        {
            tokens[i] = (byte[])(tokenBytes[i] ?? throw new ArgumentNullException(nameof(tokenBytes), $"Token {i}'s bytes are null; use an empty array for a token that prints nothing.")).Clone();
        }

        var end = new bool[tokens.Length];
        foreach (int id in endOfGenerationIds)
        {
            if ((uint)id >= (uint)tokens.Length)
            {
                throw new ArgumentOutOfRangeException(nameof(endOfGenerationIds), id, $"End-of-generation id {id} is outside the vocabulary of {tokens.Length} tokens.");
            }

            end[id] = true;
        }

        int[] endIds = [.. Enumerable.Range(0, end.Length).Where(i => end[i])];
        if (endIds.Length == 0)
        {
            throw new ArgumentException("Give at least one end-of-generation id (the vocabulary's EOS or EOT), or no output could ever end.", nameof(endOfGenerationIds));
        }

        return new ConstraintVocabulary(tokens, end, endIds);
    }

    /// <summary>The bytes token <paramref name="id"/> adds to the output.</summary>
    /// <param name="id">A token id.</param>
    /// <returns>The bytes (empty for a token that prints nothing).</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="id"/> is outside the vocabulary.</exception>
    public ReadOnlySpan<byte> GetTokenBytes(int id)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)id, (uint)_tokens.Length, nameof(id));
        return _tokens[id];
    }

    /// <summary>Whether token <paramref name="id"/> ends a generation.</summary>
    /// <param name="id">A token id.</param>
    /// <returns><see langword="true"/> for EOS, EOT and the like.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="id"/> is outside the vocabulary.</exception>
    public bool IsEndOfGeneration(int id)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)id, (uint)_tokens.Length, nameof(id));
        return _endOfGeneration[id];
    }
}
