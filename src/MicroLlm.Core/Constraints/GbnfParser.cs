using System.Globalization;

namespace MicroLlm.Constraints;

/// <summary>
/// Reads GBNF, the grammar format of the reference runtime: <c>name ::= alternatives</c> rules, <c>|</c>, groups,
/// <c>* + ? {m} {m,} {m,n}</c>, string literals, character classes with ranges and <c>^</c>, <c>.</c>, rule names and
/// <c>#</c> comments. As in the reference, a newline ends a rule except inside parentheses; in addition a following line
/// that starts with <c>|</c> continues the rule's alternatives.
/// </summary>
internal sealed class GbnfParser
{
    /// <summary>The most any <c>{m,n}</c> bound may be.</summary>
    public const int MaxRepetition = 100_000;

    /// <summary>The deepest nesting of parentheses accepted (the parser recurses on them).</summary>
    public const int MaxNesting = 500;

    private readonly string _text;
    private readonly SymbolicGrammar _grammar = new();
    private int _pos;
    private int _depth;

    private GbnfParser(string text) => _text = text;

    public static SymbolicGrammar Parse(string text)
    {
        var parser = new GbnfParser(text);
        parser.ParseGrammar();
        return parser._grammar;
    }

    private char Current => _pos < _text.Length ? _text[_pos] : '\0';

    private bool AtEnd => _pos >= _text.Length;

    private void ParseGrammar()
    {
        SkipSpace(newlines: true);
        while (!AtEnd)
        {
            ParseRule();
        }
    }

    private void ParseRule()
    {
        int start = _pos;
        string name = ParseName("a rule name at the start of a rule (letters, digits, '-' or '_')");
        int id = _grammar.Named(name);
        var rule = _grammar.Rules[id];
        if (rule.Defined)
        {
            throw Error(start, $"Rule '{name}' is defined twice (first at line {rule.Line}, column {rule.Column}); merge the definitions with '|'.");
        }

        (rule.Line, rule.Column) = LineColumn(start);
        rule.Defined = true;
        SkipSpace(newlines: false);
        if (string.CompareOrdinal(_text, _pos, "::=", 0, 3) != 0)
        {
            throw Error(_pos, $"Expected '::=' after the rule name '{name}'.");
        }

        _pos += 3;
        SkipSpace(newlines: true);
        ParseAlternates(id, name, nested: false);
        if (Current == '\r' || Current == '\n')
        {
            SkipSpace(newlines: true);
        }
        else if (!AtEnd)
        {
            throw Error(_pos, $"Unexpected '{Current}' in rule '{name}'; expected a literal, class, rule name, group, repetition, '|' or the end of the line.");
        }
    }

    private void ParseAlternates(int ruleId, string ruleName, bool nested)
    {
        var alternatives = _grammar.Rules[ruleId].Alternatives;
        alternatives.Add(ParseSequence(ruleName, nested));
        while (true)
        {
            if (Current == '|')
            {
                _pos++;
                SkipSpace(newlines: !nested && AtLineEnd() ? !NextLineStartsRule() : true);
                alternatives.Add(ParseSequence(ruleName, nested));
                continue;
            }

            if (!nested && (Current == '\r' || Current == '\n'))
            {
                // A following line that starts with '|' continues the alternatives.
                int save = _pos;
                SkipSpace(newlines: true);
                if (Current == '|')
                {
                    continue;
                }

                _pos = save;
            }

            return;
        }
    }

