using System.Globalization;
using System.Reflection;
using System.Text;
using System.Text.Json;
using MicroLlm.Guardrails.Catalog;
using MicroLlm.Guardrails.Events;
using MicroLlm.Guardrails.Text;

namespace MicroLlm.Guardrails;

/// <summary>
/// The alert catalogue: alert types with typed slots, deterministic templates in English and Bangla, units and the
/// severity wording. The built-in catalogue is <see cref="Default"/> (an embedded JSON resource); a host replaces it with
/// <see cref="Parse(string)"/> or extends it with <see cref="Extend(string)"/>. Every catalogue is checked when loaded:
/// each type's example event must validate and its templates must pass the verifier.
/// </summary>
public sealed class AlertCatalog
{
    private static readonly Lazy<AlertCatalog> DefaultCatalog = new(() => Parse(ReadResource("alert-catalog.json")));
    private static readonly string[] Reserved = ["type", "severity", "location", "time"];

    private readonly Dictionary<string, AlertTypeDefinition> _types;

    private AlertCatalog(Dictionary<string, AlertTypeDefinition> types, Dictionary<string, AlertUnit> units, Dictionary<(AlertSeverity, AlertLanguage), SeverityWording> severities)
    {
        _types = types;
        Units = units;
        Severities = severities;
        Types = [.. types.Values];
        TypeNames = [.. types.Keys];
        Vocabulary = BuildVocabulary();
    }

    /// <summary>The built-in catalogue: fire, smoke, gas leak, flood, cyclone signal, earthquake, intrusion, unauthorized access, power outage, medical vitals, temperature threshold, network attack.</summary>
    public static AlertCatalog Default => DefaultCatalog.Value;

    /// <summary>The alert types, in catalogue order.</summary>
    public IReadOnlyList<AlertTypeDefinition> Types { get; }

    /// <summary>The type names, in catalogue order.</summary>
    public IReadOnlyList<string> TypeNames { get; }

    internal Dictionary<string, AlertUnit> Units { get; }

    internal Dictionary<(AlertSeverity, AlertLanguage), SeverityWording> Severities { get; }

    /// <summary>Lower-case words of the catalogue's own text per language (labels, templates, phrases, units, titles).</summary>
    internal Dictionary<AlertLanguage, HashSet<string>> Vocabulary { get; }

    /// <summary>Finds a type by name.</summary>
    /// <param name="name">The type name, e.g. <c>fire</c>.</param>
    /// <param name="type">The type, when found.</param>
    /// <returns>Whether the catalogue has the type.</returns>
    public bool TryGetAlertType(string name, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out AlertTypeDefinition? type) => _types.TryGetValue(name, out type);

    /// <summary>The type of that name.</summary>
    /// <param name="name">The type name.</param>
    /// <returns>The type.</returns>
    /// <exception cref="ArgumentException">No such type; the message lists the known ones.</exception>
    public AlertTypeDefinition GetAlertType(string name) =>
        TryGetAlertType(name, out var type) ? type : throw new ArgumentException($"Unknown alert type '{name}'; use one of: {string.Join(", ", TypeNames)}.", nameof(name));

    internal bool HasUnit(string name) => Units.ContainsKey(name);

    /// <summary>Validates an event JSON object against this catalogue.</summary>
    /// <param name="json">The event JSON (untrusted).</param>
    /// <returns>The event, or every problem found. Never throws for bad input.</returns>
    public AlertEventValidation ValidateEvent(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        return EventValidator.Validate(this, json);
    }

    /// <summary>The deterministic template text of an event: NFC, every fact in the language's form, always verifiable.</summary>
    /// <param name="alertEvent">A validated event of this catalogue.</param>
    /// <param name="language">The language.</param>
    /// <returns>The alert text.</returns>
    /// <exception cref="ArgumentException">The event's type is not in this catalogue.</exception>
    public string RenderTemplate(AlertEvent alertEvent, AlertLanguage language)
    {
        ArgumentNullException.ThrowIfNull(alertEvent);
        return TemplateRenderer.Render(this, alertEvent, language, null);
    }

    /// <summary>The JSON Schema (draft 2020-12) of events of this catalogue: one branch per type.</summary>
    /// <returns>The schema text; for <see cref="Default"/> it equals the embedded <c>alert-event.schema.json</c>.</returns>
    public string GetEventSchema() => EventSchema.Build(this);

