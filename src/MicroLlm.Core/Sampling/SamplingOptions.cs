namespace MicroLlm.Sampling;

/// <summary>
/// How the next token is chosen from the logits. Every property has a documented default; <see langword="null"/> means
/// "off" for the optional steps. The steps run in this order: logit bias, penalties, top-k, top-p, min-p, temperature, draw.
/// </summary>
public sealed class SamplingOptions
{
    private Dictionary<int, float> _logitBias = [];

    /// <summary>Softmax temperature. 0 (or less) picks the most likely token (greedy). Default 0.8.</summary>
    public float Temperature { get; set; } = 0.8f;

    /// <summary>Keep only the <c>TopK</c> most likely tokens; null or 0 keeps all. Default 40.</summary>
    public int? TopK { get; set; } = 40;

    /// <summary>Keep the smallest set of most likely tokens whose probabilities sum to at least <c>TopP</c>; null or 1 keeps all. Default 0.95.</summary>
    public float? TopP { get; set; } = 0.95f;

    /// <summary>Drop tokens whose probability is below <c>MinP</c> times the most likely token's; null or 0 keeps all. Default 0.05.</summary>
    public float? MinP { get; set; } = 0.05f;

    /// <summary>Divide positive logits (multiply negative ones) of recently seen tokens by this; null or 1 is off. Default off.</summary>
    public float? RepetitionPenalty { get; set; }

    /// <summary>Subtract this times the number of times a token was seen recently; null is off.</summary>
    public float? FrequencyPenalty { get; set; }

    /// <summary>Subtract this once from every token seen recently; null is off.</summary>
    public float? PresencePenalty { get; set; }

    /// <summary>How many of the most recent tokens the penalties look at. Default 64.</summary>
    public int PenaltyWindow { get; set; } = 64;

    /// <summary>Added to the logit of each listed token before anything else (use <see cref="float.NegativeInfinity"/> to ban one).</summary>
    public IDictionary<int, float> LogitBias => _logitBias;

    /// <summary>The seed of the random draw; the same seed and input give the same tokens. Null picks a random seed.</summary>
    public ulong? Seed { get; set; }

    /// <summary>Options that always pick the most likely token.</summary>
    /// <returns>New options with temperature 0.</returns>
    public static SamplingOptions Greedy() => new() { Temperature = 0, TopK = null, TopP = null, MinP = null };

    /// <summary>A copy of these options.</summary>
    /// <returns>The copy.</returns>
    public SamplingOptions Clone()
    {
        var c = (SamplingOptions)MemberwiseClone();
        c._logitBias = new Dictionary<int, float>(_logitBias);
        return c;
    }

    /// <summary>Checks the values; called by the sampler.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A value is out of its range; the message names it.</exception>
    internal void Validate()
    {
        if (float.IsNaN(Temperature))
        {
            throw new ArgumentOutOfRangeException(nameof(Temperature), "Temperature must be a number (0 for greedy).");
        }

        if (TopK is < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(TopK), TopK, "TopK must be 0 (off) or positive.");
        }

        if (TopP is { } p && (p <= 0 || p > 1 || float.IsNaN(p)))
        {
            throw new ArgumentOutOfRangeException(nameof(TopP), TopP, "TopP must be in (0, 1].");
        }

        if (MinP is { } m && (m < 0 || m > 1 || float.IsNaN(m)))
        {
            throw new ArgumentOutOfRangeException(nameof(MinP), MinP, "MinP must be in [0, 1].");
        }

        if (RepetitionPenalty is { } r && (r <= 0 || float.IsNaN(r)))
        {
            throw new ArgumentOutOfRangeException(nameof(RepetitionPenalty), RepetitionPenalty, "RepetitionPenalty must be positive (1 is off).");
        }

        if (PenaltyWindow < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(PenaltyWindow), PenaltyWindow, "PenaltyWindow must be 0 or more.");
        }
    }
}
