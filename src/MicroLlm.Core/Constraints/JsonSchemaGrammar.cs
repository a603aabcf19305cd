using System.Text;
using System.Text.Json;

namespace MicroLlm.Constraints;

/// <summary>
/// Compiles a JSON Schema to GBNF whose strings are JSON texts the schema accepts.
/// <para>
/// Supported: <c>type</c> (a name or an array of names), <c>enum</c>, <c>const</c>; objects with <c>properties</c>,
/// <c>required</c>, <c>additionalProperties</c> (<c>false</c>, <c>true</c> or a schema); arrays with <c>items</c>,
/// <c>prefixItems</c> (and the older <c>items</c> array with <c>additionalItems</c>), <c>minItems</c>, <c>maxItems</c>;
/// strings with <c>minLength</c>, <c>maxLength</c>, <c>pattern</c> (ECMAScript, see <see cref="RegexGrammar"/>) and
/// <c>format</c> <c>date</c>, <c>time</c>, <c>date-time</c>, <c>uuid</c>; <c>integer</c> and <c>number</c> with
/// <c>minimum</c>, <c>maximum</c>, <c>exclusiveMinimum</c>, <c>exclusiveMaximum</c> (numbers or the draft-4 booleans);
/// <c>boolean</c>, <c>null</c>; <c>anyOf</c>, <c>oneOf</c>, a one-schema <c>allOf</c>; <c>$ref</c> to <c>#</c>,
/// <c>#/$defs/…</c>, <c>#/definitions/…</c> or any JSON pointer in the document (recursion included). Annotations
/// (<c>title</c>, <c>description</c>, <c>default</c>, <c>examples</c>, <c>$schema</c>, <c>$id</c>, <c>$comment</c>, …) are ignored.
/// </para>
/// <para>
/// What is generated is a subset of what the schema accepts, chosen so that every output validates: properties come in
/// the order the schema lists them; extra properties (when allowed) have unescaped names that differ from the listed ones;
/// integer bounds are exact; number bounds are exact for decimal bounds, and a bounded number is written without an
/// exponent; unbounded numbers have at most 16 integer and 16 fraction digits and a two-digit exponent, as in the
/// reference runtime; strings never contain escaped surrogates; <c>oneOf</c> is compiled like <c>anyOf</c> (its
/// branches should not overlap); <c>date</c> days stop at 28 in February.
/// </para>
/// Any other keyword is rejected with a <see cref="JsonSchemaException"/> that names it and its JSON pointer.
/// </summary>
public static class JsonSchemaGrammar
{
    /// <summary>Compiles a schema given as JSON text.</summary>
    /// <param name="schemaJson">The schema.</param>
    /// <param name="options">How to compile it; null means the defaults.</param>
    /// <returns>The GBNF text; its start rule is <c>root</c>.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="schemaJson"/> is null.</exception>
    /// <exception cref="JsonSchemaException">The text is not JSON, or the schema is malformed or uses an unsupported keyword.</exception>
    public static string ToGbnf(string schemaJson, JsonSchemaGrammarOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(schemaJson);
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(schemaJson, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        }
        catch (JsonException e)
        {
            throw new JsonSchemaException($"The schema is not valid JSON: {e.Message}", "", null, (int)(e.LineNumber ?? 0) + 1, (int)(e.BytePositionInLine ?? 0) + 1);
        }

        using (document)
        {
            return new JsonSchemaCompiler(document.RootElement, schemaJson, options ?? new JsonSchemaGrammarOptions()).Compile();
        }
    }

    /// <summary>Compiles a schema given as a parsed element; positions in errors refer to the element's JSON text.</summary>
    /// <param name="schema">The schema.</param>
    /// <param name="options">How to compile it; null means the defaults.</param>
    /// <returns>The GBNF text; its start rule is <c>root</c>.</returns>
    /// <exception cref="JsonSchemaException">The schema is malformed or uses an unsupported keyword.</exception>
    public static string ToGbnf(JsonElement schema, JsonSchemaGrammarOptions? options = null) => ToGbnf(schema.GetRawText(), options);
}

/// <summary>The JSON Schema to GBNF compiler behind <see cref="JsonSchemaGrammar"/>.</summary>
internal sealed class JsonSchemaCompiler
{
    private const string CharRule = "[^\"\\\\\\x00-\\x1F] | \"\\\\\" ([\"\\\\/bfnrt] | \"u\" ([0-9a-cA-CeEfF] [0-9a-fA-F]{3} | [dD] [0-7] [0-9a-fA-F]{2}))";

    private static readonly HashSet<string> Annotations = new(StringComparer.Ordinal)
    {
        "$schema", "$id", "$comment", "$anchor", "$defs", "definitions", "title", "description", "default", "examples",
        "deprecated", "readOnly", "writeOnly", "contentMediaType", "contentEncoding",
    };

    private static readonly HashSet<string> Supported = new(StringComparer.Ordinal)
    {
        "type", "enum", "const", "properties", "required", "additionalProperties", "items", "prefixItems", "additionalItems",
        "minItems", "maxItems", "minLength", "maxLength", "pattern", "format", "minimum", "maximum", "exclusiveMinimum",
        "exclusiveMaximum", "anyOf", "oneOf", "allOf", "$ref", "uniqueItems",
    };

    private static readonly string[] TypeNames = ["null", "boolean", "object", "array", "number", "integer", "string"];

