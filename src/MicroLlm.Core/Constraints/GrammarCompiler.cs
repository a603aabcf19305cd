using System.Text;

namespace MicroLlm.Constraints;

/// <summary>
/// Lowers a parsed grammar to UTF-8 bytes and checks it: every referenced rule is defined, a <c>root</c> rule exists,
/// every rule can finish (has a derivation that ends), and no rule reaches itself before consuming a byte in a way
/// that would grow the stack forever (left recursion).
/// </summary>
internal sealed class GrammarCompiler
{
    /// <summary>The most elements a lowered grammar may have (after repetitions are expanded).</summary>
    public const int MaxElements = 4_000_000;

    private readonly SymbolicGrammar _grammar;
    private readonly string _source;
    private readonly List<byte> _kinds = [];
    private readonly List<int> _args = [];
    private readonly List<int[]> _starts = [];
    private readonly List<string> _names = [];
    private readonly List<(int Line, int Column)> _positions = [];
    private readonly List<ByteSet> _terminals = [];
    private readonly Dictionary<ByteSet, int> _terminalIds = [];
    private readonly Dictionary<CodePointRanges, int> _classRules = [];

    private GrammarCompiler(SymbolicGrammar grammar, string source)
    {
        _grammar = grammar;
        _source = source;
    }

    public static GrammarProgram Compile(SymbolicGrammar grammar, string source, string startRule = "root")
    {
        return new GrammarCompiler(grammar, source).Run(startRule);
    }

    private GrammarProgram Run(string startRule)
    {
        if (_grammar.Rules.Count == 0)
        {
            throw new GrammarException($"The grammar is empty; define at least '{startRule} ::= ...'.", 1, 1);
        }

        foreach (var rule in _grammar.Rules)
        {
            foreach (var item in rule.Alternatives.SelectMany(a => a).Where(i => i.Kind == SymbolKind.Reference))
            {
                var target = _grammar.Rules[item.RuleId];
                if (!target.Defined)
                {
                    throw new GrammarException($"Rule '{target.Name}' is used but never defined; add a line '{target.Name} ::= ...'.", item.Line, item.Column);
                }
            }
        }

        if (!_grammar.RuleIds.TryGetValue(startRule, out int root))
        {
            var (line, column) = TextPosition.LineColumn(_source, _source.Length);
            throw new GrammarException($"The grammar has no '{startRule}' rule; generation starts there, so define '{startRule} ::= ...'.", line, column);
        }

        // Symbolic rules keep their ids; UTF-8 class rules are appended.
        var alternatives = new List<List<List<(byte Kind, int Arg)>>>();
        for (int r = 0; r < _grammar.Rules.Count; r++)
        {
            var rule = _grammar.Rules[r];
            _names.Add(rule.Name);
            _positions.Add((rule.Line, rule.Column));
            alternatives.Add([]);
        }

        for (int r = 0; r < _grammar.Rules.Count; r++)
        {
            foreach (var sequence in _grammar.Rules[r].Alternatives)
            {
                var elements = new List<(byte, int)>();
                foreach (var item in sequence)
                {
                    Lower(item, elements, alternatives);
                }

                alternatives[r].Add(elements);
            }
        }

        Emit(alternatives);
        var program = new GrammarProgram([.. _kinds], [.. _args], [.. _starts], [.. _terminals], root, [.. _names]);
        Check(program);
        return program;
    }

    private void Lower(SymbolItem item, List<(byte, int)> elements, List<List<List<(byte Kind, int Arg)>>> rules)
    {
        switch (item.Kind)
        {
            case SymbolKind.Literal:
                Span<byte> buffer = stackalloc byte[4];
                foreach (int cp in item.Literal!)
                {
                    int n = CodePointRanges.Encode(cp, buffer);
                    for (int i = 0; i < n; i++)
                    {
                        elements.Add((GrammarProgram.Terminal, TerminalId(ByteSet.Single(buffer[i]))));
                    }
                }

                break;
            case SymbolKind.Reference:
                elements.Add((GrammarProgram.Reference, item.RuleId));
                break;
            default:
                var set = item.Class!;
                if (set.IsAscii)
                {
                    var bytes = default(ByteSet);
                    foreach (var (lo, hi) in set.Ranges)
                    {
                        bytes = bytes.Union(ByteSet.Range((byte)lo, (byte)hi));
                    }

                    elements.Add((GrammarProgram.Terminal, TerminalId(bytes)));
                }
                else
                {
                    if (!_classRules.TryGetValue(set, out int rule))
                    {
                        rule = SequencesRule(set.ToUtf8Sequences(), 0, rules, $"{set}");
                        _classRules.Add(set, rule);
                    }

                    elements.Add((GrammarProgram.Reference, rule));
                }

                break;
        }
    }

