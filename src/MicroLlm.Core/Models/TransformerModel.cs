using MicroLlm.Gguf;
using MicroLlm.Quantization;

namespace MicroLlm.Models;

/// <summary>
/// A decoder-only transformer (llama, qwen2, phi3, gemma2) bound to the tensors of an open GGUF file. Matrices stay in
/// the memory map in their stored type, except those the kernels read from a copy (Q4_0 packed, Q4_K/Q5_K/Q6_K/Q8_0 in
/// row groups, F16/BF16/F32 as they are: one native store filled on first use or by <see cref="PrepareWeights"/>, their
/// mapped pages then dropped: <see cref="WeightMatrix.ReadsFromStore"/>); only the small vectors (norms, biases, RoPE
/// factors) are read into arrays. Immutable after loading but for that packing (done once, under a lock), so any
/// number of sessions on any threads may share it; <see cref="Dispose"/> frees the packed store.
/// </summary>
internal sealed class TransformerModel : IDisposable
{
    private readonly PackedWeightStore? _packedStore;

    private TransformerModel(GgufFile file, TransformerConfig c, bool keepWeightsMapped)
    {
        File = file;
        Config = c;
        int dim = c.EmbeddingLength, kvDim = c.KvDimension, ffn = c.FeedForwardLength, qDim = c.QueryDimension;
        TokenEmbedding = Matrix(file, "token_embd.weight", dim, c.VocabularySize);
        OutputNorm = Vector(file, "output_norm.weight", dim)!;
        var output = file.FindTensor("output.weight");
        Output = output is null ? TokenEmbedding : new WeightMatrix(file, output, dim, c.VocabularySize);
        RopeFactors = OptionalVector(file, "rope_freqs.weight", c.RopeDimensionCount / 2);
        RopeFactorsShort = OptionalVector(file, "rope_factors_short.weight", c.RopeDimensionCount / 2);
        RopeFactorsLong = OptionalVector(file, "rope_factors_long.weight", c.RopeDimensionCount / 2);
        OriginalContextLength = (int)Math.Clamp(
            file.Metadata.GetInt64($"{c.Architecture}.rope.scaling.original_context_length") ?? c.ContextLength, 1, int.MaxValue);

        Layers = new TransformerLayer[c.BlockCount];
        for (int l = 0; l < Layers.Length; l++)
        {
            string p = $"blk.{l}.";
            var fusedQkv = file.FindTensor(p + "attn_qkv.weight");
            bool fusedGateUp = file.FindTensor(p + "ffn_gate.weight") is null && c.Architecture == "phi3";
            Layers[l] = new TransformerLayer
            {
                AttentionNorm = Vector(file, p + "attn_norm.weight", dim)!,
                QueryKeyValue = fusedQkv is null ? null : new WeightMatrix(file, fusedQkv, dim, qDim + (2 * kvDim)),
                Query = fusedQkv is null ? Matrix(file, p + "attn_q.weight", dim, qDim) : null,
                Key = fusedQkv is null ? Matrix(file, p + "attn_k.weight", dim, kvDim) : null,
                Value = fusedQkv is null ? Matrix(file, p + "attn_v.weight", dim, kvDim) : null,
                QueryBias = OptionalVector(file, p + "attn_q.bias", qDim),
                KeyBias = OptionalVector(file, p + "attn_k.bias", kvDim),
                ValueBias = OptionalVector(file, p + "attn_v.bias", kvDim),
                QueryKeyValueBias = OptionalVector(file, p + "attn_qkv.bias", qDim + (2 * kvDim)),
                AttentionOutput = Matrix(file, p + "attn_output.weight", qDim, dim),
                AttentionOutputBias = OptionalVector(file, p + "attn_output.bias", dim),
                AttentionPostNorm = OptionalVector(file, p + "post_attention_norm.weight", dim),
                FeedForwardNorm = Vector(file, p + "ffn_norm.weight", dim)!,
                Gate = fusedGateUp ? null : Matrix(file, p + "ffn_gate.weight", dim, ffn),
                Up = Matrix(file, p + "ffn_up.weight", dim, fusedGateUp ? 2 * ffn : ffn),
                Down = Matrix(file, p + "ffn_down.weight", ffn, dim),
                FeedForwardPostNorm = OptionalVector(file, p + "post_ffw_norm.weight", dim),
            };
        }

        if (c.Architecture == "gemma2" && Layers.Any(l => l.AttentionPostNorm is null || l.FeedForwardPostNorm is null))
        {
            throw new InvalidDataException("A gemma2 model needs post_attention_norm and post_ffw_norm in every block; this file lacks some.");
        }

        // The matrices the kernels read from a copy (WeightMatrix.ReadsFromStore) share one store on huge pages, filled
        // as each is first used.
        Matrices = [.. Layers.SelectMany(l => l.Matrices).Append(Output).Distinct()];
        foreach (var m in Matrices)
        {
            m.KeepMapped = keepWeightsMapped;
        }

        var packable = Matrices.Where(m => m.ReadsFromStore).ToArray();
        if (packable.Length > 0)
        {
            _packedStore = new PackedWeightStore(packable.Sum(m => PackedWeightStore.Slot(m.ByteCount)));
            long offset = 0;
            foreach (var m in packable)
            {
                m.UsePackedStore(_packedStore, offset);
                offset += PackedWeightStore.Slot(m.ByteCount);
            }
        }
    }

    public GgufFile File { get; }