    private readonly JsonElement _root;
    private readonly string _text;
    private readonly JsonSchemaGrammarOptions _options;
    private readonly GbnfRuleSet _rules = new();
    private readonly Dictionary<string, string> _refRules = new(StringComparer.Ordinal);
    private readonly NumberGrammar _numbers;
    private const int MaxDepth = 256;
    private Dictionary<string, int>? _offsets;
    private int _depth;

    public JsonSchemaCompiler(JsonElement root, string text, JsonSchemaGrammarOptions options)
    {
        _root = root;
        _text = text;
        _options = options;
        _numbers = new NumberGrammar(_rules);
    }

    public string Compile()
    {
        string body = Visit(_root, "", "root");
        return _rules.ToGbnf(body);
    }

    // ---------------------------------------------------------------- dispatch

    private string Visit(JsonElement schema, string pointer, string hint)
    {
        if (++_depth > MaxDepth)
        {
            throw Error(pointer, null, $"The schema nests (through subschemas and references) more than {MaxDepth} deep.");
        }

        try
        {
            return VisitSchema(schema, pointer, hint);
        }
        finally
        {
            _depth--;
        }
    }

    private string VisitSchema(JsonElement schema, string pointer, string hint)
    {
        if (schema.ValueKind == JsonValueKind.True)
        {
            return Value();
        }

        if (schema.ValueKind == JsonValueKind.False)
        {
            throw Error(pointer, null, "The schema 'false' accepts no value, so nothing could be generated.");
        }

        if (schema.ValueKind != JsonValueKind.Object)
        {
            throw Error(pointer, null, $"A schema must be an object or a boolean, not {Describe(schema)}.");
        }

        var validation = new List<string>();
        foreach (var property in schema.EnumerateObject())
        {
            if (Annotations.Contains(property.Name))
            {
                continue;
            }

            if (!Supported.Contains(property.Name))
            {
                throw Error(pointer, property.Name, $"The keyword '{property.Name}' is not supported. {Advice(property.Name)}");
            }

            validation.Add(property.Name);
        }

        if (schema.TryGetProperty("$ref", out var reference))
        {
            if (validation.Count > 1)
            {
                throw Error(pointer, "$ref", $"'$ref' beside other keywords ({string.Join(", ", validation.Where(v => v != "$ref"))}) is not supported; move them into the referenced schema.");
            }

            return Reference(reference, pointer);
        }

        foreach (string combinator in (ReadOnlySpan<string>)["anyOf", "oneOf", "allOf"])
        {
            if (!schema.TryGetProperty(combinator, out var branches))
            {
                continue;
            }

            if (branches.ValueKind != JsonValueKind.Array || branches.GetArrayLength() == 0)
            {
                throw Error(pointer, combinator, $"'{combinator}' must be a non-empty array of schemas.");
            }

            if (validation.Count > 1)
            {
                // Keywords beside the combinator apply to every branch: merge them into each.
                return MergedBranches(schema, combinator, branches, validation, pointer, hint);
            }

            if (combinator == "allOf")
            {
                return branches.GetArrayLength() == 1
                    ? Visit(branches[0], pointer + "/allOf/0", hint)
                    : throw Error(pointer, "allOf", "'allOf' with more than one schema is not supported; merge the schemas into one.");
            }

            var alternatives = new List<string>();
            int i = 0;
            foreach (var branch in branches.EnumerateArray())
            {
                alternatives.Add(Visit(branch, $"{pointer}/{combinator}/{i}", $"{hint}-{i}"));
                i++;
            }

            return _rules.Add(hint, string.Join(" | ", alternatives.Distinct()));
        }

        var types = Types(schema, pointer);
        if (schema.TryGetProperty("const", out _) || schema.TryGetProperty("enum", out _))
        {
            string? other = validation.FirstOrDefault(v => v is not ("type" or "enum" or "const"));
            if (other is not null)
            {
                throw Error(pointer, other, $"'{other}' beside 'enum' or 'const' is not supported; list only the allowed values (and 'type').");
            }
        }

        if (schema.TryGetProperty("const", out var constant))
        {
            return Literals([constant], types, pointer, "const", hint);
        }

        if (schema.TryGetProperty("enum", out var values))
        {
            if (values.ValueKind != JsonValueKind.Array || values.GetArrayLength() == 0)
            {
                throw Error(pointer, "enum", "'enum' must be a non-empty array of values.");
            }

            return Literals([.. values.EnumerateArray()], types, pointer, "enum", hint);
        }

        var parts = new List<string>();
        foreach (string type in types ?? Inferred(schema))
        {
            parts.Add(type switch
            {
                "null" => "\"null\"",
                "boolean" => _rules.Fixed("boolean", "\"true\" | \"false\""),
                "integer" => Integer(schema, pointer, hint),
                "number" => Number(schema, pointer, hint),
                "string" => String(schema, pointer, hint),
                "array" => Array(schema, pointer, hint),
                "object" => Object(schema, pointer, hint),
                _ => Value(),
            });
        }

        return parts.Count == 1 ? parts[0] : _rules.Add(hint, string.Join(" | ", parts));
    }

