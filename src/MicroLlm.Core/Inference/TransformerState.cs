using System.Numerics.Tensors;
using MicroLlm.Kernels;
using MicroLlm.Models;
using MicroLlm.Numerics;

namespace MicroLlm.Inference;

/// <summary>
/// The mutable state of one sequence over a <see cref="TransformerModel"/>: the KV cache (F16, as the reference keeps
/// it) and every scratch buffer, allocated when first needed (the cache grows by doubling up to the context length,
/// the batch buffers to the largest batch evaluated, at most <see cref="MaxBatch"/>).
/// <see cref="Forward"/> evaluates a batch of tokens at consecutive positions. Not thread-safe; one per sequence.
/// </summary>
/// <remarks>
/// Numerics follow the reference runtime's CPU backend (as built for AVX-512) bit for bit where we know its order, so
/// that logits agree: matrix products through <see cref="WeightMatrix.MatMul"/> (activations quantized as it does, its
/// per-row float order); queries and attention probabilities rounded to F16 before they meet the F16 cache, and both
/// attention products in tinyBLAS's 16-lane order with cells in lanes by their position modulo 16; the softmax's
/// exponential is its SIMD polynomial (<see cref="ReferenceMath.Exp(float)"/>) with the denominator summed in double one
/// 16-cell group at a time; SiLU through the same exponential; RoPE angles by repeated multiplication and the rotation
/// with the FMAs its compiler contracts; sums of squares in double; GELU evaluated on F16-rounded inputs.
/// </remarks>
internal sealed class TransformerState
{
    /// <summary>The most tokens one pass of <see cref="Forward"/> computes together; longer inputs are split.</summary>
    public const int MaxBatch = 128;

    private readonly TransformerModel _model;
    private readonly TransformerConfig _c;
    private readonly Half[][] _keyCache;   // per layer: (position, kv_dim)
    private readonly Half[][] _valueCache; // per layer: (position, kv_dim)
    private readonly float[]? _ropeFactors;
    private readonly float[] _logits;

    // Batch buffers, (batch, …) each: sized by EnsureBatch for the largest batch seen so far (at most MaxBatch), so a
    // short prompt or a decode never holds a full batch's worth.
    private MatMulScratch _scratch = null!;
    private float[] _x = [], _xb = [], _q = [], _k = [], _v = [], _qkv = [], _att = [], _proj = [], _gate = [], _up = [];
    private float[] _ropeCos = [], _ropeSin = []; // (batch, rope_dims / 2)
    private int _batchCapacity;
    private readonly float[] _scores;            // (context)
    private readonly Half[] _head;               // (head_dim) the query rounded to F16
    private readonly float[] _acc;               // (16, head_dim) lanes of the probability-weighted values
    private readonly float[] _lanes = new float[16];
    private int _capacity;

    public TransformerState(TransformerModel model, int contextLength)
    {
        _model = model;
        _c = model.Config;
        ArgumentOutOfRangeException.ThrowIfLessThan(contextLength, 1);
        ContextLength = contextLength;
        _keyCache = new Half[_c.BlockCount][];
        _valueCache = new Half[_c.BlockCount][];
        _capacity = 0;
        Grow(Math.Min(contextLength, 256));
        _ropeFactors = model.RopeFactorsFor(contextLength);
        EnsureBatch(1);
        _logits = new float[_c.VocabularySize];
        _scores = new float[contextLength];
        _head = new Half[_c.HeadDimension];
        _acc = new float[16 * _c.HeadDimension];
    }

    /// <summary>The most positions this state holds.</summary>
    public int ContextLength { get; }

    /// <summary>
    /// Evaluates <paramref name="tokens"/> at positions <paramref name="position"/>, <paramref name="position"/>+1, …
    /// (earlier positions must already be in the cache). With <paramref name="allLogits"/>, <paramref name="logits"/>
    /// receives every token's logits (tokens × vocabulary); otherwise only the last token's.
    /// </summary>
    public void Forward(ReadOnlySpan<int> tokens, int position, Span<float> logits, bool allLogits, CancellationToken cancellationToken = default)
    {
        _hiddenOutput = false;
        ForwardCore(tokens, position, logits, allLogits, _c.VocabularySize, cancellationToken);
    }

