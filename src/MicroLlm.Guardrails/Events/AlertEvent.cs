using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace MicroLlm.Guardrails;

/// <summary>
/// A validated alert event: the facts an alert must state. Create one with <see cref="Parse"/> or
/// <see cref="AlertCatalog.ValidateEvent(string)"/>; every value has passed the catalogue's checks and is NFC.
/// Slot values are data, never instructions.
/// </summary>
public sealed class AlertEvent
{
    internal AlertEvent(string type, AlertSeverity severity, string location, DateTimeOffset time, IReadOnlyDictionary<string, AlertSlotValue> slots)
    {
        Type = type;
        Severity = severity;
        Location = location;
        Time = time;
        Slots = slots;
    }

    /// <summary>The alert type, a name from the catalogue (e.g. <c>fire</c>).</summary>
    public string Type { get; }

    /// <summary>The severity level.</summary>
    public AlertSeverity Severity { get; }

    /// <summary>Where it happened: free text of at most 200 characters, quoted verbatim in every language.</summary>
    public string Location { get; }

    /// <summary>When it happened, with the UTC offset of the place; alerts state the local hour and minute.</summary>
    public DateTimeOffset Time { get; }

    /// <summary>The type's slots that the event gives, by name.</summary>
    public IReadOnlyDictionary<string, AlertSlotValue> Slots { get; }

    /// <summary>Parses and validates an event against a catalogue.</summary>
    /// <param name="json">The event JSON object.</param>
    /// <param name="catalog">The catalogue; null for <see cref="AlertCatalog.Default"/>.</param>
    /// <returns>The event.</returns>
    /// <exception cref="AlertEventException">The event is invalid; <see cref="AlertEventException.Errors"/> lists every problem.</exception>
    public static AlertEvent Parse(string json, AlertCatalog? catalog = null)
    {
        ArgumentNullException.ThrowIfNull(json);
        var validation = (catalog ?? AlertCatalog.Default).ValidateEvent(json);
        return validation.Event ?? throw new AlertEventException(validation.Errors);
    }

    /// <summary>The event as JSON (the format <see cref="Parse"/> reads), properties in catalogue order.</summary>
    /// <returns>Indented JSON with non-ASCII characters written as themselves.</returns>
    public string ToJson()
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            WriteJson(w);
        }

        return Encoding.UTF8.GetString(stream.ToArray());
    }

    internal void WriteJson(Utf8JsonWriter w)
    {
        w.WriteStartObject();
        w.WriteString("type", Type);
        w.WriteString("severity", Severity.ToCode());
        w.WriteString("location", Location);
        w.WriteString("time", Time.ToString("yyyy-MM-dd'T'HH:mm:sszzz", CultureInfo.InvariantCulture));
        foreach (var (name, value) in Slots)
        {
            w.WritePropertyName(name);
            switch (value.Kind)
            {
                case AlertSlotKind.Count:
                    w.WriteNumberValue(value.Number!.Value);
                    break;
                case AlertSlotKind.Measurement:
                    w.WriteStartObject();
                    w.WriteNumber("value", value.Number!.Value);
                    w.WriteString("unit", value.Unit);
                    w.WriteEndObject();
                    break;
                default:
                    w.WriteStringValue(value.Text);
                    break;
            }
        }

        w.WriteEndObject();
    }

    internal AlertEvent With(string location, IReadOnlyDictionary<string, AlertSlotValue> slots) => new(Type, Severity, location, Time, slots);
}

/// <summary>The value of one slot: text (for text, id and choice slots) or a number (with its unit for measurements).</summary>
public sealed class AlertSlotValue
{
    internal AlertSlotValue(AlertSlotKind kind, string? text, decimal? number, string? unit)
    {
        Kind = kind;
        Text = text;
        Number = number;
        Unit = unit;
    }

    /// <summary>The slot's kind.</summary>
    public AlertSlotKind Kind { get; }

    /// <summary>The text of a text or id slot, or the code of a choice slot; null for numbers.</summary>
    public string? Text { get; }

    /// <summary>The number of a count or measurement, trailing zeros removed; null for text.</summary>
    public decimal? Number { get; }

    /// <summary>The unit name of a measurement or count; null for text.</summary>
    public string? Unit { get; }

    /// <summary>The value as it appears in the event JSON (for messages and audits).</summary>
    /// <returns>Text, or the number with its unit.</returns>
    public override string ToString() => Text ?? $"{Number?.ToString(CultureInfo.InvariantCulture)} {Unit}";
}

/// <summary>One problem with an event: where (a JSON path), what kind (a stable code) and what to do.</summary>
/// <param name="Path">The JSON path of the offending value, e.g. <c>$.location</c>.</param>
/// <param name="Code">A stable code: <c>unknown_type</c>, <c>missing</c>, <c>extra</c>, <c>out_of_range</c>, <c>too_long</c>, <c>control_character</c>, <c>mixed_script</c>, ...</param>
/// <param name="Message">A sentence saying what is wrong and how to fix it.</param>
public sealed record AlertEventError(string Path, string Code, string Message)
{
    /// <summary>The error as one line: <c>$.location: too_long: ...</c>.</summary>
    /// <returns>The line.</returns>
    public override string ToString() => $"{Path}: {Message}";
}

/// <summary>An event failed validation; <see cref="Errors"/> lists every problem found.</summary>
public sealed class AlertEventException : FormatException
{
    /// <summary>Creates the exception from the validation errors.</summary>
    /// <param name="errors">At least one error.</param>
    public AlertEventException(IReadOnlyList<AlertEventError> errors)
        : base(BuildMessage(errors))
    {
        Errors = errors;
    }

    /// <summary>Creates the exception with a message and no itemised errors.</summary>
    public AlertEventException()
        : this([new AlertEventError("$", "invalid", "The event is invalid.")])
    {
    }

    /// <summary>Creates the exception with one message.</summary>
    /// <param name="message">What is wrong.</param>
    public AlertEventException(string message)
        : this([new AlertEventError("$", "invalid", message)])
    {
    }

    /// <summary>Creates the exception with one message and its cause.</summary>
    /// <param name="message">What is wrong.</param>
    /// <param name="innerException">The cause.</param>
    public AlertEventException(string message, Exception innerException)
        : base(message, innerException)
    {
        Errors = [new AlertEventError("$", "invalid", message)];
    }

    /// <summary>Every problem found, in document order.</summary>
    public IReadOnlyList<AlertEventError> Errors { get; }

    private static string BuildMessage(IReadOnlyList<AlertEventError> errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        return errors.Count switch
        {
            0 => "The event is invalid.",
            1 => $"Invalid alert event: {errors[0]}",
            _ => $"Invalid alert event ({errors.Count.ToString(CultureInfo.InvariantCulture)} problems): {string.Join("; ", errors)}",
        };
    }
}

/// <summary>The outcome of validating an event: the event, or the errors.</summary>
public sealed class AlertEventValidation
{
    internal AlertEventValidation(AlertEvent? alertEvent, IReadOnlyList<AlertEventError> errors)
    {
        Event = alertEvent;
        Errors = errors;
    }

    /// <summary>Whether the event is valid.</summary>
    public bool IsValid => Event is not null;

    /// <summary>The validated event, or null when <see cref="Errors"/> is not empty.</summary>
    public AlertEvent? Event { get; }

    /// <summary>Every problem found; empty when valid.</summary>
    public IReadOnlyList<AlertEventError> Errors { get; }
}