    /// <summary>anyOf/oneOf/allOf with sibling keywords: each branch gets the siblings merged in (they must not repeat a keyword).</summary>
    private string MergedBranches(JsonElement schema, string combinator, JsonElement branches, List<string> validation, string pointer, string hint)
    {
        var siblings = schema.EnumerateObject().Where(p => p.Name != combinator && validation.Contains(p.Name)).ToList();
        var alternatives = new List<string>();
        int i = 0;
        foreach (var raw in branches.EnumerateArray())
        {
            string branchPointer = $"{pointer}/{combinator}/{i}";
            var branch = raw;
            while (branch.ValueKind == JsonValueKind.Object && branch.TryGetProperty("$ref", out var r) && r.ValueKind == JsonValueKind.String
                && r.GetString()!.StartsWith('#') && Resolve(Uri.UnescapeDataString(r.GetString()![1..])) is { } target)
            {
                branchPointer = Uri.UnescapeDataString(r.GetString()![1..]);
                branch = target;
            }

            if (branch.ValueKind != JsonValueKind.Object)
            {
                throw Error(branchPointer, null, $"A branch of '{combinator}' beside other keywords must be a schema object.");
            }

            var merged = new System.Text.Json.Nodes.JsonObject();
            foreach (var p in branch.EnumerateObject())
            {
                merged[p.Name] = System.Text.Json.Nodes.JsonNode.Parse(p.Value.GetRawText());
            }

            foreach (var p in siblings)
            {
                if (merged.ContainsKey(p.Name))
                {
                    throw Error(branchPointer, p.Name, $"'{p.Name}' is both beside '{combinator}' and in its branch {i}; merge them by hand.");
                }

                merged[p.Name] = System.Text.Json.Nodes.JsonNode.Parse(p.Value.GetRawText());
            }

            if (combinator == "allOf" && branches.GetArrayLength() > 1)
            {
                throw Error(pointer, "allOf", "'allOf' with more than one schema is not supported; merge the schemas into one.");
            }

            using var document = JsonDocument.Parse(merged.ToJsonString());
            alternatives.Add(Visit(document.RootElement.Clone(), branchPointer, $"{hint}-{i}"));
            i++;
        }

        return alternatives.Count == 1 ? alternatives[0] : _rules.Add(hint, string.Join(" | ", alternatives.Distinct()));
    }

    private static string Advice(string keyword) => keyword switch
    {
        "not" or "if" or "then" or "else" => "Conditional and negated schemas cannot be compiled to a grammar; list the allowed shapes with anyOf.",
        "patternProperties" or "propertyNames" => "List the properties under 'properties', or allow any with 'additionalProperties'.",
        "minProperties" or "maxProperties" => "Use 'required' to force properties.",
        "multipleOf" => "Use 'enum' for a few allowed values, or drop it.",
        "contains" or "minContains" or "maxContains" or "unevaluatedItems" or "unevaluatedProperties" => "Describe the items with 'items' or 'prefixItems'.",
        "dependentRequired" or "dependentSchemas" or "dependencies" => "Split the shapes into 'anyOf' branches.",
        "nullable" => "Write \"type\": [\"…\", \"null\"] instead (JSON Schema has no 'nullable').",
        _ => "Remove it, or express it with the supported keywords (see JsonSchemaGrammar).",
    };

    private List<string>? Types(JsonElement schema, string pointer)
    {
        if (!schema.TryGetProperty("type", out var type))
        {
            return null;
        }

        var names = new List<string>();
        if (type.ValueKind == JsonValueKind.String)
        {
            names.Add(type.GetString()!);
        }
        else if (type.ValueKind == JsonValueKind.Array && type.GetArrayLength() > 0)
        {
            foreach (var t in type.EnumerateArray())
            {
                names.Add(t.ValueKind == JsonValueKind.String ? t.GetString()! : throw Error(pointer, "type", "'type' must be a type name or an array of type names."));
            }
        }
        else
        {
            throw Error(pointer, "type", "'type' must be a type name or a non-empty array of type names.");
        }

        foreach (string name in names)
        {
            if (!TypeNames.Contains(name))
            {
                throw Error(pointer, "type", $"Unknown type '{name}'; use one of {string.Join(", ", TypeNames)}.");
            }
        }

        // "integer" is a subset of "number": keep the wider one.
        if (names.Contains("number"))
        {
            names.Remove("integer");
        }

        return [.. names.Distinct()];
    }

    private static IEnumerable<string> Inferred(JsonElement schema)
    {
        bool Has(params string[] keys) => keys.Any(k => schema.TryGetProperty(k, out _));
        if (Has("properties", "additionalProperties", "required"))
        {
            return ["object"];
        }

        if (Has("items", "prefixItems", "additionalItems", "minItems", "maxItems"))
        {
            return ["array"];
        }

        if (Has("minLength", "maxLength", "pattern", "format"))
        {
            return ["string"];
        }

        if (Has("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"))
        {
            return ["number"];
        }

        return ["any"];
    }

    // ---------------------------------------------------------------- $ref

    private string Reference(JsonElement reference, string pointer)
    {
        if (reference.ValueKind != JsonValueKind.String)
        {
            throw Error(pointer, "$ref", "'$ref' must be a string such as \"#/$defs/name\".");
        }

        string target = reference.GetString()!;
        if (!target.StartsWith('#') || (target.Length > 1 && target[1] != '/'))
        {
            throw Error(pointer, "$ref", $"Only references inside the schema ('#', '#/$defs/…', '#/definitions/…') are supported, not '{target}'.");
        }

        string targetPointer = Uri.UnescapeDataString(target[1..]);
        if (_refRules.TryGetValue(targetPointer, out string? existing))
        {
            return existing;
        }

        var element = Resolve(targetPointer) ?? throw Error(pointer, "$ref", $"The reference '{target}' points at nothing in the schema.");
        string name = _rules.Reserve("root-" + (targetPointer.Length == 0 ? "self" : targetPointer[(targetPointer.LastIndexOf('/') + 1)..]));
        _refRules.Add(targetPointer, name);
        _rules.Set(name, Visit(element, targetPointer, name));
        return name;
    }