    /// <summary>
    /// Like <see cref="Forward"/>, but writes every token's final hidden state (after the output norm;
    /// tokens × embedding length) to <paramref name="hidden"/> instead of logits: the input of embeddings.
    /// </summary>
    public void ForwardHidden(ReadOnlySpan<int> tokens, int position, Span<float> hidden, CancellationToken cancellationToken = default)
    {
        _hiddenOutput = true;
        try
        {
            ForwardCore(tokens, position, hidden, allLogits: true, _c.EmbeddingLength, cancellationToken);
        }
        finally
        {
            _hiddenOutput = false;
        }
    }

    private bool _hiddenOutput;

    private void ForwardCore(ReadOnlySpan<int> tokens, int position, Span<float> logits, bool allLogits, int outputWidth, CancellationToken cancellationToken)
    {
        int vocab = outputWidth;
        if (tokens.IsEmpty)
        {
            throw new ArgumentException("At least one token is needed.", nameof(tokens));
        }

        if (position < 0 || position > ContextLength - tokens.Length)
        {
            throw new InvalidOperationException(
                $"The sequence would reach {position + tokens.Length} tokens, past this session's context of {ContextLength}; reset or truncate the session, or create it with a longer context.");
        }

        if (logits.Length < (allLogits ? tokens.Length * vocab : vocab))
        {
            throw new ArgumentException("The logits buffer is too small.", nameof(logits));
        }

        foreach (int t in tokens)
        {
            if ((uint)t >= (uint)_c.VocabularySize)
            {
                throw new ArgumentOutOfRangeException(nameof(tokens), t, $"Token ids are 0..{_c.VocabularySize - 1}.");
            }
        }

        EnsureCapacity(position + tokens.Length);
        EnsureBatch(Math.Min(MaxBatch, tokens.Length));
        for (int start = 0; start < tokens.Length; start += MaxBatch)
        {
            cancellationToken.ThrowIfCancellationRequested();
            int n = Math.Min(MaxBatch, tokens.Length - start);
            bool last = start + n == tokens.Length;
            if (allLogits)
            {
                ForwardBatch(tokens.Slice(start, n), position + start, logits.Slice(start * vocab, n * vocab), outputRows: n, cancellationToken);
            }
            else if (last)
            {
                ForwardBatch(tokens.Slice(start, n), position + start, logits[..vocab], outputRows: 1, cancellationToken);
            }
            else
            {
                ForwardBatch(tokens.Slice(start, n), position + start, default, outputRows: 0, cancellationToken);
            }
        }
    }