    private List<SymbolItem> ParseSequence(string ruleName, bool nested)
    {
        var items = new List<SymbolItem>();
        int lastStart = -1; // index in items of the last repeatable item
        bool afterRepetition = false;
        while (!AtEnd)
        {
            int start = _pos;
            var (line, column) = LineColumn(start);
            char c = Current;
            if (c == '"')
            {
                _pos++;
                var codePoints = new List<int>();
                while (Current != '"')
                {
                    if (AtEnd || Current == '\n' || Current == '\r')
                    {
                        throw Error(start, "Unterminated string literal; close it with '\"' on the same line (write a newline as \\n).");
                    }

                    int cp = ParseChar(inClass: false);
                    if (cp is >= 0xD800 and <= 0xDFFF)
                    {
                        throw Error(start, $"The literal holds the surrogate code point U+{cp:X4}, which has no UTF-8 encoding; write the character itself or its \\U escape.");
                    }

                    codePoints.Add(cp);
                }

                _pos++;
                lastStart = items.Count;
                items.Add(new SymbolItem(SymbolKind.Literal, [.. codePoints], null, 0, line, column));
            }
            else if (c == '[')
            {
                lastStart = items.Count;
                items.Add(new SymbolItem(SymbolKind.Class, null, ParseClass(), 0, line, column));
            }
            else if (IsWordChar(c))
            {
                string name = ParseName("a rule name");
                lastStart = items.Count;
                items.Add(new SymbolItem(SymbolKind.Reference, null, null, _grammar.Named(name), line, column));
            }
            else if (c == '(')
            {
                if (++_depth > MaxNesting)
                {
                    throw Error(start, $"Groups are nested more than {MaxNesting} deep; move inner groups into named rules.");
                }

                _pos++;
                SkipSpace(newlines: true);
                int sub = _grammar.Generate(ruleName, line, column);
                ParseAlternates(sub, ruleName, nested: true);
                if (Current != ')')
                {
                    throw Error(_pos, AtEnd
                        ? $"The group opened at line {line}, column {column} is not closed; add ')'."
                        : $"Expected ')' to close the group opened at line {line}, column {column}, found '{Current}'.");
                }

                _pos++;
                _depth--;
                lastStart = items.Count;
                items.Add(new SymbolItem(SymbolKind.Reference, null, null, sub, line, column));
            }
            else if (c == '.')
            {
                _pos++;
                lastStart = items.Count;
                items.Add(new SymbolItem(SymbolKind.Class, null, CodePointRanges.All, 0, line, column));
            }
            else if (c is '*' or '+' or '?' or '{')
            {
                if (lastStart < 0)
                {
                    throw Error(start, afterRepetition
                        ? $"'{c}' cannot follow another repetition; put the repeated item in a group first, such as (x*){c}."
                        : $"'{c}' must follow a literal, class, rule name or group.");
                }

                var (min, max) = ParseRepetition();
                var item = items[lastStart];
                items.RemoveAt(lastStart);
                Repeat(items, item, min, max, ruleName, line, column);
                lastStart = -1; // "a**" and "a*{2}" are ambiguous; group instead
                afterRepetition = true;
                SkipSpace(newlines: nested);
                continue;
            }
            else
            {
                break;
            }

            afterRepetition = false;
            SkipSpace(newlines: nested);
        }

        return items;
    }

    /// <summary>S{m,n} → S…S (m times) then n-m nested optional rules; S{m,} → S…S then R ::= S R | ε.</summary>
    private void Repeat(List<SymbolItem> items, SymbolItem item, int min, int max, string ruleName, int line, int column)
    {
        for (int i = 0; i < min; i++)
        {
            items.Add(item);
        }

        if (max < 0)
        {
            int loop = _grammar.Generate(ruleName, line, column);
            var self = new SymbolItem(SymbolKind.Reference, null, null, loop, line, column);
            _grammar.Rules[loop].Alternatives.Add([item, self]);
            _grammar.Rules[loop].Alternatives.Add([]);
            items.Add(self);
            return;
        }

        int last = -1;
        for (int i = 0; i < max - min; i++)
        {
            int optional = _grammar.Generate(ruleName, line, column);
            var alternative = new List<SymbolItem> { item };
            if (last >= 0)
            {
                alternative.Add(new SymbolItem(SymbolKind.Reference, null, null, last, line, column));
            }

            _grammar.Rules[optional].Alternatives.Add(alternative);
            _grammar.Rules[optional].Alternatives.Add([]);
            last = optional;
        }

        if (last >= 0)
        {
            items.Add(new SymbolItem(SymbolKind.Reference, null, null, last, line, column));
        }
    }

