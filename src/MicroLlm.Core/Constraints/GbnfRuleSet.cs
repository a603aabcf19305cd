using System.Text;

namespace MicroLlm.Constraints;

/// <summary>Collects generated GBNF rules: unique names from hints, identical bodies shared, <c>root</c> written first.</summary>
internal sealed class GbnfRuleSet
{
    private readonly List<string> _order = [];
    private readonly Dictionary<string, string?> _bodies = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _byBody = new(StringComparer.Ordinal);

    /// <summary>Adds a rule (or finds one with the same body) and returns its name.</summary>
    public string Add(string hint, string body)
    {
        if (_byBody.TryGetValue(body, out string? existing))
        {
            return existing;
        }

        string name = Reserve(hint);
        Set(name, body);
        return name;
    }

    /// <summary>A rule under a fixed name, added once (for shared building blocks such as <c>ws</c>).</summary>
    public string Fixed(string name, string body)
    {
        if (!_bodies.ContainsKey(name))
        {
            _order.Add(name);
            _bodies[name] = body;
        }

        return name;
    }

    public bool Has(string name) => _bodies.ContainsKey(name);

    /// <summary>Reserves a unique name now, for a body set later (recursive references).</summary>
    public string Reserve(string hint)
    {
        string baseName = Sanitize(hint);
        string name = baseName;
        for (int i = 2; _bodies.ContainsKey(name); i++)
        {
            name = $"{baseName}-{i}";
        }

        _order.Add(name);
        _bodies[name] = null;
        return name;
    }

    public void Set(string name, string body)
    {
        _bodies[name] = body;
        _byBody.TryAdd(body, name);
    }

    public string ToGbnf(string rootBody)
    {
        var sb = new StringBuilder();
        sb.Append("root ::= ").Append(rootBody).Append('\n');
        foreach (string name in _order)
        {
            sb.Append(name).Append(" ::= ").Append(_bodies[name]).Append('\n');
        }

        return sb.ToString();
    }

    private static string Sanitize(string hint)
    {
        var sb = new StringBuilder(hint.Length);
        foreach (char c in hint)
        {
            sb.Append(char.IsAsciiLetterOrDigit(c) ? c : '-');
        }

        string s = sb.ToString().Trim('-');
        while (s.Contains("--", StringComparison.Ordinal))
        {
            s = s.Replace("--", "-", StringComparison.Ordinal);
        }

        s = s.Length == 0 ? "rule" : s == "root" ? "root-value" : s;

        return s.Length > 48 ? s[..48].TrimEnd('-') : s;
    }
}
