using System.Numerics.Tensors;

namespace MicroLlm.Sampling;

/// <summary>
/// Chooses the next token from logits: logit bias → repetition/frequency/presence penalties → top-k → top-p → min-p →
/// temperature → seeded draw. One sampler per generation; its buffers are sized to the vocabulary once, so sampling a
/// token allocates nothing. The same seed, options and logits give the same token on any machine and thread count.
/// </summary>
public sealed class Sampler
{
    private readonly SamplingOptions _options;
    private readonly int[] _ids;        // (vocab) candidate ids
    private readonly float[] _values;   // (vocab) candidate logits, then probabilities
    private readonly float[] _work;     // (vocab) biased / penalised logits
    private readonly Dictionary<int, int> _counts = [];
    private readonly Queue<int> _recent = new();
    private Pcg32 _rng;

    /// <summary>Creates a sampler for a vocabulary of <paramref name="vocabularySize"/> tokens.</summary>
    /// <param name="vocabularySize">The number of logits per step.</param>
    /// <param name="options">The sampling options (copied); null means the defaults.</param>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    public Sampler(int vocabularySize, SamplingOptions? options = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(vocabularySize, 1);
        _options = (options ?? new SamplingOptions()).Clone();
        _options.Validate();
        VocabularySize = vocabularySize;
        _ids = new int[vocabularySize];
        _values = new float[vocabularySize];
        _work = new float[vocabularySize];
        _rng = new Pcg32(_options.Seed ?? (ulong)Random.Shared.NextInt64());
    }

    /// <summary>The number of logits each step takes.</summary>
    public int VocabularySize { get; }

    /// <summary>Tells the sampler a token became part of the text (prompt or generated), for the penalties.</summary>
    /// <param name="token">The token id.</param>
    public void Accept(int token)
    {
        if (_options.PenaltyWindow == 0)
        {
            return;
        }

        _recent.Enqueue(token);
        _counts[token] = _counts.GetValueOrDefault(token) + 1;
        if (_recent.Count > _options.PenaltyWindow)
        {
            int old = _recent.Dequeue();
            if (--_counts[old] == 0)
            {
                _counts.Remove(old);
            }
        }
    }

    /// <summary>Chooses the next token.</summary>
    /// <param name="logits">The model's logits, one per vocabulary entry (not modified).</param>
    /// <param name="allowed">Optional mask from a constraint: only tokens whose entry is true may be chosen.</param>
    /// <returns>The chosen token id.</returns>
    /// <exception cref="ArgumentException">The logits are the wrong length.</exception>
    /// <exception cref="InvalidOperationException">No token is allowed (every logit is -infinity after bias and mask).</exception>
    public int Sample(ReadOnlySpan<float> logits, ReadOnlySpan<bool> allowed = default)
    {
        if (logits.Length != VocabularySize)
        {
            throw new ArgumentException($"Expected {VocabularySize} logits, got {logits.Length}.", nameof(logits));
        }

        var work = _work.AsSpan();
        logits.CopyTo(work);
        foreach (var (id, bias) in _options.LogitBias)
        {
            if ((uint)id < (uint)work.Length)
            {
                work[id] += bias;
            }
        }

        ApplyPenalties(work);
        if (!allowed.IsEmpty)
        {
            for (int i = 0; i < work.Length; i++)
            {
                if (!allowed[i])
                {
                    work[i] = float.NegativeInfinity;
                }
            }
        }

        if (_options.Temperature <= 0)
        {
            int best = TensorPrimitives.IndexOfMax(work);
            return float.IsNegativeInfinity(work[best]) ? throw NoCandidate() : best;
        }

        int n = Candidates(work);
        n = TopK(n);
        SortDescending(n);
        Softmax(n, 1.0f);
        n = TopP(n);
        n = MinP(n);
        // Temperature on the survivors' logits, then the draw.
        for (int i = 0; i < n; i++)
        {
            _values[i] = work[_ids[i]];
        }

        Softmax(n, 1.0f / _options.Temperature);
        double u = _rng.NextDouble();
        double cumulative = 0;
        for (int i = 0; i < n; i++)
        {
            cumulative += _values[i];
            if (u < cumulative)
            {
                return _ids[i];
            }
        }

        return _ids[n - 1];
    }

    private void ApplyPenalties(Span<float> work)
    {
        float rep = _options.RepetitionPenalty ?? 1f, freq = _options.FrequencyPenalty ?? 0f, presence = _options.PresencePenalty ?? 0f;
        if (_counts.Count == 0 || (rep == 1f && freq == 0f && presence == 0f))
        {
            return;
        }

        foreach (var (id, count) in _counts)
        {
            if ((uint)id >= (uint)work.Length)
            {
                continue;
            }

            float v = work[id];
            v = v <= 0 ? v * rep : v / rep;
            work[id] = v - (count * freq) - presence;
        }
    }

    private int Candidates(ReadOnlySpan<float> work)
    {
        int n = 0;
        for (int i = 0; i < work.Length; i++)
        {
            if (!float.IsNegativeInfinity(work[i]))
            {
                _ids[n] = i;
                _values[n] = work[i];
                n++;
            }
        }

        return n == 0 ? throw NoCandidate() : n;
    }

    private int TopK(int n)
    {
        int k = _options.TopK ?? 0;
        if (k <= 0 || k >= n)
        {
            return n;
        }

        // Quickselect the k largest into the front; ties broken by lower id so the result is deterministic.
        int lo = 0, hi = n - 1;
        while (lo < hi)
        {
            int p = Partition(lo, hi, lo + ((hi - lo) / 2));
            if (p == k)
            {
                break;
            }

            if (p < k)
            {
                lo = p + 1;
            }
            else
            {
                hi = p - 1;
            }
        }

        return k;
    }

    private int Partition(int lo, int hi, int pivotIndex)
    {
        float pv = _values[pivotIndex];
        int pid = _ids[pivotIndex];
        Swap(pivotIndex, hi);
        int store = lo;
        for (int i = lo; i < hi; i++)
        {
            if (Before(_values[i], _ids[i], pv, pid))
            {
                Swap(i, store++);
            }
        }

        Swap(store, hi);
        return store;
    }

    private static bool Before(float a, int aId, float b, int bId) => a > b || (a == b && aId < bId);

    private void Swap(int i, int j)
    {
        (_values[i], _values[j]) = (_values[j], _values[i]);
        (_ids[i], _ids[j]) = (_ids[j], _ids[i]);
    }

    private void SortDescending(int n)
    {
        // Sort by (value desc, id asc): keys negated for an ascending sort of (value, id) pairs.
        var values = _values.AsSpan(0, n);
        var ids = _ids.AsSpan(0, n);
        TensorPrimitives.Negate(values, values);
        values.Sort(ids);
        TensorPrimitives.Negate(values, values);
        // Equal values may be in any id order after Sort; restore ascending ids within ties.
        int start = 0;
        for (int i = 1; i <= n; i++)
        {
            if (i == n || values[i] != values[start])
            {
                if (i - start > 1)
                {
                    ids[start..i].Sort();
                }

                start = i;
            }
        }
    }

    private void Softmax(int n, float scale)
    {
        var v = _values.AsSpan(0, n);
        float max = v[0];
        for (int i = 1; i < n; i++)
        {
            max = Math.Max(max, v[i]);
        }

        double sum = 0;
        for (int i = 0; i < n; i++)
        {
            float e = MathF.Exp((v[i] - max) * scale);
            v[i] = e;
            sum += e;
        }

        float inv = (float)(1.0 / sum);
        TensorPrimitives.Multiply(v, inv, v);
    }

    private int TopP(int n)
    {
        float p = _options.TopP ?? 1f;
        if (p >= 1f)
        {
            return n;
        }

        double cumulative = 0;
        for (int i = 0; i < n; i++)
        {
            cumulative += _values[i];
            if (cumulative >= p)
            {
                return i + 1;
            }
        }

        return n;
    }

    private int MinP(int n)
    {
        float m = _options.MinP ?? 0f;
        if (m <= 0f)
        {
            return n;
        }

        float threshold = _values[0] * m;
        int keep = 1;
        while (keep < n && _values[keep] >= threshold)
        {
            keep++;
        }

        return keep;
    }

    private static InvalidOperationException NoCandidate() =>
        new("No token can be sampled: every token was excluded by the logit bias or the constraint.");

    /// <summary>PCG-XSH-RR 32-bit generator: small, fast, and the same sequence on every platform and .NET version.</summary>
    private struct Pcg32
    {
        private ulong _state;

        public Pcg32(ulong seed)
        {
            _state = 0;
            Next();
            _state += seed;
            Next();
        }

        public uint Next()
        {
            ulong old = _state;
            _state = (old * 6364136223846793005UL) + 1442695040888963407UL;
            uint xorshifted = (uint)(((old >> 18) ^ old) >> 27);
            int rot = (int)(old >> 59);
            return (xorshifted >> rot) | (xorshifted << ((-rot) & 31));
        }

        public double NextDouble() => ((((ulong)Next()) << 21) ^ Next()) / (double)(1UL << 53);
    }
}