    private void ForwardBatch(ReadOnlySpan<int> tokens, int position, Span<float> logits, int outputRows, CancellationToken cancellationToken)
    {
        int n = tokens.Length, dim = _c.EmbeddingLength, kvDim = _c.KvDimension, qDim = _c.QueryDimension, ffn = _c.FeedForwardLength;
        var x = _x.AsSpan(0, n * dim);
        var xb = _xb.AsSpan(0, n * dim);
        for (int i = 0; i < n; i++)
        {
            var row = x.Slice(i * dim, dim);
            _model.TokenEmbedding.ReadRow(tokens[i], row);
            if (_c.EmbeddingScale != 1f)
            {
                TensorPrimitives.Multiply(row, _c.EmbeddingScale, row);
            }

            PrepareRope(position + i, i);
        }

        var q = _q.AsSpan(0, n * qDim);
        var k = _k.AsSpan(0, n * kvDim);
        var v = _v.AsSpan(0, n * kvDim);
        var att = _att.AsSpan(0, n * qDim);
        var proj = _proj.AsSpan(0, n * dim);
        for (int l = 0; l < _model.Layers.Length; l++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var layer = _model.Layers[l];

            // Attention.
            RmsNorm(x, layer.AttentionNorm, xb, n);
            if (layer.QueryKeyValue is { } qkvWeight)
            {
                int width = qDim + (2 * kvDim);
                var qkv = _qkv.AsSpan(0, n * width);
                qkvWeight.MatMul(xb, n, qkv, _scratch, _model.ThreadCount);
                AddBias(qkv, layer.QueryKeyValueBias, n);
                for (int i = 0; i < n; i++)
                {
                    qkv.Slice(i * width, qDim).CopyTo(q.Slice(i * qDim, qDim));
                    qkv.Slice((i * width) + qDim, kvDim).CopyTo(k.Slice(i * kvDim, kvDim));
                    qkv.Slice((i * width) + qDim + kvDim, kvDim).CopyTo(v.Slice(i * kvDim, kvDim));
                }
            }
            else
            {
                WeightMatrix.MatMulShared(xb, n, _scratch, _model.ThreadCount, layer.Query!, q, layer.Key!, k, layer.Value!, v);
                AddBias(q, layer.QueryBias, n);
                AddBias(k, layer.KeyBias, n);
                AddBias(v, layer.ValueBias, n);
            }

            var rope = new RopeBody { State = this, Layer = l, Position = position };
            ComputePool.ForThreads(_model.ThreadCount).For(n, 1, ref rope);

            if (F16Attention.Supports(Kernel.Current, _c.HeadDimension))
            {
                ParallelAttention(l, position, n, q, att);
            }
            else
            {
                for (int i = 0; i < n; i++)
                {
                    Attention(l, position + i, q.Slice(i * qDim, qDim), att.Slice(i * qDim, qDim));
                }
            }

            layer.AttentionOutput.MatMul(att, n, proj, _scratch, _model.ThreadCount);
            AddBias(proj, layer.AttentionOutputBias, n);
            if (layer.AttentionPostNorm is { } postAttention)
            {
                RmsNorm(proj, postAttention, proj, n);
            }

            TensorPrimitives.Add(x, proj, x);

            // Feed-forward.
            RmsNorm(x, layer.FeedForwardNorm, xb, n);
            var gate = _gate.AsSpan(0, n * ffn);
            if (layer.Gate is { } gateWeight)
            {
                var up = _up.AsSpan(0, n * ffn);
                WeightMatrix.MatMulShared(xb, n, _scratch, _model.ThreadCount, gateWeight, gate, layer.Up, up);
                Activate(gate, up);
            }
            else
            {
                var gateUp = _up.AsSpan(0, n * 2 * ffn);
                layer.Up.MatMul(xb, n, gateUp, _scratch, _model.ThreadCount);
                for (int i = 0; i < n; i++)
                {
                    var g = gate.Slice(i * ffn, ffn);
                    gateUp.Slice(i * 2 * ffn, ffn).CopyTo(g);
                    Activate(g, gateUp.Slice((i * 2 * ffn) + ffn, ffn));
                }
            }

            layer.Down.MatMul(gate, n, proj, _scratch, _model.ThreadCount);
            if (layer.FeedForwardPostNorm is { } postFfn)
            {
                RmsNorm(proj, postFfn, proj, n);
            }

            TensorPrimitives.Add(x, proj, x);
        }

        if (outputRows == 0)
        {
            return;
        }

        // Only the rows whose logits are wanted go through the output head.
        var outX = x.Slice((n - outputRows) * dim, outputRows * dim);
        var outXb = xb[..(outputRows * dim)];
        RmsNorm(outX, _model.OutputNorm, outXb, outputRows);
        if (_hiddenOutput)
        {
            outXb.CopyTo(logits);
            return;
        }

        _model.Output.MatMul(outXb, outputRows, logits, _scratch, _model.ThreadCount);
        if (_c.FinalLogitSoftcap > 0)
        {
            float cap = _c.FinalLogitSoftcap;
            var l = logits[..(outputRows * _c.VocabularySize)];
            TensorPrimitives.Multiply(l, 1f / cap, l);
            for (int i = 0; i < l.Length; i++)
            {
                l[i] = MathF.Tanh(l[i]); // the C library's tanhf, as the reference (not a vectorized approximation)
            }

            TensorPrimitives.Multiply(l, cap, l);
        }
    }

    /// <summary>Drops nothing: the cache rows past the sequence are simply overwritten later.</summary>
    public void EnsureCapacity(int positions)
    {
        if (positions > _capacity)
        {
            int capacity = _capacity;
            while (capacity < positions)
            {
                capacity = (int)Math.Min(ContextLength, Math.Max(256L, capacity * 2L));
            }

            Grow(capacity);
        }
    }

