using System.Globalization;
using System.Text;

namespace MicroLlm.Constraints;

/// <summary>
/// Compiles a regular expression (ECMAScript syntax, the dialect of JSON Schema's <c>pattern</c>) to GBNF.
/// Supported: literals and escapes (<c>\t \n \r \f \v \0 \xHH \uHHHH \u{H…}</c>, escaped punctuation), classes with ranges
/// and negation, <c>\d \D \w \W \s \S</c>, <c>.</c> (any character but a line break), groups <c>( )</c>,
/// <c>(?: )</c> and named <c>(?&lt;n&gt; )</c>, alternation, quantifiers <c>* + ? {m} {m,} {m,n}</c> (lazy <c>?</c> suffixes are
/// accepted: they change which match is found, not what matches), and <c>^</c> / <c>$</c> at the ends of the pattern.
/// Rejected with a message: backreferences, lookaround, word boundaries, possessive quantifiers, inline flags and
/// Unicode property classes, none of which a context-free grammar of this kind can express or that this compiler knows.
/// </summary>
public static class RegexGrammar
{
    /// <summary>Compiles <paramref name="pattern"/> to a GBNF grammar whose <c>root</c> matches exactly the strings the whole pattern matches.</summary>
    /// <param name="pattern">The regular expression; leading <c>^</c> and trailing <c>$</c> are accepted and change nothing.</param>
    /// <returns>The GBNF text.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="pattern"/> is null.</exception>
    /// <exception cref="GrammarException">The pattern is malformed or uses an unsupported feature; <see cref="GrammarException.Column"/> points at it.</exception>
    public static string ToGbnf(string pattern)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        var translated = RegexTranslator.Translate(pattern, jsonString: false);
        return "root ::= " + translated.Expression + "\n";
    }
}

/// <summary>The regular-expression parser and GBNF writer behind <see cref="RegexGrammar"/> and JSON Schema patterns.</summary>
internal sealed class RegexTranslator
{
    private static readonly CodePointRanges Digits = CodePointRanges.Of([('0', '9')]);
    private static readonly CodePointRanges WordChars = CodePointRanges.Of([('a', 'z'), ('A', 'Z'), ('0', '9'), ('_', '_')]);
    private static readonly CodePointRanges Spaces = CodePointRanges.Of([
        ('\t', '\r'), (' ', ' '), (0xA0, 0xA0), (0x1680, 0x1680), (0x2000, 0x200A), (0x2028, 0x2029),
        (0x202F, 0x202F), (0x205F, 0x205F), (0x3000, 0x3000), (0xFEFF, 0xFEFF)]);

    private static readonly CodePointRanges LineBreaks = CodePointRanges.Of([('\n', '\n'), ('\r', '\r'), (0x2028, 0x2029)]);

    // JSON string context: these must be written as escapes.
    private static readonly CodePointRanges JsonSpecials = CodePointRanges.Of([(0, 0x1F), ('"', '"'), ('\\', '\\')]);

    private readonly string _pattern;
    private readonly bool _json;
    private int _pos;
    private int _depth;
    private string? _literalChar; // set by ParseAtom when the atom is one character, as it is written in the output

    private RegexTranslator(string pattern, bool jsonString)
    {
        _pattern = pattern;
        _json = jsonString;
    }

    /// <summary>The pattern as one GBNF expression, and whether it was anchored at each end.</summary>
    /// <param name="Expression">A GBNF expression (a parenthesised group or a single item).</param>
    /// <param name="AnchoredStart">The pattern began with <c>^</c>.</param>
    /// <param name="AnchoredEnd">The pattern ended with <c>$</c>.</param>
    public readonly record struct Result(string Expression, bool AnchoredStart, bool AnchoredEnd);

