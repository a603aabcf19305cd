using MicroLlm.Chat;
using MicroLlm.Constraints;
using MicroLlm.Gguf;
using MicroLlm.Models;
using MicroLlm.Tokenization;

namespace MicroLlm.Inference;

/// <summary>
/// A transformer language model (llama, qwen2, phi3 or gemma2 GGUF) loaded for inference. The weights stay in the
/// file's memory map in their stored type. A model is immutable and thread-safe: create one
/// <see cref="InferenceSession"/> per conversation, on any thread.
/// </summary>
/// <remarks>
/// Disposing the model while sessions still run is safe: the file is unmapped when the last running call returns,
/// and later calls throw <see cref="ObjectDisposedException"/>.
/// </remarks>
public sealed class LanguageModel : IDisposable
{
    private readonly GgufFile _file;
    private readonly bool _ownsFile;
    private int _leases;
    private int _disposed;

    private LanguageModel(GgufFile file, bool ownsFile, LanguageModelOptions? options)
    {
        _file = file;
        _ownsFile = ownsFile;
        options ??= new LanguageModelOptions();
        int threads = options.ThreadCount ?? Environment.ProcessorCount;
        if (threads < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(options), threads, "LanguageModelOptions.ThreadCount must be at least 1.");
        }

        Transformer = TransformerModel.Load(file, options.KeepWeightsMapped);
        Transformer.ThreadCount = threads;
        var c = Transformer.Config;
        Info = new ModelInfo(
            c.Architecture,
            file.Metadata.GetString("general.name"),
            c.ContextLength,
            c.VocabularySize,
            c.EmbeddingLength,
            c.BlockCount,
            c.HeadCount,
            c.KvHeadCount,
            Transformer.WeightBytes);
        _tokenizer = new Lazy<GgufTokenizer>(() => GgufTokenizer.Create(file));
        _chatTemplate = new Lazy<ChatTemplate?>(() => ChatTemplate.Detect(file.Metadata.GetString("tokenizer.chat_template")) ?? c.Architecture switch
        {
            "qwen2" => ChatTemplate.ChatML,
            "phi3" => ChatTemplate.Phi3,
            "gemma2" => ChatTemplate.Gemma,
            "llama" when file.Metadata.GetString("tokenizer.ggml.model") == "llama" => ChatTemplate.Llama2,
            _ => null,
        });
        _endOfGeneration = new Lazy<IReadOnlySet<int>>(FindEndOfGeneration);
        _constraintVocabulary = new Lazy<ConstraintVocabulary>(() =>
        {
            var tokenizer = Tokenizer;
            var bytes = new byte[Info.VocabularySize][];
            for (int i = 0; i < bytes.Length; i++)
            {
                // Control tokens (BOS, EOS, chat markup) print as their text when decoded, but they are not that text:
                // a grammar must never let "<s>" through as the BOS token. End-of-generation ids are allowed apart.
                bytes[i] = i < tokenizer.Vocabulary.Count && tokenizer.Vocabulary.GetTokenType(i) is not (GgufTokenType.Control or GgufTokenType.Unknown or GgufTokenType.Unused)
                    ? tokenizer.GetTokenBytes(i).ToArray()
                    : [];
            }

            return ConstraintVocabulary.Create(bytes, EndOfGenerationIds);
        });
    }

    private static readonly string[] EndOfTurnMarkers =
        ["<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|eom_id|>", "<EOT>", "<｜end▁of▁sentence｜>"];

    private readonly Lazy<GgufTokenizer> _tokenizer;
    private readonly Lazy<ChatTemplate?> _chatTemplate;
    private readonly Lazy<IReadOnlySet<int>> _endOfGeneration;
    private readonly Lazy<ConstraintVocabulary> _constraintVocabulary;

    private HashSet<int> FindEndOfGeneration()
    {
        var v = Tokenizer.Vocabulary;
        var ids = new HashSet<int>();
        foreach (int? id in new[] { v.EosId, v.EotId, v.EomId })
        {
            if (id is int i && i < Info.VocabularySize)
            {
                ids.Add(i);
            }
        }

        foreach (string marker in EndOfTurnMarkers)
        {
            if (v.TryGetId(marker, out int id) && id < Info.VocabularySize && v.GetTokenType(id) is GgufTokenType.Control or GgufTokenType.UserDefined)
            {
                ids.Add(id);
            }
        }

        if (ids.Count == 0)
        {
            throw new InvalidDataException("The model declares no end-of-sequence token (tokenizer.ggml.eos_token_id); generation could never end by itself.");
        }

        return ids;
    }

    /// <summary>What the model is: architecture, sizes and weight bytes.</summary>
    public ModelInfo Info { get; }

    /// <summary>The GGUF file the model reads (metadata and tensors). Valid until the model is disposed.</summary>
    public GgufFile File => _file;

    internal TransformerModel Transformer { get; }

    /// <summary>The model's tokenizer, built from its <c>tokenizer.*</c> metadata.</summary>
    public GgufTokenizer Tokenizer => _tokenizer.Value;

    /// <summary>
    /// The chat format: recognised from the file's <c>tokenizer.chat_template</c>, else chosen by architecture
    /// (chatml for qwen2, phi3 for phi3, gemma for gemma2, llama2 for llama); null if neither says.
    /// </summary>
    public ChatTemplate? ChatTemplate => _chatTemplate.Value;

    /// <summary>The tokens that end a generation: EOS, EOT, EOM and the end-of-turn control tokens of known chat formats.</summary>
    public IReadOnlySet<int> EndOfGenerationIds => _endOfGeneration.Value;

    /// <summary>The vocabulary as constrained decoding sees it (built on first use, then shared by every generation).</summary>
    public ConstraintVocabulary ConstraintVocabulary => _constraintVocabulary.Value;

    /// <summary>Whether a prompt starts with the beginning-of-sequence token (the file's <c>tokenizer.ggml.add_bos_token</c>, else the model type's default).</summary>
    public bool AddsBeginningOfSequence => _tokenizer.Value.Vocabulary.AddBos ?? _tokenizer.Value.Vocabulary.Model is "llama" or "bert";

    /// <summary>Opens and validates a GGUF model file.</summary>
    /// <param name="path">Path of a <c>.gguf</c> file.</param>
    /// <param name="options">Threads and other settings; null for the defaults.</param>
    /// <returns>The loaded model; dispose it to unmap the file.</returns>
    /// <remarks>
    /// Loading maps the file and reads only its metadata and small vectors, so it takes milliseconds. Each matrix is read
    /// on first use: the Q4_0 matrices the kernels read packed in groups of 8 rows, the Q4_K, Q5_K, Q6_K and Q8_0 ones in
    /// groups of 4, and the F16, BF16 and F32 ones, are
    /// then copied once into the model's own memory (huge pages where Linux offers them) and their mapped pages released,
    /// so the first evaluation of such a model takes longer: measured on the project's build machine (a 2-core virtual
    /// machine), 0.5-0.7 s per GiB of such weights when the memory had recently been used, up to 5 s per GiB when the
    /// host had to provide fresh memory. A host that wants its first answer fast awaits <see cref="PrepareAsync"/> at
    /// start-up.
    /// </remarks>
    /// <exception cref="GgufFormatException">The file is not valid GGUF.</exception>
    /// <exception cref="InvalidDataException">The model's metadata or tensors are inconsistent.</exception>
    /// <exception cref="NotSupportedException">The architecture or a tensor type is not supported.</exception>
    public static LanguageModel Load(string path, LanguageModelOptions? options = null)
    {
        var file = GgufFile.Open(path);
        try
        {
            return new LanguageModel(file, ownsFile: true, options);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>Opens and validates a GGUF model file on a thread-pool thread.</summary>
    /// <param name="path">Path of a <c>.gguf</c> file.</param>
    /// <param name="options">Threads and other settings; null for the defaults.</param>
    /// <param name="cancellationToken">Cancels before the load starts.</param>
    /// <returns>The loaded model.</returns>
    public static Task<LanguageModel> LoadAsync(string path, LanguageModelOptions? options = null, CancellationToken cancellationToken = default) =>
        Task.Run(() => Load(path, options), cancellationToken);

    /// <summary>Uses a GGUF file that is already open; the caller keeps ownership and disposes it after the model.</summary>
    /// <param name="file">An open GGUF file.</param>
    /// <param name="options">Threads and other settings; null for the defaults.</param>
    /// <returns>The model.</returns>
    public static LanguageModel FromFile(GgufFile file, LanguageModelOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(file);
        return new LanguageModel(file, ownsFile: false, options);
    }

    /// <summary>Starts a new sequence (an empty KV cache).</summary>
    /// <param name="options">Context length and other settings; null for the defaults.</param>
    /// <returns>The session; dispose it when done.</returns>
    public InferenceSession CreateSession(SessionOptions? options = null)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        options ??= new SessionOptions();
        int context = options.ContextLength ?? Math.Min(Info.ContextLength, SessionOptions.DefaultContextLength);
        if (context < 1 || context > Info.ContextLength)
        {
            throw new ArgumentOutOfRangeException(nameof(options), context,
                $"SessionOptions.ContextLength must be between 1 and the model's context length {Info.ContextLength}.");
        }

        return new InferenceSession(this, context);
    }

    /// <summary>
    /// Makes now the copies of the weights that the kernels otherwise make on each matrix's first use (see
    /// <see cref="Load"/>): Q4_0 packed in groups of 8 rows, Q4_K/Q5_K/Q6_K/Q8_0 in groups of 4, F16/BF16/F32 as they
    /// are, each matrix's mapped pages released once copied. A host that wants its first answer as fast as later ones
    /// awaits this at start-up; without it the first evaluation pays the copies. Nothing is copied with
    /// <see cref="LanguageModelOptions.KeepWeightsMapped"/>, or for a matrix already copied. Runs on a thread-pool thread
    /// and the model's <see cref="LanguageModelOptions.ThreadCount"/> threads; sessions may evaluate meanwhile (a matrix
    /// is copied once, by whichever needs it first).
    /// </summary>
    /// <param name="cancellationToken">Stops between matrices; those copied so far stay copied.</param>
    /// <returns>A task that completes when every matrix is in place.</returns>
    /// <exception cref="ObjectDisposedException">The model is disposed.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public Task PrepareAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        return Task.Run(
            () =>
            {
                Acquire();
                try
                {
                    Transformer.PrepareWeights(cancellationToken);
                }
                finally
                {
                    Release();
                }
            },
            cancellationToken);
    }

    /// <summary>Unmaps the file once no session call is running; later calls throw <see cref="ObjectDisposedException"/>.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0 && Volatile.Read(ref _leases) == 0)
        {
            CloseFile();
        }
    }

    /// <summary>Keeps the map alive for one call; pair with <see cref="Release"/>.</summary>
    internal void Acquire()
    {
        Interlocked.Increment(ref _leases);
        if (Volatile.Read(ref _disposed) != 0)
        {
            Release();
            throw new ObjectDisposedException(nameof(LanguageModel), "The model was disposed; load it again to continue.");
        }
    }

    internal void Release()
    {
        if (Interlocked.Decrement(ref _leases) == 0 && Volatile.Read(ref _disposed) != 0)
        {
            CloseFile();
        }
    }

    private int _closed;

    private void CloseFile()
    {
        if (Interlocked.Exchange(ref _closed, 1) == 0)
        {
            Transformer.Dispose();
            if (_ownsFile)
            {
                _file.Dispose();
            }
        }
    }
}

