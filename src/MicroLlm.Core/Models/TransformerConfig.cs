using MicroLlm.Gguf;

namespace MicroLlm.Models;

/// <summary>The activation of the gated feed-forward network.</summary>
internal enum FeedForwardActivation
{
    /// <summary>SwiGLU: <c>silu(gate) * up</c> (llama, qwen2, phi3).</summary>
    Silu,

    /// <summary>GeGLU with the tanh approximation: <c>gelu(gate) * up</c> (gemma2).</summary>
    GeluTanh,
}

/// <summary>
/// Hyperparameters of a decoder-only transformer, read from a GGUF file's <c>{architecture}.*</c> metadata, with the
/// per-architecture choices the reference runtime makes (RoPE ordering, where the attention scale is applied,
/// soft-capping, sliding windows, embedding scale).
/// </summary>
internal sealed record TransformerConfig
{
    /// <summary>The architectures this runtime computes.</summary>
    public static readonly IReadOnlyList<string> SupportedArchitectures = ["llama", "qwen2", "phi3", "gemma2"];

    public required string Architecture { get; init; }
    public required int EmbeddingLength { get; init; }
    public required int BlockCount { get; init; }
    public required int FeedForwardLength { get; init; }
    public required int HeadCount { get; init; }
    public required int KvHeadCount { get; init; }
    public required int HeadDimension { get; init; }
    public required int RopeDimensionCount { get; init; }
    public required float RopeFreqBase { get; init; }

    /// <summary>Position scale of linear RoPE scaling (1 / factor); 1 without scaling.</summary>
    public required float RopeFreqScale { get; init; }

    /// <summary>Scale of RoPE's cos and sin (<c>rope.scaling.attn_factor</c>, Phi-3 128k's long-rope "mscale"); 1 for none.</summary>
    public float RopeAttentionFactor { get; init; } = 1f;

    /// <summary>NeoX ordering rotates (x[i], x[i + n/2]); the normal ordering rotates adjacent pairs.</summary>
    public required bool RopeNeox { get; init; }
    public required float RmsNormEpsilon { get; init; }
    public required int ContextLength { get; init; }
    public required int VocabularySize { get; init; }

    /// <summary>Multiplies the queries after RoPE (phi3, gemma2); 1 where the scale is applied inside the softmax instead.</summary>
    public required float QueryScale { get; init; }

    /// <summary>Multiplies the attention scores inside the softmax.</summary>
    public required float SoftmaxScale { get; init; }

    /// <summary>Attention scores become <c>c * tanh(s / c)</c> before the softmax; 0 for none.</summary>
    public required float AttentionLogitSoftcap { get; init; }

    /// <summary>Logits become <c>c * tanh(l / c)</c>; 0 for none.</summary>
    public required float FinalLogitSoftcap { get; init; }

    /// <summary>Sliding-window size in tokens for the layers that use it (<see cref="IsSlidingLayer"/>); 0 for none.</summary>
    public required int SlidingWindow { get; init; }

    /// <summary>Multiplies the token embeddings (gemma2: sqrt(dim)); 1 for none.</summary>
    public required float EmbeddingScale { get; init; }
    public required FeedForwardActivation Activation { get; init; }

    public int QueryDimension => HeadCount * HeadDimension;
    public int KvDimension => KvHeadCount * HeadDimension;

    /// <summary>Whether layer <paramref name="layer"/> attends within <see cref="SlidingWindow"/> only.</summary>
    public bool IsSlidingLayer(int layer) => SlidingWindow > 0 && (Architecture != "gemma2" || layer % 2 == 0);

