using MicroLlm.Inference;

namespace MicroLlm.Core.Tests.Inference;

/// <summary>Comparison of our logits with the reference runtime's printed top logits and greedy continuation.</summary>
internal static class ReferenceLogits
{
    /// <summary>The largest |ours − reference| over every listed logit, and the first prompt position over <paramref name="tolerance"/> (−1 for none).</summary>
    public static (float MaxDiff, int FirstBad) Compare(float[] all, int vocab, (int Id, float Logit)[][] reference, float tolerance)
    {
        float maxDiff = 0;
        int firstBad = -1;
        for (int p = 0; p < reference.Length; p++)
        {
            foreach (var (id, logit) in reference[p])
            {
                float diff = Math.Abs(all[(p * vocab) + id] - logit);
                maxDiff = Math.Max(maxDiff, diff);
                if (diff > tolerance && firstBad < 0)
                {
                    firstBad = p;
                }
            }
        }

        return (maxDiff, firstBad);
    }

    /// <summary>
    /// Decodes the greedy continuation from <paramref name="last"/> (the prompt's last logits) one token at a time and
    /// asserts it equals <paramref name="greedy"/> while the top-2 margin exceeds <paramref name="tolerance"/> (past a
    /// near-tie the reference may go either way). Returns how many tokens were compared.
    /// </summary>
    public static int CheckGreedy(InferenceSession session, float[] last, int[] greedy, float tolerance)
    {
        int compared = 0;
        for (int i = 0; i < greedy.Length; i++)
        {
            int best = ArgMax(last, out float margin);
            if (margin <= tolerance)
            {
                break;
            }

            Assert.That(best, Is.EqualTo(greedy[i]), $"greedy token {i} (margin {margin})");
            compared++;
            last = session.Evaluate([best]).ToArray();
        }

        return compared;
    }

    public static int ArgMax(ReadOnlySpan<float> x, out float margin)
    {
        int best = 0;
        float first = float.NegativeInfinity, second = float.NegativeInfinity;
        for (int i = 0; i < x.Length; i++)
        {
            if (x[i] > first)
            {
                second = first;
                first = x[i];
                best = i;
            }
            else if (x[i] > second)
            {
                second = x[i];
            }
        }

        margin = first - second;
        return best;
    }
}
