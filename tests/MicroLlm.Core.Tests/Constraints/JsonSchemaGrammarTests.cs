using System.Globalization;
using System.Text.Json;
using MicroLlm.Constraints;

namespace MicroLlm.Tests.Constraints;

public class JsonSchemaGrammarTests
{
    private static IEnumerable<TestCaseData> Examples()
    {
        const string Person = """
            {"type":"object","properties":{"name":{"type":"string","maxLength":5},"age":{"type":"integer","minimum":0,"maximum":150},
             "email":{"type":"string"}},"required":["name"],"additionalProperties":false}
            """;
        yield return new TestCaseData(Person, "{\"name\":\"Ann\",\"age\":42}", true);
        yield return new TestCaseData(Person, "{\"name\": \"Ann\", \"email\": \"a@b\"}", true);
        yield return new TestCaseData(Person, "{\n  \"name\": \"Ann\"\n}", true);
        yield return new TestCaseData(Person, "{\"age\":42}", false);
        yield return new TestCaseData(Person, "{\"name\":\"Annabel\"}", false);
        yield return new TestCaseData(Person, "{\"name\":\"Ann\",\"age\":151}", false);
        yield return new TestCaseData(Person, "{\"name\":\"Ann\",\"x\":1}", false);
        yield return new TestCaseData(Person, "{\"name\":\"Ann\",}", false);

        const string Extra = """{"type":"object","properties":{"a":{"type":"boolean"}},"additionalProperties":{"type":"null"}}""";
        yield return new TestCaseData(Extra, "{\"a\":true,\"b\":null,\"ab\":null}", true);
        yield return new TestCaseData(Extra, "{\"b\":null}", true);
        yield return new TestCaseData(Extra, "{\"a\":null}", false);
        yield return new TestCaseData(Extra, "{\"b\":1}", false);

        const string Tags = """{"type":"array","items":{"enum":["red","green",1,null,{"k":[true]}]},"minItems":1,"maxItems":3}""";
        yield return new TestCaseData(Tags, "[\"red\"]", true);
        yield return new TestCaseData(Tags, "[1, null, {\"k\":[true]}]", true);
        yield return new TestCaseData(Tags, "[]", false);
        yield return new TestCaseData(Tags, "[\"red\",\"red\",\"red\",\"red\"]", false);
        yield return new TestCaseData(Tags, "[\"blue\"]", false);

        const string Tuple = """{"prefixItems":[{"type":"string","format":"date"},{"type":"number"}],"items":false,"minItems":1}""";
        yield return new TestCaseData(Tuple, "[\"2024-02-28\"]", true);
        yield return new TestCaseData(Tuple, "[\"2024-12-31\", -1.5e3]", true);
        yield return new TestCaseData(Tuple, "[\"2024-02-30\"]", false);
        yield return new TestCaseData(Tuple, "[\"2024-02-28\", 1, 2]", false);

        const string Defs = """
            {"$defs":{"node":{"type":"object","properties":{"v":{"type":"integer"},"next":{"anyOf":[{"$ref":"#/$defs/node"},{"type":"null"}]}},"required":["v","next"]}},
             "$ref":"#/$defs/node"}
            """;
        yield return new TestCaseData(Defs, "{\"v\":1,\"next\":{\"v\":2,\"next\":null}}", true);
        yield return new TestCaseData(Defs, "{\"v\":1,\"next\":{\"v\":2}}", false);

        const string Types = """{"type":["string","null","boolean"],"minLength":2}""";
        yield return new TestCaseData(Types, "null", true);
        yield return new TestCaseData(Types, "\"ab\"", true);
        yield return new TestCaseData(Types, "\"a\"", false);
        yield return new TestCaseData(Types, "false", true);
        yield return new TestCaseData(Types, "1", false);

        const string Pattern = """{"type":"string","pattern":"^[A-Z]{2}-\\d{3}$"}""";
        yield return new TestCaseData(Pattern, "\"AB-123\"", true);
        yield return new TestCaseData(Pattern, "\"AB-12\"", false);
        const string Search = """{"type":"string","pattern":"a\"b"}""";
        yield return new TestCaseData(Search, "\"xxa\\\"byy\"", true);
        yield return new TestCaseData(Search, "\"ab\"", false);

        const string Escapes = """{"const":"tab\there \"quoted\" \\ é"}""";
        yield return new TestCaseData(Escapes, "\"tab\\there \\\"quoted\\\" \\\\ é\"", true);

        const string Uuid = """{"type":"string","format":"uuid"}""";
        yield return new TestCaseData(Uuid, "\"123e4567-e89b-12d3-a456-426614174000\"", true);

        const string Any = """{}""";
        yield return new TestCaseData(Any, "[1, {\"a\": \"b\"}, null]", true);
        yield return new TestCaseData(Any, "\"x\\ud800\"", false);

        const string OneOf = """{"oneOf":[{"type":"integer","maximum":-1},{"type":"string","enum":["x"]}]}""";
        yield return new TestCaseData(OneOf, "-3", true);
        yield return new TestCaseData(OneOf, "\"x\"", true);
        yield return new TestCaseData(OneOf, "3", false);

        const string Siblings = """{"type":"object","required":["kind"],"anyOf":[{"properties":{"kind":{"const":"a"},"x":{"type":"integer"}}},{"properties":{"kind":{"const":"b"}}}]}""";
        yield return new TestCaseData(Siblings, "{\"kind\":\"a\",\"x\":1}", true);
        yield return new TestCaseData(Siblings, "{\"kind\":\"b\"}", true);
        yield return new TestCaseData(Siblings, "{\"x\":1}", false);
    }