    /// <summary>The embedded JSON Schema of the built-in catalogue's events.</summary>
    /// <returns>The text of <c>alert-event.schema.json</c>.</returns>
    public static string GetDefaultEventSchema() => ReadResource("alert-event.schema.json");

    /// <summary>Loads a complete catalogue that replaces the built-in one.</summary>
    /// <param name="json">Catalogue JSON in the format of the embedded <c>alert-catalog.json</c>.</param>
    /// <returns>The checked catalogue.</returns>
    /// <exception cref="InvalidDataException">The catalogue is malformed or inconsistent; the message names the type and field.</exception>
    public static AlertCatalog Parse(string json) => Load(json, null);

    /// <summary>A new catalogue with this one's types, units and severity wording plus (or replaced by) those in <paramref name="json"/>.</summary>
    /// <param name="json">Catalogue JSON; every section is optional.</param>
    /// <returns>The combined, checked catalogue.</returns>
    /// <exception cref="InvalidDataException">The extension is malformed or inconsistent; the message names the type and field.</exception>
    public AlertCatalog Extend(string json) => Load(json, this);

    /// <summary>Reads the embedded built-in catalogue JSON (to copy and edit).</summary>
    /// <returns>The text of <c>alert-catalog.json</c>.</returns>
    public static string GetDefaultCatalogJson() => ReadResource("alert-catalog.json");

    internal static string ReadResource(string name)
    {
        using Stream stream = typeof(AlertCatalog).Assembly.GetManifestResourceStream("MicroLlm.Guardrails." + name)
            ?? throw new InvalidOperationException($"Embedded resource {name} is missing from MicroLlm.Guardrails; the package is damaged.");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return reader.ReadToEnd();
    }

    // ---------------------------------------------------------------- loading

