using System.Text.Json;
using System.Text.Json.Nodes;
using FsCheck;
using FsCheck.Fluent;
using MicroLlm.Constraints;

namespace MicroLlm.Tests.Constraints;

/// <summary>
/// Property: for any schema in the supported subset, every output a random model finishes under the schema's grammar
/// parses as JSON and validates against the schema.
/// </summary>
public class RandomSchemaPropertyTests
{
    private static readonly string[] Names = ["id", "name", "a\"b", "größe", "নাম", "x", "list", "kind"];
    private static readonly string[] Patterns = ["^[a-c]{1,3}$", "^\\d{2}(-\\d)?$", "^(yes|no)$", "^[A-Z][a-z]{0,3}!?$", "^\\w\\s\\w$"];

    private static Gen<JsonNode> Leaf() => Gen.OneOf(
        Gen.Constant<JsonNode>(new JsonObject { ["type"] = "boolean" }),
        Gen.Constant<JsonNode>(new JsonObject { ["type"] = "null" }),
        Integer(),
        Number(),
        String(),
        from values in Gen.NonEmptyListOf(Gen.OneOf(
            Gen.Elements("red", "green", "ক", "q\"uote", "").Select(s => (JsonNode)JsonValue.Create(s)),
            Gen.Choose(-20, 20).Select(i => (JsonNode)JsonValue.Create(i)),
            Gen.Constant<JsonNode>(JsonValue.Create(2.5)),
            Gen.Constant<JsonNode>(new JsonObject { ["k"] = new JsonArray(1, "v") })))
        select (JsonNode)new JsonObject { ["enum"] = new JsonArray([.. values.Take(4).Select(v => v.DeepClone())]) });

    private static Gen<JsonNode> Integer() =>
        from lo in Gen.Choose(-1000, 1000)
        from width in Gen.Choose(0, 500)
        from shape in Gen.Choose(0, 5)
        select (JsonNode)(shape switch
        {
            0 => new JsonObject { ["type"] = "integer" },
            1 => new JsonObject { ["type"] = "integer", ["minimum"] = lo, ["maximum"] = lo + width },
            2 => new JsonObject { ["type"] = "integer", ["exclusiveMinimum"] = lo, ["exclusiveMaximum"] = lo + width + 2 },
            3 => new JsonObject { ["type"] = "integer", ["minimum"] = lo },
            4 => new JsonObject { ["type"] = "integer", ["maximum"] = lo },
            _ => new JsonObject { ["type"] = "integer", ["minimum"] = lo / 10.0, ["maximum"] = (lo / 10.0) + width + 1 },
        });

    private static Gen<JsonNode> Number() =>
        from lo in Gen.Choose(-5000, 5000)
        from width in Gen.Choose(1, 3000)
        from shape in Gen.Choose(0, 4)
        select (JsonNode)(shape switch
        {
            0 => new JsonObject { ["type"] = "number" },
            1 => new JsonObject { ["type"] = "number", ["minimum"] = lo / 100m, ["maximum"] = (lo + width) / 100m },
            2 => new JsonObject { ["type"] = "number", ["exclusiveMinimum"] = lo / 100m, ["exclusiveMaximum"] = (lo + width) / 100m },
            3 => new JsonObject { ["type"] = "number", ["minimum"] = lo / 1000m },
            _ => new JsonObject { ["type"] = "number", ["exclusiveMaximum"] = lo / 10m },
        });

    private static Gen<JsonNode> String() =>
        from max in Gen.Choose(0, 6)
        from min in Gen.Choose(0, 6)
        from pattern in Gen.Elements(Patterns)
        from format in Gen.Elements("uuid", "date", "time", "date-time")
        from shape in Gen.Choose(0, 4)
        select (JsonNode)(shape switch
        {
            0 => new JsonObject { ["type"] = "string", ["maxLength"] = max },
            1 => new JsonObject { ["type"] = "string", ["minLength"] = Math.Min(min, max), ["maxLength"] = max },
            2 => new JsonObject { ["type"] = "string", ["pattern"] = pattern },
            3 => new JsonObject { ["type"] = "string", ["format"] = format },
            _ => new JsonObject { ["type"] = new JsonArray("string", "null"), ["maxLength"] = max },
        });

    // Nodes are cloned wherever they are put into a parent: a generated node may be shared between samples.
    private static Gen<JsonNode> Schema(int depth) => (depth <= 0 ? Leaf() : Composite(depth)).Select(n => n.DeepClone());