    /// <summary>A rule matching any of the byte sequences (from <paramref name="offset"/> on), common first sets factored out.</summary>
    private int SequencesRule(List<ByteSet[]> sequences, int offset, List<List<List<(byte Kind, int Arg)>>> rules, string name)
    {
        int id = rules.Count;
        rules.Add([]);
        _names.Add(name);
        _positions.Add((0, 0));
        var single = default(ByteSet);
        bool anySingle = false;
        foreach (var group in sequences.GroupBy(s => s[offset]))
        {
            var members = group.ToList();
            if (members.All(s => s.Length == offset + 1))
            {
                single = single.Union(group.Key);
                anySingle = true;
            }
            else if (members.Count == 1)
            {
                rules[id].Add([.. members[0].Skip(offset).Select(b => (GrammarProgram.Terminal, TerminalId(b)))]);
            }
            else
            {
                int tail = SequencesRule(members, offset + 1, rules, name);
                rules[id].Add([(GrammarProgram.Terminal, TerminalId(group.Key)), (GrammarProgram.Reference, tail)]);
            }
        }

        if (anySingle)
        {
            rules[id].Insert(0, [(GrammarProgram.Terminal, TerminalId(single))]);
        }

        return id;
    }

    private int TerminalId(ByteSet set)
    {
        if (!_terminalIds.TryGetValue(set, out int id))
        {
            id = _terminals.Count;
            _terminals.Add(set);
            _terminalIds.Add(set, id);
        }

        return id;
    }

    private void Emit(List<List<List<(byte Kind, int Arg)>>> rules)
    {
        foreach (var rule in rules)
        {
            var starts = new int[rule.Count];
            for (int a = 0; a < rule.Count; a++)
            {
                starts[a] = _kinds.Count;
                foreach (var (kind, arg) in rule[a])
                {
                    _kinds.Add(kind);
                    _args.Add(arg);
                }

                _kinds.Add(GrammarProgram.End);
                _args.Add(0);
                if (_kinds.Count > MaxElements)
                {
                    throw new GrammarException($"The grammar is too large once its repetitions are expanded (more than {MaxElements:N0} elements); lower the {{m,n}} bounds.", 1, 1);
                }
            }

            _starts.Add(starts);
        }
    }

    private void Check(GrammarProgram program)
    {
        int rules = program.AlternativeStarts.Length;
        var kinds = program.Kinds;
        var args = program.Args;

        // Productive: some alternative's elements are all terminals or productive rules.
        var productive = Fixpoint(program, terminalsBlock: false);

        // Name a rule on a cycle of unfinishable rules (the cause), not one that merely uses it.
        int culprit = -1;
        for (int r = 0; r < rules && culprit < 0; r++)
        {
            if (!productive[r] && ReachesItself(r))
            {
                culprit = r;
            }
        }

        bool ReachesItself(int start)
        {
            var seen = new HashSet<int>();
            var pending = new Stack<int>([start]);
            while (pending.Count > 0)
            {
                int r = pending.Pop();
                foreach (int a in program.AlternativeStarts[r])
                {
                    for (int pos = a; kinds[pos] != GrammarProgram.End; pos++)
                    {
                        int target = args[pos];
                        if (kinds[pos] == GrammarProgram.Reference && !productive[target])
                        {
                            if (target == start)
                            {
                                return true;
                            }

                            if (seen.Add(target))
                            {
                                pending.Push(target);
                            }
                        }
                    }
                }
            }

            return false;
        }

        for (int r = culprit >= 0 ? culprit : 0; r < rules; r++)
        {
            if (!productive[r])
            {
                string name = UserName(r);
                throw new GrammarException(
                    $"Rule '{name}' can never finish: every alternative needs '{name}' (or another rule that never finishes) again. Add an alternative that ends, such as '| \"\"' or a base case.",
                    _positions[r].Line, _positions[r].Column);
            }
        }

        // Nullable: some alternative derives the empty string.
        var nullable = Fixpoint(program, terminalsBlock: true);

        // Left edges r → s: s is referenced after a nullable prefix. A cycle of them never consumes input; it only
        // terminates when every edge on it is a tail call (nothing left to return to), so the stack cannot grow.
        var edges = new List<(int To, bool Tail)>[rules];
        for (int r = 0; r < rules; r++)
        {
            edges[r] = [];
            foreach (int start in program.AlternativeStarts[r])
            {
                for (int pos = start; kinds[pos] == GrammarProgram.Reference; pos++)
                {
                    edges[r].Add((args[pos], kinds[pos + 1] == GrammarProgram.End));
                    if (!nullable[args[pos]])
                    {
                        break;
                    }
                }
            }
        }

        var component = StronglyConnected(edges);
        for (int r = 0; r < rules; r++)
        {
            foreach (var (to, tail) in edges[r])
            {
                if (!tail && component[to] == component[r])
                {
                    string name = UserName(r), target = UserName(to);
                    string path = name == target ? $"{name} → {name}" : $"{name} → … → {target} → … → {name}";
                    throw new GrammarException(
                        $"Rule '{name}' is left-recursive ({path} before any character is matched), which never terminates. Rewrite it with repetition: 'x ::= x \"+\" y | y' becomes 'x ::= y (\"+\" y)*'.",
                        _positions[r].Line, _positions[r].Column);
                }
            }
        }

    }

