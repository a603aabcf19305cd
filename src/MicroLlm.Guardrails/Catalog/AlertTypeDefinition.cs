namespace MicroLlm.Guardrails;

/// <summary>One alert type of the catalogue: its slots, its templates in each language and an example event.</summary>
public sealed class AlertTypeDefinition
{
    internal AlertTypeDefinition(string name, IReadOnlyList<AlertSlotDefinition> slots, Dictionary<AlertLanguage, string> titles, Dictionary<AlertLanguage, string> templates, string exampleJson)
    {
        Name = name;
        Slots = slots;
        Titles = titles;
        Templates = templates;
        ExampleJson = exampleJson;
    }

    /// <summary>The type's name, the event's <c>type</c> (e.g. <c>fire</c>).</summary>
    public string Name { get; }

    /// <summary>The slots beyond <c>type</c>, <c>severity</c>, <c>location</c> and <c>time</c>.</summary>
    public IReadOnlyList<AlertSlotDefinition> Slots { get; }

    /// <summary>A valid sample event of this type, as JSON.</summary>
    public string ExampleJson { get; }

    internal Dictionary<AlertLanguage, string> Titles { get; }

    internal Dictionary<AlertLanguage, string> Templates { get; }

    /// <summary>The human title of the type.</summary>
    /// <param name="language">The language.</param>
    /// <returns>E.g. <c>Fire</c> or <c>অগ্নিকাণ্ড</c>.</returns>
    public string GetTitle(AlertLanguage language) => Titles[language];

    /// <summary>The template text with its <c>{slot}</c> placeholders and <c>[[optional]]</c> parts.</summary>
    /// <param name="language">The language.</param>
    /// <returns>The raw template.</returns>
    public string GetTemplate(AlertLanguage language) => Templates[language];

    /// <summary>The slot of that name, or null.</summary>
    /// <param name="name">The slot name.</param>
    /// <returns>The definition, or null when the type has no such slot.</returns>
    public AlertSlotDefinition? FindSlot(string name) => Slots.FirstOrDefault(s => string.Equals(s.Name, name, StringComparison.Ordinal));
}
