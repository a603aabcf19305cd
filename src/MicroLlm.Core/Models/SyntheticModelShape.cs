namespace MicroLlm.Models;

/// <summary>
/// The architecture and hyperparameters of a random-weight model written by <see cref="SyntheticModel"/>: a real
/// model's shape (<see cref="Presets"/>) or any other. Tensor names, shapes and metadata keys follow what the reference
/// runtime (llama.cpp) expects for <see cref="Architecture"/>.
/// </summary>
/// <remarks>
/// Every matrix's rows must be whole blocks of the file's tensor types: keep <see cref="EmbeddingLength"/>,
/// <see cref="FeedForwardLength"/> and the head sizes multiples of 32 (of 256 for K-quant tensors; where a row is not,
/// the reference's fallback type is used, as its quantizer does). The reference runtime loads gemma2 files only with
/// Gemma 2's real depths (26, 42 or 46 blocks), as it picks the query scale by model size; MicroLlm takes any.
/// </remarks>
public sealed record SyntheticModelShape
{
    /// <summary>The architectures that can be written: <c>llama</c>, <c>qwen2</c>, <c>phi3</c> and <c>gemma2</c>.</summary>
    public static IReadOnlyList<string> Architectures { get; } = ["llama", "qwen2", "phi3", "gemma2"];

    /// <summary>A preset's name, written as <c>general.name</c> (e.g. <c>tinyllama-1.1b</c>).</summary>
    public required string Name { get; init; }

    /// <summary>The architecture: one of <see cref="Architectures"/>.</summary>
    public required string Architecture { get; init; }

    /// <summary>Width of the residual stream (<c>embedding_length</c>).</summary>
    public required int EmbeddingLength { get; init; }

    /// <summary>Number of transformer blocks (<c>block_count</c>).</summary>
    public required int BlockCount { get; init; }

    /// <summary>Width of the feed-forward network's hidden layer (<c>feed_forward_length</c>).</summary>
    public required int FeedForwardLength { get; init; }

    /// <summary>Query heads (<c>attention.head_count</c>).</summary>
    public required int HeadCount { get; init; }

    /// <summary>Key/value heads (<c>attention.head_count_kv</c>); fewer than <see cref="HeadCount"/> for grouped-query attention.</summary>
    public required int KvHeadCount { get; init; }

    /// <summary>Size of one head; <see langword="null"/> means <see cref="EmbeddingLength"/> / <see cref="HeadCount"/>.
    /// Only gemma2 may set another value (<c>attention.key_length</c> and <c>value_length</c>).</summary>
    public int? HeadDimension { get; init; }

    /// <summary>Tokens in the built-in vocabulary, used when no vocabulary file is given (at least 260); a vocabulary
    /// file's own size wins.</summary>
    public required int VocabularySize { get; init; }

    /// <summary>Training context length (<c>context_length</c>).</summary>
    public int ContextLength { get; init; } = 2048;

    /// <summary>RoPE base frequency (<c>rope.freq_base</c>).</summary>
    public float RopeFreqBase { get; init; } = 10000f;

    /// <summary>
    /// Linear RoPE scaling (<c>rope.scaling.type = linear</c>, <c>rope.scaling.factor</c>): positions are divided by this
    /// factor; <see langword="null"/> for none.
    /// </summary>
    public float? LinearRopeScaling { get; init; }

    /// <summary>
    /// Llama 3.1-style RoPE scaling: a <c>rope_freqs.weight</c> tensor of per-dimension frequency divisors computed as the
    /// converter does from this factor (low-frequency factor 1, high-frequency factor 4, original context 8192; Llama 3.1
    /// uses 8, Llama 3.2 uses 32); <see langword="null"/> for none. llama only.
    /// </summary>
    public float? Llama3RopeFactor { get; init; }

    /// <summary>
    /// Phi-3 128k's long RoPE: <c>rope_factors_long.weight</c> and <c>rope_factors_short.weight</c> (per-dimension
    /// divisors, long 1 + i/2, short 1 + i/100), <c>rope.scaling.original_context_length</c> set to this value and
    /// <c>rope.scaling.attn_factor</c> = sqrt(1 + ln(context / original) / ln(original)) as the converter writes it. A session
    /// longer than this original context uses the long factors. <see langword="null"/> for none; phi3 only.
    /// </summary>
    public int? LongRopeOriginalContext { get; init; }

    /// <summary>RMSNorm epsilon (<c>attention.layer_norm_rms_epsilon</c>).</summary>
    public float RmsNormEpsilon { get; init; } = 1e-5f;

