using System.Text;
using MicroLlm.Guardrails.Text;

namespace MicroLlm.Guardrails.Catalog;

/// <summary>
/// Fills a template: <c>{severity}</c>, <c>{location}</c>, <c>{time}</c> and <c>{slot}</c> placeholders; a part in
/// <c>[[...]]</c> is written only when every slot it names is present. Policy-required phrases missing from the
/// template are appended as sentences.
/// </summary>
internal static class TemplateRenderer
{
    private static readonly string[] Fixed = ["severity", "location", "time"];

    public static string Render(AlertCatalog catalog, AlertEvent ev, AlertLanguage language, AlertPolicy? policy)
    {
        var type = catalog.GetAlertType(ev.Type);
        string template = type.Templates[language];
        var sb = new StringBuilder(template.Length + 128);
        int i = 0;
        while (i < template.Length)
        {
            int open = template.IndexOf("[[", i, StringComparison.Ordinal);
            if (open < 0)
            {
                Fill(catalog, type, ev, language, template.AsSpan(i), sb);
                break;
            }

            Fill(catalog, type, ev, language, template.AsSpan(i, open - i), sb);
            int close = template.IndexOf("]]", open, StringComparison.Ordinal);
            string part = template[(open + 2)..close];
            if (Placeholders(part).All(p => Fixed.Contains(p, StringComparer.Ordinal) || ev.Slots.ContainsKey(p)))
            {
                Fill(catalog, type, ev, language, part, sb);
            }

            i = close + 2;
        }

        if (policy is not null)
        {
            string current = sb.ToString();
            foreach (string phrase in policy.RequiredPhrasesFor(ev.Type, language))
            {
                if (!current.Contains(phrase, StringComparison.Ordinal))
                {
                    sb.Append(' ').Append(phrase).Append(language == AlertLanguage.Bangla ? "।" : ".");
                }
            }
        }

        return AlertCatalog.Nfc(sb.ToString().Trim());
    }

    private static void Fill(AlertCatalog catalog, AlertTypeDefinition type, AlertEvent ev, AlertLanguage language, ReadOnlySpan<char> text, StringBuilder sb)
    {
        int i = 0;
        while (i < text.Length)
        {
            int open = text[i..].IndexOf('{');
            if (open < 0)
            {
                sb.Append(text[i..]);
                return;
            }

            sb.Append(text.Slice(i, open));
            int start = i + open + 1;
            int close = text[start..].IndexOf('}');
            string name = text.Slice(start, close).ToString();
            sb.Append(Value(catalog, type, ev, language, name));
            i = start + close + 1;
        }
    }

    private static string Value(AlertCatalog catalog, AlertTypeDefinition type, AlertEvent ev, AlertLanguage language, string name)
    {
        switch (name)
        {
            case "severity":
                return catalog.Severities[(ev.Severity, language)].Label;
            case "location":
                return ev.Location;
            case "time":
                return AlertNumbers.FormatTime(ev.Time, language);
        }

        var slot = type.FindSlot(name)!;
        var value = ev.Slots[name];
        return slot.Kind switch
        {
            AlertSlotKind.Choice => slot.ChoicePhrases[value.Text!][language],
            AlertSlotKind.Count or AlertSlotKind.Measurement => NumberWithUnit(catalog.Units[value.Unit!], value.Number!.Value, language),
            _ => value.Text!,
        };
    }

    public static string NumberWithUnit(AlertUnit unit, decimal value, AlertLanguage language) =>
        unit.FormsFor(value, language)[0].Replace("{n}", AlertNumbers.Format(value, language), StringComparison.Ordinal);

    public static IEnumerable<string> Placeholders(string text)
    {
        int i = 0;
        while ((i = text.IndexOf('{', i)) >= 0)
        {
            int close = text.IndexOf('}', i);
            if (close < 0)
            {
                yield break;
            }

            yield return text[(i + 1)..close];
            i = close + 1;
        }
    }

    /// <summary>Checks a template when the catalogue loads: known placeholders, balanced optional parts, required slots outside them.</summary>
    public static void CheckTemplate(string template, IReadOnlyList<AlertSlotDefinition> slots, string path)
    {
        var outside = new StringBuilder();
        var inside = new List<string>();
        int i = 0;
        while (i < template.Length)
        {
            int open = template.IndexOf("[[", i, StringComparison.Ordinal);
            if (open < 0)
            {
                outside.Append(template.AsSpan(i));
                break;
            }

            outside.Append(template.AsSpan(i, open - i));
            int close = template.IndexOf("]]", open + 2, StringComparison.Ordinal);
            int nested = template.IndexOf("[[", open + 2, StringComparison.Ordinal);
            if (close < 0 || (nested >= 0 && nested < close))
            {
                throw new InvalidDataException($"Alert catalogue {path}: '[[' at index {open} has no matching ']]' (optional parts do not nest).");
            }

            inside.Add(template[(open + 2)..close]);
            i = close + 2;
        }

        string main = outside.ToString();
        if (main.Contains("]]", StringComparison.Ordinal))
        {
            throw new InvalidDataException($"Alert catalogue {path}: ']]' without '[['.");
        }

        int braces = main.Count(c => c == '{') + inside.Sum(p => p.Count(c => c == '{'));
        var all = Placeholders(main).Concat(inside.SelectMany(Placeholders)).ToList();
        if (braces != all.Count || main.Count(c => c == '}') + inside.Sum(p => p.Count(c => c == '}')) != all.Count)
        {
            throw new InvalidDataException($"Alert catalogue {path}: unbalanced braces; placeholders are written {{name}}.");
        }

        foreach (string p in all)
        {
            if (!Fixed.Contains(p, StringComparer.Ordinal) && !slots.Any(s => s.Name == p))
            {
                throw new InvalidDataException($"Alert catalogue {path}: placeholder {{{p}}} is not severity, location, time or a slot of the type.");
            }
        }

        var mainNames = Placeholders(main).ToHashSet(StringComparer.Ordinal);
        foreach (string required in Fixed.Concat(slots.Where(s => !s.IsOptional).Select(s => s.Name)))
        {
            if (!mainNames.Contains(required))
            {
                throw new InvalidDataException($"Alert catalogue {path}: {{{required}}} must appear outside [[optional]] parts; every fact is stated.");
            }
        }

        foreach (var slot in slots.Where(s => s.IsOptional))
        {
            if (mainNames.Contains(slot.Name) || !inside.Any(p => Placeholders(p).Contains(slot.Name, StringComparer.Ordinal)))
            {
                throw new InvalidDataException($"Alert catalogue {path}: optional slot {{{slot.Name}}} must appear inside an [[optional]] part, and only there.");
            }
        }
    }
}