    private (int Min, int Max) ParseRepetition()
    {
        char c = Current;
        _pos++;
        switch (c)
        {
            case '*': return (0, -1);
            case '+': return (1, -1);
            case '?': return (0, 1);
        }

        int open = _pos - 1;
        SkipSpace(newlines: false);
        int min = ParseInt("the minimum count after '{'");
        SkipSpace(newlines: false);
        int max;
        if (Current == '}')
        {
            max = min;
        }
        else if (Current == ',')
        {
            _pos++;
            SkipSpace(newlines: false);
            max = char.IsAsciiDigit(Current) ? ParseInt("the maximum count") : -1;
            SkipSpace(newlines: false);
            if (Current != '}')
            {
                throw Error(_pos, "Expected '}' to close the repetition {m,n}.");
            }
        }
        else
        {
            throw Error(_pos, "Expected ',' or '}' in the repetition {m}, {m,} or {m,n}.");
        }

        _pos++;
        if (max >= 0 && max < min)
        {
            throw Error(open, $"The repetition {{{min},{max}}} has its maximum below its minimum; write {{{max},{min}}}.");
        }

        return (min, max);
    }

    private int ParseInt(string what)
    {
        int start = _pos;
        while (char.IsAsciiDigit(Current))
        {
            _pos++;
        }

        if (_pos == start)
        {
            throw Error(start, $"Expected {what} (a non-negative integer).");
        }

        if (!int.TryParse(_text.AsSpan(start, _pos - start), NumberStyles.None, CultureInfo.InvariantCulture, out int value) || value > MaxRepetition)
        {
            throw Error(start, $"The repetition count {_text[start.._pos]} is too large; the most is {MaxRepetition}.");
        }

        return value;
    }

    private CodePointRanges ParseClass()
    {
        int start = _pos;
        _pos++; // '['
        bool negated = false;
        if (Current == '^')
        {
            negated = true;
            _pos++;
        }

        var ranges = new List<(int, int)>();
        while (Current != ']')
        {
            if (AtEnd || Current == '\n' || Current == '\r')
            {
                throw Error(start, "Unterminated character class; close it with ']' on the same line.");
            }

            int lo = ParseChar(inClass: true), hi = lo;
            if (Current == '-' && _pos + 1 < _text.Length && _text[_pos + 1] != ']')
            {
                int dash = _pos;
                _pos++;
                hi = ParseChar(inClass: true);
                if (hi < lo)
                {
                    throw Error(dash, $"The range {Describe(lo)}-{Describe(hi)} is reversed; write {Describe(hi)}-{Describe(lo)}.");
                }
            }

            ranges.Add((lo, hi));
        }

        _pos++;
        var set = CodePointRanges.Of(ranges);
        if (negated)
        {
            set = set.Complement();
        }

        if (set.IsEmpty)
        {
            throw Error(start, "The character class matches no character; remove it or add members.");
        }

        return set;
    }

    private static string Describe(int cp) => cp is > 0x20 and < 0x7F ? ((char)cp).ToString() : $"U+{cp:X4}";

    private int ParseChar(bool inClass)
    {
        int start = _pos;
        if (Current != '\\')
        {
            if (char.IsHighSurrogate(Current) && _pos + 1 < _text.Length && char.IsLowSurrogate(_text[_pos + 1]))
            {
                int cp = char.ConvertToUtf32(Current, _text[_pos + 1]);
                _pos += 2;
                return cp;
            }

            return _text[_pos++];
        }

        _pos++;
        char e = Current;
        _pos++;
        switch (e)
        {
            case 'x': return ParseHex(start, 2);
            case 'u': return ParseHex(start, 4);
            case 'U': return ParseHex(start, 8);
            case 't': return '\t';
            case 'r': return '\r';
            case 'n': return '\n';
            case '\\': return '\\';
            case '"': return '"';
            case '[': return '[';
            case ']': return ']';
            default:
                throw Error(start, $"Unknown escape '\\{(e == '\0' ? "" : e.ToString())}'{(inClass ? " in a character class" : "")}; write \\\\ for a backslash, or use \\xHH, \\uHHHH, \\UHHHHHHHH, \\t, \\r, \\n, \\\", \\[ or \\].");
        }
    }