    /// <summary>Translates a pattern; with <paramref name="jsonString"/>, characters are written as they appear inside a JSON string (escaped where JSON requires).</summary>
    public static Result Translate(string pattern, bool jsonString)
    {
        var t = new RegexTranslator(pattern, jsonString);
        bool start = false, end = false;
        int limit = pattern.Length;
        if (limit > 0 && pattern[0] == '^')
        {
            start = true;
            t._pos = 1;
        }

        if (limit > t._pos && pattern[limit - 1] == '$' && !IsEscaped(pattern, limit - 1))
        {
            end = true;
            limit--;
        }

        string expression = t.ParseAlternation(limit);
        if (t._pos < limit)
        {
            throw t.Error(t._pos, t._pattern[t._pos] == ')' ? "Unbalanced ')'; remove it or add the matching '('." : $"Unexpected '{t._pattern[t._pos]}'.");
        }

        return new Result(expression, start, end);
    }

    /// <summary>The GBNF expression for any one character from <paramref name="set"/> (JSON-escaped in JSON mode).</summary>
    public static string CharSet(CodePointRanges set, bool jsonString) => new RegexTranslator("", jsonString).SetExpression(set);

    private static bool IsEscaped(string s, int index)
    {
        int backslashes = 0;
        for (int i = index - 1; i >= 0 && s[i] == '\\'; i--)
        {
            backslashes++;
        }

        return backslashes % 2 == 1;
    }

    private char Current(int limit) => _pos < limit ? _pattern[_pos] : '\0';

    private string ParseAlternation(int limit)
    {
        var alternatives = new List<string> { ParseSequence(limit) };
        while (_pos < limit && _pattern[_pos] == '|')
        {
            _pos++;
            alternatives.Add(ParseSequence(limit));
        }

        return alternatives.Count == 1 && alternatives[0].Length > 0 ? "(" + alternatives[0] + ")" : "(" + string.Join(" | ", alternatives) + ")";
    }

    private string ParseSequence(int limit)
    {
        // Adjacent single characters without a quantifier are merged into one literal.
        var items = new List<string>();
        var literal = new StringBuilder();
        void Flush()
        {
            if (literal.Length > 0)
            {
                items.Add(GbnfText.Literal(literal.ToString()));
                literal.Clear();
            }
        }

        while (_pos < limit && _pattern[_pos] != '|' && _pattern[_pos] != ')')
        {
            _literalChar = null;
            string atom = ParseAtom(limit);
            string? literalText = _literalChar;
            string? quantifier = ParseQuantifier(limit);
            if (quantifier is null && literalText is not null)
            {
                literal.Append(literalText);
                continue;
            }

            Flush();
            if (quantifier is not null)
            {
                bool single = atom.StartsWith('(') || (atom.StartsWith('[') && atom.EndsWith(']')) || literalText is not null;
                atom = (single ? atom : "(" + atom + ")") + quantifier;
            }

            if (atom.Length > 0)
            {
                items.Add(atom);
            }
        }

        Flush();
        return string.Join(" ", items);
    }

    private string ParseAtom(int limit)
    {
        int start = _pos;
        char c = _pattern[_pos];
        switch (c)
        {
            case '(':
                if (++_depth > GbnfParser.MaxNesting)
                {
                    throw Error(start, $"Groups are nested more than {GbnfParser.MaxNesting} deep.");
                }

                _pos++;
                if (Current(limit) == '?')
                {
                    _pos++;
                    char kind = Current(limit);
                    if (kind == ':')
                    {
                        _pos++;
                    }
                    else if ((kind == '<' || kind == 'P') && _pos + 1 < limit && _pattern[_pos + 1] != '=' && _pattern[_pos + 1] != '!')
                    {
                        // (?<name> … ) or (?P<name> … ): a plain group here.
                        int close = _pattern.IndexOf('>', _pos);
                        if (close < 0 || close >= limit)
                        {
                            throw Error(start, "Unterminated group name; write (?<name>...).");
                        }

                        _pos = close + 1;
                    }
                    else if (kind is '=' or '!' || (kind == '<' && _pos + 1 < limit && _pattern[_pos + 1] is '=' or '!'))
                    {
                        throw Error(start, "Lookahead and lookbehind ((?=, (?!, (?<=, (?<!) cannot be expressed as a grammar; rewrite the pattern without them.");
                    }
                    else
                    {
                        throw Error(start, "Inline flags and other (?…) constructs are not supported; use (?:…) for a group, and write both cases ([aA]) instead of (?i).");
                    }
                }

                string inner = ParseAlternation(limit);
                if (Current(limit) != ')')
                {
                    throw Error(start, "Unterminated group; add ')'.");
                }

                _pos++;
                _depth--;
                _literalChar = null; // a group, even of one character
                return inner;
            case '[':
                return SetExpression(ParseClass(limit));
            case '.':
                _pos++;
                return SetExpression(LineBreaks.Complement());
            case '^':
            case '$':
                throw Error(start, $"The anchor '{c}' is only supported at the {(c == '^' ? "start" : "end")} of the whole pattern.");
            case '\\':
                return EscapeAtom(limit);
            case '*':
            case '+':
            case '?':
                throw Error(start, $"'{c}' has nothing to repeat; escape it as \\{c} for the character itself.");
            case '{' when TryQuantifierAhead(limit):
                throw Error(start, "'{' has nothing to repeat; escape it as \\{ for the character itself.");
            case ')':
                throw Error(start, "Unbalanced ')'; remove it or add the matching '('.");
            default:
                int cp = char.ConvertToUtf32(_pattern, _pos);
                _pos += char.IsSurrogatePair(_pattern, _pos) ? 2 : 1;
                return CharExpression(cp);
        }
    }

