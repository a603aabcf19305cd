using MicroLlm.Gguf;
using MicroLlm.Quantization;

namespace MicroLlm.Models;

/// <summary>
/// Writes random-weight GGUF models in real architectures and shapes (llama, qwen2, phi3, gemma2), with the tensor
/// names, shapes, types and metadata keys the reference runtime (llama.cpp) expects, for tests and benchmarks that
/// must not depend on a download.
/// </summary>
/// <remarks>
/// <para>Weights are drawn row by row from a seeded generator (uniform, standard deviation 1/√(row length); norms
/// near 1; biases within ±0.1) and stored with <see cref="Quantizer"/>, the reference's own quantizers. Each row's
/// generator is seeded from the seed, the tensor's name and the row, so the bytes do not depend on threads, and one seed
/// is the same model at every <see cref="SyntheticModelFileType"/>.</para>
/// <para>Tensors are generated while the file is written, a few megabytes at a time: a 7B file needs no more memory
/// than a small one. K-quant types are slow to produce (the reference's scale search: about a million weights per
/// second per core); Q4_0, Q8_0 and float types are an order of magnitude faster.</para>
/// </remarks>
public static class SyntheticModel
{
    private const int ChunkElements = 1 << 20;

    /// <summary>Writes the model described by <paramref name="options"/> to <paramref name="path"/>, replacing it.</summary>
    /// <param name="options">Shape, file type, seed and vocabulary.</param>
    /// <param name="path">The GGUF file to write.</param>
    /// <param name="cancellationToken">Cancels between chunks of rows; the file is then incomplete.</param>
    /// <returns>A task that completes when the file is written.</returns>
    /// <exception cref="ArgumentException">The shape is invalid, or a row is not whole blocks of its type.</exception>
    /// <exception cref="InvalidDataException">The vocabulary file has no <c>tokenizer.ggml.tokens</c>.</exception>
    public static async Task WriteAsync(SyntheticModelOptions options, string path, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrEmpty(path);
        var fs = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true);
        await using (fs.ConfigureAwait(false))
        {
            await WriteAsync(options, fs, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Writes the model described by <paramref name="options"/> to <paramref name="destination"/>.</summary>
    /// <param name="options">Shape, file type, seed and vocabulary.</param>
    /// <param name="destination">A writable stream.</param>
    /// <param name="cancellationToken">Cancels between chunks of rows.</param>
    /// <returns>A task that completes when the file is written.</returns>
    /// <exception cref="ArgumentException">The shape is invalid, or a row is not whole blocks of its type.</exception>
    /// <exception cref="InvalidDataException">The vocabulary file has no <c>tokenizer.ggml.tokens</c>.</exception>
    public static async Task WriteAsync(SyntheticModelOptions options, Stream destination, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(destination);
        options = options.Clone();
        var shape = options.Shape;
        shape.Validate();
        if (options.MaxDegreeOfParallelism is <= 0)
        {
            throw new ArgumentException($"MaxDegreeOfParallelism is {options.MaxDegreeOfParallelism}; it must be positive (or null for every core).", nameof(options));
        }

        GgufFile? vocabulary = options.VocabularyPath is null ? null : GgufFile.Open(options.VocabularyPath);
        try
        {
            var writer = new GgufWriter();
            int vocabularySize = AddMetadata(writer, shape, options.FileType, vocabulary);
            int parallelism = options.MaxDegreeOfParallelism ?? Environment.ProcessorCount;
            foreach (var tensor in PlanTensors(shape, options.FileType, vocabularySize))
            {
                var t = tensor;
                writer.AddTensor(t.Name, t.Type, t.Dimensions, (stream, ct) => WriteTensorAsync(stream, t, options.Seed, parallelism, ct));
            }

            await writer.WriteAsync(destination, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            vocabulary?.Dispose();
        }
    }

    /// <summary>What a weight tensor holds, which sets how its values are drawn.</summary>
    internal enum WeightKind
    {
        /// <summary>A matrix: uniform with standard deviation 1/√(row length).</summary>
        Matrix,

        /// <summary>A norm's scale: 1 ± 0.05.</summary>
        Norm,

        /// <summary>A bias: ±0.1.</summary>
        Bias,
    }

    /// <summary>One tensor of the file: name, type, shape (innermost first) and kind.</summary>
    internal sealed record TensorPlan(string Name, GgmlType Type, long[] Dimensions, WeightKind Kind, float[]? Values = null);

    /// <summary>The tensors of a model in file order, with the type each gets in <paramref name="fileType"/>.</summary>
    internal static List<TensorPlan> PlanTensors(SyntheticModelShape shape, SyntheticModelFileType fileType, int vocabularySize)
    {
        int dim = shape.EmbeddingLength, ffn = shape.FeedForwardLength, layers = shape.BlockCount;
        int qDim = shape.HeadCount * shape.EffectiveHeadDimension;
        int kvDim = shape.KvHeadCount * shape.EffectiveHeadDimension;
        string arch = shape.Architecture;
        bool tied = shape.TiedOutput || arch == "gemma2";
        var plan = new List<TensorPlan>();

        void Matrix(string name, long inner, long outer, int layer = -1) =>
            plan.Add(new TensorPlan(name, MatrixType(fileType, name, inner, layer, layers, isOutput: name == "output.weight" || (tied && name == "token_embd.weight")), [inner, outer], WeightKind.Matrix));
        void Vector(string name, long length, WeightKind kind) =>
            plan.Add(new TensorPlan(name, GgmlType.F32, [length], kind));

        if (shape.Llama3RopeFrequencyFactors() is { } ropeFactors)
        {
            plan.Add(new TensorPlan("rope_freqs.weight", GgmlType.F32, [ropeFactors.Length], WeightKind.Norm, ropeFactors)); // first, as the converter writes it
        }

        if (shape.LongRopeOriginalContext is not null)
        {
            int pairs = shape.EffectiveHeadDimension / 2;
            plan.Add(new TensorPlan("rope_factors_long.weight", GgmlType.F32, [pairs], WeightKind.Norm, [.. Enumerable.Range(0, pairs).Select(i => 1f + (i / 2f))]));
            plan.Add(new TensorPlan("rope_factors_short.weight", GgmlType.F32, [pairs], WeightKind.Norm, [.. Enumerable.Range(0, pairs).Select(i => 1f + (i / 100f))]));
        }

        Matrix("token_embd.weight", dim, vocabularySize);
        for (int l = 0; l < layers; l++)
        {
            string p = $"blk.{l}.";
            Vector(p + "attn_norm.weight", dim, WeightKind.Norm);
            if (arch == "phi3")
            {
                Matrix(p + "attn_qkv.weight", dim, qDim + (2 * kvDim), l);
            }
            else
            {
                Matrix(p + "attn_q.weight", dim, qDim, l);
                if (arch == "qwen2")
                {
                    Vector(p + "attn_q.bias", qDim, WeightKind.Bias);
                }

                Matrix(p + "attn_k.weight", dim, kvDim, l);
                if (arch == "qwen2")
                {
                    Vector(p + "attn_k.bias", kvDim, WeightKind.Bias);
                }

                Matrix(p + "attn_v.weight", dim, kvDim, l);
                if (arch == "qwen2")
                {
                    Vector(p + "attn_v.bias", kvDim, WeightKind.Bias);
                }
            }

            Matrix(p + "attn_output.weight", qDim, dim, l);
            if (arch == "gemma2")
            {
                Vector(p + "post_attention_norm.weight", dim, WeightKind.Norm);
            }

            Vector(p + "ffn_norm.weight", dim, WeightKind.Norm);
            if (arch == "phi3")
            {
                Matrix(p + "ffn_up.weight", dim, 2L * ffn, l); // gate rows, then up rows
            }
            else
            {
                Matrix(p + "ffn_gate.weight", dim, ffn, l);
                Matrix(p + "ffn_up.weight", dim, ffn, l);
            }

            Matrix(p + "ffn_down.weight", ffn, dim, l);
            if (arch == "gemma2")
            {
                Vector(p + "post_ffw_norm.weight", dim, WeightKind.Norm);
            }
        }

        Vector("output_norm.weight", dim, WeightKind.Norm);
        if (!tied)
        {
            Matrix("output.weight", dim, vocabularySize);
        }

        return plan;
    }

    /// <summary>
    /// The type the reference's quantizer (<c>llama_tensor_get_type</c>, without an importance matrix) gives matrix
    /// <paramref name="name"/> with rows of <paramref name="rowLength"/> in layer <paramref name="layer"/> of
    /// <paramref name="layers"/>.
    /// </summary>
    internal static GgmlType MatrixType(SyntheticModelFileType fileType, string name, long rowLength, int layer, int layers, bool isOutput)
    {
        GgmlType type = fileType switch
        {
            SyntheticModelFileType.F32 => GgmlType.F32,
            SyntheticModelFileType.F16 => GgmlType.F16,
            SyntheticModelFileType.BF16 => GgmlType.BF16,
            SyntheticModelFileType.Q8_0 => GgmlType.Q8_0,
            SyntheticModelFileType.Q4_0 => GgmlType.Q4_0,
            SyntheticModelFileType.Q4_K_M => GgmlType.Q4_K,
            SyntheticModelFileType.Q5_K_M => GgmlType.Q5_K,
            SyntheticModelFileType.Q6_K => GgmlType.Q6_K,
            _ => throw new ArgumentOutOfRangeException(nameof(fileType), fileType, "Unknown file type."),
        };
        if (fileType is SyntheticModelFileType.F32 or SyntheticModelFileType.F16 or SyntheticModelFileType.BF16)
        {
            return type;
        }

        bool mix = fileType is SyntheticModelFileType.Q4_K_M or SyntheticModelFileType.Q5_K_M;
        if (isOutput)
        {
            type = rowLength % 256 != 0 ? GgmlType.Q8_0 : type != GgmlType.Q8_0 ? GgmlType.Q6_K : type;
        }
        else if (name == "token_embd.weight")
        {
            // the file type's own
        }
        else if (mix && (name.EndsWith(".attn_v.weight", StringComparison.Ordinal) || name.EndsWith(".ffn_down.weight", StringComparison.Ordinal)))
        {
            type = UseMoreBits(layer, layers) ? GgmlType.Q6_K : type;
        }
        else if (mix && name.EndsWith(".attn_qkv.weight", StringComparison.Ordinal))
        {
            type = fileType == SyntheticModelFileType.Q4_K_M ? GgmlType.Q5_K : GgmlType.Q6_K;
        }

        if (rowLength % GgmlTypeInfo.Get(type).BlockSize != 0)
        {
            type = type switch
            {
                GgmlType.Q4_K => GgmlType.Q5_0,
                GgmlType.Q5_K => GgmlType.Q5_1,
                GgmlType.Q6_K => GgmlType.Q8_0,
                _ => throw new ArgumentException($"Tensor '{name}' has rows of {rowLength}, not whole {GgmlTypeInfo.Get(type).Name} blocks of {GgmlTypeInfo.Get(type).BlockSize}; choose dimensions that are multiples of 32.", nameof(rowLength)),
            };
            if (rowLength % GgmlTypeInfo.Get(type).BlockSize != 0)
            {
                type = GgmlType.F16;
            }
        }

        return type;
    }

    /// <summary>The reference's <c>use_more_bits</c>: the first and last eighth of the layers, and every third between.</summary>
    internal static bool UseMoreBits(int layer, int layers) =>
        layer < layers / 8 || layer >= 7 * layers / 8 || (layer - (layers / 8)) % 3 == 2;

    /// <summary>The value drawn for row <paramref name="row"/> of a tensor, element by element, into <paramref name="values"/>.</summary>
    internal static void FillRow(Span<float> values, WeightKind kind, ulong tensorSeed, long row)
    {
        ulong state = Mix(tensorSeed + ((ulong)row * 0x9E3779B97F4A7C15UL));
        float amplitude = kind switch
        {
            WeightKind.Matrix => MathF.Sqrt(3f / values.Length),
            WeightKind.Norm => 0.05f,
            _ => 0.1f,
        };
        float offset = kind == WeightKind.Norm ? 1f : 0f;
        for (int i = 0; i < values.Length; i++)
        {
            state += 0x9E3779B97F4A7C15UL;
            float unit = (Mix(state) >> 40) * (1f / (1 << 23)) - 1f; // [-1, 1) in steps of 2^-23
            values[i] = offset + (amplitude * unit);
        }
    }

    /// <summary>The seed of a tensor's rows: the model's seed and the tensor's name (FNV-1a), mixed.</summary>
    internal static ulong TensorSeed(ulong seed, string name)
    {
        ulong h = 14695981039346656037UL;
        foreach (char c in name)
        {
            h = (h ^ c) * 1099511628211UL;
        }

        return Mix(seed ^ h);
    }

    private static async Task WriteTensorAsync(Stream stream, TensorPlan tensor, ulong seed, int parallelism, CancellationToken cancellationToken)
    {
        if (tensor.Values is { } values)
        {
            await stream.WriteAsync(System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()).ToArray(), cancellationToken).ConfigureAwait(false);
            return;
        }

        int rowLength = (int)tensor.Dimensions[0];
        long rows = 1;
        for (int d = 1; d < tensor.Dimensions.Length; d++)
        {
            rows *= tensor.Dimensions[d];
        }

        int rowBytes = (int)GgmlTypeInfo.Get(tensor.Type).ByteCount(rowLength);
        int chunkRows = (int)Math.Clamp(ChunkElements / rowLength, 1, rows);
        byte[] buffer = new byte[(long)chunkRows * rowBytes];
        ulong tensorSeed = TensorSeed(seed, tensor.Name);
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = parallelism, CancellationToken = cancellationToken };
        for (long first = 0; first < rows; first += chunkRows)
        {
            long start = first;
            int count = (int)Math.Min(chunkRows, rows - start);
            Parallel.For(
                0,
                count,
                parallel,
                () => new float[rowLength],
                (i, _, values) =>
                {
                    FillRow(values, tensor.Kind, tensorSeed, start + i);
                    Quantizer.Quantize(tensor.Type, values, buffer.AsSpan(i * rowBytes, rowBytes));
                    return values;
                },
                _ => { });
            await stream.WriteAsync(buffer.AsMemory(0, count * rowBytes), cancellationToken).ConfigureAwait(false);
        }
    }

    private static int AddMetadata(GgufWriter writer, SyntheticModelShape shape, SyntheticModelFileType fileType, GgufFile? vocabulary)
    {
        string a = shape.Architecture;
        uint U(int v) => (uint)v;
        writer.SetMetadata("general.architecture", GgufValue.From(a));
        writer.SetMetadata("general.name", GgufValue.From(shape.Name));
        writer.SetMetadata("general.file_type", GgufValue.From(fileType switch
        {
            SyntheticModelFileType.F32 => 0u,
            SyntheticModelFileType.F16 => 1u,
            SyntheticModelFileType.Q4_0 => 2u,
            SyntheticModelFileType.Q8_0 => 7u,
            SyntheticModelFileType.Q4_K_M => 15u,
            SyntheticModelFileType.Q5_K_M => 17u,
            SyntheticModelFileType.Q6_K => 18u,
            _ => 32u, // BF16
        }));
        if (fileType is not (SyntheticModelFileType.F32 or SyntheticModelFileType.F16 or SyntheticModelFileType.BF16))
        {
            writer.SetMetadata("general.quantization_version", GgufValue.From(2u));
        }

        writer.SetMetadata($"{a}.context_length", GgufValue.From(U(shape.ContextLength)));
        writer.SetMetadata($"{a}.embedding_length", GgufValue.From(U(shape.EmbeddingLength)));
        writer.SetMetadata($"{a}.block_count", GgufValue.From(U(shape.BlockCount)));
        writer.SetMetadata($"{a}.feed_forward_length", GgufValue.From(U(shape.FeedForwardLength)));
        writer.SetMetadata($"{a}.attention.head_count", GgufValue.From(U(shape.HeadCount)));
        writer.SetMetadata($"{a}.attention.head_count_kv", GgufValue.From(U(shape.KvHeadCount)));
        writer.SetMetadata($"{a}.attention.layer_norm_rms_epsilon", GgufValue.From(shape.RmsNormEpsilon));
        writer.SetMetadata($"{a}.rope.freq_base", GgufValue.From(shape.RopeFreqBase));
        writer.SetMetadata($"{a}.rope.dimension_count", GgufValue.From(U(shape.EffectiveHeadDimension)));
        if (shape.LongRopeOriginalContext is { } original)
        {
            writer.SetMetadata($"{a}.rope.scaling.attn_factor", GgufValue.From(shape.LongRopeAttentionFactor()));
            writer.SetMetadata($"{a}.rope.scaling.original_context_length", GgufValue.From(U(original)));
        }

        if (shape.LinearRopeScaling is { } linear)
        {
            writer.SetMetadata($"{a}.rope.scaling.type", GgufValue.From("linear"));
            writer.SetMetadata($"{a}.rope.scaling.factor", GgufValue.From(linear));
        }

        if (a == "gemma2")
        {
            writer.SetMetadata("gemma2.attention.key_length", GgufValue.From(U(shape.EffectiveHeadDimension)));
            writer.SetMetadata("gemma2.attention.value_length", GgufValue.From(U(shape.EffectiveHeadDimension)));
            writer.SetMetadata("gemma2.attn_logit_softcapping", GgufValue.From(shape.AttentionLogitSoftcap));
            writer.SetMetadata("gemma2.final_logit_softcapping", GgufValue.From(shape.FinalLogitSoftcap));
            writer.SetMetadata("gemma2.attention.sliding_window", GgufValue.From(U(shape.SlidingWindow ?? 4096)));
        }
        else if (a == "phi3")
        {
            writer.SetMetadata("phi3.attention.sliding_window", GgufValue.From(U(shape.SlidingWindow!.Value)));
        }

        if (vocabulary is null)
        {
            SyntheticVocabulary.AddTo(writer, shape.VocabularySize);
            return shape.VocabularySize;
        }

        int size = -1;
        foreach (var kv in vocabulary.Metadata)
        {
            if (kv.Key.StartsWith("tokenizer.", StringComparison.Ordinal))
            {
                writer.SetMetadata(kv.Key, kv.Value);
                if (kv.Key == "tokenizer.ggml.tokens" && kv.Value.RawValue is Array tokens)
                {
                    size = tokens.Length;
                }
            }
        }

        return size > 0 ? size : throw new InvalidDataException("The vocabulary file has no tokenizer.ggml.tokens array; give a GGUF with a vocabulary (e.g. ggml-vocab-llama-spm.gguf).");
    }

    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