    private JsonElement? Resolve(string pointer)
    {
        var current = _root;
        if (pointer.Length == 0)
        {
            return current;
        }

        foreach (string raw in pointer[1..].Split('/'))
        {
            string token = raw.Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal);
            if (current.ValueKind == JsonValueKind.Object && current.TryGetProperty(token, out var child))
            {
                current = child;
            }
            else if (current.ValueKind == JsonValueKind.Array && int.TryParse(token, out int index) && index >= 0 && index < current.GetArrayLength())
            {
                current = current[index];
            }
            else
            {
                return null;
            }
        }

        return current;
    }

    // ---------------------------------------------------------------- literals

    private string Literals(List<JsonElement> values, List<string>? types, string pointer, string keyword, string hint)
    {
        var literals = new List<string>();
        foreach (var value in values)
        {
            if (types is null || types.Any(t => HasType(value, t)))
            {
                literals.Add(GbnfText.Literal(JsonLiteral.Write(value)));
            }
        }

        if (literals.Count == 0)
        {
            throw Error(pointer, keyword, $"No value of '{keyword}' has the schema's type, so nothing could be generated.");
        }

        return _rules.Add(hint, string.Join(" | ", literals.Distinct()));
    }

    private static bool HasType(JsonElement value, string type) => type switch
    {
        "null" => value.ValueKind == JsonValueKind.Null,
        "boolean" => value.ValueKind is JsonValueKind.True or JsonValueKind.False,
        "string" => value.ValueKind == JsonValueKind.String,
        "array" => value.ValueKind == JsonValueKind.Array,
        "object" => value.ValueKind == JsonValueKind.Object,
        "number" => value.ValueKind == JsonValueKind.Number,
        "integer" => value.ValueKind == JsonValueKind.Number && ExactDecimal.Parse(value.GetRawText()).IsInteger,
        _ => true,
    };

    // ---------------------------------------------------------------- primitives

    private string Ws => _options.AllowWhitespace ? _rules.Fixed("ws", "| \" \" | \"\\n\" [ \\t]{0,20}") : "";

    private static string Seq(params string[] parts) => string.Join(" ", parts.Where(p => p.Length > 0));

    private string Char() => _rules.Fixed("char", CharRule);

    private string PlainString() => _rules.Fixed("string", "\"\\\"\" " + Char() + "* \"\\\"\"");

    private string Value()
    {
        if (_rules.Has("value"))
        {
            return "value";
        }

        _rules.Fixed("value", "object | array | string | number | \"true\" | \"false\" | \"null\"");
        _rules.Fixed("object", Seq("\"{\"", Ws, "(", "member", "(", "\",\"", Ws, "member", ")*", ")?", "\"}\""));
        _rules.Fixed("member", Seq(PlainString(), "\":\"", Ws, "value", Ws));
        _rules.Fixed("array", Seq("\"[\"", Ws, "(", "value", Ws, "(", "\",\"", Ws, "value", Ws, ")*", ")?", "\"]\""));
        FreeNumber();
        return "value";
    }

    private string FreeInteger() => _rules.Fixed("integer", "\"-\"? (\"0\" | [1-9] [0-9]{0,15})");

    private string FreeNumber() => _rules.Fixed("number", "\"-\"? (\"0\" | [1-9] [0-9]{0,15}) (\".\" [0-9]{1,16})? ([eE] [-+]? [0-9]{1,2})?");

    // ---------------------------------------------------------------- numbers

    private (ExactDecimal? Value, bool Exclusive) Bound(JsonElement schema, string pointer, bool lower)
    {
        string inclusiveKey = lower ? "minimum" : "maximum", exclusiveKey = lower ? "exclusiveMinimum" : "exclusiveMaximum";
        ExactDecimal? inclusive = null, exclusive = null;
        if (schema.TryGetProperty(inclusiveKey, out var i))
        {
            inclusive = i.ValueKind == JsonValueKind.Number ? ExactDecimal.Parse(i.GetRawText()) : throw Error(pointer, inclusiveKey, $"'{inclusiveKey}' must be a number.");
        }

        if (schema.TryGetProperty(exclusiveKey, out var e))
        {
            if (e.ValueKind is JsonValueKind.True or JsonValueKind.False)
            {
                // Draft 4: a flag on minimum/maximum.
                if (e.ValueKind == JsonValueKind.True)
                {
                    exclusive = inclusive ?? throw Error(pointer, exclusiveKey, $"'{exclusiveKey}': true needs '{inclusiveKey}'.");
                    inclusive = null;
                }
            }
            else
            {
                exclusive = e.ValueKind == JsonValueKind.Number ? ExactDecimal.Parse(e.GetRawText()) : throw Error(pointer, exclusiveKey, $"'{exclusiveKey}' must be a number.");
            }
        }

        if (inclusive is null)
        {
            return (exclusive, exclusive is not null);
        }

        if (exclusive is null)
        {
            return (inclusive, false);
        }

        // Both: the tighter wins; at equal values the exclusive one is tighter.
        int c = exclusive.Value.CompareTo(inclusive.Value);
        bool exclusiveTighter = lower ? c >= 0 : c <= 0;
        return exclusiveTighter ? (exclusive, true) : (inclusive, false);
    }

    private string Integer(JsonElement schema, string pointer, string hint)
    {
        RejectMultipleOf(schema, pointer);
        var (lo, loEx) = Bound(schema, pointer, lower: true);
        var (hi, hiEx) = Bound(schema, pointer, lower: false);
        if (lo is null && hi is null)
        {
            return FreeInteger();
        }

        System.Numerics.BigInteger? min = lo is null ? null : loEx ? lo.Value.Floor() + 1 : lo.Value.Ceiling();
        System.Numerics.BigInteger? max = hi is null ? null : hiEx ? hi.Value.Ceiling() - 1 : hi.Value.Floor();
        if (min is not null && max is not null && min > max)
        {
            throw Error(pointer, lo is null ? "maximum" : "minimum", $"No integer lies between the bounds ({lo} and {hi}).");
        }

        return _rules.Add(hint, NumberGrammar.Integer(min, max));
    }

    private string Number(JsonElement schema, string pointer, string hint)
    {
        RejectMultipleOf(schema, pointer);
        var (lo, loEx) = Bound(schema, pointer, lower: true);
        var (hi, hiEx) = Bound(schema, pointer, lower: false);
        if (lo is null && hi is null)
        {
            return FreeNumber();
        }

        if (lo is not null && hi is not null)
        {
            int c = lo.Value.CompareTo(hi.Value);
            if (c > 0 || (c == 0 && (loEx || hiEx)))
            {
                throw Error(pointer, "minimum", $"No number lies between the bounds ({lo} and {hi}).");
            }
        }

        return _rules.Add(hint, _numbers.Number(lo, loEx, hi, hiEx));
    }

    private void RejectMultipleOf(JsonElement schema, string pointer)
    {
        if (schema.TryGetProperty("multipleOf", out _))
        {
            throw Error(pointer, "multipleOf", "'multipleOf' is not supported. Use 'enum' for a few allowed values, or drop it.");
        }
    }

    // ---------------------------------------------------------------- strings

    private string String(JsonElement schema, string pointer, string hint)
    {
        int? minLength = Count(schema, pointer, "minLength"), maxLength = Count(schema, pointer, "maxLength");
        if (minLength is not null && maxLength is not null && minLength > maxLength)
        {
            throw Error(pointer, "minLength", $"'minLength' ({minLength}) is greater than 'maxLength' ({maxLength}).");
        }

        const string Quote = "\"\\\"\"";
        if (schema.TryGetProperty("pattern", out var pattern))
        {
            if (minLength is not null || maxLength is not null)
            {
                throw Error(pointer, "pattern", "'pattern' together with 'minLength'/'maxLength' is not supported; put the length into the pattern, such as ^[a-z]{2,8}$.");
            }

            if (pattern.ValueKind != JsonValueKind.String)
            {
                throw Error(pointer, "pattern", "'pattern' must be a string.");
            }

            RegexTranslator.Result translated;
            try
            {
                translated = RegexTranslator.Translate(pattern.GetString()!, jsonString: true);
            }
            catch (GrammarException e)
            {
                throw Error(pointer, "pattern", $"{e.Detail} (at column {e.Column} of the pattern)");
            }

            // JSON Schema patterns search: an unanchored end may have any text beside it.
            string any = Char() + "*";
            return _rules.Add(hint, Seq(Quote, translated.AnchoredStart ? "" : any, translated.Expression, translated.AnchoredEnd ? "" : any, Quote));
        }

        if (schema.TryGetProperty("format", out var format))
        {
            string name = format.ValueKind == JsonValueKind.String ? format.GetString()! : throw Error(pointer, "format", "'format' must be a string.");
            string? body = FormatRule(name);
            if (body is null)
            {
                throw Error(pointer, "format", $"The format '{name}' is not supported (only date, time, date-time and uuid); use 'pattern', or remove 'format'.");
            }

            if (minLength is not null || maxLength is not null)
            {
                throw Error(pointer, "format", "'format' together with 'minLength'/'maxLength' is not supported.");
            }

            return _rules.Add(hint, Seq(Quote, body, Quote));
        }

        if (minLength is null && maxLength is null)
        {
            return PlainString();
        }

        int min = minLength ?? 0;
        string repeat = maxLength is null ? $"{{{min},}}" : min == maxLength ? $"{{{min}}}" : $"{{{min},{maxLength}}}";
        return _rules.Add(hint, Seq(Quote, Char() + repeat, Quote));
    }

    private string? FormatRule(string format)
    {
        string Date() => _rules.Fixed("date", "[0-9]{4} \"-\" (\"0\" [13578] \"-\" day31 | \"1\" [02] \"-\" day31 | \"0\" [469] \"-\" day30 | \"11-\" day30 | \"02-\" day28)")
            + (_rules.Has("day31") ? "" : Days());
        string Days()
        {
            _rules.Fixed("day31", "\"0\" [1-9] | [12] [0-9] | \"3\" [01]");
            _rules.Fixed("day30", "\"0\" [1-9] | [12] [0-9] | \"30\"");
            _rules.Fixed("day28", "\"0\" [1-9] | \"1\" [0-9] | \"2\" [0-8]");
            return "";
        }

        string Time() => _rules.Fixed("time", "([01] [0-9] | \"2\" [0-3]) \":\" [0-5] [0-9] \":\" [0-5] [0-9] (\".\" [0-9]{1,6})? (\"Z\" | [+-] ([01] [0-9] | \"2\" [0-3]) \":\" [0-5] [0-9])");
        return format switch
        {
            "date" => Date(),
            "time" => Time(),
            "date-time" => Date() + " \"T\" " + Time(),
            "uuid" => "[0-9a-f]{8} \"-\" [0-9a-f]{4} \"-\" [0-9a-f]{4} \"-\" [0-9a-f]{4} \"-\" [0-9a-f]{12}",
            _ => null,
        };
    }

    private int? Count(JsonElement schema, string pointer, string keyword)
    {
        if (!schema.TryGetProperty(keyword, out var value))
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt32(out int n) || n < 0)
        {
            if (value.ValueKind == JsonValueKind.Number && value.TryGetDouble(out double d) && d == Math.Floor(d) && d > GbnfParser.MaxRepetition)
            {
                throw Error(pointer, keyword, $"'{keyword}' {d} is too large; the most supported is {GbnfParser.MaxRepetition}.");
            }

            throw Error(pointer, keyword, $"'{keyword}' must be a non-negative integer.");
        }

        return n <= GbnfParser.MaxRepetition ? n : throw Error(pointer, keyword, $"'{keyword}' {n} is too large; the most supported is {GbnfParser.MaxRepetition}.");
    }

    // ---------------------------------------------------------------- arrays

    private string Array(JsonElement schema, string pointer, string hint)
    {
        int min = Count(schema, pointer, "minItems") ?? 0;
        int? max = Count(schema, pointer, "maxItems");
        if (max is not null && min > max)
        {
            throw Error(pointer, "minItems", $"'minItems' ({min}) is greater than 'maxItems' ({max}).");
        }

        if (schema.TryGetProperty("uniqueItems", out var unique) && unique.ValueKind == JsonValueKind.True && (max ?? 2) > 1)
        {
            throw Error(pointer, "uniqueItems", "'uniqueItems': true is not supported (a grammar cannot compare items); drop it, or use 'maxItems': 1.");
        }

        // Positional schemas, then the schema of the rest: absent means any value, false means no more items.
        var prefix = new List<(JsonElement Schema, string Pointer)>();
        (JsonElement Schema, string Pointer)? rest = null;
        if (schema.TryGetProperty("prefixItems", out var prefixItems))
        {
            if (prefixItems.ValueKind != JsonValueKind.Array)
            {
                throw Error(pointer, "prefixItems", "'prefixItems' must be an array of schemas.");
            }

            prefix.AddRange(prefixItems.EnumerateArray().Select((s, i) => (s, $"{pointer}/prefixItems/{i}")));
            if (schema.TryGetProperty("items", out var items))
            {
                rest = (items, pointer + "/items");
            }
        }
        else if (schema.TryGetProperty("items", out var items))
        {
            if (items.ValueKind == JsonValueKind.Array)
            {
                // Drafts 4 to 7: an items array is positional, additionalItems the rest.
                prefix.AddRange(items.EnumerateArray().Select((s, i) => (s, $"{pointer}/items/{i}")));
                if (schema.TryGetProperty("additionalItems", out var additional))
                {
                    rest = (additional, pointer + "/additionalItems");
                }
            }
            else
            {
                rest = (items, pointer + "/items");
            }
        }

        string? restRule = rest switch
        {
            null => Value(),
            { Schema.ValueKind: JsonValueKind.False } => null,
            { } r => Visit(r.Schema, r.Pointer, hint + "-item"),
        };

        int k = prefix.Count;
        if (restRule is null && min > k)
        {
            throw Error(pointer, "minItems", $"'minItems' ({min}) asks for more items than the {k} the schema allows.");
        }

        var prefixRules = prefix.Select((p, i) => Visit(p.Schema, p.Pointer, $"{hint}-{i}")).ToList();
        string ws = Ws, comma = Seq("\",\"", ws);
        string Item(string rule) => Seq(rule, ws);

        // After i items: end (if i ≥ min), or ", item" and go on.
        string After(int i)
        {
            if (max is not null && i >= max)
            {
                return "";
            }

            if (i < k)
            {
                string more = Seq(comma, Item(prefixRules[i]), After(i + 1));
                return i >= min ? $"({more})?" : more;
            }

            if (restRule is null)
            {
                return "";
            }

            int need = Math.Max(0, min - i);
            string count = max is null ? (need == 0 ? "*" : need == 1 ? "+" : $"{{{need},}}") : (need == 0 && max - i == 1 ? "?" : $"{{{need},{max - i}}}");
            return $"({Seq(comma, Item(restRule))}){count}";
        }

        string first = k > 0 ? prefixRules[0] : restRule ?? "";
        string items0 = first.Length == 0 || max == 0 ? "" : Seq(Item(first), After(1));
        if (items0.Length > 0 && min == 0)
        {
            items0 = $"({items0})?";
        }

        return _rules.Add(hint, Seq("\"[\"", ws, items0, "\"]\""));
    }

    // ---------------------------------------------------------------- objects

    private string Object(JsonElement schema, string pointer, string hint)
    {
        var properties = new List<(string Name, JsonElement Schema, string Pointer)>();
        if (schema.TryGetProperty("properties", out var declared))
        {
            if (declared.ValueKind != JsonValueKind.Object)
            {
                throw Error(pointer, "properties", "'properties' must be an object of schemas.");
            }

            foreach (var p in declared.EnumerateObject())
            {
                properties.Add((p.Name, p.Value, $"{pointer}/properties/{EscapePointer(p.Name)}"));
            }
        }

        var required = new HashSet<string>(StringComparer.Ordinal);
        if (schema.TryGetProperty("required", out var requiredList))
        {
            if (requiredList.ValueKind != JsonValueKind.Array || requiredList.EnumerateArray().Any(r => r.ValueKind != JsonValueKind.String))
            {
                throw Error(pointer, "required", "'required' must be an array of property names.");
            }

            foreach (var r in requiredList.EnumerateArray())
            {
                required.Add(r.GetString()!);
            }
        }

        // additionalProperties: null = none generated.
        JsonElement? additional = null;
        string additionalPointer = pointer + "/additionalProperties";
        bool additionalAny = false;
        if (schema.TryGetProperty("additionalProperties", out var ap))
        {
            if (ap.ValueKind == JsonValueKind.True)
            {
                additionalAny = true;
            }
            else if (ap.ValueKind == JsonValueKind.Object)
            {
                additional = ap;
            }
            else if (ap.ValueKind != JsonValueKind.False)
            {
                throw Error(pointer, "additionalProperties", "'additionalProperties' must be a boolean or a schema.");
            }
        }
        else
        {
            additionalAny = _options.AdditionalPropertiesByDefault;
        }

        bool hasAdditional = additionalAny || additional is not null;
        foreach (string name in required)
        {
            if (!properties.Any(p => p.Name == name))
            {
                if (!hasAdditional && schema.TryGetProperty("additionalProperties", out _))
                {
                    throw Error(pointer, "required", $"The required property '{name}' is not under 'properties' and 'additionalProperties' is false, so no object could validate.");
                }

                properties.Add((name, additional ?? JsonSerializerTrue, additionalPointer));
            }
        }

        string ws = Ws, comma = Seq("\",\"", ws);
        var members = properties.Select(p =>
            Seq(GbnfText.Literal(JsonLiteral.String(p.Name)), "\":\"", ws, p.Schema.ValueKind == JsonValueKind.True ? Value() : Visit(p.Schema, p.Pointer, $"{hint}-{p.Name}"), ws)).ToList();

        string? extra = null;
        if (hasAdditional)
        {
            string value = additional is { } a ? Visit(a, additionalPointer, hint + "-additional") : Value();
            string key = _rules.Add(hint + "-key", KeyExcluding([.. properties.Select(p => p.Name)]));
            extra = _rules.Add(hint + "-extra", Seq(key, "\":\"", ws, value, ws));
        }

        // First(i): nothing written yet, at property i; Rest(i): something written. Optional properties branch.
        // Rules are made on first use, so an all-required object is one plain sequence.
        int n = properties.Count;
        var firstNames = new string?[n + 1];
        var restNames = new string?[n + 1];
        string Rest(int i)
        {
            if (restNames[i] is null)
            {
                string body = i == n
                    ? (extra is null ? "" : $"({comma} {extra})*")
                    : required.Contains(properties[i].Name) ? Seq(comma, members[i], Rest(i + 1)) : Seq($"({comma} {members[i]})?", Rest(i + 1));
                restNames[i] = body.Length == 0 || i == n ? body : _rules.Add($"{hint}-rest{i}", body);
            }

            return restNames[i]!;
        }

        string First(int i)
        {
            if (firstNames[i] is null)
            {
                string body = i == n
                    ? (extra is null ? "" : $"({extra} ({comma} {extra})*)?")
                    : required.Contains(properties[i].Name) ? Seq(members[i], Rest(i + 1)) : $"{First(i + 1)} | {Seq(members[i], Rest(i + 1))}".Trim();
                firstNames[i] = body.Length == 0 || (i == n) || required.Contains(properties[i].Name) ? (body.Contains('|', StringComparison.Ordinal) ? $"({body})" : body) : _rules.Add($"{hint}-from{i}", body);
            }

            return firstNames[i]!;
        }

        return _rules.Add(hint, Seq("\"{\"", ws, First(0), "\"}\""));
    }

    private static readonly JsonElement JsonSerializerTrue = JsonDocument.Parse("true").RootElement.Clone();

    /// <summary>A JSON string of unescaped characters that is none of <paramref name="names"/>.</summary>
    private string KeyExcluding(List<string> names)
    {
        string plain = "[^\"\\\\\\x00-\\x1F]";
        string free = _rules.Fixed("key-char", plain) + "*";
        const string Quote = "\"\\\"\"";
        if (names.Count == 0)
        {
            return Seq(Quote, free, Quote);
        }

        // A trie over the names' code points; at each node: the end quote unless a name ends here, a trie child, or any other character then anything.
        var root = new TrieNode();
        foreach (string name in names)
        {
            var node = root;
            foreach (var rune in name.EnumerateRunes())
            {
                int c = rune.Value;
                if (c < 0x20 || c == '"' || c == '\\')
                {
                    node = null;
                    break; // a name with characters that need escapes cannot be produced unescaped
                }

                node = node.Child(c);
            }

            if (node is not null)
            {
                node.IsName = true;
            }
        }

        string Node(TrieNode node)
        {
            var alternatives = new List<string>();
            if (!node.IsName)
            {
                alternatives.Add(Quote);
            }

            foreach (var (c, child) in node.Children)
            {
                alternatives.Add(GbnfText.Literal(char.ConvertFromUtf32(c)) + " " + Node(child));
            }

            var others = CodePointRanges.Of([(0x20, CodePointRanges.MaxCodePoint)])
                .Subtract(CodePointRanges.Of([('"', '"'), ('\\', '\\')]))
                .Subtract(CodePointRanges.Of(node.Children.Keys.Select(c => (c, c))));
            alternatives.Add(Seq(others.ToString(), free, Quote));
            return "(" + string.Join(" | ", alternatives) + ")";
        }

        return Seq(Quote, Node(root));
    }

    private sealed class TrieNode
    {
        public SortedDictionary<int, TrieNode> Children { get; } = [];

        public bool IsName { get; set; }

        public TrieNode Child(int c)
        {
            if (!Children.TryGetValue(c, out var child))
            {
                child = new TrieNode();
                Children.Add(c, child);
            }

            return child;
        }
    }

    // ---------------------------------------------------------------- errors

    private static string EscapePointer(string name) => name.Replace("~", "~0", StringComparison.Ordinal).Replace("/", "~1", StringComparison.Ordinal);

    private static string Describe(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.Null => "null",
        _ => e.ValueKind.ToString(),
    };

    private JsonSchemaException Error(string pointer, string? keyword, string detail)
    {
        _offsets ??= JsonPositions.Map(_text);
        string key = keyword is null ? pointer : pointer + "/" + EscapePointer(keyword);
        if (!_offsets.TryGetValue(key, out int offset) && !_offsets.TryGetValue(pointer, out offset))
        {
            offset = 0;
        }

        var (line, column) = TextPosition.LineColumn(_text, offset);
        return new JsonSchemaException(detail, pointer, keyword, line, column);
    }
}