    /// <summary>No <c>output.weight</c>: the output projection reuses <c>token_embd.weight</c>. Always true for gemma2.</summary>
    public bool TiedOutput { get; init; }

    /// <summary>Sliding attention window in tokens (<c>attention.sliding_window</c>): every layer for phi3 (required
    /// there), the even layers for gemma2; <see langword="null"/> for none (llama, qwen2) or gemma2's default 4096.</summary>
    public int? SlidingWindow { get; init; }

    /// <summary>gemma2's soft cap on attention logits (<c>attn_logit_softcapping</c>).</summary>
    public float AttentionLogitSoftcap { get; init; } = 50f;

    /// <summary>gemma2's soft cap on output logits (<c>final_logit_softcapping</c>).</summary>
    public float FinalLogitSoftcap { get; init; } = 30f;

    /// <summary>
    /// The <c>rope_freqs.weight</c> values for <see cref="Llama3RopeFactor"/>, one divisor per pair of rotated dimensions,
    /// as the reference's converter computes them; <see langword="null"/> without.
    /// </summary>
    public float[]? Llama3RopeFrequencyFactors()
    {
        if (Llama3RopeFactor is not { } factor)
        {
            return null;
        }

        const double LowFrequencyFactor = 1, HighFrequencyFactor = 4, OriginalContext = 8192;
        const double LowFrequencyWavelength = OriginalContext / LowFrequencyFactor, HighFrequencyWavelength = OriginalContext / HighFrequencyFactor;
        int dims = EffectiveHeadDimension;
        var factors = new float[dims / 2];
        for (int i = 0; i < factors.Length; i++)
        {
            double frequency = 1.0 / Math.Pow(RopeFreqBase, 2.0 * i / dims);
            double wavelength = 2 * Math.PI / frequency;
            if (wavelength < HighFrequencyWavelength)
            {
                factors[i] = 1f;
            }
            else if (wavelength > LowFrequencyWavelength)
            {
                factors[i] = factor;
            }
            else
            {
                double smooth = ((OriginalContext / wavelength) - LowFrequencyFactor) / (HighFrequencyFactor - LowFrequencyFactor);
                factors[i] = (float)(1.0 / (((1 - smooth) / factor) + smooth));
            }
        }

        return factors;
    }

    /// <summary>The long-rope attention factor for <see cref="LongRopeOriginalContext"/>, as the converter computes it; 1 without.</summary>
    public float LongRopeAttentionFactor() => LongRopeOriginalContext is { } original
        ? (float)Math.Sqrt(1 + (Math.Log((double)ContextLength / original) / Math.Log(original)))
        : 1f;

    /// <summary>The head size this shape uses.</summary>
    public int EffectiveHeadDimension => HeadDimension ?? (EmbeddingLength / HeadCount);

    /// <summary>TinyLlama 1.1B: llama, 2048 wide, 22 layers, 32 heads, 4 KV heads, FFN 5632, vocabulary 32000.</summary>
    public static SyntheticModelShape TinyLlama1B { get; } = new()
    {
        Name = "tinyllama-1.1b", Architecture = "llama", EmbeddingLength = 2048, BlockCount = 22, FeedForwardLength = 5632,
        HeadCount = 32, KvHeadCount = 4, VocabularySize = 32000, ContextLength = 2048,
    };

    /// <summary>Llama 2 7B: llama, 4096 wide, 32 layers, 32 heads, FFN 11008, vocabulary 32000.</summary>
    public static SyntheticModelShape Llama2Size7B { get; } = new()
    {
        Name = "llama2-7b", Architecture = "llama", EmbeddingLength = 4096, BlockCount = 32, FeedForwardLength = 11008,
        HeadCount = 32, KvHeadCount = 32, VocabularySize = 32000, ContextLength = 4096,
    };

    /// <summary>Qwen2.5 0.5B: qwen2, 896 wide, 24 layers, 14 heads, 2 KV heads, FFN 4864, vocabulary 151936, tied output.</summary>
    public static SyntheticModelShape Qwen2Size500M { get; } = new()
    {
        Name = "qwen2-0.5b", Architecture = "qwen2", EmbeddingLength = 896, BlockCount = 24, FeedForwardLength = 4864,
        HeadCount = 14, KvHeadCount = 2, VocabularySize = 151936, ContextLength = 32768, RopeFreqBase = 1000000f,
        RmsNormEpsilon = 1e-6f, TiedOutput = true,
    };

