namespace MicroLlm.Guardrails.Catalog;

/// <summary>A unit and the ways it is written around its number, e.g. <c>{n} cm</c>, <c>{n} সেন্টিমিটার</c>, <c>magnitude {n}</c>.</summary>
internal sealed class AlertUnit(string name, Dictionary<AlertLanguage, IReadOnlyList<string>> forms, IReadOnlyList<string> englishSingular)
{
    public string Name { get; } = name;

    /// <summary>Accepted forms per language; the first is what the template writes.</summary>
    public Dictionary<AlertLanguage, IReadOnlyList<string>> Forms { get; } = forms;

    /// <summary>English forms for exactly one (<c>{n} person</c>); empty when English uses the same form.</summary>
    public IReadOnlyList<string> EnglishSingular { get; } = englishSingular;

    public IReadOnlyList<string> FormsFor(decimal value, AlertLanguage language) =>
        language == AlertLanguage.English && value == 1 && EnglishSingular.Count > 0 ? EnglishSingular : Forms[language];
}

/// <summary>How one severity level is worded in one language: the label every alert of that level carries, and words it must not use.</summary>
internal sealed class SeverityWording(string label, IReadOnlyList<string> forbidden)
{
    public string Label { get; } = label;

    public IReadOnlyList<string> Forbidden { get; } = forbidden;
}
