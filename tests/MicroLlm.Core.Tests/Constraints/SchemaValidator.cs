using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace MicroLlm.Tests.Constraints;

/// <summary>
/// A small JSON Schema validator for the subset the grammar compiler supports, written independently of it, so the
/// proof tests check generated JSON against the schema's meaning rather than against the compiler's own reading.
/// </summary>
internal static class SchemaValidator
{
    /// <summary>The first problem found, or null when <paramref name="instance"/> is valid.</summary>
    public static string? Validate(JsonElement root, JsonElement instance) => Check(root, root, instance, "#");

    private static string? Check(JsonElement root, JsonElement schema, JsonElement x, string at)
    {
        if (schema.ValueKind == JsonValueKind.True)
        {
            return null;
        }

        if (schema.ValueKind == JsonValueKind.False)
        {
            return $"{at}: schema false";
        }

        if (schema.TryGetProperty("$ref", out var reference))
        {
            var target = Resolve(root, reference.GetString()!);
            string? problem = Check(root, target, x, at);
            if (problem is not null)
            {
                return problem;
            }
        }

        if (schema.TryGetProperty("type", out var type))
        {
            var types = type.ValueKind == JsonValueKind.Array ? type.EnumerateArray().Select(t => t.GetString()!).ToList() : [type.GetString()!];
            if (!types.Any(t => HasType(x, t)))
            {
                return $"{at}: not of type {string.Join("/", types)}";
            }
        }

        if (schema.TryGetProperty("const", out var constant) && !JsonElement.DeepEquals(constant, x) && !NumbersEqual(constant, x))
        {
            return $"{at}: not the const";
        }

        if (schema.TryGetProperty("enum", out var values) && !values.EnumerateArray().Any(v => JsonElement.DeepEquals(v, x) || NumbersEqual(v, x)))
        {
            return $"{at}: not in the enum";
        }

        foreach (string combinator in new[] { "anyOf", "oneOf", "allOf" })
        {
            if (!schema.TryGetProperty(combinator, out var branches))
            {
                continue;
            }

            int valid = branches.EnumerateArray().Count(b => Check(root, b, x, at) is null);
            int n = branches.GetArrayLength();
            bool ok = combinator switch { "anyOf" => valid > 0, "oneOf" => valid == 1, _ => valid == n };
            if (!ok)
            {
                return $"{at}: {combinator} has {valid} of {n} branches valid";
            }
        }

        return x.ValueKind switch
        {
            JsonValueKind.Object => Object(root, schema, x, at),
            JsonValueKind.Array => Array(root, schema, x, at),
            JsonValueKind.String => String(schema, x.GetString()!, at),
            JsonValueKind.Number => Number(schema, x, at),
            _ => null,
        };
    }

    private static bool NumbersEqual(JsonElement a, JsonElement b) =>
        a.ValueKind == JsonValueKind.Number && b.ValueKind == JsonValueKind.Number && Value(a) == Value(b);

    private static bool HasType(JsonElement x, string type) => type switch
    {
        "null" => x.ValueKind == JsonValueKind.Null,
        "boolean" => x.ValueKind is JsonValueKind.True or JsonValueKind.False,
        "object" => x.ValueKind == JsonValueKind.Object,
        "array" => x.ValueKind == JsonValueKind.Array,
        "string" => x.ValueKind == JsonValueKind.String,
        "number" => x.ValueKind == JsonValueKind.Number,
        "integer" => x.ValueKind == JsonValueKind.Number && Value(x) == Math.Floor(Value(x)),
        _ => throw new ArgumentException(type),
    };

    private static JsonElement Resolve(JsonElement root, string reference)
    {
        var current = root;
        foreach (string part in reference.TrimStart('#').Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            string token = part.Replace("~1", "/").Replace("~0", "~");
            current = current.ValueKind == JsonValueKind.Array ? current[int.Parse(token, CultureInfo.InvariantCulture)] : current.GetProperty(token);
        }

        return current;
    }

    private static string? Object(JsonElement root, JsonElement schema, JsonElement x, string at)
    {
        var names = x.EnumerateObject().Select(p => p.Name).ToList();
        if (schema.TryGetProperty("required", out var required))
        {
            foreach (var r in required.EnumerateArray())
            {
                if (!names.Contains(r.GetString()!))
                {
                    return $"{at}: missing required '{r.GetString()}'";
                }
            }
        }

        schema.TryGetProperty("properties", out var properties);
        foreach (var p in x.EnumerateObject())
        {
            if (properties.ValueKind == JsonValueKind.Object && properties.TryGetProperty(p.Name, out var ps))
            {
                string? problem = Check(root, ps, p.Value, $"{at}/{p.Name}");
                if (problem is not null)
                {
                    return problem;
                }
            }
            else if (schema.TryGetProperty("additionalProperties", out var ap))
            {
                string? problem = Check(root, ap, p.Value, $"{at}/{p.Name}");
                if (problem is not null)
                {
                    return $"additional property: {problem}";
                }
            }
        }

        return null;
    }

