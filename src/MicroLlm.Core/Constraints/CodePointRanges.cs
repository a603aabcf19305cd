using System.Text;

namespace MicroLlm.Constraints;

/// <summary>
/// A set of Unicode scalar values as sorted, disjoint, inclusive ranges: a character class of a grammar or a regular
/// expression. Surrogates (U+D800-U+DFFF) are never members, so every member has a UTF-8 encoding.
/// </summary>
internal sealed class CodePointRanges : IEquatable<CodePointRanges>
{
    public const int MaxCodePoint = 0x10FFFF;
    private const int SurrogateFirst = 0xD800, SurrogateLast = 0xDFFF;

    private readonly List<(int Lo, int Hi)> _ranges;

    private CodePointRanges(List<(int Lo, int Hi)> normalized) => _ranges = normalized;

    /// <summary>The ranges, ascending and disjoint.</summary>
    public IReadOnlyList<(int Lo, int Hi)> Ranges => _ranges;

    public bool IsEmpty => _ranges.Count == 0;

    /// <summary>True when every member is below U+0080 (one UTF-8 byte each).</summary>
    public bool IsAscii => _ranges.Count == 0 || _ranges[^1].Hi < 0x80;

    public static CodePointRanges Empty { get; } = new([]);

    /// <summary>Every scalar value.</summary>
    public static CodePointRanges All { get; } = Of([(0, MaxCodePoint)]);

    public static CodePointRanges Single(int codePoint) => Of([(codePoint, codePoint)]);

    /// <summary>The union of the given ranges (any order, may overlap; surrogates removed).</summary>
    public static CodePointRanges Of(IEnumerable<(int Lo, int Hi)> ranges)
    {
        var list = new List<(int Lo, int Hi)>();
        foreach (var (lo, hi) in ranges)
        {
            if (lo > hi)
            {
                continue;
            }

            // Cut out the surrogates.
            if (lo < SurrogateFirst && hi > SurrogateLast)
            {
                list.Add((lo, SurrogateFirst - 1));
                list.Add((SurrogateLast + 1, hi));
            }
            else if (lo >= SurrogateFirst && hi <= SurrogateLast)
            {
                continue;
            }
            else if (lo >= SurrogateFirst && lo <= SurrogateLast)
            {
                list.Add((SurrogateLast + 1, hi));
            }
            else if (hi >= SurrogateFirst && hi <= SurrogateLast)
            {
                list.Add((lo, SurrogateFirst - 1));
            }
            else
            {
                list.Add((lo, hi));
            }
        }

        list.Sort((a, b) => a.Lo.CompareTo(b.Lo));
        var merged = new List<(int Lo, int Hi)>(list.Count);
        foreach (var r in list)
        {
            if (merged.Count > 0 && r.Lo <= merged[^1].Hi + 1)
            {
                merged[^1] = (merged[^1].Lo, Math.Max(merged[^1].Hi, r.Hi));
            }
            else
            {
                merged.Add(r);
            }
        }

        return new CodePointRanges(merged);
    }

    public bool Contains(int codePoint)
    {
        foreach (var (lo, hi) in _ranges)
        {
            if (codePoint < lo)
            {
                return false;
            }

            if (codePoint <= hi)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Every scalar value not in this set.</summary>
    public CodePointRanges Complement()
    {
        var result = new List<(int, int)>();
        int next = 0;
        foreach (var (lo, hi) in _ranges)
        {
            if (lo > next)
            {
                result.Add((next, lo - 1));
            }

            next = hi + 1;
        }

        if (next <= MaxCodePoint)
        {
            result.Add((next, MaxCodePoint));
        }

        return Of(result);
    }

    public CodePointRanges Union(CodePointRanges other) => Of(_ranges.Concat(other._ranges));

    public CodePointRanges Intersect(CodePointRanges other) => Complement().Union(other.Complement()).Complement();

    public CodePointRanges Subtract(CodePointRanges other) => Intersect(other.Complement());

    /// <summary>The members' UTF-8 encodings as sequences of byte sets (each sequence matches a contiguous block of members).</summary>
    public List<ByteSet[]> ToUtf8Sequences()
    {
        var sequences = new List<ByteSet[]>();
        foreach (var (lo, hi) in _ranges)
        {
            SplitByLength(lo, hi, sequences);
        }

        return sequences;
    }

    private static void SplitByLength(int lo, int hi, List<ByteSet[]> output)
    {
        // Split at the encoded-length boundaries first.
        foreach (int max in (ReadOnlySpan<int>)[0x7F, 0x7FF, 0xFFFF, MaxCodePoint])
        {
            if (lo > max)
            {
                continue;
            }

            int top = Math.Min(hi, max);
            SplitAligned(lo, top, output);
            if (hi <= max)
            {
                return;
            }

            lo = max + 1;
        }
    }

    private static void SplitAligned(int lo, int hi, List<ByteSet[]> output)
    {
        // Both ends have the same encoded length. Split until each piece is a product of byte ranges.
        int length = Utf8Length(lo);
        for (int i = 1; i < length; i++)
        {
            int mask = (1 << (6 * i)) - 1;
            if ((lo & ~mask) != (hi & ~mask))
            {
                if ((lo & mask) != 0)
                {
                    SplitAligned(lo, lo | mask, output);
                    SplitAligned((lo | mask) + 1, hi, output);
                    return;
                }

                if ((hi & mask) != mask)
                {
                    SplitAligned(lo, (hi & ~mask) - 1, output);
                    SplitAligned(hi & ~mask, hi, output);
                    return;
                }
            }
        }

        Span<byte> a = stackalloc byte[4], b = stackalloc byte[4];
        Encode(lo, a);
        Encode(hi, b);
        var sequence = new ByteSet[length];
        for (int i = 0; i < length; i++)
        {
            sequence[i] = ByteSet.Range(a[i], b[i]);
        }

        output.Add(sequence);
    }

    public static int Utf8Length(int codePoint) => codePoint < 0x80 ? 1 : codePoint < 0x800 ? 2 : codePoint < 0x10000 ? 3 : 4;

    public static int Encode(int codePoint, Span<byte> output) => new Rune(codePoint).EncodeToUtf8(output);

    public bool Equals(CodePointRanges? other) => other is not null && _ranges.SequenceEqual(other._ranges);

    public override bool Equals(object? obj) => Equals(obj as CodePointRanges);

    public override int GetHashCode()
    {
        var hash = new HashCode();
        foreach (var r in _ranges)
        {
            hash.Add(r);
        }

        return hash.ToHashCode();
    }

    /// <summary>The set in GBNF class syntax, such as <c>[a-z0-9_]</c>.</summary>
    public override string ToString()
    {
        var sb = new StringBuilder("[");
        foreach (var (lo, hi) in _ranges)
        {
            GbnfText.AppendClassChar(sb, lo);
            if (hi > lo)
            {
                if (hi > lo + 1)
                {
                    sb.Append('-');
                }

                GbnfText.AppendClassChar(sb, hi);
            }
        }

        return sb.Append(']').ToString();
    }
}