    /// <summary>Sizes the batch buffers for batches of <paramref name="batch"/> tokens (they only grow).</summary>
    private void EnsureBatch(int batch)
    {
        if (batch <= _batchCapacity)
        {
            return;
        }

        int b = batch;
        int dim = _c.EmbeddingLength, kvDim = _c.KvDimension, qDim = _c.QueryDimension, ffn = _c.FeedForwardLength;
        _scratch = new MatMulScratch(Math.Max(Math.Max(dim, ffn), qDim), b);
        _x = new float[b * dim];
        _xb = new float[b * dim];
        _q = new float[b * qDim];
        _k = new float[b * kvDim];
        _v = new float[b * kvDim];
        _qkv = _model.Layers.Any(l => l.QueryKeyValue is not null) ? new float[b * (qDim + (2 * kvDim))] : [];
        _att = new float[b * qDim];
        _proj = new float[b * dim];
        _gate = new float[b * ffn];
        _up = new float[b * (_model.Layers.Any(l => l.Gate is null) ? 2 * ffn : ffn)];
        _ropeCos = new float[b * (_c.RopeDimensionCount / 2)];
        _ropeSin = new float[b * (_c.RopeDimensionCount / 2)];
        _batchCapacity = b;
    }

    private void Grow(int capacity)
    {
        int kvDim = _c.KvDimension;
        for (int l = 0; l < _keyCache.Length; l++)
        {
            var k = new Half[(long)capacity * kvDim];
            var v = new Half[(long)capacity * kvDim];
            if (_keyCache[l] is { } oldK)
            {
                oldK.CopyTo(k, 0);
                _valueCache[l].CopyTo(v, 0);
            }

            _keyCache[l] = k;
            _valueCache[l] = v;
        }

        _capacity = capacity;
    }

    /// <summary>
    /// <see cref="Attention"/> for tokens at <paramref name="position"/>.. (<paramref name="n"/> of them), as items of
    /// the compute pool: a KV head's query heads for a run of tokens (<see cref="F16Attention.Group"/>, which widens
    /// the cells once per item), the runs with the most cells first; each head's output is one thread's work in the
    /// same order, whatever the split.
    /// </summary>
    private unsafe void ParallelAttention(int layer, int position, int n, ReadOnlySpan<float> q, Span<float> output)
    {
        int threads = ComputePool.ForThreads(_model.ThreadCount).ThreadCount;
        int run = Math.Clamp(n * _c.KvHeadCount / (16 * threads), 1, n);
        fixed (Half* keys = _keyCache[layer])
        fixed (Half* values = _valueCache[layer])
        fixed (float* qp = q)
        fixed (float* op = output)
        {
            var body = new AttentionBody
            {
                Keys = keys,
                Values = values,
                Q = qp,
                Output = op,
                Position = position,
                Tokens = n,
                Run = run,
                Runs = (n + run - 1) / run,
                KvHeads = _c.KvHeadCount,
                Group = _c.HeadCount / _c.KvHeadCount,
                HeadDimension = _c.HeadDimension,
                QueryDimension = _c.QueryDimension,
                KvDimension = _c.KvDimension,
                Window = _c.IsSlidingLayer(layer) ? _c.SlidingWindow : 0,
                Cap = _c.AttentionLogitSoftcap,
                Scale = _c.SoftmaxScale,
                CacheCells = _capacity,
            };
            ComputePool.ForThreads(_model.ThreadCount).For(body.Runs * _c.KvHeadCount, 1, ref body);
        }
    }

    private unsafe struct AttentionBody : IRangeBody
    {
        public Half* Keys;
        public Half* Values;
        public float* Q;
        public float* Output;
        public int Position;
        public int Tokens;
        public int Run;
        public int Runs;
        public int KvHeads;
        public int Group;
        public int HeadDimension;
        public int QueryDimension;
        public int KvDimension;
        public int Window;
        public float Cap;
        public float Scale;
        public int CacheCells;

        public readonly void Invoke(int start, int end)
        {
            for (int item = start; item < end; item++)
            {
                int first = (Runs - 1 - (item / KvHeads)) * Run, g = item % KvHeads;
                int tokens = Math.Min(Run, Tokens - first);
                int kvOffset = g * HeadDimension;
                long at = ((long)first * QueryDimension) + ((long)g * Group * HeadDimension);
                F16Attention.Group(
                    Keys + kvOffset, Values + kvOffset, KvDimension, HeadDimension, Q + at, Output + at, QueryDimension,
                    Group, Position + first, tokens, Window, Cap, Scale, CacheCells);
            }
        }
    }

