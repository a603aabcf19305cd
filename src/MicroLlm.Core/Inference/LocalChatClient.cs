using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;
using MicroLlm.Chat;
using MicroLlm.Constraints;
using MicroLlm.Generation;
using MicroLlm.Sampling;

namespace MicroLlm.Inference;

/// <summary>Settings of a <see cref="LocalChatClient"/>.</summary>
public sealed class LocalChatClientOptions
{
    /// <summary>The chat format; null to use the model's (<see cref="LanguageModel.ChatTemplate"/>).</summary>
    public ChatTemplate? Template { get; set; }

    /// <summary>Context length of each conversation's session; null for the session default.</summary>
    public int? ContextLength { get; set; }

    /// <summary>Output token limit when <see cref="ChatOptions.MaxOutputTokens"/> is not set. Default 512.</summary>
    public int DefaultMaxOutputTokens { get; set; } = 512;

    /// <summary>Whether disposing the client disposes the model. Default false.</summary>
    public bool DisposeModel { get; set; }
}

/// <summary>
/// A <see cref="IChatClient"/> over a local <see cref="LanguageModel"/>, so that any host written against
/// Microsoft.Extensions.AI runs offline. Honours <see cref="ChatOptions"/> temperature, top-p, top-k, max output
/// tokens, stop sequences, seed, frequency and presence penalties, and <see cref="ChatResponseFormat.Json"/> /
/// <see cref="ChatResponseFormat.ForJsonSchema(System.Text.Json.JsonElement, string?, string?)"/> (enforced by
/// constrained decoding: the output always parses and, with a schema, validates). A request may also carry any grammar
/// under <see cref="GrammarKey"/> in <see cref="ChatOptions.AdditionalProperties"/>.
/// </summary>
/// <remarks>
/// Thread-safe: concurrent calls get their own sessions. The last finished session is kept, and a following call whose
/// prompt starts with the same tokens (the next turn of a conversation) reuses its KV cache for that prefix.
/// Message text is always content: control tokens written in a message are not read as markup.
/// </remarks>
public sealed class LocalChatClient : IChatClient
{
    /// <summary>
    /// The <see cref="ChatOptions.AdditionalProperties"/> key of a grammar the answer must follow: a compiled
    /// <see cref="Grammar"/> or GBNF text (compiled per request). Clients that do not know the key ignore it.
    /// </summary>
    public const string GrammarKey = "microllm.grammar";

    private const string AnyJsonObject = """{"type":"object"}""";
    private readonly LanguageModel _model;
    private readonly LocalChatClientOptions _options;
    private readonly ChatTemplate _template;
    private readonly ChatClientMetadata _metadata;
    private InferenceSession? _idle;
    private bool _disposed;

    /// <summary>Creates a chat client over <paramref name="model"/>.</summary>
    /// <param name="model">The loaded model.</param>
    /// <param name="options">Template, context length and defaults; null for the defaults.</param>
    /// <exception cref="InvalidOperationException">The model has no recognisable chat format and none was given.</exception>
    public LocalChatClient(LanguageModel model, LocalChatClientOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        _model = model;
        _options = options ?? new LocalChatClientOptions();
        _template = _options.Template ?? model.ChatTemplate
            ?? throw new InvalidOperationException("The model does not declare a chat format this library recognises; set LocalChatClientOptions.Template (e.g. ChatTemplate.ChatML).");
        _metadata = new ChatClientMetadata("MicroLlm", null, model.Info.Name ?? model.Info.Architecture);
    }

    /// <inheritdoc/>
    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var updates = new List<ChatResponseUpdate>();
        await foreach (var update in GetStreamingResponseAsync(messages, options, cancellationToken).ConfigureAwait(false))
        {
            updates.Add(update);
        }

