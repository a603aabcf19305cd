namespace MicroLlm.Constraints;

/// <summary>
/// The vocabulary's token byte strings as a trie laid out in preorder, one array per field, so a mask is one forward
/// scan: node i's parent state is at depth <c>Depth[i] - 1</c> of a small stack, and a rejected node skips to
/// <c>SubtreeEnd[i]</c>. Tokens with no bytes are left out; tokens with equal bytes are chained.
/// </summary>
internal sealed class TokenTrie
{
    private TokenTrie(byte[] labels, int[] depths, int[] subtreeEnds, int[] tokens, int[] nextSame, int maxDepth)
    {
        Labels = labels;
        Depths = depths;
        SubtreeEnds = subtreeEnds;
        Tokens = tokens;
        NextSameBytes = nextSame;
        MaxDepth = maxDepth;
    }

    /// <summary>(nodes) the byte on the edge into each node.</summary>
    public byte[] Labels { get; }

    /// <summary>(nodes) 1 for children of the root.</summary>
    public int[] Depths { get; }

    /// <summary>(nodes) the index just past each node's subtree.</summary>
    public int[] SubtreeEnds { get; }

    /// <summary>(nodes) the first token whose bytes end at the node, or -1.</summary>
    public int[] Tokens { get; }

    /// <summary>(vocabulary) the next token with the same bytes, or -1.</summary>
    public int[] NextSameBytes { get; }

    public int NodeCount => Labels.Length;

    public int MaxDepth { get; }

    public static TokenTrie Build(byte[][] tokens, bool[] excluded)
    {
        int[] order = [.. Enumerable.Range(0, tokens.Length).Where(i => tokens[i].Length > 0 && !excluded[i])];
        Array.Sort(order, (a, b) =>
        {
            int c = tokens[a].AsSpan().SequenceCompareTo(tokens[b]);
            return c != 0 ? c : a.CompareTo(b);
        });

        var labels = new List<byte>();
        var depths = new List<int>();
        var ends = new List<int>();
        var nodeTokens = new List<int>();
        var nextSame = new int[tokens.Length];
        Array.Fill(nextSame, -1);
        var path = new List<int>(); // node index at each depth - 1
        byte[] previous = [];
        int maxDepth = 0, lastToken = -1;
        foreach (int id in order)
        {
            byte[] bytes = tokens[id];
            int common = bytes.AsSpan().CommonPrefixLength(previous);
            if (common == bytes.Length && common == previous.Length)
            {
                nextSame[lastToken] = id; // same bytes as the previous token
                lastToken = id;
                continue;
            }

            while (path.Count > common)
            {
                ends[path[^1]] = labels.Count;
                path.RemoveAt(path.Count - 1);
            }

            for (int d = common; d < bytes.Length; d++)
            {
                path.Add(labels.Count);
                labels.Add(bytes[d]);
                depths.Add(d + 1);
                ends.Add(0);
                nodeTokens.Add(-1);
            }

            nodeTokens[path[^1]] = id;
            lastToken = id;
            previous = bytes;
            maxDepth = Math.Max(maxDepth, bytes.Length);
        }

        foreach (int node in path)
        {
            ends[node] = labels.Count;
        }

        return new TokenTrie([.. labels], [.. depths], [.. ends], [.. nodeTokens], nextSame, maxDepth);
    }
}
