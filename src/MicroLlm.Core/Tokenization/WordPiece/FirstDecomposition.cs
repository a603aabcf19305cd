namespace MicroLlm.Tokenization.WordPiece;

/// <summary>
/// The reference runtime's "NFD" for WordPiece: every code point is replaced by the first code point of its
/// canonical decomposition, and the rest of the decomposition (the combining marks) is dropped, so <c>é</c> becomes
/// <c>e</c> and Bengali <c>ো</c> (U+09CB) becomes <c>ে</c> (U+09C7). One code point in, one out.
/// </summary>
internal static partial class FirstDecomposition
{
    /// <summary>Maps a code point to the first code point of its canonical decomposition.</summary>
    /// <param name="codePoint">A code point.</param>
    /// <returns>The first code point of its decomposition, or the code point itself when it has none.</returns>
    public static int Map(int codePoint)
    {
        if (codePoint < 0xC0)
        {
            return codePoint;
        }

        ReadOnlySpan<int> ranges = Ranges;
        int lo = 0, hi = (ranges.Length / 3) - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            if (ranges[3 * mid] <= codePoint)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid - 1;
            }
        }

        return hi >= 0 && codePoint <= ranges[(3 * hi) + 1] ? ranges[(3 * hi) + 2] : codePoint;
    }
}
