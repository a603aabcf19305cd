using Microsoft.Extensions.AI;

namespace MicroLlm.Inference;

/// <summary>How token states become one embedding.</summary>
public enum EmbeddingPooling
{
    /// <summary>The mean of every token's final hidden state.</summary>
    Mean,

    /// <summary>The last token's final hidden state (for decoder models trained that way).</summary>
    Last,
}

/// <summary>Settings of a <see cref="LocalEmbeddingGenerator"/>.</summary>
public sealed class LocalEmbeddingGeneratorOptions
{
    /// <summary>How token states are pooled. Default <see cref="EmbeddingPooling.Mean"/>.</summary>
    public EmbeddingPooling Pooling { get; set; } = EmbeddingPooling.Mean;

    /// <summary>Whether embeddings are scaled to unit length (so a dot product is the cosine similarity). Default true.</summary>
    public bool Normalize { get; set; } = true;

    /// <summary>Inputs longer than this many tokens are cut to it. Default 512.</summary>
    public int MaxTokens { get; set; } = 512;
}

/// <summary>
/// An <see cref="IEmbeddingGenerator{TInput, TEmbedding}"/> over a local <see cref="LanguageModel"/>: each text's
/// final hidden states (after the output norm), pooled and normalised. Thread-safe.
/// </summary>
public sealed class LocalEmbeddingGenerator : IEmbeddingGenerator<string, Embedding<float>>
{
    private readonly LanguageModel _model;
    private readonly LocalEmbeddingGeneratorOptions _options;
    private readonly EmbeddingGeneratorMetadata _metadata;

    /// <summary>Creates an embedding generator over <paramref name="model"/>.</summary>
    /// <param name="model">The loaded model.</param>
    /// <param name="options">Pooling, normalisation and input limit; null for the defaults.</param>
    public LocalEmbeddingGenerator(LanguageModel model, LocalEmbeddingGeneratorOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        _model = model;
        _options = options ?? new LocalEmbeddingGeneratorOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(_options.MaxTokens, 1, nameof(options));
        _metadata = new EmbeddingGeneratorMetadata("MicroLlm", null, model.Info.Name ?? model.Info.Architecture, model.Info.EmbeddingLength);
    }

    /// <inheritdoc/>
    public async Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(
        IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(values);
        string[] texts = [.. values];
        var result = new GeneratedEmbeddings<Embedding<float>>(texts.Length);
        long inputTokens = 0;
        int maxTokens = Math.Min(_options.MaxTokens, _model.Info.ContextLength);
        using var session = _model.CreateSession(new SessionOptions { ContextLength = maxTokens });
        foreach (string text in texts)
        {
            ArgumentNullException.ThrowIfNull(text, nameof(values));
            var ids = new List<int>();
            if (_model.AddsBeginningOfSequence && _model.Tokenizer.Vocabulary.BosId is int bos)
            {
                ids.Add(bos);
            }

            ids.AddRange(_model.Tokenizer.Encode(text, addSpecialTokens: false, parseSpecialTokens: false));
            if (ids.Count == 0)
            {
                throw new ArgumentException("A text gave no tokens (empty text with a model that adds no BOS); nothing to embed.", nameof(values));
            }

            int[] tokens = [.. ids.Take(maxTokens)];
            inputTokens += tokens.Length;
            float[] vector = await Task.Run(() => Embed(session, tokens, cancellationToken), cancellationToken).ConfigureAwait(false);
            result.Add(new Embedding<float>(vector) { CreatedAt = DateTimeOffset.UtcNow, ModelId = _metadata.DefaultModelId });
        }

        result.Usage = new UsageDetails { InputTokenCount = inputTokens, TotalTokenCount = inputTokens };
        return result;
    }

    /// <inheritdoc/>
    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        return serviceKey is not null ? null
            : serviceType == typeof(EmbeddingGeneratorMetadata) ? _metadata
            : serviceType == typeof(LanguageModel) ? _model
            : serviceType.IsInstanceOfType(this) ? this
            : null;
    }

    /// <summary>Nothing to release: the model belongs to the caller.</summary>
    public void Dispose()
    {
    }

    private float[] Embed(InferenceSession session, int[] tokens, CancellationToken cancellationToken)
    {
        int dim = _model.Info.EmbeddingLength;
        var hidden = new float[tokens.Length * dim];
        session.Reset();
        session.EvaluateHidden(tokens, hidden, cancellationToken);
        var vector = new float[dim];
        if (_options.Pooling == EmbeddingPooling.Last)
        {
            hidden.AsSpan((tokens.Length - 1) * dim, dim).CopyTo(vector);
        }
        else
        {
            for (int t = 0; t < tokens.Length; t++)
            {
                System.Numerics.Tensors.TensorPrimitives.Add(vector, hidden.AsSpan(t * dim, dim), vector);
            }

            System.Numerics.Tensors.TensorPrimitives.Divide(vector, tokens.Length, vector);
        }

        if (_options.Normalize)
        {
            float norm = System.Numerics.Tensors.TensorPrimitives.Norm(vector);
            if (norm > 0)
            {
                System.Numerics.Tensors.TensorPrimitives.Divide(vector, norm, vector);
            }
        }

        return vector;
    }
}
