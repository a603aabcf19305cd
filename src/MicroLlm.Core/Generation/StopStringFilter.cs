using System.Text;

namespace MicroLlm.Generation;

/// <summary>
/// Holds back streamed text that might be the start of a stop string, and cuts the text where one appears.
/// </summary>
internal sealed class StopStringFilter(IList<string> stops)
{
    private readonly string[] _stops = [.. stops];
    private readonly StringBuilder _held = new();

    public bool Stopped { get; private set; }

    /// <summary>Adds text; returns what is certainly not part of a stop string. Sets <see cref="Stopped"/> when one appears.</summary>
    public string Push(string text)
    {
        if (Stopped)
        {
            return "";
        }

        _held.Append(text);
        if (_stops.Length == 0)
        {
            return Take(_held.Length);
        }

        string held = _held.ToString();
        int cut = -1;
        foreach (string s in _stops)
        {
            int i = held.IndexOf(s, StringComparison.Ordinal);
            if (i >= 0 && (cut < 0 || i < cut))
            {
                cut = i;
            }
        }

        if (cut >= 0)
        {
            Stopped = true;
            _held.Clear();
            return held[..cut];
        }

        // Keep the longest suffix that is a prefix of some stop string.
        int keep = 0;
        foreach (string s in _stops)
        {
            for (int k = Math.Min(s.Length - 1, held.Length); k > keep; k--)
            {
                if (held.AsSpan(held.Length - k).SequenceEqual(s.AsSpan(0, k)))
                {
                    keep = k;
                    break;
                }
            }
        }

        return Take(held.Length - keep);
    }

    /// <summary>Returns what is held (the generation ended without a stop string).</summary>
    public string Flush() => Stopped ? "" : Take(_held.Length);

    private string Take(int count)
    {
        string s = _held.ToString(0, count);
        _held.Remove(0, count);
        return s;
    }
}