    [TestCaseSource(nameof(Examples))]
    public void AcceptsExactlyTheGeneratableValidJson(string schema, string json, bool expected)
    {
        var grammar = Grammar.FromJsonSchema(schema);
        Assert.That(grammar.IsMatch(json), Is.EqualTo(expected), grammar.Gbnf);
        if (expected)
        {
            using var s = JsonDocument.Parse(schema);
            using var x = JsonDocument.Parse(json);
            Assert.That(SchemaValidator.Validate(s.RootElement, x.RootElement), Is.Null, "the example itself should be valid");
        }
    }

    [Test]
    public void CompactOptionAllowsNoWhitespace()
    {
        var grammar = Grammar.FromJsonSchema("""{"type":"object","properties":{"a":{"type":"integer"}}}""", new JsonSchemaGrammarOptions { AllowWhitespace = false });
        Assert.That(grammar.IsMatch("{\"a\":1}"), Is.True);
        Assert.That(grammar.IsMatch("{\"a\": 1}"), Is.False);
    }

    [Test]
    public void AdditionalPropertiesByDefaultOption()
    {
        const string Schema = """{"type":"object","properties":{"a":{"type":"integer"}}}""";
        Assert.That(Grammar.FromJsonSchema(Schema).IsMatch("{\"a\":1,\"b\":2}"), Is.False);
        Assert.That(Grammar.FromJsonSchema(Schema, new JsonSchemaGrammarOptions { AdditionalPropertiesByDefault = true }).IsMatch("{\"a\":1,\"b\":[2]}"), Is.True);
    }

    private static IEnumerable<TestCaseData> IntegerRanges()
    {
        yield return new TestCaseData("\"minimum\":0,\"maximum\":150");
        yield return new TestCaseData("\"minimum\":-273,\"maximum\":1000");
        yield return new TestCaseData("\"minimum\":-999,\"maximum\":-10");
        yield return new TestCaseData("\"exclusiveMinimum\":7,\"exclusiveMaximum\":1000");
        yield return new TestCaseData("\"minimum\":1.5,\"maximum\":99.5");
        yield return new TestCaseData("\"minimum\":-5");
        yield return new TestCaseData("\"maximum\":17");
        yield return new TestCaseData("\"minimum\":0,\"exclusiveMinimum\":3,\"maximum\":5e2");
        yield return new TestCaseData("\"minimum\":5,\"exclusiveMinimum\":true");
        yield return new TestCaseData("\"minimum\":101,\"maximum\":109");
    }