    /// <summary>Frees the packed copies of the matrices; only when no session can compute with the model any more.</summary>
    public void Dispose() => _packedStore?.Dispose();
    public TransformerConfig Config { get; }
    public WeightMatrix TokenEmbedding { get; }
    public float[] OutputNorm { get; }
    public WeightMatrix Output { get; }

    /// <summary>RoPE frequency divisors per dimension pair (llama3 <c>rope_freqs</c>); null for none.</summary>
    public float[]? RopeFactors { get; }

    /// <summary>phi3 RoPE factors for contexts up to <see cref="OriginalContextLength"/>; null for none.</summary>
    public float[]? RopeFactorsShort { get; }

    /// <summary>phi3 RoPE factors for longer contexts; null for none.</summary>
    public float[]? RopeFactorsLong { get; }

    /// <summary>The context the model was trained with before scaling (<c>rope.scaling.original_context_length</c>).</summary>
    public int OriginalContextLength { get; }

    /// <summary>The RoPE frequency divisors a session of <paramref name="contextLength"/> tokens uses, as the reference chooses them.</summary>
    public float[]? RopeFactorsFor(int contextLength) =>
        RopeFactors ?? (contextLength > OriginalContextLength ? RopeFactorsLong : RopeFactorsShort) ?? RopeFactorsShort;
    public TransformerLayer[] Layers { get; }

    /// <summary>Every weight matrix a forward pass multiplies with, each once (the output may be the token embedding).</summary>
    public WeightMatrix[] Matrices { get; }

    /// <summary>Threads a matrix product may use (set once at load).</summary>
    public int ThreadCount { get; set; } = 1;

    /// <summary>
    /// Makes the copies of every <see cref="WeightMatrix.ReadsFromStore"/> matrix now rather than on first use
    /// (<see cref="Inference.LanguageModel.PrepareAsync"/>); stops between matrices when cancelled.
    /// </summary>
    public void PrepareWeights(CancellationToken cancellationToken)
    {
        foreach (var m in Matrices)
        {
            cancellationToken.ThrowIfCancellationRequested();
            m.Prepare(ThreadCount);
        }
    }

    /// <summary>Total bytes of the matrices a token reads (a decode step's memory traffic, without the KV cache).</summary>
    public long WeightBytes => Matrices.Sum(m => m.ByteCount);

    /// <summary>
    /// Binds the model in <paramref name="file"/>, checking every tensor's presence, type and shape;
    /// <paramref name="keepWeightsMapped"/> as <see cref="Inference.LanguageModelOptions.KeepWeightsMapped"/>.
    /// </summary>
    public static TransformerModel Load(GgufFile file, bool keepWeightsMapped = false)
    {
        ArgumentNullException.ThrowIfNull(file);
        try
        {
            return new TransformerModel(file, TransformerConfig.FromFile(file), keepWeightsMapped);
        }
        catch (InvalidOperationException e)
        {
            // A metadata value of the wrong type (a string where a count belongs): the file's fault, said as such.
            throw new InvalidDataException($"The GGUF file's model metadata is malformed: {e.Message}", e);
        }
    }

    private static WeightMatrix Matrix(GgufFile file, string name, int columns, int rows) => new(file, file.GetTensor(name), columns, rows);

    private static float[]? OptionalVector(GgufFile file, string name, int length) =>
        file.FindTensor(name) is null ? null : Vector(file, name, length);

    private static float[] Vector(GgufFile file, string name, int length)
    {
        var t = file.GetTensor(name);
        if (t.Dimensions.Count != 1 || t.Dimensions[0] != length)
        {
            throw new InvalidDataException($"Tensor '{name}' has shape {t.ShapeText()}; the model needs [{length}].");
        }

        if (!Dequantizer.IsSupported(t.Type))
        {
            throw new NotSupportedException($"Tensor '{name}' is {GgmlTypeInfo.Get(t.Type).Name}, which this runtime cannot read.");
        }

        var v = new float[length];
        Dequantizer.Dequantize(t.Type, file.GetTensorData(t), v);
        return v;
    }
}

/// <summary>The weights of one transformer block. Exactly one of the fused/unfused forms is set.</summary>
internal sealed class TransformerLayer
{
    public required float[] AttentionNorm { get; init; }
    public WeightMatrix? QueryKeyValue { get; init; }
    public WeightMatrix? Query { get; init; }
    public WeightMatrix? Key { get; init; }
    public WeightMatrix? Value { get; init; }
    public float[]? QueryBias { get; init; }
    public float[]? KeyBias { get; init; }
    public float[]? ValueBias { get; init; }
    public float[]? QueryKeyValueBias { get; init; }
    public required WeightMatrix AttentionOutput { get; init; }
    public float[]? AttentionOutputBias { get; init; }
    public float[]? AttentionPostNorm { get; init; }
    public required float[] FeedForwardNorm { get; init; }

    /// <summary>Null when <see cref="Up"/> holds gate and up stacked (phi3: the first half of its rows is the gate).</summary>
    public WeightMatrix? Gate { get; init; }
    public required WeightMatrix Up { get; init; }
    public required WeightMatrix Down { get; init; }
    public float[]? FeedForwardPostNorm { get; init; }

    public IEnumerable<WeightMatrix> Matrices =>
        new[] { QueryKeyValue, Query, Key, Value, AttentionOutput, Gate, Up, Down }.OfType<WeightMatrix>();
}