    private void Attention(int layer, int position, ReadOnlySpan<float> q, Span<float> output)
    {
        int headDim = _c.HeadDimension, kvDim = _c.KvDimension, group = _c.HeadCount / _c.KvHeadCount;
        int first = _c.IsSlidingLayer(layer) ? Math.Max(0, position - _c.SlidingWindow + 1) : 0;
        var keys = _keyCache[layer];
        var values = _valueCache[layer];
        var qh = _head.AsSpan();
        var acc = _acc.AsSpan();
        var lanes = _lanes.AsSpan();
        var scores = _scores.AsSpan(0, position + 1);
        float cap = _c.AttentionLogitSoftcap, scale = _c.SoftmaxScale;
        for (int h = 0; h < _c.HeadCount; h++)
        {
            int kvOffset = h / group * headDim;

            // The reference multiplies the F16 cache with queries rounded to F16.
            TensorPrimitives.ConvertToHalf(q.Slice(h * headDim, headDim), qh);
            for (int t = first; t <= position; t++)
            {
                float s = ReferenceDot.F16(keys.AsSpan((t * kvDim) + kvOffset, headDim), qh);
                if (cap > 0)
                {
                    s = MathF.Tanh(s * (1f / cap)) * cap; // as the reference: scale by 1/cap, tanhf, scale by cap
                }

                scores[t] = s * scale;
            }

            ReferenceMath.Softmax(scores, first);

            // Probabilities rounded to F16 times the F16 values: cell t in lane t % 16, lanes summed at the end.
            acc.Clear();
            for (int t = first; t <= position; t++)
            {
                float p = (float)(Half)scores[t];
                var vRow = values.AsSpan((t * kvDim) + kvOffset, headDim);
                var lane = acc.Slice((t & 15) * headDim, headDim);
                for (int i = 0; i < headDim; i++)
                {
                    lane[i] = MathF.FusedMultiplyAdd(p, (float)vRow[i], lane[i]);
                }
            }

            var head = output.Slice(h * headDim, headDim);
            for (int i = 0; i < headDim; i++)
            {
                for (int l = 0; l < 16; l++)
                {
                    lanes[l] = acc[(l * headDim) + i];
                }

                head[i] = ReferenceMath.Reduce16(lanes);
            }
        }
    }

    private void Activate(Span<float> gate, ReadOnlySpan<float> up)
    {
        if (_c.Activation == FeedForwardActivation.Silu)
        {
            ReferenceMath.SiluTimes(gate, up, vectorized: Kernel.Current != KernelWidth.Scalar);
        }
        else
        {
            for (int i = 0; i < gate.Length; i++)
            {
                gate[i] = GeluF16(gate[i]) * up[i];
            }
        }
    }

    /// <summary>The tanh-approximated GELU the reference evaluates through an F16 table.</summary>
    internal static float GeluF16(float x)
    {
        if (x <= -10f)
        {
            return 0f;
        }

        if (x >= 10f)
        {
            return x;
        }

        float h = (float)(Half)x;
        const float sqrt2OverPi = 0.79788456080286535587989211986876f, coefA = 0.044715f;
        // The reference's compiler contracts 1 + a·h·h into fma(a·h, h, 1) when it fills its table.
        return (float)(Half)(0.5f * h * (1.0f + MathF.Tanh(sqrt2OverPi * h * MathF.FusedMultiplyAdd(coefA * h, h, 1.0f))));
    }

    private static void AddBias(Span<float> y, float[]? bias, int n)
    {
        if (bias is null)
        {
            return;
        }

        for (int i = 0; i < n; i++)
        {
            var row = y.Slice(i * bias.Length, bias.Length);
            TensorPrimitives.Add(row, bias, row);
        }
    }

    /// <summary>Rotates token <paramref name="i"/>'s query and key (scaling the query if the model says so) and writes its key and value into layer <paramref name="layer"/>'s cache.</summary>
    private void RopeAndCache(int layer, int position, int i)
    {
        int qDim = _c.QueryDimension, kvDim = _c.KvDimension;
        var qi = _q.AsSpan(i * qDim, qDim);
        ApplyRope(qi, _c.HeadCount, i);
        if (_c.QueryScale != 1f)
        {
            TensorPrimitives.Multiply(qi, _c.QueryScale, qi);
        }

        var ki = _k.AsSpan(i * kvDim, kvDim);
        ApplyRope(ki, _c.KvHeadCount, i);
        int slot = (position + i) * kvDim;
        TensorPrimitives.ConvertToHalf(ki, _keyCache[layer].AsSpan(slot, kvDim));
        TensorPrimitives.ConvertToHalf(_v.AsSpan(i * kvDim, kvDim), _valueCache[layer].AsSpan(slot, kvDim));
    }