    private string EscapeAtom(int limit)
    {
        int start = _pos;
        if (_pos + 1 >= limit)
        {
            throw Error(start, "The pattern ends with a lone '\\'; write \\\\ for a backslash.");
        }

        char e = _pattern[_pos + 1];
        switch (e)
        {
            case 'b':
            case 'B':
                throw Error(start, $"Word boundaries (\\{e}) are not supported; write the characters around the boundary instead.");
            case >= '1' and <= '9':
                throw Error(start, "Backreferences (\\1 …) cannot be expressed as a grammar; repeat the group instead.");
            case 'k':
                throw Error(start, "Named backreferences (\\k<name>) cannot be expressed as a grammar; repeat the group instead.");
            case 'p':
            case 'P':
                throw Error(start, $"Unicode property classes (\\{e}{{…}}) are not supported; write the code point ranges, such as [\\u0980-\\u09FF].");
        }

        var set = ParseEscape(limit, inClass: false);
        return set.Ranges.Count == 1 && set.Ranges[0].Lo == set.Ranges[0].Hi ? CharExpression(set.Ranges[0].Lo) : SetExpression(set);
    }

    /// <summary>Parses an escape at <c>_pos</c> (the backslash) and returns the characters it stands for.</summary>
    private CodePointRanges ParseEscape(int limit, bool inClass)
    {
        int start = _pos;
        _pos++;
        char e = _pattern[_pos++];
        switch (e)
        {
            case 'd': return Digits;
            case 'D': return Digits.Complement();
            case 'w': return WordChars;
            case 'W': return WordChars.Complement();
            case 's': return Spaces;
            case 'S': return Spaces.Complement();
            case 't': return CodePointRanges.Single('\t');
            case 'n': return CodePointRanges.Single('\n');
            case 'r': return CodePointRanges.Single('\r');
            case 'f': return CodePointRanges.Single('\f');
            case 'v': return CodePointRanges.Single('\v');
            case '0': return CodePointRanges.Single(0);
            case 'b' when inClass: return CodePointRanges.Single('\b');
            case 'x': return CodePointRanges.Single(Hex(start, 2, limit));
            case 'u':
                if (Current(limit) == '{')
                {
                    int close = _pattern.IndexOf('}', _pos);
                    if (close < 0 || close >= limit || close == _pos + 1 || close - _pos > 7)
                    {
                        throw Error(start, "Write \\u{H…} with 1 to 6 hex digits.");
                    }

                    _pos++;
                    int value = Hex(start, close - _pos, limit);
                    _pos++; // '}'
                    return Checked(start, value);
                }

                int unit = Hex(start, 4, limit);
                if (unit is >= 0xD800 and <= 0xDBFF && _pos + 5 < limit && _pattern[_pos] == '\\' && _pattern[_pos + 1] == 'u')
                {
                    // A surrogate pair written as two escapes stands for one character.
                    int save = _pos;
                    _pos += 2;
                    int low = Hex(start, 4, limit);
                    if (low is >= 0xDC00 and <= 0xDFFF)
                    {
                        return CodePointRanges.Single(char.ConvertToUtf32((char)unit, (char)low));
                    }

                    _pos = save;
                }

                return Checked(start, unit);
            case 'c':
                throw Error(start, "Control escapes (\\cX) are not supported; write \\xHH.");
            default:
                if (char.IsAsciiLetterOrDigit(e))
                {
                    throw Error(start, $"Unknown escape '\\{e}'; escape only punctuation, or use \\d \\w \\s \\t \\n \\r \\xHH \\uHHHH.");
                }

                _pos--;
                int cp = char.ConvertToUtf32(_pattern, _pos);
                _pos += char.IsSurrogatePair(_pattern, _pos) ? 2 : 1;
                return CodePointRanges.Single(cp);
        }
    }