    [TestCaseSource(nameof(IntegerRanges))]
    public void IntegerBoundsAreExact(string bounds)
    {
        string schema = "{\"type\":\"integer\"," + bounds + "}";
        var grammar = Grammar.FromJsonSchema(schema);
        using var s = JsonDocument.Parse(schema);
        for (int n = -1100; n <= 1100; n++)
        {
            string text = n.ToString(CultureInfo.InvariantCulture);
            using var x = JsonDocument.Parse(text);
            bool valid = SchemaValidator.Validate(s.RootElement, x.RootElement) is null;
            Assert.That(grammar.IsMatch(text), Is.EqualTo(valid), $"{text} in {bounds}");
        }

        Assert.That(grammar.IsMatch("-0"), Is.False, "no negative zero");
        Assert.That(grammar.IsMatch("007"), Is.False, "no leading zeros");
    }

    private static IEnumerable<TestCaseData> NumberRanges()
    {
        yield return new TestCaseData("\"minimum\":0,\"maximum\":1");
        yield return new TestCaseData("\"minimum\":-1.25,\"maximum\":3.5");
        yield return new TestCaseData("\"exclusiveMinimum\":-1.25,\"exclusiveMaximum\":3.5");
        yield return new TestCaseData("\"minimum\":0.05,\"exclusiveMaximum\":0.3");
        yield return new TestCaseData("\"exclusiveMinimum\":0");
        yield return new TestCaseData("\"maximum\":-0.5");
        yield return new TestCaseData("\"minimum\":-12.34,\"maximum\":-12.3");
        yield return new TestCaseData("\"minimum\":2.5,\"maximum\":2.5");
        yield return new TestCaseData("\"minimum\":-90,\"maximum\":90");
        yield return new TestCaseData("\"exclusiveMinimum\":9.99,\"exclusiveMaximum\":10.01");
    }

    [TestCaseSource(nameof(NumberRanges))]
    public void NumberBoundsAreExactForDecimals(string bounds)
    {
        string schema = "{\"type\":\"number\"," + bounds + "}";
        var grammar = Grammar.FromJsonSchema(schema);
        using var s = JsonDocument.Parse(schema);
        int accepted = 0;
        for (int k = -2000; k <= 2000; k++)
        {
            // k/100 as a canonical decimal, with a trailing zero, and (for whole numbers) as an integer.
            decimal v = k / 100m;
            string canonical = v.ToString("0.##", CultureInfo.InvariantCulture);
            foreach (string text in new[] { canonical, v.ToString("0.000", CultureInfo.InvariantCulture) }.Distinct())
            {
                if (text == "-0" || text.StartsWith("-0.000", StringComparison.Ordinal))
                {
                    continue;
                }

                using var x = JsonDocument.Parse(text);
                bool valid = SchemaValidator.Validate(s.RootElement, x.RootElement) is null;
                Assert.That(grammar.IsMatch(text), Is.EqualTo(valid), $"{text} in {bounds}");
                accepted += valid ? 1 : 0;
            }
        }

        Assert.That(accepted, Is.GreaterThan(0));
    }

