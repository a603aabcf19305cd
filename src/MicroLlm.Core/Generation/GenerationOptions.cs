using MicroLlm.Constraints;
using MicroLlm.Sampling;

namespace MicroLlm.Generation;

/// <summary>How to generate: token limit, sampling, stop strings and an optional output constraint.</summary>
public sealed class GenerationOptions
{
    /// <summary>The most tokens to generate (not counting the prompt). Default 256.</summary>
    public int MaxTokens { get; set; } = 256;

    /// <summary>How each token is chosen. Default: temperature 0.8, top-k 40, top-p 0.95, min-p 0.05, random seed.</summary>
    public SamplingOptions Sampling { get; set; } = new();

    /// <summary>Texts that end the generation when they appear; the stop string itself is not returned.</summary>
    public IList<string> StopStrings { get; set; } = [];

    /// <summary>Constrains the output to this grammar (GBNF, JSON Schema or regex compiled with <see cref="Constraints.Grammar"/>); null for free text.</summary>
    public Grammar? Grammar { get; set; }

    /// <summary>
    /// Whether control tokens written in the prompt text (such as <c>&lt;|im_start|&gt;</c>) are read as control tokens.
    /// Default false: user text stays text. Chat templates set this for their own markup only.
    /// </summary>
    public bool ParseSpecialTokens { get; set; }

    internal void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxTokens, 1, nameof(MaxTokens));
        ArgumentNullException.ThrowIfNull(Sampling, nameof(Sampling));
        ArgumentNullException.ThrowIfNull(StopStrings, nameof(StopStrings));
        if (StopStrings.Any(string.IsNullOrEmpty))
        {
            throw new ArgumentException("Stop strings must not be empty.", nameof(StopStrings));
        }
    }
}

/// <summary>Why a generation ended.</summary>
public enum GenerationFinishReason
{
    /// <summary>The model produced an end-of-generation token (EOS, EOT).</summary>
    EndOfSequence,

    /// <summary>A stop string appeared.</summary>
    StopString,

    /// <summary><see cref="GenerationOptions.MaxTokens"/> tokens were generated.</summary>
    MaxTokens,

    /// <summary>The session's context is full.</summary>
    ContextFull,

    /// <summary>The grammar was complete and admits nothing more.</summary>
    GrammarComplete,
}

/// <summary>Counts and timings of one generation.</summary>
/// <param name="PromptTokens">Tokens evaluated for the prompt.</param>
/// <param name="GeneratedTokens">Tokens generated.</param>
/// <param name="PromptTime">Time spent evaluating the prompt (prefill).</param>
/// <param name="GenerationTime">Time spent generating (decode, sampling, constraint masks).</param>
public sealed record GenerationStatistics(int PromptTokens, int GeneratedTokens, TimeSpan PromptTime, TimeSpan GenerationTime)
{
    /// <summary>Prompt tokens per second.</summary>
    public double PromptTokensPerSecond => PromptTime > TimeSpan.Zero ? PromptTokens / PromptTime.TotalSeconds : 0;

    /// <summary>Generated tokens per second.</summary>
    public double GenerationTokensPerSecond => GenerationTime > TimeSpan.Zero ? GeneratedTokens / GenerationTime.TotalSeconds : 0;
}

/// <summary>
/// A piece of streamed output. <see cref="Text"/> is always whole characters (never half of a UTF-8 sequence or of a
/// Bangla conjunct); it may be empty. The last update carries <see cref="FinishReason"/> and <see cref="Statistics"/>.
/// </summary>
/// <param name="Text">New text since the previous update.</param>
/// <param name="TokenIds">The tokens generated since the previous update.</param>
/// <param name="FinishReason">Set on the last update.</param>
/// <param name="Statistics">Set on the last update.</param>
public sealed record GenerationUpdate(
    string Text,
    IReadOnlyList<int> TokenIds,
    GenerationFinishReason? FinishReason = null,
    GenerationStatistics? Statistics = null);

/// <summary>The whole result of a generation.</summary>
/// <param name="Text">The generated text (without stop strings).</param>
/// <param name="TokenIds">The generated tokens.</param>
/// <param name="FinishReason">Why it ended.</param>
/// <param name="Statistics">Counts and timings.</param>
public sealed record GenerationResult(string Text, IReadOnlyList<int> TokenIds, GenerationFinishReason FinishReason, GenerationStatistics Statistics);