/// <summary>What a loaded model is.</summary>
/// <param name="Architecture">The GGUF architecture name (<c>llama</c>, <c>qwen2</c>, <c>phi3</c>, <c>gemma2</c>).</param>
/// <param name="Name">The model's name from its metadata, if it has one.</param>
/// <param name="ContextLength">The longest sequence the model was trained for.</param>
/// <param name="VocabularySize">Number of tokens (the length of a logits vector).</param>
/// <param name="EmbeddingLength">Width of the hidden state.</param>
/// <param name="LayerCount">Number of transformer blocks.</param>
/// <param name="HeadCount">Attention heads.</param>
/// <param name="KvHeadCount">Key/value heads (fewer than <paramref name="HeadCount"/> with grouped-query attention).</param>
/// <param name="WeightBytes">Bytes of weight matrices read per generated token.</param>
public sealed record ModelInfo(
    string Architecture,
    string? Name,
    int ContextLength,
    int VocabularySize,
    int EmbeddingLength,
    int LayerCount,
    int HeadCount,
    int KvHeadCount,
    long WeightBytes);

/// <summary>Settings of a <see cref="LanguageModel"/>.</summary>
public sealed class LanguageModelOptions
{
    /// <summary>Threads one evaluation uses for its matrix products; null for every processor (<see cref="Environment.ProcessorCount"/>).</summary>
    public int? ThreadCount { get; set; }