        return updates.ToChatResponse();
    }

    /// <inheritdoc/>
    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(messages);
        var prompt = BuildPrompt(messages, options);
        var generation = ToGenerationOptions(options);
        var session = Rent(prompt, out int reused);
        string responseId = Guid.NewGuid().ToString("N");
        bool finished = false;
        try
        {
            await foreach (var update in Generator.RunAsync(session, prompt.Skip(reused).ToArray(), generation, cancellationToken).ConfigureAwait(false))
            {
                if (update.Text.Length > 0)
                {
                    yield return new ChatResponseUpdate(ChatRole.Assistant, update.Text)
                    {
                        ResponseId = responseId,
                        MessageId = responseId,
                        ModelId = _metadata.DefaultModelId,
                    };
                }

                if (update.FinishReason is { } reason)
                {
                    var s = update.Statistics!;
                    finished = true;
                    yield return new ChatResponseUpdate(ChatRole.Assistant, [new UsageContent(new UsageDetails
                    {
                        InputTokenCount = prompt.Count,
                        OutputTokenCount = s.GeneratedTokens,
                        TotalTokenCount = prompt.Count + s.GeneratedTokens,
                    })])
                    {
                        ResponseId = responseId,
                        MessageId = responseId,
                        ModelId = _metadata.DefaultModelId,
                        FinishReason = reason is GenerationFinishReason.MaxTokens or GenerationFinishReason.ContextFull
                            ? ChatFinishReason.Length : ChatFinishReason.Stop,
                    };
                }
            }
        }
        finally
        {
            Return(session, finished);
        }
    }

    /// <inheritdoc/>
    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        return serviceKey is not null ? null
            : serviceType == typeof(ChatClientMetadata) ? _metadata
            : serviceType == typeof(LanguageModel) ? _model
            : serviceType.IsInstanceOfType(this) ? this
            : null;
    }

    /// <summary>Releases the kept session (and the model, if <see cref="LocalChatClientOptions.DisposeModel"/>).</summary>
    public void Dispose()
    {
        _disposed = true;
        Interlocked.Exchange(ref _idle, null)?.Dispose();
        if (_options.DisposeModel)
        {
            _model.Dispose();
        }
    }

    private List<int> BuildPrompt(IEnumerable<ChatMessage> messages, ChatOptions? options)
    {
        var turns = new List<ChatTurn>();
        if (!string.IsNullOrEmpty(options?.Instructions))
        {
            turns.Add(new ChatTurn("system", options.Instructions));
        }

        foreach (var m in messages)
        {
            turns.Add(new ChatTurn(m.Role.Value, m.Text));
        }

        if (turns.Count == 0)
        {
            throw new ArgumentException("At least one message is needed.", nameof(messages));
        }

        var tokenizer = _model.Tokenizer;
        var ids = new List<int>();
        foreach (var part in _template.Render(turns))
        {
            // Markup is read with its control tokens; message content never is.
            ids.AddRange(tokenizer.Encode(part.Text, addSpecialTokens: false, parseSpecialTokens: part.IsMarkup));
        }

        if (_model.AddsBeginningOfSequence && tokenizer.Vocabulary.BosId is int bos && (ids.Count == 0 || ids[0] != bos))
        {
            ids.Insert(0, bos);
        }

        return ids;
    }

    private GenerationOptions ToGenerationOptions(ChatOptions? options)
    {
        var sampling = new SamplingOptions();
        if (options is not null)
        {
            if (options.Temperature is float t)
            {
                sampling.Temperature = t;
            }

            if (options.TopP is float p)
            {
                sampling.TopP = p;
            }

            if (options.TopK is int k)
            {
                sampling.TopK = k;
            }

            if (options.Seed is long seed)
            {
                sampling.Seed = unchecked((ulong)seed);
            }

            sampling.FrequencyPenalty = options.FrequencyPenalty;
            sampling.PresencePenalty = options.PresencePenalty;
        }

        var generation = new GenerationOptions
        {
            MaxTokens = options?.MaxOutputTokens ?? _options.DefaultMaxOutputTokens,
            Sampling = sampling,
            StopStrings = [.. _template.StopStrings, .. options?.StopSequences ?? []],
        };
        if (options?.ResponseFormat is ChatResponseFormatJson json)
        {
            generation.Grammar = json.Schema is { } schema ? Grammar.FromJsonSchema(schema) : Grammar.FromJsonSchema(AnyJsonObject);
        }

        if (options?.AdditionalProperties?.TryGetValue(GrammarKey, out object? value) == true && value is not null)
        {
            if (generation.Grammar is not null)
            {
                throw new ArgumentException($"The request sets both a JSON response format and a grammar ({GrammarKey}); give one of them.", nameof(options));
            }

            generation.Grammar = value switch
            {
                Grammar g => g,
                string gbnf => Grammar.Parse(gbnf),
                _ => throw new ArgumentException($"{GrammarKey} must be a {nameof(Grammar)} or GBNF text, not {value.GetType().Name}.", nameof(options)),
            };
        }

        return generation;
    }

    private InferenceSession Rent(List<int> prompt, out int reused)
    {
        reused = 0;
        var session = Interlocked.Exchange(ref _idle, null);
        if (session is null || session.ContextLength < Math.Min(prompt.Count + 1, _model.Info.ContextLength))
        {
            session?.Dispose();
            return _model.CreateSession(new SessionOptions { ContextLength = _options.ContextLength });
        }

        var held = session.Tokens;
        int common = 0;
        while (common < held.Count && common < prompt.Count && held[common] == prompt[common])
        {
            common++;
        }

        // Re-evaluate at least the last prompt token, so that the session has its logits.
        reused = Math.Min(common, prompt.Count - 1);
        session.Truncate(reused);
        return session;
    }

    private void Return(InferenceSession session, bool finished)
    {
        if (!finished || _disposed)
        {
            session.Dispose(); // a cancelled or failed call leaves nothing half-done for the next one
            return;
        }

        Interlocked.Exchange(ref _idle, session)?.Dispose();
    }
}
