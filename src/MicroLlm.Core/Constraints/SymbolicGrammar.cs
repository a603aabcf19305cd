namespace MicroLlm.Constraints;

/// <summary>What a grammar item is: a literal, a character class or a rule reference.</summary>
internal enum SymbolKind
{
    Literal,
    Class,
    Reference,
}

/// <summary>One item of a sequence, at code-point level, with where it was written.</summary>
/// <param name="Kind">What it is.</param>
/// <param name="Literal">The code points of a literal.</param>
/// <param name="Class">The members of a class.</param>
/// <param name="RuleId">The rule a reference names.</param>
/// <param name="Line">1-based line in the source.</param>
/// <param name="Column">1-based column in the source.</param>
internal readonly record struct SymbolItem(SymbolKind Kind, int[]? Literal, CodePointRanges? Class, int RuleId, int Line, int Column);

/// <summary>A rule: alternatives of item sequences. Groups and repetitions became generated rules.</summary>
internal sealed class SymbolRule(string name, bool generated)
{
    public string Name { get; } = name;

    /// <summary>True for rules made from groups and repetitions (their position is the group's).</summary>
    public bool Generated { get; } = generated;

    public bool Defined { get; set; }

    public int Line { get; set; }

    public int Column { get; set; }

    public List<List<SymbolItem>> Alternatives { get; } = [];
}

/// <summary>A parsed grammar at code-point level, before it is lowered to UTF-8 bytes.</summary>
internal sealed class SymbolicGrammar
{
    public List<SymbolRule> Rules { get; } = [];

    public Dictionary<string, int> RuleIds { get; } = new(StringComparer.Ordinal);

    /// <summary>The id of the named rule, creating an undefined placeholder on first mention.</summary>
    public int Named(string name)
    {
        if (!RuleIds.TryGetValue(name, out int id))
        {
            id = Rules.Count;
            Rules.Add(new SymbolRule(name, generated: false));
            RuleIds.Add(name, id);
        }

        return id;
    }

    public int Generate(string baseName, int line, int column)
    {
        Rules.Add(new SymbolRule($"{baseName}#{Rules.Count}", generated: true) { Defined = true, Line = line, Column = column });
        return Rules.Count - 1;
    }
}