/// <summary>Compact JSON text for literals: only <c>"</c>, <c>\</c> and control characters are escaped; numbers keep their text.</summary>
internal static class JsonLiteral
{
    public static string Write(JsonElement value)
    {
        var sb = new StringBuilder();
        Append(sb, value);
        return sb.ToString();
    }

    public static string String(string s)
    {
        var sb = new StringBuilder();
        AppendString(sb, s);
        return sb.ToString();
    }

    private static void Append(StringBuilder sb, JsonElement value)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.Object:
                sb.Append('{');
                bool first = true;
                foreach (var p in value.EnumerateObject())
                {
                    if (!first)
                    {
                        sb.Append(',');
                    }

                    first = false;
                    AppendString(sb, p.Name);
                    sb.Append(':');
                    Append(sb, p.Value);
                }

                sb.Append('}');
                break;
            case JsonValueKind.Array:
                sb.Append('[');
                int i = 0;
                foreach (var item in value.EnumerateArray())
                {
                    if (i++ > 0)
                    {
                        sb.Append(',');
                    }

                    Append(sb, item);
                }

                sb.Append(']');
                break;
            case JsonValueKind.String:
                AppendString(sb, value.GetString()!);
                break;
            default:
                sb.Append(value.GetRawText());
                break;
        }
    }

    private static void AppendString(StringBuilder sb, string s)
    {
        sb.Append('"');
        foreach (var rune in s.EnumerateRunes())
        {
            sb.Append(RegexTranslator.JsonEscape(rune.Value));
        }

        sb.Append('"');
    }
}