    public static TransformerConfig FromFile(GgufFile file)
    {
        string arch = file.Architecture
            ?? throw new InvalidDataException("The GGUF file does not say its architecture (general.architecture); it is not a model file.");
        if (!SupportedArchitectures.Contains(arch))
        {
            throw new NotSupportedException(
                $"Architecture '{arch}' is not supported; MicroLlm runs {string.Join(", ", SupportedArchitectures)}.");
        }

        var m = file.Metadata;
        int Req(string key) => Positive(Int(m.GetRequired($"{arch}.{key}"), $"{arch}.{key}"), $"{arch}.{key}");
        int? Opt(string key) => m.TryGetValue($"{arch}.{key}", out var v) ? Positive(Int(v, $"{arch}.{key}"), $"{arch}.{key}") : null;
        int dim = Req("embedding_length");
        int heads = Req("attention.head_count");
        int kvHeads = Opt("attention.head_count_kv") ?? heads;
        if (heads % kvHeads != 0)
        {
            throw new InvalidDataException($"Inconsistent attention shape: head_count {heads} is not a multiple of head_count_kv {kvHeads}.");
        }

        int headDim = Opt("attention.key_length") ?? (dim % heads == 0 ? dim / heads
            : throw new InvalidDataException($"embedding_length {dim} is not a multiple of head_count {heads}, and {arch}.attention.key_length is absent."));
        if ((Opt("attention.value_length") ?? headDim) != headDim)
        {
            throw new NotSupportedException($"Different key and value head sizes ({arch}.attention.value_length) are not supported.");
        }

        int ropeDims = Opt("rope.dimension_count") ?? headDim;
        if (ropeDims > headDim || ropeDims % 2 != 0)
        {
            throw new InvalidDataException($"{arch}.rope.dimension_count is {ropeDims}; it must be even and at most the head size {headDim}.");
        }

        float freqScale = 1f;
        string scaling = m.GetString($"{arch}.rope.scaling.type") ?? "none";
        switch (scaling)
        {
            case "none":
                break;
            case "linear":
                float factor = Finite(m.GetSingle($"{arch}.rope.scaling.factor") ?? 1f, $"{arch}.rope.scaling.factor", allowZero: false);
                freqScale = factor > 0 ? 1f / factor : throw new InvalidDataException($"{arch}.rope.scaling.factor is {factor}; it must be positive.");
                break;
            default:
                throw new NotSupportedException($"RoPE scaling '{scaling}' ({arch}.rope.scaling.type) is not supported yet; 'none' and 'linear' are.");
        }

        var embd = file.GetTensor("token_embd.weight");
        if (embd.Dimensions.Count != 2 || embd.Dimensions[0] != dim || embd.Dimensions[1] is < 1 or > int.MaxValue)
        {
            throw new InvalidDataException($"Tensor 'token_embd.weight' has shape {embd.ShapeText()}; the model needs [{dim}, vocabulary size].");
        }

        bool gemma2 = arch == "gemma2";
        bool phi3 = arch == "phi3";
        float attnScale = 1f / MathF.Sqrt(headDim);
        int layers = Req("block_count");
        if (layers > file.Tensors.Count)
        {
            // Every block has tensors of its own: a count beyond the file's tensors is a lie, and must not size anything.
            throw new InvalidDataException($"{arch}.block_count is {layers}, but the file holds only {file.Tensors.Count} tensors; it is not a complete {arch} model.");
        }
        if (gemma2 && layers == 46)
        {
            attnScale = 1f / MathF.Sqrt(dim / heads); // Gemma 2 27B scales by the model width per head, as the reference does.
        }

        return new TransformerConfig
        {
            Architecture = arch,
            EmbeddingLength = dim,
            BlockCount = layers,
            FeedForwardLength = Req("feed_forward_length"),
            HeadCount = heads,
            KvHeadCount = kvHeads,
            HeadDimension = headDim,
            RopeDimensionCount = ropeDims,
            RopeFreqBase = Finite(m.GetSingle($"{arch}.rope.freq_base") ?? 10000f, $"{arch}.rope.freq_base", allowZero: false),
            RopeFreqScale = freqScale,
            RopeAttentionFactor = Finite(m.GetSingle($"{arch}.rope.scaling.attn_factor") ?? 1f, $"{arch}.rope.scaling.attn_factor", allowZero: false),
            RopeNeox = arch != "llama",
            RmsNormEpsilon = Finite(m.GetSingle($"{arch}.attention.layer_norm_rms_epsilon") ?? 1e-5f, $"{arch}.attention.layer_norm_rms_epsilon", allowZero: true),
            ContextLength = Req("context_length"),
            VocabularySize = (int)embd.Dimensions[1],
            QueryScale = gemma2 || phi3 ? attnScale : 1f,
            SoftmaxScale = gemma2 || phi3 ? 1f : attnScale,
            AttentionLogitSoftcap = gemma2 ? Finite(m.GetSingle("gemma2.attn_logit_softcapping") ?? 50f, "gemma2.attn_logit_softcapping", allowZero: true) : 0f,
            FinalLogitSoftcap = gemma2 ? Finite(m.GetSingle("gemma2.final_logit_softcapping") ?? 30f, "gemma2.final_logit_softcapping", allowZero: true) : 0f,
            SlidingWindow = gemma2 ? Opt("attention.sliding_window") ?? 4096 : phi3 ? (int)(m.GetInt64("phi3.attention.sliding_window") ?? 0) : 0,
            EmbeddingScale = gemma2 ? MathF.Sqrt(dim) : 1f,
            Activation = gemma2 ? FeedForwardActivation.GeluTanh : FeedForwardActivation.Silu,
        };
    }

    private static int Int(GgufValue v, string key)
    {
        try
        {
            return v.AsInt32();
        }
        catch (Exception e) when (e is InvalidCastException or OverflowException or InvalidOperationException)
        {
            throw new InvalidDataException($"Metadata {key} must be an integer that fits 32 bits ({e.Message}).", e);
        }
    }

    private static int Positive(int v, string key) => v > 0 ? v : throw new InvalidDataException($"Metadata {key} is {v}; it must be positive.");

    /// <summary>A hyperparameter that must be a finite number, positive (or zero where <paramref name="allowZero"/>).</summary>
    private static float Finite(float value, string key, bool allowZero) =>
        float.IsFinite(value) && (value > 0 || (allowZero && value == 0))
            ? value
            : throw new InvalidDataException($"{key} is {value.ToString(System.Globalization.CultureInfo.InvariantCulture)}; it must be a finite number{(allowZero ? " of at least 0" : " above 0")}.");
}
