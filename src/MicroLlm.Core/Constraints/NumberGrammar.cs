using System.Globalization;
using System.Numerics;
using System.Text;

namespace MicroLlm.Constraints;

/// <summary>An exact decimal: sign, integer part and fractional digits (no trailing zeros). Parsed from JSON number text.</summary>
internal readonly record struct ExactDecimal(bool Negative, BigInteger Integer, string Fraction) : IComparable<ExactDecimal>
{
    public static ExactDecimal Zero => new(false, BigInteger.Zero, "");

    public bool IsZero => Integer.IsZero && Fraction.Length == 0;

    public bool IsInteger => Fraction.Length == 0;

    /// <summary>Parses JSON number text (<c>-12.50e3</c>) exactly.</summary>
    public static ExactDecimal Parse(string text)
    {
        bool negative = text.StartsWith('-');
        string body = negative ? text[1..] : text;
        int e = body.IndexOfAny(['e', 'E']);
        int exponent = 0;
        if (e >= 0)
        {
            exponent = int.Parse(body[(e + 1)..], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
            body = body[..e];
        }

        int dot = body.IndexOf('.', StringComparison.Ordinal);
        string digits = dot < 0 ? body : body[..dot] + body[(dot + 1)..];
        int scale = (dot < 0 ? 0 : body.Length - dot - 1) - exponent; // value = digits × 10^-scale
        if (scale <= 0)
        {
            digits += new string('0', -scale);
            scale = 0;
        }
        else if (digits.Length <= scale)
        {
            digits = new string('0', scale - digits.Length + 1) + digits;
        }

        string integer = digits[..^scale].TrimStart('0');
        string fraction = digits[^scale..].TrimEnd('0');
        if (scale == 0)
        {
            integer = digits.TrimStart('0');
            fraction = "";
        }

        var value = new ExactDecimal(negative, integer.Length == 0 ? BigInteger.Zero : BigInteger.Parse(integer, CultureInfo.InvariantCulture), fraction);
        return value.IsZero ? Zero : value;
    }

    public ExactDecimal Abs => this with { Negative = false };

    public ExactDecimal Negate() => IsZero ? this : this with { Negative = !Negative };

    /// <summary>The least integer ≥ this.</summary>
    public BigInteger Ceiling() => Fraction.Length == 0 ? Signed : Negative ? -Integer : Integer + 1;

    /// <summary>The greatest integer ≤ this.</summary>
    public BigInteger Floor() => Fraction.Length == 0 ? Signed : Negative ? -Integer - 1 : Integer;

    private BigInteger Signed => Negative ? -Integer : Integer;

    public int CompareTo(ExactDecimal other)
    {
        if (Negative != other.Negative)
        {
            return Negative ? -1 : 1;
        }

        int magnitude = Integer.CompareTo(other.Integer);
        if (magnitude == 0)
        {
            int n = Math.Max(Fraction.Length, other.Fraction.Length);
            magnitude = string.CompareOrdinal(Fraction.PadRight(n, '0'), other.Fraction.PadRight(n, '0'));
        }

        return Negative ? -magnitude : magnitude;
    }

    public override string ToString() => (Negative ? "-" : "") + Integer.ToString(CultureInfo.InvariantCulture) + (Fraction.Length > 0 ? "." + Fraction : "");
}

/// <summary>
/// GBNF for JSON numbers within bounds. Integers are exact for any bounds. Numbers (with a fraction) are exact for any
/// decimal bounds, inclusive or exclusive, written without an exponent; only the bounded forms drop the exponent, which
/// still leaves every value in the range writable.
/// </summary>
internal sealed class NumberGrammar(GbnfRuleSet rules)
{
    /// <summary>Digits allowed in an unbounded integer part (as in the reference runtime's JSON grammar), unless a bound needs more.</summary>
    public const int FreeDigits = 16;

    private readonly GbnfRuleSet _rules = rules;

    /// <summary>A JSON integer in [lo, hi] (null: unbounded).</summary>
    public static string Integer(BigInteger? lo, BigInteger? hi)
    {
        var parts = new List<string>();
        if (lo is null || lo < 0)
        {
            // -m for m in [max(1, -hi), -lo]
            BigInteger mLo = hi is null || hi >= 0 ? BigInteger.One : -hi.Value;
            BigInteger? mHi = lo is null ? null : -lo.Value;
            if (mHi is null || mLo <= mHi)
            {
                parts.Add("\"-\" " + Natural(mLo, mHi));
            }
        }

        if (hi is null || hi >= 0)
        {
            BigInteger from = lo is null || lo < 0 ? BigInteger.Zero : lo.Value;
            if (hi is null || from <= hi)
            {
                parts.Add(Natural(from, hi));
            }
        }

        return Group(parts);
    }

    /// <summary>A JSON number v with lo ≤ v ≤ hi (or &lt; with the exclusive flags); null bounds are open.</summary>
    public string Number(ExactDecimal? lo, bool loExclusive, ExactDecimal? hi, bool hiExclusive)
    {
        var parts = new List<string>();

        // Negative values: v = -m, m > 0.
        if (lo is null || lo.Value.Negative)
        {
            (ExactDecimal Value, bool Exclusive) mLo = hi is { Negative: true } h ? (h.Abs, hiExclusive) : (ExactDecimal.Zero, true);
            (ExactDecimal Value, bool Exclusive)? mHi = lo is null ? null : (lo.Value.Abs, loExclusive);
            string? negative = Magnitude(mLo, mHi);
            if (negative is not null)
            {
                parts.Add("\"-\" " + negative);
            }
        }

        // Values ≥ 0.
        if (hi is null || !hi.Value.Negative)
        {
            (ExactDecimal Value, bool Exclusive) mLo = lo is { Negative: false } l ? (l, loExclusive) : (ExactDecimal.Zero, false);
            (ExactDecimal Value, bool Exclusive)? mHi = hi is null ? null : (hi.Value, hiExclusive);
            string? positive = Magnitude(mLo, mHi);
            if (positive is not null)
            {
                parts.Add(positive);
            }
        }

        return Group(parts);
    }

    private static string Group(List<string> parts) => parts.Count switch
    {
        0 => throw new InvalidOperationException("empty range"),
        1 => parts[0],
        _ => "(" + string.Join(" | ", parts) + ")",
    };

    /// <summary>Numerals m (integer part, optional fraction, no sign) within the bounds, or null if there are none.</summary>
    private string? Magnitude((ExactDecimal Value, bool Exclusive) lo, (ExactDecimal Value, bool Exclusive)? hi)
    {
        if (hi is { } h)
        {
            int c = lo.Value.CompareTo(h.Value);
            if (c > 0 || (c == 0 && (lo.Exclusive || h.Exclusive)))
            {
                return null;
            }
        }

        var parts = new List<string>();
        BigInteger ia = lo.Value.Integer;
        if (hi is { } top && top.Value.Integer == ia)
        {
            string? frac = Fraction(lo.Value.Fraction, lo.Exclusive, top.Value.Fraction, top.Exclusive);
            if (frac is not null)
            {
                parts.Add(Digits(ia) + frac);
            }
        }
        else
        {
            string? first = Fraction(lo.Value.Fraction, lo.Exclusive, null, false);
            if (first is not null)
            {
                parts.Add(Digits(ia) + first);
            }

            BigInteger? middleHi = hi is null ? null : hi.Value.Value.Integer - 1;
            if (middleHi is null || ia + 1 <= middleHi)
            {
                parts.Add(Natural(ia + 1, middleHi) + " " + AnyFraction());
            }

            if (hi is { } last)
            {
                string? end = Fraction("", false, last.Value.Fraction, last.Exclusive);
                if (end is not null)
                {
                    parts.Add(Digits(last.Value.Integer) + end);
                }
            }
        }

        return parts.Count == 0 ? null : Group(parts);
    }

    private static string Digits(BigInteger value) => "\"" + value.ToString(CultureInfo.InvariantCulture) + "\"";

    private string AnyFraction() => _rules.Fixed("fraction-any", "(\".\" [0-9]+)?");

    /// <summary>
    /// The optional fraction <c>("." digits)</c> whose value 0.f (0 when absent) is ≥ 0.<paramref name="lo"/> (&gt; when
    /// exclusive) and ≤ 0.<paramref name="hi"/> (&lt; when exclusive; null: no upper bound, the fraction is below 1 anyway).
    /// Built as a digit automaton; returns null when no fraction qualifies.
    /// </summary>
    private string? Fraction(string lo, bool loExclusive, string? hi, bool hiExclusive)
    {
        // States: (position, tight-low, tight-high); "tight" = the digits so far equal the bound's prefix.
        // Beyond a bound's last digit, its digits are 0, so positions are capped at the longer bound's length.
        int cap = Math.Max(lo.Length, hi?.Length ?? 0);
        var ids = new Dictionary<(int, bool, bool), int>();
        var states = new List<(int Pos, bool Lo, bool Hi)>();
        var edges = new List<List<(int From, int To, int Next)>>();
        var accepting = new List<bool>();

        int StateOf(int pos, bool tl, bool th)
        {
            var key = (Math.Min(pos, cap), tl, th && hi is not null);
            if (!tl && !key.Item3)
            {
                key = (0, false, false); // free: any digits
            }

            if (!ids.TryGetValue(key, out int id))
            {
                id = states.Count;
                ids.Add(key, id);
                states.Add(key);
                edges.Add([]);
                accepting.Add(false);
            }

            return id;
        }

        int start = StateOf(0, true, true);
        for (int s = 0; s < states.Count; s++)
        {
            var (pos, tl, th) = states[s];
            int lowDigit = tl ? DigitAt(lo, pos) : 0;
            int highDigit = th ? DigitAt(hi!, pos) : 9;

            // Ending here: equal to a bound only where its remaining digits are all zero.
            bool okLow = !tl || (pos >= lo.Length && !loExclusive);
            bool okHigh = !th || pos < hi!.Length || !hiExclusive;
            accepting[s] = okLow && okHigh;

            for (int d = lowDigit; d <= highDigit; d++)
            {
                int next = StateOf(pos + 1, tl && d == lowDigit, th && d == highDigit);
                var list = edges[s];
                if (list.Count > 0 && list[^1].To == d - 1 && list[^1].Next == next)
                {
                    list[^1] = (list[^1].From, d, next);
                }
                else
                {
                    list.Add((d, d, next));
                }
            }
        }

        // Keep states that can reach an accepting one.
        var live = accepting.ToArray();
        for (bool changed = true; changed;)
        {
            changed = false;
            for (int s = 0; s < states.Count; s++)
            {
                if (!live[s] && edges[s].Any(e => live[e.Next]))
                {
                    live[s] = changed = true;
                }
            }
        }

        var startEdges = edges[start].Where(e => live[e.Next]).ToList();
        if (startEdges.Count == 0)
        {
            return accepting[start] ? "" : null;
        }

        // Name the states as rules (a fresh prefix per automaton; identical automata share rules through the rule set).
        var names = new string?[states.Count];
        string Name(int s)
        {
            if (names[s] is null)
            {
                names[s] = _rules.Reserve("fraction");
                var alternatives = new List<string>();
                if (accepting[s])
                {
                    alternatives.Add(""); // empty alternative first: "x ::= | …"
                }

                alternatives.AddRange(edges[s].Where(e => live[e.Next]).Select(e => DigitClass(e.From, e.To) + " " + Name(e.Next)));

                _rules.Set(names[s]!, string.Join(" | ", alternatives));
            }

            return names[s]!;
        }

        string firstDigit = string.Join(" | ", startEdges.Select(e => DigitClass(e.From, e.To) + " " + Name(e.Next)));
        return " (\".\" (" + firstDigit + "))" + (accepting[start] ? "?" : "");
    }

    private static int DigitAt(string digits, int pos) => pos < digits.Length ? digits[pos] - '0' : 0;

    private static string DigitClass(int from, int to) => from == to ? $"\"{from}\"" : $"[{from}-{to}]";

    /// <summary>Canonical natural numerals (no leading zeros) in [lo, hi]; hi null: up to <see cref="FreeDigits"/> digits or lo's length.</summary>
    public static string Natural(BigInteger lo, BigInteger? hi)
    {
        string a = lo.ToString(CultureInfo.InvariantCulture);
        int maxLength = hi is null ? Math.Max(FreeDigits, a.Length) : hi.Value.ToString(CultureInfo.InvariantCulture).Length;
        var parts = new List<string>();
        for (int length = a.Length; length <= maxLength; length++)
        {
            BigInteger first = length == 1 ? BigInteger.Zero : BigInteger.Pow(10, length - 1);
            BigInteger last = BigInteger.Pow(10, length) - 1;
            BigInteger from = BigInteger.Max(first, lo);
            BigInteger to = hi is null ? last : BigInteger.Min(last, hi.Value);
            if (from > to)
            {
                continue;
            }

            if (hi is null && from == first && length > a.Length)
            {
                // Every numeral of this length and all longer ones up to the cap.
                parts.Add(maxLength == length ? $"[1-9] [0-9]{{{length - 1}}}" : $"[1-9] [0-9]{{{length - 1},{maxLength - 1}}}");
                break;
            }

            parts.Add(FixedLength(from.ToString(CultureInfo.InvariantCulture), to.ToString(CultureInfo.InvariantCulture)));
        }

        return parts.Count == 1 ? parts[0] : "(" + string.Join(" | ", parts) + ")";
    }

    /// <summary>Digit strings of one length between two of that length, inclusive.</summary>
    private static string FixedLength(string lo, string hi)
    {
        var sb = new StringBuilder();
        Append(sb, lo, hi, 0, true, true);
        return sb.ToString().Trim();
    }

    private static void Append(StringBuilder sb, string lo, string hi, int i, bool tl, bool th)
    {
        int n = lo.Length;
        if (i == n)
        {
            return;
        }

        // A bound whose remaining digits are all 0 (low) or all 9 (high) no longer constrains.
        if (tl && lo.AsSpan(i).IndexOfAnyExcept('0') < 0)
        {
            tl = false;
        }

        if (th && hi.AsSpan(i).IndexOfAnyExcept('9') < 0)
        {
            th = false;
        }

        int rest = n - i - 1;
        string any = rest == 0 ? "" : rest == 1 ? " [0-9]" : $" [0-9]{{{rest}}}";
        int a = lo[i] - '0', b = hi[i] - '0';
        if (!tl && !th)
        {
            sb.Append(' ').Append(DigitClass(0, 9)).Append(any);
            return;
        }

        var alternatives = new List<string>();
        if (tl && th && a == b)
        {
            var inner = new StringBuilder();
            Append(inner, lo, hi, i + 1, true, true);
            sb.Append(" \"").Append(a).Append('"').Append(inner);
            return;
        }

        int from = tl ? a : 0, to = th ? b : 9;
        if (tl)
        {
            var inner = new StringBuilder();
            Append(inner, lo, hi, i + 1, true, false);
            alternatives.Add($"\"{a}\"{inner}");
            from = a + 1;
        }

        if (th)
        {
            to = b - 1;
        }

        if (from <= to)
        {
            alternatives.Add(DigitClass(from, to) + any);
        }

        if (th)
        {
            var inner = new StringBuilder();
            Append(inner, lo, hi, i + 1, false, true);
            alternatives.Add($"\"{b}\"{inner}");
        }

        sb.Append(" (").Append(string.Join(" | ", alternatives)).Append(')');
    }
}