/// <summary>Where each value of a JSON text starts (the property name for object members), by JSON pointer.</summary>
internal static class JsonPositions
{
    public static Dictionary<string, int> Map(string text)
    {
        var map = new Dictionary<string, int>(StringComparer.Ordinal);
        byte[] utf8 = Encoding.UTF8.GetBytes(text);
        var reader = new Utf8JsonReader(utf8, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        var path = new List<string>();
        var arrayIndex = new Stack<int>();
        var containers = new Stack<bool>(); // true: array
        string? pendingName = null;
        int countedBytes = 0, charCount = 0;
        try
        {
            while (reader.Read())
            {
                // Character offset of the token, counted on from the previous token.
                int byteOffset = (int)reader.TokenStartIndex;
                charCount += Encoding.UTF8.GetCharCount(utf8, countedBytes, byteOffset - countedBytes);
                countedBytes = byteOffset;
                int offset = charCount;
                switch (reader.TokenType)
                {
                    case JsonTokenType.PropertyName:
                        pendingName = reader.GetString();
                        map.TryAdd(Pointer(path, pendingName), offset);
                        continue;
                    case JsonTokenType.EndObject:
                    case JsonTokenType.EndArray:
                        if (containers.Pop())
                        {
                            arrayIndex.Pop();
                        }

                        if (path.Count > 0)
                        {
                            path.RemoveAt(path.Count - 1);
                        }

                        continue;
                }

                // A value: its pointer is the parent path plus the pending name or the next array index.
                string? segment = null;
                if (containers.Count > 0)
                {
                    if (containers.Peek())
                    {
                        int index = arrayIndex.Pop();
                        arrayIndex.Push(index + 1);
                        segment = index.ToString(System.Globalization.CultureInfo.InvariantCulture);
                        map.TryAdd(Pointer(path, segment), offset);
                    }
                    else
                    {
                        segment = pendingName;
                    }
                }
                else
                {
                    map.TryAdd("", offset);
                }

                if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray)
                {
                    if (containers.Count > 0)
                    {
                        path.Add(segment!);
                    }

                    containers.Push(reader.TokenType == JsonTokenType.StartArray);
                    if (reader.TokenType == JsonTokenType.StartArray)
                    {
                        arrayIndex.Push(0);
                    }
                }
            }
        }
        catch (JsonException)
        {
            // Positions are a courtesy; a partial map is fine.
        }

        return map;
    }

    private static string Pointer(List<string> path, string? last)
    {
        var sb = new StringBuilder();
        foreach (string p in path)
        {
            sb.Append('/').Append(p.Replace("~", "~0", StringComparison.Ordinal).Replace("/", "~1", StringComparison.Ordinal));
        }

        if (last is not null)
        {
            sb.Append('/').Append(last.Replace("~", "~0", StringComparison.Ordinal).Replace("/", "~1", StringComparison.Ordinal));
        }

        return sb.ToString();
    }
}