    // (schema, JSON pointer, keyword, line, column, words)
    private static IEnumerable<TestCaseData> Errors()
    {
        yield return new TestCaseData("{\"type\":\"object\",\n \"properties\":{\"a\":{\"not\":{}}}}", "/properties/a", "not", 2, 21, "'not' is not supported").SetName("Not");
        yield return new TestCaseData("{\"type\":\"integer\",\"multipleOf\":3}", "", "multipleOf", 1, 19, "'multipleOf'").SetName("MultipleOf");
        yield return new TestCaseData("{\n  \"type\": \"string\",\n  \"format\": \"email\"\n}", "", "format", 3, 3, "format 'email'").SetName("UnknownFormat");
        yield return new TestCaseData("{\"$ref\":\"#/$defs/missing\"}", "", "$ref", 1, 2, "points at nothing").SetName("DanglingRef");
        yield return new TestCaseData("{\"$ref\":\"http://x/y.json\"}", "", "$ref", 1, 2, "Only references inside").SetName("RemoteRef");
        yield return new TestCaseData("{\"type\":\"strng\"}", "", "type", 1, 2, "Unknown type 'strng'").SetName("UnknownType");
        yield return new TestCaseData("{\"type\":\"string\",\"minLength\":5,\"maxLength\":2}", "", "minLength", 1, 18, "greater than 'maxLength'").SetName("Lengths");
        yield return new TestCaseData("{\"type\":\"integer\",\"minimum\":5,\"maximum\":4}", "", "minimum", 1, 19, "No integer").SetName("EmptyIntegerRange");
        yield return new TestCaseData("{\"type\":\"number\",\"exclusiveMinimum\":1,\"maximum\":1}", "", "minimum", 1, 1, "No number").SetName("EmptyNumberRange");
        yield return new TestCaseData("{\"items\":{\"pattern\":\"(a)\\\\1\"}}", "/items", "pattern", 1, 11, "Backreferences").SetName("PatternBackreference");
        yield return new TestCaseData("{\"allOf\":[{},{}]}", "", "allOf", 1, 2, "more than one").SetName("AllOf");
        yield return new TestCaseData("{\"type\":\"array\",\"uniqueItems\":true}", "", "uniqueItems", 1, 17, "uniqueItems").SetName("UniqueItems");
        yield return new TestCaseData("{\"type\":\"object\",\"properties\":{},\"required\":[\"x\"],\"additionalProperties\":false}", "", "required", 1, 34, "'x' is not under 'properties'").SetName("RequiredUnsatisfiable");
        yield return new TestCaseData("{\"enum\":[1,2],\"minimum\":2}", "", "minimum", 1, 15, "beside 'enum'").SetName("EnumWithOthers");
        yield return new TestCaseData("{\"type\":\"string\",\"enum\":[1,2]}", "", "enum", 1, 18, "No value of 'enum'").SetName("EnumWrongType");
        yield return new TestCaseData("false", "", null, 1, 1, "accepts no value").SetName("FalseSchema");
        yield return new TestCaseData("{\"type\": \"object\",", "", null, 1, 18, "not valid JSON").SetName("BadJson");
        yield return new TestCaseData("{\"type\":\"array\",\"prefixItems\":[{\"type\":\"integer\"}],\"items\":false,\"minItems\":2}", "", "minItems", 1, 66, "more items").SetName("MinItemsBeyondTuple");
    }

    [TestCaseSource(nameof(Errors))]
    public void ErrorsNameTheKeywordAndWhere(string schema, string jsonPointer, string? keyword, int line, int column, string words)
    {
        var e = Assert.Throws<JsonSchemaException>(() => Grammar.FromJsonSchema(schema))!;
        Assert.Multiple(() =>
        {
            Assert.That(e.Message, Does.Contain(words));
            Assert.That(e.JsonPointer, Is.EqualTo(jsonPointer), e.Message);
            Assert.That(e.Keyword, Is.EqualTo(keyword), e.Message);
            Assert.That((e.Line, e.Column), Is.EqualTo((line, column)), e.Message);
        });
    }

    [Test]
    public void TheGrammarTextIsReadable()
    {
        string gbnf = JsonSchemaGrammar.ToGbnf("""{"type":"object","properties":{"ok":{"type":"boolean"}},"required":["ok"]}""", new JsonSchemaGrammarOptions { AllowWhitespace = false });
        Assert.That(gbnf, Is.EqualTo("root ::= root-value\nboolean ::= \"true\" | \"false\"\nroot-value ::= \"{\" \"\\\"ok\\\"\" \":\" boolean \"}\"\n"));
    }

    [Test]
    public void JsonElementOverloadCompilesTheSameGrammar()
    {
        using var schema = JsonDocument.Parse("""{"type":"integer","maximum":3}""");
        Assert.That(Grammar.FromJsonSchema(schema.RootElement).Gbnf, Is.EqualTo(Grammar.FromJsonSchema("""{"type":"integer","maximum":3}""").Gbnf));
    }
}
