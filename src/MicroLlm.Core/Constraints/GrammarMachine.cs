using System.Runtime.InteropServices;

namespace MicroLlm.Constraints;

/// <summary>
/// Runs a <see cref="GrammarProgram"/> over bytes as a pushdown automaton, determinised lazily.
/// <para>
/// A <em>stack</em> is a chain of frames; a frame is an element position plus its parent frame. Frames are interned, so
/// equal stacks are one integer and share their tails. Frame 0 is the empty stack: the grammar has ended. A stack's top is
/// always a byte terminal (rule references are expanded at once, without a frame when nothing follows them in their
/// alternative), except for the empty stack.
/// </para>
/// <para>
/// A <em>state</em> is the sorted set of stacks the input so far can have led to (more than one where the grammar is
/// ambiguous so far); states are interned too, and state 0 is dead (no stack). The transition on each byte class is computed on
/// first use and cached in one flat table, so walking a token trie costs one array read per byte once warm.
/// </para>
/// Caches grow with the configurations seen; <see cref="CachedStates"/> lets the owner rebase when they are too large.
/// Not thread-safe.
/// </summary>
internal sealed class GrammarMachine
{
    public const int Dead = 0, Unknown = -1;
    private const int EmptyStack = 0;

    private readonly GrammarProgram _program;
    private readonly int _classes;

    // Frames: (position, parent), interned.
    private int[] _framePosition = new int[1024];
    private int[] _frameParent = new int[1024];
    private int _frameCount;
    private readonly Dictionary<long, int> _frameIds = [];

    // States: sorted stack sets, interned, with a lazily filled transition row each.
    private readonly List<int[]> _stateStacks = [];
    private readonly Dictionary<int[], int> _stateIds = new(StackSetComparer.Instance);
    private int[] _transitions = [];
    private bool[] _accepting = new bool[64];
    private bool[] _finished = new bool[64];

    // Scratch for closures.
    private readonly HashSet<long> _visited = [];
    private readonly Stack<(int Position, int Parent)> _pending = new();
    private readonly List<int> _output = [];
    private readonly List<int> _matching = [];
    private readonly Dictionary<MatchKey, int> _rowGroups = [];

    public GrammarMachine(GrammarProgram program)
    {
        _program = program;
        _classes = program.ClassCount;
        Clear();
    }

    public GrammarProgram Program => _program;

    /// <summary>The state before any byte.</summary>
    public int Initial { get; private set; }

    /// <summary>(states × classes) the cached transitions; <see cref="Unknown"/> where not yet computed. Replaced when it grows.</summary>
    public int[] Transitions => _transitions;

    public int ClassCount => _classes;

    public int CachedStates => _stateStacks.Count;

    public int CachedFrames => _frameCount;

    /// <summary>Whether the grammar may end in <paramref name="state"/>.</summary>
    public bool IsAccepting(int state) => _accepting[state];

    /// <summary>Whether the grammar has ended in <paramref name="state"/> and allows no further byte.</summary>
    public bool IsFinished(int state) => _finished[state];

    /// <summary>The state after byte <paramref name="value"/>.</summary>
    public int Step(int state, byte value)
    {
        int c = _program.ByteClasses[value];
        int next = _transitions[(state * _classes) + c];
        return next >= 0 ? next : ComputeTransition(state, c);
    }

    /// <summary>The state after <paramref name="bytes"/>, or <see cref="Dead"/>.</summary>
    public int Run(int state, ReadOnlySpan<byte> bytes)
    {
        foreach (byte b in bytes)
        {
            state = Step(state, b);
            if (state == Dead)
            {
                return Dead;
            }
        }

        return state;
    }

    /// <summary>
    /// Computes and caches the transitions of <paramref name="state"/> on every byte class (classes that match the same
    /// stacks share one closure), and returns the one on <paramref name="byteClass"/>.
    /// </summary>
    public int ComputeTransition(int state, int byteClass)
    {
        int[] stacks = _stateStacks[state];
        var accepts = _program.TerminalAcceptsClass;
        var args = _program.Args;
        int row = state * _classes;
        _rowGroups.Clear();
        for (int c = 0; c < _classes; c++)
        {
            if (_transitions[row + c] >= 0)
            {
                continue;
            }

            // Which stacks this class moves on, as a hash and a list; classes with the same list share the result.
            _matching.Clear();
            foreach (int stack in stacks)
            {
                if (stack != EmptyStack && accepts[(args[_framePosition[stack]] * _classes) + c])
                {
                    _matching.Add(stack);
                }
            }

            if (_matching.Count == 0)
            {
                _transitions[row + c] = Dead;
                continue;
            }

            var key = new MatchKey([.. _matching]);
            if (!_rowGroups.TryGetValue(key, out int next))
            {
                _output.Clear();
                _visited.Clear();
                foreach (int stack in key.Stacks)
                {
                    Close(_framePosition[stack] + 1, _frameParent[stack]);
                }

                next = Intern(_output);
                _rowGroups.Add(key, next);
            }

            // Intern may have replaced the table.
            _transitions[(state * _classes) + c] = next;
        }

        return _transitions[(state * _classes) + byteClass];
    }

