using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using MicroLlm.Guardrails.Text;

namespace MicroLlm.Guardrails.Events;

/// <summary>Validates event JSON against a catalogue and builds the <see cref="AlertEvent"/>.</summary>
internal static partial class EventValidator
{
    /// <summary>Events are small; anything larger is refused before parsing.</summary>
    public const int MaxEventChars = 16 * 1024;

    public const int MaxLocationLength = 200;

    private static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = 8, AllowTrailingCommas = false, CommentHandling = JsonCommentHandling.Disallow };

    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,7})?)?(Z|[+-]\d{2}:\d{2})$", RegexOptions.CultureInvariant)]
    private static partial Regex IsoTime();

    public static AlertEventValidation Validate(AlertCatalog catalog, string json)
    {
        var errors = new List<AlertEventError>();
        if (json.Length > MaxEventChars)
        {
            errors.Add(new("$", "too_large", $"The event is {Inv(json.Length)} characters; at most {Inv(MaxEventChars)} are allowed."));
            return new(null, errors);
        }

        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json, DocumentOptions);
        }
        catch (JsonException e)
        {
            errors.Add(new("$", "invalid_json", $"The event is not valid JSON: {e.Message}"));
            return new(null, errors);
        }

        using (doc)
        {
            var ev = Validate(catalog, doc.RootElement, errors);
            return new(errors.Count == 0 ? ev : null, errors);
        }
    }

    private static AlertEvent? Validate(AlertCatalog catalog, JsonElement root, List<AlertEventError> errors)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            errors.Add(new("$", "not_object", $"The event must be a JSON object, not {Describe(root.ValueKind)}."));
            return null;
        }

        var properties = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        foreach (var p in root.EnumerateObject())
        {
            if (!properties.TryAdd(p.Name, p.Value))
            {
                errors.Add(new(Path(p.Name), "duplicate", $"'{p.Name}' appears more than once; give each property once."));
            }
        }

        AlertTypeDefinition? type = null;
        if (!properties.TryGetValue("type", out var typeElement))
        {
            errors.Add(new("$.type", "missing", $"The event has no 'type'; use one of: {string.Join(", ", catalog.TypeNames)}."));
        }
        else if (typeElement.ValueKind != JsonValueKind.String)
        {
            errors.Add(new("$.type", "type_mismatch", $"'type' must be a string, not {Describe(typeElement.ValueKind)}."));
        }
        else if (!catalog.TryGetAlertType(typeElement.GetString()!, out type))
        {
            errors.Add(new("$.type", "unknown_type", $"Unknown alert type '{Truncate(typeElement.GetString()!)}'; use one of: {string.Join(", ", catalog.TypeNames)}."));
        }

        AlertSeverity severity = default;
        if (!properties.TryGetValue("severity", out var sev))
        {
            errors.Add(new("$.severity", "missing", "The event has no 'severity'; use info, low, medium, high or critical."));
        }
        else if (sev.ValueKind != JsonValueKind.String || !AlertCodes.TryParseSeverity(sev.GetString(), out severity))
        {
            errors.Add(new("$.severity", "unknown_severity", $"'severity' is {Show(sev)}; use info, low, medium, high or critical (lower case)."));
        }

        string location = string.Empty;
        if (!properties.TryGetValue("location", out var loc))
        {
            errors.Add(new("$.location", "missing", "The event has no 'location'; give the place as text (at most 200 characters)."));
        }
        else if (loc.ValueKind != JsonValueKind.String)
        {
            errors.Add(new("$.location", "type_mismatch", $"'location' must be a string, not {Describe(loc.ValueKind)}."));
        }
        else
        {
            location = TextRules.CheckText(loc.GetString()!, "$.location", MaxLocationLength, errors);
        }

        DateTimeOffset time = default;
        if (!properties.TryGetValue("time", out var t))
        {
            errors.Add(new("$.time", "missing", "The event has no 'time'; give it as ISO 8601 with a UTC offset, e.g. 2026-11-22T14:05:00+06:00."));
        }
        else if (t.ValueKind != JsonValueKind.String)
        {
            errors.Add(new("$.time", "type_mismatch", $"'time' must be a string, not {Describe(t.ValueKind)}."));
        }
        else
        {
            string s = t.GetString()!;
            if (!IsoTime().IsMatch(s))
            {
                errors.Add(new("$.time", "invalid_time", $"'time' is {Show(t)}; write ISO 8601 with a UTC offset, e.g. 2026-11-22T14:05:00+06:00 (the offset is required)."));
            }
            else if (!DateTimeOffset.TryParse(s, CultureInfo.InvariantCulture, DateTimeStyles.None, out time))
            {
                errors.Add(new("$.time", "invalid_time", $"'time' {Show(t)} is not a real date and time (check the day, month, hour and offset)."));
            }
        }

        if (type is null)
        {
            return null;
        }

        var slots = new Dictionary<string, AlertSlotValue>(StringComparer.Ordinal);
        foreach (var (name, value) in properties)
        {
            if (name is "type" or "severity" or "location" or "time")
            {
                continue;
            }

            AlertSlotDefinition? slot = type.FindSlot(name);
            if (slot is null)
            {
                errors.Add(new(Path(name), "extra", $"'{Truncate(name)}' is not a slot of type '{type.Name}'; its slots are: {string.Join(", ", type.Slots.Select(s => s.Name))}."));
                continue;
            }

            AlertSlotValue? v = ValidateSlot(catalog, slot, value, errors);
            if (v is not null)
            {
                slots[name] = v;
            }
        }

        foreach (var slot in type.Slots)
        {
            if (!slot.IsOptional && !properties.ContainsKey(slot.Name))
            {
                errors.Add(new(Path(slot.Name), "missing", $"Type '{type.Name}' needs slot '{slot.Name}' ({Expect(slot)})."));
            }
        }

        // Slots in catalogue order, so templates, JSON and prompts are deterministic.
        var ordered = new Dictionary<string, AlertSlotValue>(StringComparer.Ordinal);
        foreach (var slot in type.Slots)
        {
            if (slots.TryGetValue(slot.Name, out var v))
            {
                ordered[slot.Name] = v;
            }
        }

        return new AlertEvent(type.Name, severity, location, time, ordered);
    }

    private static AlertSlotValue? ValidateSlot(AlertCatalog catalog, AlertSlotDefinition slot, JsonElement value, List<AlertEventError> errors)
    {
        string path = Path(slot.Name);
        switch (slot.Kind)
        {
            case AlertSlotKind.Text:
                if (value.ValueKind != JsonValueKind.String)
                {
                    errors.Add(new(path, "type_mismatch", $"'{slot.Name}' must be a string, not {Describe(value.ValueKind)}."));
                    return null;
                }

                int before = errors.Count;
                string text = TextRules.CheckText(value.GetString()!, path, slot.MaxLength, errors);
                return errors.Count == before ? new AlertSlotValue(AlertSlotKind.Text, text, null, null) : null;

            case AlertSlotKind.Id:
                if (value.ValueKind != JsonValueKind.String || !TextRules.IsValidId(value.GetString()!))
                {
                    errors.Add(new(path, "invalid_id", $"'{slot.Name}' is {Show(value)}; an id is 1-{TextRules.MaxIdLength.ToString(CultureInfo.InvariantCulture)} ASCII letters, digits or . _ : / # -, starting with a letter or digit."));
                    return null;
                }

                return new AlertSlotValue(AlertSlotKind.Id, value.GetString(), null, null);

            case AlertSlotKind.Choice:
                if (value.ValueKind != JsonValueKind.String || !slot.ChoicePhrases.ContainsKey(value.GetString()!))
                {
                    errors.Add(new(path, "unknown_choice", $"'{slot.Name}' is {Show(value)}; use one of: {string.Join(", ", slot.Choices)}."));
                    return null;
                }

                return new AlertSlotValue(AlertSlotKind.Choice, value.GetString(), null, null);

            case AlertSlotKind.Count:
            {
                decimal? n = Number(slot, value, path, errors, wholeNumber: true);
                return n is null ? null : new AlertSlotValue(AlertSlotKind.Count, null, n, slot.Units[0]);
            }

            default:
            {
                if (value.ValueKind != JsonValueKind.Object)
                {
                    errors.Add(new(path, "type_mismatch", $"'{slot.Name}' must be an object {{\"value\": number, \"unit\": one of {string.Join(", ", slot.Units)}}}, not {Describe(value.ValueKind)}."));
                    return null;
                }

                string? unit = null;
                decimal? number = null;
                bool sawValue = false, sawUnit = false;
                foreach (var p in value.EnumerateObject())
                {
                    if (p.NameEquals("value") && !sawValue)
                    {
                        sawValue = true;
                        number = Number(slot, p.Value, path + ".value", errors, wholeNumber: false);
                    }
                    else if (p.NameEquals("unit") && !sawUnit)
                    {
                        sawUnit = true;
                        if (p.Value.ValueKind == JsonValueKind.String && slot.Units.Contains(p.Value.GetString()!, StringComparer.Ordinal) && catalog.HasUnit(p.Value.GetString()!))
                        {
                            unit = p.Value.GetString();
                        }
                        else
                        {
                            errors.Add(new(path + ".unit", "unknown_unit", $"'{slot.Name}.unit' is {Show(p.Value)}; use one of: {string.Join(", ", slot.Units)}."));
                        }
                    }
                    else
                    {
                        errors.Add(new($"{path}.{Truncate(p.Name)}", "extra", $"a measurement has only 'value' and 'unit'; remove '{Truncate(p.Name)}'."));
                    }
                }

                if (!sawValue)
                {
                    errors.Add(new(path + ".value", "missing", $"'{slot.Name}' needs a numeric 'value'."));
                }

                if (!sawUnit)
                {
                    errors.Add(new(path + ".unit", "missing", $"'{slot.Name}' needs a 'unit': one of {string.Join(", ", slot.Units)}."));
                }

                return number is null || unit is null ? null : new AlertSlotValue(AlertSlotKind.Measurement, null, number, unit);
            }
        }
    }

    private static decimal? Number(AlertSlotDefinition slot, JsonElement value, string path, List<AlertEventError> errors, bool wholeNumber)
    {
        if (value.ValueKind != JsonValueKind.Number)
        {
            errors.Add(new(path, "type_mismatch", $"'{slot.Name}' must be a JSON number, not {Describe(value.ValueKind)} (write 3, not \"3\" or \"৩\")."));
            return null;
        }

        if (!value.TryGetDecimal(out decimal d))
        {
            errors.Add(new(path, "out_of_range", $"'{slot.Name}' {value.GetRawText()} is not a representable number; it must lie in [{Range(slot)}]."));
            return null;
        }

        d = AlertNumbers.Normalize(d);
        if (wholeNumber && d != decimal.Truncate(d))
        {
            errors.Add(new(path, "not_integer", $"'{slot.Name}' is {value.GetRawText()}; a count must be a whole number."));
            return null;
        }

        if (!wholeNumber && d.Scale > slot.MaxDecimals)
        {
            errors.Add(new(path, "too_many_decimals", $"'{slot.Name}' is {value.GetRawText()}; give at most {slot.MaxDecimals.ToString(CultureInfo.InvariantCulture)} digits after the decimal point."));
            return null;
        }

        if ((slot.Minimum is { } min && d < min) || (slot.Maximum is { } max && d > max))
        {
            errors.Add(new(path, "out_of_range", $"'{slot.Name}' is {value.GetRawText()}; it must lie in [{Range(slot)}]."));
            return null;
        }

        return d;
    }

    private static string Range(AlertSlotDefinition slot) =>
        $"{slot.Minimum?.ToString(CultureInfo.InvariantCulture) ?? "-inf"}, {slot.Maximum?.ToString(CultureInfo.InvariantCulture) ?? "inf"}";

    internal static string Expect(AlertSlotDefinition slot) => slot.Kind switch
    {
        AlertSlotKind.Text => $"text, at most {slot.MaxLength.ToString(CultureInfo.InvariantCulture)} characters",
        AlertSlotKind.Id => "an id such as SMK-B3-07",
        AlertSlotKind.Choice => "one of " + string.Join(", ", slot.Choices),
        AlertSlotKind.Count => $"a whole number in [{Range(slot)}]",
        _ => $"{{\"value\": number in [{Range(slot)}], \"unit\": one of {string.Join(", ", slot.Units)}}}",
    };

    private static string Path(string name) => "$." + Truncate(name);

    /// <summary>Untrusted text in a message: at most 40 characters, control and format characters written as \uXXXX.</summary>
    private static string Truncate(string s)
    {
        var sb = new System.Text.StringBuilder();
        foreach (char c in s.Length <= 40 ? s : s[..40])
        {
            if (char.IsControl(c) || char.GetUnicodeCategory(c) is UnicodeCategory.Format or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator)
            {
                sb.Append("\\u").Append(((int)c).ToString("X4", CultureInfo.InvariantCulture));
            }
            else
            {
                sb.Append(c);
            }
        }

        return s.Length <= 40 ? sb.ToString() : sb + "...";
    }

    private static string Show(JsonElement e) => e.ValueKind == JsonValueKind.String ? $"\"{Truncate(e.GetString()!)}\"" : Truncate(e.GetRawText());

    private static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        _ => "null",
    };

    private static string Inv(int value) => value.ToString(CultureInfo.InvariantCulture);
}