    /// <summary>
    /// Whether every weight stays in the file mapping. By default (false) the matrices that the kernels read faster from
    /// memory of their own (Q4_0 packed in groups of 8 rows; Q4_K, Q5_K, Q6_K and Q8_0 in groups of 4; F16, BF16 and F32
    /// as they are) are copied there on their first use and
    /// their mapped pages released, so the resident size stays that of the weights (see <see cref="LanguageModel.Load"/>).
    /// Set it when the mapping itself matters more than speed: several processes sharing one file's pages, or a model
    /// that must stay evictable under memory pressure. Those formats are then slower, with the same results to the bit:
    /// Q4_0 rows are summed one at a time (TinyLlama Q4_0, 2 threads: decode 31 against 93-96 tok/s, prefill 35 against
    /// 327-382), F16 rows are read from 4 KiB pages (decode 21 against 24, prefill 142 against 159).
    /// </summary>
    public bool KeepWeightsMapped { get; set; }
}

/// <summary>Settings of one <see cref="InferenceSession"/>.</summary>
public sealed class SessionOptions
{
    /// <summary>The context length used when <see cref="ContextLength"/> is null and the model allows it.</summary>
    public const int DefaultContextLength = 4096;

    /// <summary>
    /// The most tokens the session holds (prompt plus generated). Null: the model's context length, at most
    /// <see cref="DefaultContextLength"/>. The KV cache grows as the sequence does, up to this.
    /// </summary>
    public int? ContextLength { get; set; }
}