    private struct RopeBody : IRangeBody
    {
        public TransformerState State;
        public int Layer;
        public int Position;

        public readonly void Invoke(int start, int end)
        {
            for (int i = start; i < end; i++)
            {
                State.RopeAndCache(Layer, Position, i);
            }
        }
    }

    /// <summary>RMSNorm of <paramref name="n"/> rows, the rows spread over the compute pool (each row's bits as one thread computes it).</summary>
    private unsafe void RmsNorm(ReadOnlySpan<float> x, ReadOnlySpan<float> weight, Span<float> y, int n)
    {
        fixed (float* xp = x)
        fixed (float* wp = weight)
        fixed (float* yp = y)
        {
            var body = new RmsNormBody { X = xp, Weight = wp, Y = yp, Dim = weight.Length, Epsilon = _c.RmsNormEpsilon };
            ComputePool.ForThreads(_model.ThreadCount).For(n, 1, ref body);
        }
    }

    private unsafe struct RmsNormBody : IRangeBody
    {
        public float* X;
        public float* Weight;
        public float* Y;
        public int Dim;
        public float Epsilon;

        public readonly void Invoke(int start, int end)
        {
            for (int r = start; r < end; r++)
            {
                RmsNormRow(new ReadOnlySpan<float>(X + ((long)r * Dim), Dim), new ReadOnlySpan<float>(Weight, Dim), new Span<float>(Y + ((long)r * Dim), Dim), Epsilon);
            }
        }
    }

    /// <summary>The sum of squares in double, element by element; then <c>(x · s) · weight</c> per element (in place allowed).</summary>
    private static void RmsNormRow(ReadOnlySpan<float> xr, ReadOnlySpan<float> weight, Span<float> yr, float epsilon)
    {
        int dim = weight.Length;
        double sum = 0;
        foreach (float v in xr)
        {
            sum += v * v;
        }

        float mean = (float)(sum / dim);
        float s = 1.0f / MathF.Sqrt(mean + epsilon);
        TensorPrimitives.Multiply(xr, s, yr);
        TensorPrimitives.Multiply(yr, weight, yr);
    }

    private void PrepareRope(int position, int row)
    {
        // theta_i = position * base^(-2i/n_dims), by repeated multiplication as the reference computes it.
        int half = _c.RopeDimensionCount / 2;
        var cos = _ropeCos.AsSpan(row * half, half);
        var sin = _ropeSin.AsSpan(row * half, half);
        float thetaScale = MathF.Pow(_c.RopeFreqBase, -2.0f / _c.RopeDimensionCount);
        float theta = position;
        for (int i = 0; i < half; i++)
        {
            float t = _ropeFactors is null ? theta : theta / _ropeFactors[i];
            t *= _c.RopeFreqScale;
            cos[i] = MathF.Cos(t) * _c.RopeAttentionFactor; // the reference's mscale: 1 unless the file sets rope.scaling.attn_factor
            sin[i] = MathF.Sin(t) * _c.RopeAttentionFactor;
            theta *= thetaScale;
        }
    }

    private void ApplyRope(Span<float> v, int heads, int row)
    {
        int headDim = _c.HeadDimension, half = _c.RopeDimensionCount / 2;
        var cos = _ropeCos.AsSpan(row * half, half);
        var sin = _ropeSin.AsSpan(row * half, half);
        for (int h = 0; h < heads; h++)
        {
            var head = v.Slice(h * headDim, headDim);
            for (int i = 0; i < half; i++)
            {
                // NeoX rotates (x[i], x[i + n/2]); the normal ordering rotates adjacent pairs.
                int a = _c.RopeNeox ? i : 2 * i, b = _c.RopeNeox ? i + half : (2 * i) + 1;
                float x0 = head[a], x1 = head[b];

                // The reference's compiler contracts both into FMAs on x0: fma(x0, cos, −(x1·sin)) and fma(x0, sin, x1·cos)
                // (its scalar loop; checked against its outputs bit for bit).
                head[a] = MathF.FusedMultiplyAdd(x0, cos[i], -(x1 * sin[i]));
                head[b] = MathF.FusedMultiplyAdd(x0, sin[i], x1 * cos[i]);
            }
        }
    }
}