    private CodePointRanges Checked(int start, int value) => value > CodePointRanges.MaxCodePoint || value is >= 0xD800 and <= 0xDFFF
        ? throw Error(start, $"U+{value:X} is not a Unicode scalar value (a surrogate, or beyond U+10FFFF).")
        : CodePointRanges.Single(value);

    private int Hex(int start, int digits, int limit)
    {
        int value = 0;
        for (int i = 0; i < digits; i++)
        {
            char c = Current(limit);
            int d = c switch
            {
                >= '0' and <= '9' => c - '0',
                >= 'a' and <= 'f' => c - 'a' + 10,
                >= 'A' and <= 'F' => c - 'A' + 10,
                _ => throw Error(start, $"The escape needs {digits} hex digits."),
            };
            value = (value << 4) | d;
            _pos++;
        }

        return value;
    }

    private CodePointRanges ParseClass(int limit)
    {
        int start = _pos;
        _pos++;
        bool negated = false;
        if (Current(limit) == '^')
        {
            negated = true;
            _pos++;
        }

        if (Current(limit) == ']')
        {
            throw Error(start, "Empty character class; write \\] for a ']' character, or remove the class.");
        }

        var set = CodePointRanges.Empty;
        while (Current(limit) != ']')
        {
            if (_pos >= limit)
            {
                throw Error(start, "Unterminated character class; add ']'.");
            }

            var (lo, loSet) = ClassAtom(limit);
            if (Current(limit) == '-' && _pos + 1 < limit && _pattern[_pos + 1] != ']')
            {
                int dash = _pos;
                _pos++;
                var (hi, hiSet) = ClassAtom(limit);
                if (loSet is not null || hiSet is not null)
                {
                    throw Error(dash, "A range cannot start or end with a class escape such as \\d; escape '-' as \\- for the character.");
                }

                if (hi < lo)
                {
                    throw Error(dash, "The range is reversed; write the smaller character first.");
                }

                set = set.Union(CodePointRanges.Of([(lo, hi)]));
            }
            else
            {
                set = set.Union(loSet ?? CodePointRanges.Single(lo));
            }
        }

        _pos++;
        set = negated ? set.Complement() : set;
        return set.IsEmpty ? throw Error(start, "The character class matches no character.") : set;
    }

    private (int CodePoint, CodePointRanges? Set) ClassAtom(int limit)
    {
        if (_pattern[_pos] == '\\')
        {
            if (_pos + 1 >= limit)
            {
                throw Error(_pos, "The class ends with a lone '\\'.");
            }

            var set = ParseEscape(limit, inClass: true);
            return set.Ranges.Count == 1 && set.Ranges[0].Lo == set.Ranges[0].Hi ? (set.Ranges[0].Lo, null) : (-1, set);
        }

        int cp = char.ConvertToUtf32(_pattern, _pos);
        _pos += char.IsSurrogatePair(_pattern, _pos) ? 2 : 1;
        return (cp, null);
    }

    private bool TryQuantifierAhead(int limit)
    {
        int save = _pos;
        try
        {
            return TryBraces(limit, out _, out _);
        }
        finally
        {
            _pos = save;
        }
    }