    /// <summary>Phi-3 mini 4k: phi3, 3072 wide, 32 layers, 32 heads, FFN 8192, vocabulary 32064, window 2047.</summary>
    public static SyntheticModelShape Phi3Mini { get; } = new()
    {
        Name = "phi3-mini", Architecture = "phi3", EmbeddingLength = 3072, BlockCount = 32, FeedForwardLength = 8192,
        HeadCount = 32, KvHeadCount = 32, VocabularySize = 32064, ContextLength = 4096, SlidingWindow = 2047,
    };

    /// <summary>Gemma 2 2B: gemma2, 2304 wide, 26 layers, 8 heads of 256, 4 KV heads, FFN 9216, vocabulary 256000, window 4096.</summary>
    public static SyntheticModelShape Gemma2Size2B { get; } = new()
    {
        Name = "gemma2-2b", Architecture = "gemma2", EmbeddingLength = 2304, BlockCount = 26, FeedForwardLength = 9216,
        HeadCount = 8, KvHeadCount = 4, HeadDimension = 256, VocabularySize = 256000, ContextLength = 8192,
        RmsNormEpsilon = 1e-6f, TiedOutput = true, SlidingWindow = 4096,
    };

    /// <summary>The conformance models' llama shape: 256 wide, 2 layers, 8 heads, 4 KV heads, FFN 768, tied output.</summary>
    public static SyntheticModelShape TinyLlama { get; } = new()
    {
        Name = "tiny-llama", Architecture = "llama", EmbeddingLength = 256, BlockCount = 2, FeedForwardLength = 768,
        HeadCount = 8, KvHeadCount = 4, VocabularySize = 512, TiedOutput = true,
    };

    /// <summary>A tiny qwen2: 256 wide, 2 layers, 8 heads, 2 KV heads, FFN 768, QKV biases, its own output matrix.</summary>
    public static SyntheticModelShape TinyQwen2 { get; } = new()
    {
        Name = "tiny-qwen2", Architecture = "qwen2", EmbeddingLength = 256, BlockCount = 2, FeedForwardLength = 768,
        HeadCount = 8, KvHeadCount = 2, VocabularySize = 512, RopeFreqBase = 1000000f, RmsNormEpsilon = 1e-6f,
    };

    /// <summary>A tiny phi3: 256 wide, 2 layers, 8 heads, 4 KV heads, FFN 768, fused QKV and gate-up, a 16-token window.</summary>
    public static SyntheticModelShape TinyPhi3 { get; } = new()
    {
        Name = "tiny-phi3", Architecture = "phi3", EmbeddingLength = 256, BlockCount = 2, FeedForwardLength = 768,
        HeadCount = 8, KvHeadCount = 4, VocabularySize = 512, SlidingWindow = 16,
    };

    /// <summary>
    /// A small gemma2: 256 wide, 26 layers (the reference runtime accepts only Gemma 2's real depths: 26, 42, 46),
    /// 4 heads of 64, 2 KV heads, FFN 512, tied output, a 16-token window on the even layers.
    /// </summary>
    public static SyntheticModelShape TinyGemma2 { get; } = new()
    {
        Name = "tiny-gemma2", Architecture = "gemma2", EmbeddingLength = 256, BlockCount = 26, FeedForwardLength = 512,
        HeadCount = 4, KvHeadCount = 2, HeadDimension = 64, VocabularySize = 512, RmsNormEpsilon = 1e-6f,
        TiedOutput = true, SlidingWindow = 16,
    };

    /// <summary>
    /// A tiny Llama 3.2: llama, 256 wide, 2 layers, 8 heads, 2 KV heads, FFN 768, tied output, RoPE base 500000 and
    /// Llama 3.2's frequency factors (<see cref="Llama3RopeFactor"/> 32), context 131072.
    /// </summary>
    public static SyntheticModelShape TinyLlama3 { get; } = new()
    {
        Name = "tiny-llama3", Architecture = "llama", EmbeddingLength = 256, BlockCount = 2, FeedForwardLength = 768,
        HeadCount = 8, KvHeadCount = 2, VocabularySize = 512, ContextLength = 131072, RopeFreqBase = 500000f,
        TiedOutput = true, Llama3RopeFactor = 32f,
    };

    /// <summary>The <see cref="TinyPhi3"/> shape as a 128k Phi-3: context 131072, long RoPE factors past an original context of 256.</summary>
    public static SyntheticModelShape TinyPhi3LongRope { get; } = TinyPhi3 with
    {
        Name = "tiny-phi3-128k", ContextLength = 131072, LongRopeOriginalContext = 256,
    };

    /// <summary>The <see cref="TinyLlama"/> shape with linear RoPE scaling by 4 (context 8192).</summary>
    public static SyntheticModelShape TinyLlamaLinearRope { get; } = TinyLlama with
    {
        Name = "tiny-llama-linear", ContextLength = 8192, LinearRopeScaling = 4f,
    };

