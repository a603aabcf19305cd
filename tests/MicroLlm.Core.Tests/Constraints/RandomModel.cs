using System.Text;
using MicroLlm.Constraints;
using MicroLlm.Sampling;

namespace MicroLlm.Tests.Constraints;

/// <summary>
/// A "model" that knows nothing: fresh random logits every step, drawn from a seeded generator. Tokens are chosen by the
/// real <see cref="Sampler"/> (temperature 1) under the constraint's mask, so only the mask can make the output valid.
/// </summary>
internal sealed class RandomModel
{
    private readonly ConstraintVocabulary _vocabulary;
    private readonly float[] _logits;
    private readonly bool[] _mask;

    public RandomModel(ConstraintVocabulary vocabulary)
    {
        _vocabulary = vocabulary;
        _logits = new float[vocabulary.Count];
        _mask = new bool[vocabulary.Count];
    }

    /// <summary>One generation: the text, and whether it ended with an end-of-generation token before <paramref name="maxTokens"/>.</summary>
    public (string Text, bool Completed) Generate(TokenConstraint constraint, int seed, int maxTokens)
    {
        constraint.Reset();
        // Top-k keeps sampling cheap; among the allowed tokens, the top 40 of random logits are a uniformly random choice.
        var sampler = new Sampler(_vocabulary.Count, new SamplingOptions { Temperature = 1f, TopK = 40, TopP = null, MinP = null, Seed = (ulong)seed });
        ulong state = (ulong)seed * 0x9E3779B97F4A7C15UL + 1;
        var output = new List<byte>();
        for (int step = 0; step < maxTokens; step++)
        {
            for (int i = 0; i < _logits.Length; i++)
            {
                // xorshift64*, mapped to [-4, 4)
                state ^= state >> 12;
                state ^= state << 25;
                state ^= state >> 27;
                _logits[i] = (((state * 0x2545F4914F6CDD1DUL) >> 40) * (8f / (1 << 24))) - 4f;
            }

            if (constraint.ComputeMask(_mask) == 0)
            {
                throw new InvalidOperationException("The mask allows no token.");
            }

            int token = sampler.Sample(_logits, _mask);
            constraint.Accept(token);
            if (_vocabulary.IsEndOfGeneration(token))
            {
                return (new UTF8Encoding(false, throwOnInvalidBytes: true).GetString([.. output]), true);
            }

            output.AddRange(_vocabulary.GetTokenBytes(token).ToArray());
        }

        // Cut off by the token limit: may end inside a character.
        return (Encoding.UTF8.GetString([.. output]), false);
    }
}
