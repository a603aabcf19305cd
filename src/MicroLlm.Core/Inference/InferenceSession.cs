using MicroLlm.Generation;

namespace MicroLlm.Inference;

/// <summary>
/// One sequence over a <see cref="LanguageModel"/>: the tokens evaluated so far and their KV cache. Evaluate tokens
/// to extend it and read the next-token logits; truncate or reset it to reuse it. A session is used by one thread at a
/// time (concurrent calls throw <see cref="InvalidOperationException"/>); sessions of the same model run in parallel.
/// </summary>
public sealed class InferenceSession : IDisposable
{
    private readonly LanguageModel _model;
    private readonly TransformerState _state;
    private readonly List<int> _tokens = [];
    private readonly float[] _logits;
    private int _busy;
    private bool _disposed;
    private bool _hasLogits;

    internal InferenceSession(LanguageModel model, int contextLength)
    {
        _model = model;
        _state = new TransformerState(model.Transformer, contextLength);
        _logits = new float[model.Info.VocabularySize];
    }

    /// <summary>The model this session runs.</summary>
    public LanguageModel Model => _model;

    /// <summary>The most tokens this session can hold.</summary>
    public int ContextLength => _state.ContextLength;

    /// <summary>The tokens evaluated so far, in order (the KV cache holds exactly these).</summary>
    public IReadOnlyList<int> Tokens => _tokens;

    /// <summary>The number of tokens evaluated so far (the position of the next token).</summary>
    public int Length => _tokens.Count;

    /// <summary>
    /// The logits after the last evaluated token (a view of the session's buffer, valid until the next call).
    /// Empty before the first evaluation and after <see cref="Truncate"/> or <see cref="Reset"/>.
    /// </summary>
    public ReadOnlySpan<float> Logits => _hasLogits ? _logits : default;

    /// <summary>Appends <paramref name="tokens"/> to the sequence (a batched prefill when there are many).</summary>
    /// <param name="tokens">Token ids to evaluate, at least one.</param>
    /// <param name="cancellationToken">Checked between batches of tokens; on cancellation the session keeps the tokens of finished batches.</param>
    /// <returns>The logits after the last token (see <see cref="Logits"/>).</returns>
    /// <exception cref="InvalidOperationException">The sequence would exceed <see cref="ContextLength"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A token id is outside the vocabulary.</exception>
    public ReadOnlySpan<float> Evaluate(ReadOnlySpan<int> tokens, CancellationToken cancellationToken = default)
    {
        Run(tokens, default, Output.LastLogits, cancellationToken);
        return _logits;
    }

    /// <summary>
    /// Appends <paramref name="tokens"/> and writes the logits after every one of them into <paramref name="logits"/>
    /// (token-major: <c>tokens.Length × VocabularySize</c> floats), as for scoring a text or checking a model.
    /// </summary>
    /// <param name="tokens">Token ids to evaluate, at least one.</param>
    /// <param name="logits">Receives the logits; at least <c>tokens.Length * Model.Info.VocabularySize</c> floats.</param>
    /// <param name="cancellationToken">Checked between batches of tokens.</param>
    public void EvaluateAll(ReadOnlySpan<int> tokens, Span<float> logits, CancellationToken cancellationToken = default)
    {
        int vocab = _model.Info.VocabularySize;
        if (logits.Length < (long)tokens.Length * vocab)
        {
            throw new ArgumentException($"The logits buffer needs {(long)tokens.Length * vocab} floats (tokens × vocabulary).", nameof(logits));
        }

        Run(tokens, logits, Output.AllLogits, cancellationToken);
    }

    /// <summary>
    /// Appends <paramref name="prompt"/> (tokenized; the model's BOS first when the session is empty and the model
    /// wants one) and streams the generated text.
    /// </summary>
    /// <param name="prompt">The text to continue.</param>
    /// <param name="options">Token limit, sampling, stop strings, grammar; null for the defaults.</param>
    /// <param name="cancellationToken">Stops the generation within one token (<see cref="OperationCanceledException"/>).</param>
    /// <returns>Updates of whole characters; the last one says why the generation ended.</returns>
    public IAsyncEnumerable<GenerationUpdate> GenerateAsync(string prompt, GenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        options ??= new GenerationOptions();
        return Generator.RunAsync(this, Tokenize(prompt, options), options, cancellationToken);
    }

    /// <summary>Appends <paramref name="promptTokens"/> (as given: no BOS is added) and streams the generated text.</summary>
    /// <param name="promptTokens">Tokens to evaluate first; may be empty to continue from the session's last logits.</param>
    /// <param name="options">Token limit, sampling, stop strings, grammar; null for the defaults.</param>
    /// <param name="cancellationToken">Stops the generation within one token.</param>
    /// <returns>Updates of whole characters; the last one says why the generation ended.</returns>
    public IAsyncEnumerable<GenerationUpdate> GenerateAsync(IReadOnlyList<int> promptTokens, GenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(promptTokens);
        return Generator.RunAsync(this, promptTokens, options ?? new GenerationOptions(), cancellationToken);
    }