    /// <summary>The presets by name: tinyllama-1.1b, llama2-7b, qwen2-0.5b, phi3-mini, gemma2-2b, tiny-llama, tiny-qwen2,
    /// tiny-phi3, tiny-gemma2, tiny-llama3, tiny-llama-linear and tiny-phi3-128k.</summary>
    public static IReadOnlyDictionary<string, SyntheticModelShape> Presets { get; } =
        new[] { TinyLlama1B, Llama2Size7B, Qwen2Size500M, Phi3Mini, Gemma2Size2B, TinyLlama, TinyQwen2, TinyPhi3, TinyGemma2, TinyLlama3, TinyLlamaLinearRope, TinyPhi3LongRope }
            .ToDictionary(s => s.Name, StringComparer.OrdinalIgnoreCase);

    /// <summary>Checks that the shape can be written.</summary>
    /// <exception cref="ArgumentException">A dimension is not positive, the heads do not divide the width, the KV heads
    /// do not divide the heads, or the architecture is unknown.</exception>
    public void Validate()
    {
        if (!Architectures.Contains(Architecture))
        {
            throw new ArgumentException($"Architecture '{Architecture}' cannot be written; use one of {string.Join(", ", Architectures)}.", nameof(Architecture));
        }

        Positive(EmbeddingLength, nameof(EmbeddingLength));
        Positive(BlockCount, nameof(BlockCount));
        Positive(FeedForwardLength, nameof(FeedForwardLength));
        Positive(HeadCount, nameof(HeadCount));
        Positive(KvHeadCount, nameof(KvHeadCount));
        Positive(ContextLength, nameof(ContextLength));
        if (HeadCount % KvHeadCount != 0)
        {
            throw new ArgumentException($"{HeadCount} heads cannot be shared by {KvHeadCount} KV heads; KvHeadCount must divide HeadCount.", nameof(KvHeadCount));
        }

        if (HeadDimension is null && EmbeddingLength % HeadCount != 0)
        {
            throw new ArgumentException($"EmbeddingLength {EmbeddingLength} is not a multiple of HeadCount {HeadCount}; set HeadDimension (gemma2) or change them.", nameof(HeadCount));
        }

        if (HeadDimension is { } hd && (hd <= 0 || hd % 2 != 0 || (Architecture != "gemma2" && hd * HeadCount != EmbeddingLength)))
        {
            throw new ArgumentException($"HeadDimension {hd} must be even and positive, and only gemma2 may make heads × size differ from the width.", nameof(HeadDimension));
        }

        if (EffectiveHeadDimension % 2 != 0)
        {
            throw new ArgumentException($"The head size {EffectiveHeadDimension} must be even for RoPE.", nameof(HeadCount));
        }

        if (VocabularySize < SyntheticVocabulary.MinimumSize)
        {
            throw new ArgumentException($"VocabularySize {VocabularySize} is below the built-in vocabulary's {SyntheticVocabulary.MinimumSize} tokens.", nameof(VocabularySize));
        }

        if (SlidingWindow is <= 0)
        {
            throw new ArgumentException($"SlidingWindow {SlidingWindow} must be positive (or null for none).", nameof(SlidingWindow));
        }

        if (LinearRopeScaling is { } linear && !(linear > 0 && float.IsFinite(linear)))
        {
            throw new ArgumentException($"LinearRopeScaling {linear} must be a positive number (or null for none).", nameof(LinearRopeScaling));
        }

        if (Llama3RopeFactor is { } llama3 && (!(llama3 >= 1 && float.IsFinite(llama3)) || Architecture != "llama"))
        {
            throw new ArgumentException($"Llama3RopeFactor {llama3} must be at least 1, on a llama model.", nameof(Llama3RopeFactor));
        }

        if (LongRopeOriginalContext is { } original && (Architecture != "phi3" || original < 2 || original >= ContextLength))
        {
            throw new ArgumentException($"LongRopeOriginalContext {original} needs a phi3 model whose ContextLength ({ContextLength}) exceeds it.", nameof(LongRopeOriginalContext));
        }

        if (Architecture == "phi3" && SlidingWindow is null)
        {
            throw new ArgumentException("phi3 needs a SlidingWindow (the reference runtime refuses a phi3 file without one); Phi-3 mini 4k uses 2047.", nameof(SlidingWindow));
        }
    }

    private static void Positive(int value, string name)
    {
        if (value <= 0)
        {
            throw new ArgumentException($"{name} is {value}; it must be positive.", name);
        }
    }
}
