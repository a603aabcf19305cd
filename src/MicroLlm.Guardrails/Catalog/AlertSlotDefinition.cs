namespace MicroLlm.Guardrails;

/// <summary>What kind of value a slot holds, which fixes how it is validated, written and verified.</summary>
public enum AlertSlotKind
{
    /// <summary>Free text (Latin or Bangla), quoted verbatim in every language; PII is redacted when the policy asks.</summary>
    Text,

    /// <summary>An identifier such as a sensor id (<c>SMK-B3-07</c>): ASCII letters, digits and <c>. _ : / # -</c>, quoted verbatim.</summary>
    Id,

    /// <summary>A whole number with a counting unit (<c>3 fire units</c>, <c>৩টি ইউনিট</c>, <c>২ জন</c>).</summary>
    Count,

    /// <summary>A number with a unit given in the event: <c>{"value": 12, "unit": "cm"}</c>.</summary>
    Measurement,

    /// <summary>One code from a fixed list, written as that code's phrase in each language (the required action is one).</summary>
    Choice,
}

/// <summary>One typed slot of an alert type.</summary>
public sealed class AlertSlotDefinition
{
    internal AlertSlotDefinition(string name, AlertSlotKind kind)
    {
        Name = name;
        Kind = kind;
    }

    /// <summary>The property name in the event JSON.</summary>
    public string Name { get; }

    /// <summary>The kind of value.</summary>
    public AlertSlotKind Kind { get; }

    /// <summary>Whether the event may leave the slot out.</summary>
    public bool IsOptional { get; internal init; }

    /// <summary>Smallest allowed number (counts and measurements).</summary>
    public decimal? Minimum { get; internal init; }

    /// <summary>Largest allowed number (counts and measurements).</summary>
    public decimal? Maximum { get; internal init; }

    /// <summary>Most characters (code points) allowed in a text slot.</summary>
    public int MaxLength { get; internal init; } = 200;

    /// <summary>Most digits after the decimal point in a measurement (counts are whole numbers).</summary>
    public int MaxDecimals { get; internal init; } = 2;

    /// <summary>The unit names a measurement may use, or the one counting unit of a count.</summary>
    public IReadOnlyList<string> Units { get; internal init; } = [];

    /// <summary>The codes a choice slot accepts.</summary>
    public IReadOnlyList<string> Choices => ChoicePhrases.Keys.ToList();

    internal Dictionary<string, Dictionary<AlertLanguage, string>> ChoicePhrases { get; init; } = new(StringComparer.Ordinal);

    /// <summary>The phrase a choice code is written as.</summary>
    /// <param name="code">A code from <see cref="Choices"/>.</param>
    /// <param name="language">The language.</param>
    /// <returns>The phrase.</returns>
    /// <exception cref="ArgumentException">The code is not one of this slot's choices.</exception>
    public string GetChoicePhrase(string code, AlertLanguage language) =>
        ChoicePhrases.TryGetValue(code, out var phrases)
            ? phrases[language]
            : throw new ArgumentException($"'{code}' is not a choice of slot '{Name}'; use one of: {string.Join(", ", ChoicePhrases.Keys)}.", nameof(code));
}
