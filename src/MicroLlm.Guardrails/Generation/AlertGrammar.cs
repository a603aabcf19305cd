using System.Globalization;
using MicroLlm.Constraints;
using System.Text;

namespace MicroLlm.Guardrails.Generation;

/// <summary>
/// The grammar that holds a model to an alert's facts while it phrases: the required strings as literals, in the
/// template's order, and between them only the language's own letters and punctuation. No digit of any script can be
/// written outside a literal, so a constrained model cannot change or invent a number; the verifier still checks the
/// rest (words, severity, script, length).
/// </summary>
internal static class AlertGrammar
{
    // Letters and punctuation, no digits, no format characters (ZWJ/ZWNJ are checked by the verifier, not offered here).
    private const string EnglishText = "[a-zA-Z ,.;:'()/-]";
    private const string BanglaText = "[\\u0981-\\u0983\\u0985-\\u09B9\\u09BC-\\u09CE\\u09D7\\u09DC-\\u09E3 ,;:()\\u0964-]";

    // What may touch a literal: space and punctuation that cannot extend a name, an id or a number.
    private const string EnglishSeparator = "[ ,.;:()]";
    private const string BanglaSeparator = "[ ,;:()\\u0964]";

    /// <summary>Each gap between literals holds at most this many characters besides its separators.</summary>
    private const int MaxGap = 60;

    /// <summary>The compiled grammar of <paramref name="ev"/>'s facts in <paramref name="language"/>, ordered as in <paramref name="template"/>.</summary>
    public static Grammar For(AlertCatalog catalog, AlertPolicy policy, AlertEvent ev, AlertLanguage language, string template) =>
        Grammar.Parse(Build(AlertPrompt.FactLiterals(catalog, policy, ev, language), template, language, policy.MaxLength));

    /// <summary>The GBNF for <paramref name="literals"/> in <paramref name="language"/>, ordered as they appear in <paramref name="template"/>.</summary>
    /// <param name="literals">The strings the text must contain, once per fact (a value two facts share appears twice).</param>
    /// <param name="template">The deterministic template text, whose order of facts the model keeps.</param>
    /// <param name="language">The language, which sets the characters allowed between literals.</param>
    /// <param name="maxLength">The policy's longest text: the gaps share what the literals leave of it.</param>
    public static string Build(IReadOnlyList<string> literals, string template, AlertLanguage language, int maxLength)
    {
        var ordered = Order(literals.Where(l => l.Length > 0).ToList(), template);

        int fixedLength = ordered.Sum(l => l.Length);
        string k = Math.Clamp(((maxLength - fixedLength) / (ordered.Count + 1)) - 2, 0, MaxGap).ToString(CultureInfo.InvariantCulture);
        bool bangla = language == AlertLanguage.Bangla;
        string text = bangla ? BanglaText : EnglishText;
        string sep = bangla ? BanglaSeparator : EnglishSeparator;
        string end = bangla ? "\"\\u0964\"" : "\".\"";

        // Every literal is fenced by separators (or the text's ends), so no letter or digit can be glued onto a fact and
        // turn "SMK-B3-07" into "SMK-B3-07z" or "Gate 4" into "AGate 4".
        var sb = new StringBuilder();
        sb.Append("root ::= lead");
        for (int i = 0; i < ordered.Count; i++)
        {
            sb.Append(i == 0 ? " " : " gap ").Append(Grammar.QuoteLiteral(ordered[i]));
        }

        sb.Append(" tail ").Append(end).Append('\n');
        sb.Append("lead ::= (text{0,").Append(k).Append("} sep)?\n");
        sb.Append("gap ::= sep (text{0,").Append(k).Append("} sep)?\n");
        sb.Append("tail ::= (sep text{0,").Append(k).Append("})?\n");
        sb.Append("text ::= ").Append(text).Append('\n');
        sb.Append("sep ::= ").Append(sep).Append('\n');
        return sb.ToString();
    }

    /// <summary>
    /// The literals in the order they occur in <paramref name="template"/>. Longest first, each takes its first occurrence
    /// that no longer one has taken (a location "alert" inside the severity label "Low alert" is the later one); literals
    /// the template lacks go last, in the given order.
    /// </summary>
    private static List<string> Order(List<string> literals, string template)
    {
        var taken = new bool[template.Length];
        var placed = new List<(string Literal, int At, int Index)>();
        foreach (var (literal, index) in literals.Select((l, i) => (l, i)).OrderByDescending(x => x.l.Length).ThenBy(x => x.i))
        {
            int at = -1;
            for (int from = 0; (from = template.IndexOf(literal, from, StringComparison.Ordinal)) >= 0; from++)
            {
                if (!taken.AsSpan(from, literal.Length).Contains(true))
                {
                    at = from;
                    taken.AsSpan(from, literal.Length).Fill(true);
                    break;
                }
            }

            placed.Add((literal, at < 0 ? int.MaxValue : at, index));
        }

        return [.. placed.OrderBy(p => p.At).ThenBy(p => p.Index).Select(p => p.Literal)];
    }
}