    private static Gen<JsonNode> Composite(int depth) => depth <= 0
        ? Leaf()
        : Gen.Frequency(
            (3, Leaf()),
            (2, Object(depth - 1)),
            (2, Array(depth - 1)),
            (1, from branches in Gen.ListOf(Schema(depth - 1), 2).Select(l => l.ToList())
                select (JsonNode)new JsonObject { ["anyOf"] = new JsonArray([.. branches.Select(b => b.DeepClone())]) }),
            // oneOf needs branches no value satisfies twice (the compiler treats it like anyOf).
            (1, from a in Integer() from b in String().Where(s => s["type"] is JsonValue)
                select (JsonNode)new JsonObject { ["oneOf"] = new JsonArray(a.DeepClone(), b.DeepClone(), new JsonObject { ["type"] = "null" }) }));

    private static Gen<JsonNode> Object(int depth) =>
        from count in Gen.Choose(0, 3)
        from names in Gen.Shuffle(Names).Select(n => n.Take(count).ToArray())
        from schemas in Gen.ListOf(Schema(depth), count).Select(l => l.ToList())
        from requiredMask in Gen.Choose(0, 7)
        from extra in Gen.Frequency((6, Gen.Constant(0)), (3, Gen.Constant(1)), (1, Gen.Constant(2)))
        select (JsonNode)BuildObject(names, schemas, requiredMask, extra);

    private static JsonObject BuildObject(string[] names, List<JsonNode> schemas, int requiredMask, int extra)
    {
        var properties = new JsonObject();
        var required = new JsonArray();
        for (int i = 0; i < names.Length; i++)
        {
            properties[names[i]] = schemas[i].DeepClone();
            if ((requiredMask & (1 << i)) != 0)
            {
                required.Add(names[i]);
            }
        }

        var o = new JsonObject { ["type"] = "object", ["properties"] = properties, ["required"] = required };
        o["additionalProperties"] = extra switch { 0 => false, 1 => new JsonObject { ["type"] = "integer", ["minimum"] = 0, ["maximum"] = 9 }, _ => true };
        return o;
    }

    private static Gen<JsonNode> Array(int depth) =>
        from items in Schema(depth)
        from min in Gen.Choose(0, 2)
        from extra in Gen.Choose(0, 2)
        from tuple in Gen.Elements(false, false, true)
        from first in Leaf()
        select (JsonNode)(tuple
            ? new JsonObject { ["type"] = "array", ["prefixItems"] = new JsonArray(first.DeepClone()), ["items"] = items.DeepClone(), ["minItems"] = min, ["maxItems"] = min + extra }
            : new JsonObject { ["type"] = "array", ["items"] = items.DeepClone(), ["minItems"] = min, ["maxItems"] = min + extra });

    /// <summary>Wraps some schemas in $defs and a $ref, to exercise references.</summary>
    private static Gen<string> SchemaText() =>
        from schema in Schema(2)
        from viaRef in Gen.Elements(false, true)
        select viaRef
            ? new JsonObject { ["$defs"] = new JsonObject { ["main"] = schema.DeepClone() }, ["$ref"] = "#/$defs/main" }.ToJsonString()
            : schema.ToJsonString();

    [FsCheck.NUnit.Property(MaxTest = 200, QuietOnSuccess = true)]
    public Property EveryFinishedOutputValidates()
    {
        var vocabulary = TestVocabularies.Llama();
        var model = new RandomModel(vocabulary);
        return Prop.ForAll(SchemaText().ToArbitrary(), schemaText =>
        {
            var grammar = Grammar.FromJsonSchema(schemaText);
            var constraint = TokenConstraint.Create(grammar, vocabulary);
            using var schema = JsonDocument.Parse(schemaText);
            for (int seed = 0; seed < 3; seed++)
            {
                var (text, completed) = model.Generate(constraint, seed, maxTokens: 64);
                if (!completed)
                {
                    continue;
                }

                using var document = JsonDocument.Parse(text);
                string? problem = SchemaValidator.Validate(schema.RootElement, document.RootElement);
                if (problem is not null)
                {
                    throw new AssertionException($"{problem}\nschema: {schemaText}\noutput: {text}");
                }
            }
        });
    }

    // Found by the property above: ECMAScript's \s includes U+FEFF, .NET's does not; the validator reads the pattern as ECMAScript.
    [TestCase("^\\w\\s\\w$", "_\uFEFFq", true)]
    [TestCase("^\\w\\s\\w$", "a\u00A0b", true)]
    [TestCase("^\\w$", "\u0995", false)]
    [TestCase("^\\W$", "\u0995", true)]
    [TestCase("^\\d$", "\u09E9", false)]
    [TestCase("^[\\d-]+$", "1-2", true)]
    public void TheValidatorReadsPatternsAsEcmaScript(string pattern, string text, bool matches)
    {
        using var schema = JsonDocument.Parse(new JsonObject { ["type"] = "string", ["pattern"] = pattern }.ToJsonString());
        using var value = JsonDocument.Parse(JsonValue.Create(text)!.ToJsonString());
        Assert.That(SchemaValidator.Validate(schema.RootElement, value.RootElement) is null, Is.EqualTo(matches));
    }
}