    private bool TryBraces(int limit, out int min, out int max)
    {
        min = max = 0;
        int p = _pos + 1;
        int a = p;
        while (p < limit && char.IsAsciiDigit(_pattern[p]))
        {
            p++;
        }

        if (p == a || p >= limit)
        {
            return false;
        }

        if (!int.TryParse(_pattern.AsSpan(a, p - a), NumberStyles.None, CultureInfo.InvariantCulture, out min))
        {
            min = int.MaxValue;
        }

        if (_pattern[p] == '}')
        {
            max = min;
            _pos = p + 1;
            return true;
        }

        if (_pattern[p] != ',')
        {
            return false;
        }

        p++;
        int b = p;
        while (p < limit && char.IsAsciiDigit(_pattern[p]))
        {
            p++;
        }

        if (p >= limit || _pattern[p] != '}')
        {
            return false;
        }

        max = p == b ? -1 : int.TryParse(_pattern.AsSpan(b, p - b), NumberStyles.None, CultureInfo.InvariantCulture, out int m) ? m : int.MaxValue;
        _pos = p + 1;
        return true;
    }

    private string? ParseQuantifier(int limit)
    {
        if (_pos >= limit)
        {
            return null;
        }

        int start = _pos;
        string? q = _pattern[_pos] switch
        {
            '*' => "*",
            '+' => "+",
            '?' => "?",
            _ => null,
        };
        if (q is not null)
        {
            _pos++;
        }
        else if (_pattern[_pos] == '{' && TryBraces(limit, out int min, out int max))
        {
            if (min > GbnfParser.MaxRepetition || max > GbnfParser.MaxRepetition)
            {
                throw Error(start, $"The repetition count is too large; the most is {GbnfParser.MaxRepetition}.");
            }

            if (max >= 0 && max < min)
            {
                throw Error(start, $"The repetition {{{min},{max}}} has its maximum below its minimum.");
            }

            q = max < 0 ? $"{{{min},}}" : max == min ? $"{{{min}}}" : $"{{{min},{max}}}";
        }
        else
        {
            return null;
        }

        if (Current(limit) == '?')
        {
            _pos++; // lazy: same language
        }
        else if (Current(limit) == '+')
        {
            throw Error(_pos, "Possessive quantifiers (*+, ++, ?+) are not supported; drop the '+'.");
        }

        if (_pos < limit && _pattern[_pos] is '*' or '+' or '?')
        {
            throw Error(_pos, $"'{_pattern[_pos]}' cannot follow another quantifier; group first, such as (?:a*)?.");
        }

        return q;
    }

    private string CharExpression(int cp)
    {
        _literalChar = _json && JsonSpecials.Contains(cp) ? JsonEscape(cp) : char.ConvertFromUtf32(cp);
        return GbnfText.Literal(_literalChar);
    }

    private string SetExpression(CodePointRanges set)
    {
        if (!_json)
        {
            return set.ToString();
        }

        var plain = set.Subtract(JsonSpecials);
        var specials = set.Intersect(JsonSpecials);
        var parts = new List<string>();
        if (!plain.IsEmpty)
        {
            parts.Add(plain.ToString());
        }

        if (specials.Equals(JsonSpecials))
        {
            parts.Add("\"\\\\\" ([\"\\\\bfnrt] | \"u00\" [01] [0-9a-fA-F])");
        }
        else
        {
            foreach (var (lo, hi) in specials.Ranges)
            {
                for (int c = lo; c <= hi; c++)
                {
                    parts.Add(GbnfText.Literal(JsonEscape(c)));
                }
            }
        }

        return parts.Count == 1 ? parts[0] : "(" + string.Join(" | ", parts) + ")";
    }

    /// <summary>How JSON writes <paramref name="c"/> inside a string.</summary>
    public static string JsonEscape(int c) => c switch
    {
        '"' => "\\\"",
        '\\' => "\\\\",
        '\b' => "\\b",
        '\f' => "\\f",
        '\n' => "\\n",
        '\r' => "\\r",
        '\t' => "\\t",
        < 0x20 => $"\\u{c:x4}",
        _ => char.ConvertFromUtf32(c),
    };

    private GrammarException Error(int index, string detail)
    {
        var (line, column) = TextPosition.LineColumn(_pattern, index);
        return new GrammarException($"Regular expression: {detail}", line, column);
    }
}