    private static AlertCatalog Load(string json, AlertCatalog? baseCatalog)
    {
        ArgumentNullException.ThrowIfNull(json);
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 16 });
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"The alert catalogue is not valid JSON: {e.Message}", e);
        }

        using (doc)
        {
            var root = doc.RootElement;
            Require(root.ValueKind == JsonValueKind.Object, "$", "the catalogue must be a JSON object with 'severities', 'units' and 'types'");
            var severities = baseCatalog is null ? new Dictionary<(AlertSeverity, AlertLanguage), SeverityWording>() : new(baseCatalog.Severities);
            var units = baseCatalog is null ? new Dictionary<string, AlertUnit>(StringComparer.Ordinal) : new(baseCatalog.Units, StringComparer.Ordinal);
            var types = baseCatalog is null ? new Dictionary<string, AlertTypeDefinition>(StringComparer.Ordinal) : new(baseCatalog._types, StringComparer.Ordinal);
            var exampleJson = new Dictionary<string, string>(StringComparer.Ordinal);

            foreach (var section in root.EnumerateObject())
            {
                switch (section.Name)
                {
                    case "severities":
                        ReadSeverities(section.Value, severities);
                        break;
                    case "units":
                        ReadUnits(section.Value, units);
                        break;
                    case "types":
                        Require(section.Value.ValueKind == JsonValueKind.Array, "$.types", "must be an array of type objects");
                        foreach (var t in section.Value.EnumerateArray())
                        {
                            var type = ReadType(t, units);
                            types[type.Name] = type;
                        }

                        break;
                    default:
                        throw Invalid("$." + section.Name, "is not a catalogue section; use 'severities', 'units' or 'types'");
                }
            }

            foreach (AlertSeverity s in Enum.GetValues<AlertSeverity>())
            {
                foreach (AlertLanguage l in Enum.GetValues<AlertLanguage>())
                {
                    Require(severities.ContainsKey((s, l)), $"$.severities.{s.ToCode()}.{l.ToCode()}", "is missing; every level needs a label in every language");
                }
            }

            var catalog = new AlertCatalog(types, units, severities);
            catalog.CheckTypes();
            return catalog;
        }
    }

    /// <summary>Each type's example must validate, and its templates must render and pass the verifier.</summary>
    private void CheckTypes()
    {
        Require(_types.Count > 0, "$.types", "is empty; a catalogue needs at least one alert type");
        var verifier = new AlertVerifier(this, AlertPolicy.Default);
        foreach (var type in Types)
        {
            foreach (var unit in type.Slots.SelectMany(s => s.Units))
            {
                Require(Units.ContainsKey(unit), $"$.types[{type.Name}]", $"uses unit '{unit}', which the catalogue does not define");
            }

            var validation = ValidateEvent(type.ExampleJson);
            if (!validation.IsValid)
            {
                throw Invalid($"$.types[{type.Name}].example", "is not a valid event: " + string.Join("; ", validation.Errors));
            }

            Require(string.Equals(validation.Event!.Type, type.Name, StringComparison.Ordinal), $"$.types[{type.Name}].example.type", "must be the type's own name");
            foreach (AlertLanguage language in Enum.GetValues<AlertLanguage>())
            {
                string text = RenderTemplate(validation.Event, language);
                var report = verifier.Verify(validation.Event, language, text, isTemplate: true);
                if (!report.Passed)
                {
                    throw Invalid($"$.types[{type.Name}].templates.{language.ToCode()}", $"renders the example as \"{text}\", which fails verification: {string.Join("; ", report.Failures.Select(f => f.ToString()))}");
                }
            }
        }
    }

    private static void ReadSeverities(JsonElement e, Dictionary<(AlertSeverity, AlertLanguage), SeverityWording> into)
    {
        Require(e.ValueKind == JsonValueKind.Object, "$.severities", "must be an object keyed by level");
        foreach (var level in e.EnumerateObject())
        {
            Require(AlertCodes.TryParseSeverity(level.Name, out var severity), "$.severities." + level.Name, "is not a level; use info, low, medium, high, critical");
            foreach (var (language, body) in Languages(level.Value, "$.severities." + level.Name))
            {
                string path = $"$.severities.{level.Name}.{language.ToCode()}";
                string label = Text(body, "label", path);
                var forbidden = body.TryGetProperty("forbidden", out var f) ? Strings(f, path + ".forbidden") : [];
                into[(severity, language)] = new SeverityWording(label, forbidden);
            }
        }
    }

    private static void ReadUnits(JsonElement e, Dictionary<string, AlertUnit> into)
    {
        Require(e.ValueKind == JsonValueKind.Object, "$.units", "must be an object keyed by unit name");
        foreach (var unit in e.EnumerateObject())
        {
            string path = "$.units." + unit.Name;
            Require(unit.Value.ValueKind == JsonValueKind.Object, path, "must be an object with 'en' and 'bn' form lists");
            var forms = new Dictionary<AlertLanguage, IReadOnlyList<string>>();
            IReadOnlyList<string> one = [];
            foreach (var p in unit.Value.EnumerateObject())
            {
                if (p.NameEquals("enOne"))
                {
                    one = Forms(p.Value, path + ".enOne");
                }
                else if (AlertCodes.TryParseLanguage(p.Name, out var language))
                {
                    forms[language] = Forms(p.Value, $"{path}.{p.Name}");
                }
                else
                {
                    throw Invalid($"{path}.{p.Name}", "is not a unit field; use 'en', 'bn' and optionally 'enOne'");
                }
            }

            Require(forms.Count == 2, path, "needs forms for both 'en' and 'bn'");
            into[unit.Name] = new AlertUnit(unit.Name, forms, one);
        }
    }

    private static List<string> Forms(JsonElement e, string path)
    {
        var forms = Strings(e, path);
        Require(forms.Count > 0, path, "needs at least one form");
        foreach (string f in forms)
        {
            Require(f.Split("{n}").Length == 2, path, $"form '{f}' must contain {{n}} exactly once");
        }

        return forms;
    }

    private static AlertTypeDefinition ReadType(JsonElement t, Dictionary<string, AlertUnit> units)
    {
        Require(t.ValueKind == JsonValueKind.Object, "$.types[]", "each type must be an object");
        string name = Text(t, "name", "$.types[]");
        string path = $"$.types[{name}]";
        Require(name.Length <= 40 && name.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '_'), path + ".name", "must be lower-case letters, digits and '_' (at most 40)");
        Require(t.TryGetProperty("slots", out var slotsElement) && slotsElement.ValueKind == JsonValueKind.Object, path + ".slots", "must be an object keyed by slot name");
        var slots = new List<AlertSlotDefinition>();
        foreach (var s in slotsElement.EnumerateObject())
        {
            Require(!Reserved.Contains(s.Name, StringComparer.Ordinal), $"{path}.slots.{s.Name}", "is reserved; type, severity, location and time are part of every event");
            slots.Add(ReadSlot(s.Name, s.Value, $"{path}.slots.{s.Name}", units));
        }

        var action = slots.FirstOrDefault(s => s.Name == "action");
        Require(action is { Kind: AlertSlotKind.Choice, IsOptional: false }, path + ".slots.action", "is required: every type needs a non-optional choice slot 'action' (the required action)");
        Require(t.TryGetProperty("title", out var titleElement), path + ".title", "is missing");
        var titles = Languages(titleElement, path + ".title").ToDictionary(p => p.Language, p => CheckedText(Nfc(p.Body.GetString() ?? throw Invalid(path + ".title", "must hold strings")), path + ".title"));
        Require(t.TryGetProperty("templates", out var templatesElement), path + ".templates", "is missing");
        var templates = Languages(templatesElement, path + ".templates").ToDictionary(p => p.Language, p => CheckedText(Nfc(p.Body.GetString() ?? throw Invalid(path + ".templates", "must hold strings")), path + ".templates"));
        foreach (var (language, template) in templates)
        {
            TemplateRenderer.CheckTemplate(template, slots, $"{path}.templates.{language.ToCode()}");
        }

        Require(t.TryGetProperty("example", out var example) && example.ValueKind == JsonValueKind.Object, path + ".example", "must be a valid event object of this type");
        return new AlertTypeDefinition(name, slots, titles, templates, JsonSerializer.Serialize(example, ExampleOptions));
    }

    private static readonly JsonSerializerOptions ExampleOptions = new() { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static AlertSlotDefinition ReadSlot(string name, JsonElement s, string path, Dictionary<string, AlertUnit> units)
    {
        Require(s.ValueKind == JsonValueKind.Object, path, "must be an object with a 'kind'");
        Require(name.Length <= 40 && name.Length > 0 && name.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '_'), path, "slot names are lower-case letters, digits and '_'");
        string kindText = Text(s, "kind", path);
        AlertSlotKind kind = kindText switch
        {
            "text" => AlertSlotKind.Text,
            "id" => AlertSlotKind.Id,
            "count" => AlertSlotKind.Count,
            "measurement" => AlertSlotKind.Measurement,
            "choice" => AlertSlotKind.Choice,
            _ => throw Invalid(path + ".kind", $"'{kindText}' is not a slot kind; use text, id, count, measurement or choice"),
        };
        bool optional = s.TryGetProperty("optional", out var o) && o.ValueKind == JsonValueKind.True;
        decimal? min = s.TryGetProperty("min", out var mn) ? mn.GetDecimal() : null;
        decimal? max = s.TryGetProperty("max", out var mx) ? mx.GetDecimal() : null;
        int maxLength = s.TryGetProperty("maxLength", out var ml) ? ml.GetInt32() : EventValidator.MaxLocationLength;
        Require(maxLength is > 0 and <= EventValidator.MaxLocationLength, path + ".maxLength", "must be 1-200");
        int decimals = s.TryGetProperty("decimals", out var dc) ? dc.GetInt32() : 2;
        Require(decimals is >= 0 and <= 4, path + ".decimals", "must be 0-4");
        var slotUnits = new List<string>();
        var choices = new Dictionary<string, Dictionary<AlertLanguage, string>>(StringComparer.Ordinal);
        switch (kind)
        {
            case AlertSlotKind.Count:
                slotUnits.Add(Text(s, "unit", path));
                Require(min is not null && max is not null, path, "a count needs 'min' and 'max'");
                break;
            case AlertSlotKind.Measurement:
                Require(s.TryGetProperty("units", out var u), path + ".units", "a measurement needs 'units'");
                slotUnits.AddRange(Strings(u, path + ".units"));
                Require(slotUnits.Count > 0 && min is not null && max is not null, path, "a measurement needs 'units', 'min' and 'max'");
                break;
            case AlertSlotKind.Choice:
                Require(s.TryGetProperty("choices", out var c) && c.ValueKind == JsonValueKind.Object, path + ".choices", "a choice needs 'choices': {code: {en, bn}}");
                foreach (var choice in c.EnumerateObject())
                {
                    choices[choice.Name] = Languages(choice.Value, $"{path}.choices.{choice.Name}").ToDictionary(p => p.Language, p => CheckedText(Nfc(p.Body.GetString() ?? throw Invalid(path, "choice phrases must be strings")), $"{path}.choices.{choice.Name}"));
                    foreach (var phrase in choices[choice.Name].Values)
                    {
                        Require(phrase.Length > 0 && !phrase.Any(char.IsDigit), $"{path}.choices.{choice.Name}", "phrases must be non-empty and hold no digits (numbers belong in count or measurement slots)");
                    }
                }

                Require(choices.Count > 0, path + ".choices", "needs at least one choice");
                break;
        }

        foreach (string unit in slotUnits)
        {
            Require(units.ContainsKey(unit), path, $"uses unit '{unit}', which the catalogue does not define");
        }

        return new AlertSlotDefinition(name, kind)
        {
            IsOptional = optional,
            Minimum = min,
            Maximum = max,
            MaxLength = maxLength,
            MaxDecimals = decimals,
            Units = slotUnits,
            ChoicePhrases = choices,
        };
    }

    private static List<(AlertLanguage Language, JsonElement Body)> Languages(JsonElement e, string path)
    {
        Require(e.ValueKind == JsonValueKind.Object, path, "must be an object with 'en' and 'bn'");
        var seen = new HashSet<AlertLanguage>();
        var result = new List<(AlertLanguage, JsonElement)>();
        foreach (var p in e.EnumerateObject())
        {
            Require(AlertCodes.TryParseLanguage(p.Name, out var language), $"{path}.{p.Name}", "is not a language; use 'en' or 'bn'");
            seen.Add(language);
            result.Add((language, p.Value));
        }

        Require(seen.Count == 2, path, "needs both 'en' and 'bn'");
        return result;
    }

    private static string Text(JsonElement e, string property, string path)
    {
        Require(e.TryGetProperty(property, out var v) && v.ValueKind == JsonValueKind.String && v.GetString()!.Length > 0, $"{path}.{property}", "must be a non-empty string");
        return CheckedText(Nfc(v.GetString()!), $"{path}.{property}");
    }

    private static List<string> Strings(JsonElement e, string path)
    {
        Require(e.ValueKind == JsonValueKind.Array, path, "must be an array of strings");
        return [.. e.EnumerateArray().Select(x => x.ValueKind == JsonValueKind.String && x.GetString()!.Length > 0 ? CheckedText(Nfc(x.GetString()!), path) : throw Invalid(path, "must hold non-empty strings"))];
    }

    /// <summary>Catalogue text must be clean: valid Bangla sequences, no control or format characters besides ZWJ/ZWNJ.</summary>
    private static string CheckedText(string text, string path)
    {
        string? bad = Scripts.FindInvalidBanglaSequence(text);
        Require(bad is null, path, $"has {bad}");
        Require(!text.Any(c => char.IsControl(c) || (char.GetUnicodeCategory(c) == UnicodeCategory.Format && c is not Scripts.Zwj and not Scripts.Zwnj)), path, "holds a control or format character");
        return text;
    }

    internal static string Nfc(string s) => MicroLlm.Guardrails.Text.Nfc.Normalize(s);

    private static void Require(bool condition, string path, string message)
    {
        if (!condition)
        {
            throw Invalid(path, message);
        }
    }

    private static InvalidDataException Invalid(string path, string message) => new($"Alert catalogue {path}: {message}.");

    private Dictionary<AlertLanguage, HashSet<string>> BuildVocabulary()
    {
        var result = new Dictionary<AlertLanguage, HashSet<string>>();
        foreach (AlertLanguage language in Enum.GetValues<AlertLanguage>())
        {
            var words = new HashSet<string>(StringComparer.Ordinal);
            IEnumerable<string> texts = Severities.Where(kv => kv.Key.Item2 == language).Select(kv => kv.Value.Label)
                .Concat(Units.Values.SelectMany(u => u.Forms[language].Concat(language == AlertLanguage.English ? u.EnglishSingular : [])))
                .Concat(Types.SelectMany(t => new[] { t.Titles[language], t.Templates[language] }
                    .Concat(t.Slots.SelectMany(s => s.ChoicePhrases.Values.Select(p => p[language])))));
            foreach (string text in texts)
            {
                foreach (string w in Words.Split(text))
                {
                    words.Add(w.ToLowerInvariant());
                }
            }

            result[language] = words;
        }

        return result;
    }
}