    /// <summary>
    /// The rules with an alternative whose references are all (recursively) marked, in linear time: each alternative counts
    /// its unmarked references and is done at zero. With <paramref name="terminalsBlock"/>, an alternative with a terminal
    /// never counts (nullable); without, terminals are fine (productive).
    /// </summary>
    private static bool[] Fixpoint(GrammarProgram program, bool terminalsBlock)
    {
        int rules = program.AlternativeStarts.Length;
        var kinds = program.Kinds;
        var args = program.Args;
        var marked = new bool[rules];
        var pendingCount = new List<int>();             // per alternative: unmarked references left
        var alternativeRule = new List<int>();          // per alternative: its rule
        var users = new List<int>[rules];               // per rule: alternatives that reference it (once per reference)
        var ready = new Stack<int>();
        for (int r = 0; r < rules; r++)
        {
            users[r] ??= [];
            foreach (int start in program.AlternativeStarts[r])
            {
                int alternative = pendingCount.Count;
                int count = 0;
                bool blocked = false;
                for (int pos = start; kinds[pos] != GrammarProgram.End; pos++)
                {
                    if (kinds[pos] == GrammarProgram.Terminal)
                    {
                        blocked |= terminalsBlock;
                    }
                    else
                    {
                        count++;
                        (users[args[pos]] ??= []).Add(alternative);
                    }
                }

                pendingCount.Add(blocked ? int.MaxValue : count);
                alternativeRule.Add(r);
                if (count == 0 && !blocked)
                {
                    ready.Push(r);
                }
            }
        }

        while (ready.Count > 0)
        {
            int r = ready.Pop();
            if (marked[r])
            {
                continue;
            }

            marked[r] = true;
            foreach (int alternative in users[r])
            {
                if (pendingCount[alternative] != int.MaxValue && --pendingCount[alternative] == 0)
                {
                    ready.Push(alternativeRule[alternative]);
                }
            }
        }

        return marked;
    }

    private string UserName(int rule)
    {
        string name = _names[rule];
        int hash = name.IndexOf('#', StringComparison.Ordinal);
        return hash > 0 ? name[..hash] : name;
    }

    /// <summary>Tarjan's strongly connected components, iterative; returns each node's component id.</summary>
    private static int[] StronglyConnected(List<(int To, bool Tail)>[] edges)
    {
        int n = edges.Length, index = 0, components = 0;
        var order = new int[n];
        var low = new int[n];
        var component = new int[n];
        var onStack = new bool[n];
        Array.Fill(order, -1);
        var stack = new Stack<int>();
        var work = new Stack<(int Node, int Edge)>();
        for (int s = 0; s < n; s++)
        {
            if (order[s] >= 0)
            {
                continue;
            }

            work.Push((s, 0));
            while (work.Count > 0)
            {
                var (v, e) = work.Pop();
                if (e == 0)
                {
                    order[v] = low[v] = index++;
                    stack.Push(v);
                    onStack[v] = true;
                }

                if (e < edges[v].Count)
                {
                    work.Push((v, e + 1));
                    int w = edges[v][e].To;
                    if (order[w] < 0)
                    {
                        work.Push((w, 0));
                    }
                    else if (onStack[w])
                    {
                        low[v] = Math.Min(low[v], order[w]);
                    }

                    continue;
                }

                if (low[v] == order[v])
                {
                    int w;
                    do
                    {
                        w = stack.Pop();
                        onStack[w] = false;
                        component[w] = components;
                    }
                    while (w != v);
                    components++;
                }

                if (work.Count > 0)
                {
                    int parent = work.Peek().Node;
                    low[parent] = Math.Min(low[parent], low[v]);
                }
            }
        }

        return component;
    }

    /// <summary>The lowered grammar, one rule a line, for debugging.</summary>
    public static string Dump(GrammarProgram program)
    {
        var sb = new StringBuilder();
        for (int r = 0; r < program.AlternativeStarts.Length; r++)
        {
            sb.Append(r).Append(' ').Append(program.RuleNames[r]).Append(" ::=");
            for (int a = 0; a < program.AlternativeStarts[r].Length; a++)
            {
                if (a > 0)
                {
                    sb.Append(" |");
                }

                for (int pos = program.AlternativeStarts[r][a]; program.Kinds[pos] != GrammarProgram.End; pos++)
                {
                    sb.Append(' ').Append(program.Kinds[pos] == GrammarProgram.Terminal ? program.Terminals[program.Args[pos]].ToString() : $"<{program.Args[pos]}>");
                }
            }

            sb.AppendLine();
        }

        return sb.ToString();
    }
}