    /// <summary>Like <see cref="GenerateAsync(string, GenerationOptions?, CancellationToken)"/>, returning the whole text at the end.</summary>
    /// <param name="prompt">The text to continue.</param>
    /// <param name="options">Token limit, sampling, stop strings, grammar; null for the defaults.</param>
    /// <param name="cancellationToken">Stops the generation within one token.</param>
    /// <returns>The generated text, tokens, finish reason and timings.</returns>
    public Task<GenerationResult> GenerateTextAsync(string prompt, GenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        options ??= new GenerationOptions();
        return Generator.CompleteAsync(this, Tokenize(prompt, options), options, cancellationToken);
    }

    private List<int> Tokenize(string prompt, GenerationOptions options)
    {
        var ids = new List<int>();
        if (_tokens.Count == 0 && _model.AddsBeginningOfSequence && _model.Tokenizer.Vocabulary.BosId is int bos)
        {
            ids.Add(bos);
        }

        ids.AddRange(_model.Tokenizer.Encode(prompt, addSpecialTokens: false, parseSpecialTokens: options.ParseSpecialTokens));
        return ids;
    }

    /// <summary>Appends <paramref name="tokens"/> and writes each one's final hidden state (tokens × embedding length).</summary>
    internal void EvaluateHidden(ReadOnlySpan<int> tokens, Span<float> hidden, CancellationToken cancellationToken) =>
        Run(tokens, hidden, Output.Hidden, cancellationToken);

    private enum Output
    {
        LastLogits,
        AllLogits,
        Hidden,
    }

    /// <summary>Evaluates in batches, recording each finished batch's tokens, so a cancelled call keeps what it finished.</summary>
    private void Run(ReadOnlySpan<int> tokens, Span<float> output, Output kind, CancellationToken cancellationToken)
    {
        int width = kind == Output.Hidden ? _model.Info.EmbeddingLength : _model.Info.VocabularySize;
        Enter();
        try
        {
            Check(tokens);
            for (int start = 0; start < tokens.Length; start += TransformerState.MaxBatch)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var batch = tokens.Slice(start, Math.Min(TransformerState.MaxBatch, tokens.Length - start));
                _hasLogits = false;
                switch (kind)
                {
                    case Output.LastLogits:
                        _state.Forward(batch, _tokens.Count, _logits, allLogits: false, cancellationToken);
                        break;
                    case Output.AllLogits:
                        var rows = output.Slice(start * width, batch.Length * width);
                        _state.Forward(batch, _tokens.Count, rows, allLogits: true, cancellationToken);
                        rows.Slice((batch.Length - 1) * width, width).CopyTo(_logits);
                        break;
                    default:
                        _state.ForwardHidden(batch, _tokens.Count, output.Slice(start * width, batch.Length * width), cancellationToken);
                        break;
                }

                foreach (int t in batch)
                {
                    _tokens.Add(t);
                }

                _hasLogits = kind != Output.Hidden;
            }
        }
        finally
        {
            Exit();
        }
    }

    /// <summary>Keeps the first <paramref name="length"/> tokens and forgets the rest (their cache entries are reused).</summary>
    /// <param name="length">Tokens to keep, from 0 to <see cref="Length"/>.</param>
    /// <remarks>The logits are cleared: evaluate the next token to get new ones.</remarks>
    public void Truncate(int length)
    {
        Enter();
        try
        {
            ArgumentOutOfRangeException.ThrowIfNegative(length);
            ArgumentOutOfRangeException.ThrowIfGreaterThan(length, _tokens.Count);
            _tokens.RemoveRange(length, _tokens.Count - length);
            _hasLogits = false;
        }
        finally
        {
            Exit();
        }
    }

    /// <summary>Forgets every token (same as <c>Truncate(0)</c>).</summary>
    public void Reset() => Truncate(0);

    /// <summary>Releases the session's buffers.</summary>
    public void Dispose() => _disposed = true;

    private void Check(ReadOnlySpan<int> tokens)
    {
        if (tokens.IsEmpty)
        {
            throw new ArgumentException("Evaluate at least one token.", nameof(tokens));
        }

        if ((long)_tokens.Count + tokens.Length > ContextLength)
        {
            throw new InvalidOperationException(
                $"The sequence would hold {(long)_tokens.Count + tokens.Length} tokens, past this session's context of {ContextLength}; truncate or reset the session, or create one with a longer SessionOptions.ContextLength.");
        }

        int vocab = _model.Info.VocabularySize;
        foreach (int t in tokens)
        {
            if ((uint)t >= (uint)vocab)
            {
                throw new ArgumentOutOfRangeException(nameof(tokens), t, $"Token ids of this model are 0..{vocab - 1}.");
            }
        }
    }

    private void Enter()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (Interlocked.Exchange(ref _busy, 1) != 0)
        {
            throw new InvalidOperationException("This session is already running a call on another thread; use one session per thread.");
        }

        try
        {
            _model.Acquire();
        }
        catch
        {
            Volatile.Write(ref _busy, 0);
            throw;
        }
    }

    private void Exit()
    {
        _model.Release();
        Volatile.Write(ref _busy, 0);
    }
}
