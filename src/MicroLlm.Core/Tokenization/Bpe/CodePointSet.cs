namespace MicroLlm.Tokenization.Bpe;

/// <summary>A set of code points given as inclusive ranges, optionally negated: a regular-expression character class.</summary>
internal sealed class CodePointSet
{
    private readonly int[] _ranges;
    private readonly bool _negated;

    private CodePointSet(int[] ranges, bool negated)
    {
        _ranges = ranges;
        _negated = negated;
    }

    /// <summary>The set of the given ranges.</summary>
    /// <param name="ranges">Inclusive (first, last) pairs, ascending and not overlapping.</param>
    /// <returns>The set.</returns>
    public static CodePointSet Of(params int[] ranges) => new(Checked(ranges), negated: false);

    /// <summary>The set of everything but the given ranges.</summary>
    /// <param name="ranges">Inclusive (first, last) pairs, ascending and not overlapping.</param>
    /// <returns>The set.</returns>
    public static CodePointSet AllBut(params int[] ranges) => new(Checked(ranges), negated: true);

    /// <summary>Whether the set holds <paramref name="codePoint"/>.</summary>
    /// <param name="codePoint">A code point.</param>
    /// <returns><see langword="true"/> if it is a member.</returns>
    public bool Contains(int codePoint)
    {
        int lo = 0, hi = (_ranges.Length / 2) - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            if (_ranges[2 * mid] <= codePoint)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid - 1;
            }
        }

        bool inRanges = hi >= 0 && codePoint <= _ranges[(2 * hi) + 1];
        return inRanges != _negated;
    }

    private static int[] Checked(int[] ranges)
    {
        for (int i = 0; i < ranges.Length; i += 2)
        {
            if (i + 1 >= ranges.Length || ranges[i] > ranges[i + 1] || (i > 0 && ranges[i] <= ranges[i - 1]))
            {
                throw new ArgumentException("Code point ranges must be ascending, non-overlapping (first, last) pairs.", nameof(ranges));
            }
        }

        return ranges;
    }
}
