namespace MicroLlm.Constraints;

/// <summary>
/// A grammar lowered to UTF-8 bytes, ready for the matcher. Every rule's alternatives are laid out in one element array;
/// each alternative is a run of elements closed by <see cref="End"/>. An element is a byte terminal (a set of byte values)
/// or a reference to a rule. Code-point classes became rules of UTF-8 byte sequences, literals runs of one-byte terminals.
/// The 256 byte values are partitioned into classes that no terminal tells apart, so transition tables are narrow.
/// </summary>
internal sealed class GrammarProgram
{
    public const byte End = 0, Terminal = 1, Reference = 2;

    public GrammarProgram(byte[] kinds, int[] args, int[][] alternativeStarts, ByteSet[] terminals, int root, string[] ruleNames)
    {
        Kinds = kinds;
        Args = args;
        AlternativeStarts = alternativeStarts;
        Terminals = terminals;
        Root = root;
        RuleNames = ruleNames;
        (ByteClasses, ClassCount, ClassRepresentatives) = Partition(terminals);
        TerminalAcceptsClass = new bool[terminals.Length * ClassCount];
        for (int t = 0; t < terminals.Length; t++)
        {
            for (int c = 0; c < ClassCount; c++)
            {
                TerminalAcceptsClass[(t * ClassCount) + c] = terminals[t].Contains(ClassRepresentatives[c]);
            }
        }
    }

    /// <summary>(elements) <see cref="End"/>, <see cref="Terminal"/> or <see cref="Reference"/>.</summary>
    public byte[] Kinds { get; }

    /// <summary>(elements) the terminal index or the referenced rule id.</summary>
    public int[] Args { get; }

    /// <summary>(rules)(alternatives) the element index where each alternative starts.</summary>
    public int[][] AlternativeStarts { get; }

    /// <summary>(terminals) the bytes each terminal accepts.</summary>
    public ByteSet[] Terminals { get; }

    /// <summary>(terminals × classes) whether a terminal accepts a byte class.</summary>
    public bool[] TerminalAcceptsClass { get; }

    /// <summary>(256) the class of each byte value.</summary>
    public byte[] ByteClasses { get; }

    public int ClassCount { get; }

    /// <summary>(classes) one byte value of each class.</summary>
    public byte[] ClassRepresentatives { get; }

    public int Root { get; }

    /// <summary>(rules) names for messages; generated rules carry a '#'.</summary>
    public string[] RuleNames { get; }

    private static (byte[] Classes, int Count, byte[] Representatives) Partition(ByteSet[] terminals)
    {
        // Refine one class at a time: each terminal splits every class into (in, out).
        var classes = new byte[256];
        int count = 1;
        var split = new Dictionary<(int, bool), int>();
        foreach (var set in terminals.Distinct())
        {
            split.Clear();
            int next = 0;
            for (int b = 0; b < 256; b++)
            {
                var key = (classes[b], set.Contains((byte)b));
                if (!split.TryGetValue(key, out int id))
                {
                    id = next++;
                    split.Add(key, id);
                }

                classes[b] = (byte)id;
            }

            count = next;
        }

        var representatives = new byte[count];
        var seen = new bool[count];
        for (int b = 0; b < 256; b++)
        {
            if (!seen[classes[b]])
            {
                seen[classes[b]] = true;
                representatives[classes[b]] = (byte)b;
            }
        }

        return (classes, count, representatives);
    }
}