    private static string? Array(JsonElement root, JsonElement schema, JsonElement x, string at)
    {
        int n = x.GetArrayLength();
        if (schema.TryGetProperty("minItems", out var min) && n < min.GetInt32())
        {
            return $"{at}: {n} items < minItems";
        }

        if (schema.TryGetProperty("maxItems", out var max) && n > max.GetInt32())
        {
            return $"{at}: {n} items > maxItems";
        }

        int prefix = 0;
        if (schema.TryGetProperty("prefixItems", out var prefixItems))
        {
            prefix = prefixItems.GetArrayLength();
            for (int i = 0; i < Math.Min(n, prefix); i++)
            {
                string? problem = Check(root, prefixItems[i], x[i], $"{at}/{i}");
                if (problem is not null)
                {
                    return problem;
                }
            }
        }

        if (schema.TryGetProperty("items", out var items))
        {
            for (int i = prefix; i < n; i++)
            {
                string? problem = Check(root, items, x[i], $"{at}/{i}");
                if (problem is not null)
                {
                    return problem;
                }
            }
        }

        return null;
    }

    private static string? String(JsonElement schema, string s, string at)
    {
        int length = s.EnumerateRunes().Count();
        if (schema.TryGetProperty("minLength", out var min) && length < min.GetInt32())
        {
            return $"{at}: length {length} < minLength";
        }

        if (schema.TryGetProperty("maxLength", out var max) && length > max.GetInt32())
        {
            return $"{at}: length {length} > maxLength";
        }

        if (schema.TryGetProperty("pattern", out var pattern) && !Regex.IsMatch(s, EcmaScriptToDotNet(pattern.GetString()!), RegexOptions.CultureInvariant))
        {
            return $"{at}: '{s}' does not match /{pattern.GetString()}/";
        }

        if (schema.TryGetProperty("format", out var format))
        {
            bool ok = format.GetString() switch
            {
                "date" => DateOnly.TryParseExact(s, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out _),
                "time" => TimeRegex().IsMatch(s),
                "date-time" => s.Length > 11 && s[10] == 'T' && DateOnly.TryParseExact(s[..10], "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out _) && TimeRegex().IsMatch(s[11..]),
                "uuid" => Guid.TryParseExact(s, "D", out _),
                _ => throw new ArgumentException(format.GetString()),
            };
            if (!ok)
            {
                return $"{at}: '{s}' is not a {format.GetString()}";
            }
        }

        return null;
    }

    // ECMAScript (JSON Schema's dialect) and .NET disagree on \d \w \s: ECMAScript's are ASCII digits, ASCII word
    // characters and a fixed Unicode space set that includes U+FEFF; .NET's are Unicode categories without U+FEFF.
    private const string EcmaSpaces = "\\t-\\r \\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000\\uFEFF";

    /// <summary>Rewrites ECMAScript's shorthand classes as explicit .NET classes, so the check uses the pattern's own dialect.</summary>
    internal static string EcmaScriptToDotNet(string pattern)
    {
        var sb = new StringBuilder();
        bool inClass = false;
        for (int i = 0; i < pattern.Length; i++)
        {
            char c = pattern[i];
            if (c == '\\' && i + 1 < pattern.Length)
            {
                char e = pattern[++i];
                string? set = e switch { 'd' or 'D' => "0-9", 'w' or 'W' => "a-zA-Z0-9_", 's' or 'S' => EcmaSpaces, _ => null };
                if (set is null)
                {
                    sb.Append('\\').Append(e);
                }
                else if (inClass)
                {
                    if (char.IsUpper(e))
                    {
                        throw new NotSupportedException($"negated shorthand \\{e} inside a class: {pattern}");
                    }

                    sb.Append(set);
                }
                else
                {
                    sb.Append(char.IsUpper(e) ? "[^" : "[").Append(set).Append(']');
                }

                continue;
            }

            if (c == '[' && !inClass)
            {
                inClass = true;
            }
            else if (c == ']' && inClass)
            {
                inClass = false;
            }

            sb.Append(c);
        }

        return sb.ToString();
    }

    private static Regex TimeRegex() => new("^([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\\.[0-9]+)?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$");

    private static string? Number(JsonElement schema, JsonElement x, string at)
    {
        decimal v = Value(x);

        // Draft 4: exclusiveMinimum/exclusiveMaximum are flags on minimum/maximum.
        bool Flag(string key) => schema.TryGetProperty(key, out var f) && f.ValueKind == JsonValueKind.True;
        if (schema.TryGetProperty("minimum", out var lo) && Flag("exclusiveMinimum") && v <= Value(lo))
        {
            return $"{at}: {x.GetRawText()} violates exclusive minimum {lo.GetRawText()}";
        }

        if (schema.TryGetProperty("maximum", out var hi) && Flag("exclusiveMaximum") && v >= Value(hi))
        {
            return $"{at}: {x.GetRawText()} violates exclusive maximum {hi.GetRawText()}";
        }

        foreach (var (key, fails) in new (string, Func<decimal, bool>)[]
        {
            ("minimum", b => v < b), ("maximum", b => v > b), ("exclusiveMinimum", b => v <= b), ("exclusiveMaximum", b => v >= b),
        })
        {
            if (schema.TryGetProperty(key, out var bound) && bound.ValueKind == JsonValueKind.Number && fails(Value(bound)))
            {
                return $"{at}: {x.GetRawText()} violates {key} {bound.GetRawText()}";
            }
        }

        return null;
    }

    /// <summary>The value of a number; too large or too precise ones are clamped, which the tests' bounds never reach.</summary>
    private static decimal Value(JsonElement x)
    {
        if (x.TryGetDecimal(out decimal d))
        {
            return d;
        }

        double f = x.GetDouble();
        return f > (double)decimal.MaxValue ? decimal.MaxValue : f < (double)decimal.MinValue ? decimal.MinValue : (decimal)f;
    }
}