    private int ParseHex(int start, int digits)
    {
        int value = 0;
        for (int i = 0; i < digits; i++)
        {
            int d = Current switch
            {
                >= '0' and <= '9' => Current - '0',
                >= 'a' and <= 'f' => Current - 'a' + 10,
                >= 'A' and <= 'F' => Current - 'A' + 10,
                _ => throw Error(start, $"The escape '{_text[start..Math.Min(_text.Length, start + 2)]}' needs exactly {digits} hex digits."),
            };
            value = (value << 4) | d;
            _pos++;
        }

        if ((uint)value > CodePointRanges.MaxCodePoint)
        {
            throw Error(start, $"The escape names U+{value:X}, beyond the last code point U+10FFFF.");
        }

        return value;
    }

    private string ParseName(string what)
    {
        int start = _pos;
        while (IsWordChar(Current))
        {
            _pos++;
        }

        if (_pos == start)
        {
            throw Error(start, AtEnd ? $"Expected {what}, found the end of the grammar." : $"Expected {what}, found '{Current}'.");
        }

        return _text[start.._pos];
    }

    private bool AtLineEnd()
    {
        int save = _pos;
        SkipSpace(newlines: false);
        bool end = AtEnd || Current == '\r' || Current == '\n';
        _pos = save;
        return end;
    }

    /// <summary>Whether the next non-blank line starts with <c>name ::=</c>: then a trailing '|' ends in an empty alternative.</summary>
    private bool NextLineStartsRule()
    {
        int save = _pos;
        SkipSpace(newlines: true);
        int start = _pos;
        while (IsWordChar(Current))
        {
            _pos++;
        }

        bool named = _pos > start;
        SkipSpace(newlines: false);
        bool rule = AtEnd || (named && string.CompareOrdinal(_text, _pos, "::=", 0, 3) == 0);
        _pos = save;
        return rule;
    }

    private static bool IsWordChar(char c) => char.IsAsciiLetterOrDigit(c) || c == '-' || c == '_';

    private void SkipSpace(bool newlines)
    {
        while (!AtEnd)
        {
            char c = Current;
            if (c == ' ' || c == '\t' || (newlines && (c == '\r' || c == '\n')))
            {
                _pos++;
            }
            else if (c == '#')
            {
                while (!AtEnd && Current != '\r' && Current != '\n')
                {
                    _pos++;
                }
            }
            else
            {
                return;
            }
        }
    }

    // Positions are asked for in increasing order while parsing, so they are counted on from the last one.
    private int _countedTo, _countedLine = 1, _countedLineStart;

    private (int Line, int Column) LineColumn(int index)
    {
        if (index < _countedTo)
        {
            return TextPosition.LineColumn(_text, index);
        }

        for (int i = _countedTo; i < index && i < _text.Length; i++)
        {
            if (_text[i] == '\n')
            {
                _countedLine++;
                _countedLineStart = i + 1;
            }
        }

        _countedTo = Math.Min(index, _text.Length);
        return (_countedLine, index - _countedLineStart + 1);
    }

    private GrammarException Error(int index, string detail)
    {
        var (line, column) = LineColumn(index);
        return new GrammarException(detail, line, column);
    }
}

/// <summary>Line and column of an index in a text.</summary>
internal static class TextPosition
{
    public static (int Line, int Column) LineColumn(string text, int index)
    {
        index = Math.Clamp(index, 0, text.Length);
        int line = 1, lineStart = 0;
        for (int i = 0; i < index; i++)
        {
            if (text[i] == '\n')
            {
                line++;
                lineStart = i + 1;
            }
        }

        return (line, index - lineStart + 1);
    }
}