    /// <summary>A list of stacks, compared by content.</summary>
    private readonly struct MatchKey(int[] stacks) : IEquatable<MatchKey>
    {
        public int[] Stacks { get; } = stacks;

        public bool Equals(MatchKey other) => Stacks.AsSpan().SequenceEqual(other.Stacks);

        public override bool Equals(object? obj) => obj is MatchKey other && Equals(other);

        public override int GetHashCode()
        {
            var hash = new HashCode();
            hash.AddBytes(MemoryMarshal.AsBytes(Stacks.AsSpan()));
            return hash.ToHashCode();
        }
    }

    /// <summary>Forgets every cached frame and state; <see cref="Initial"/> is rebuilt.</summary>
    public void Clear()
    {
        _frameIds.Clear();
        _frameCount = 1; // frame 0: the empty stack
        _stateStacks.Clear();
        _stateIds.Clear();
        _stateStacks.Add([]); // state 0: dead
        _stateIds.Add([], Dead);
        _transitions = new int[64 * _classes];
        Array.Fill(_transitions, Unknown);
        Array.Clear(_accepting);
        Array.Clear(_finished);
        _output.Clear();
        _visited.Clear();
        foreach (int start in _program.AlternativeStarts[_program.Root])
        {
            Close(start, EmptyStack);
        }

        Initial = Intern(_output);
    }

    /// <summary>
    /// Forgets the caches but keeps one state: returns its id in the fresh caches. Used to bound memory on long generations.
    /// </summary>
    public int Rebase(int state)
    {
        // Export the state's stacks as position lists (top first), then re-intern them.
        var stacks = new List<int[]>();
        foreach (int stack in _stateStacks[state])
        {
            var positions = new List<int>();
            for (int f = stack; f != EmptyStack; f = _frameParent[f])
            {
                positions.Add(_framePosition[f]);
            }

            stacks.Add([.. positions]);
        }

        Clear();
        _output.Clear();
        foreach (var positions in stacks)
        {
            int frame = EmptyStack;
            for (int i = positions.Length - 1; i >= 0; i--)
            {
                frame = Frame(positions[i], frame);
            }

            _output.Add(frame);
        }

        return Intern(_output);
    }

    /// <summary>Adds to the output every stack reachable from (position, parent) without consuming a byte.</summary>
    private void Close(int position, int parent)
    {
        var kinds = _program.Kinds;
        var args = _program.Args;
        _pending.Push((position, parent));
        while (_pending.Count > 0)
        {
            (position, parent) = _pending.Pop();
            if (!_visited.Add(((long)position << 32) | (uint)parent))
            {
                continue;
            }

            switch (kinds[position])
            {
                case GrammarProgram.Terminal:
                    _output.Add(Frame(position, parent));
                    break;
                case GrammarProgram.End:
                    if (parent == EmptyStack)
                    {
                        _output.Add(EmptyStack);
                    }
                    else
                    {
                        _pending.Push((_framePosition[parent], _frameParent[parent]));
                    }

                    break;
                default:
                    // Return to the next element, unless the reference ends its alternative (a tail call: no frame).
                    int next = kinds[position + 1] == GrammarProgram.End ? parent : Frame(position + 1, parent);
                    var starts = _program.AlternativeStarts[args[position]];
                    for (int a = starts.Length - 1; a >= 0; a--)
                    {
                        _pending.Push((starts[a], next));
                    }

                    break;
            }
        }
    }

    private int Frame(int position, int parent)
    {
        long key = ((long)position << 32) | (uint)parent;
        ref int id = ref CollectionsMarshal.GetValueRefOrAddDefault(_frameIds, key, out bool exists);
        if (exists)
        {
            return id;
        }

        if (_frameCount == _framePosition.Length)
        {
            Array.Resize(ref _framePosition, _frameCount * 2);
            Array.Resize(ref _frameParent, _frameCount * 2);
        }

        _framePosition[_frameCount] = position;
        _frameParent[_frameCount] = parent;
        id = _frameCount++;
        return id;
    }

    private int Intern(List<int> stacks)
    {
        var span = CollectionsMarshal.AsSpan(stacks);
        span.Sort();
        int n = 0;
        for (int i = 0; i < span.Length; i++)
        {
            if (n == 0 || span[i] != span[n - 1])
            {
                span[n++] = span[i];
            }
        }

        var key = span[..n].ToArray();
        if (_stateIds.TryGetValue(key, out int id))
        {
            return id;
        }

        id = _stateStacks.Count;
        _stateStacks.Add(key);
        _stateIds.Add(key, id);
        if ((id + 1) * _classes > _transitions.Length)
        {
            int old = _transitions.Length;
            Array.Resize(ref _transitions, old * 2);
            Array.Fill(_transitions, Unknown, old, _transitions.Length - old);
        }

        if (id >= _accepting.Length)
        {
            Array.Resize(ref _accepting, _accepting.Length * 2);
            Array.Resize(ref _finished, _finished.Length * 2);
        }

        _accepting[id] = n > 0 && key[0] == EmptyStack;
        _finished[id] = n == 1 && key[0] == EmptyStack;
        return id;
    }

    private sealed class StackSetComparer : IEqualityComparer<int[]>
    {
        public static readonly StackSetComparer Instance = new();

        public bool Equals(int[]? x, int[]? y) => x.AsSpan().SequenceEqual(y);

        public int GetHashCode(int[] obj)
        {
            var hash = new HashCode();
            hash.AddBytes(MemoryMarshal.AsBytes(obj.AsSpan()));
            return hash.ToHashCode();
        }
    }
}
