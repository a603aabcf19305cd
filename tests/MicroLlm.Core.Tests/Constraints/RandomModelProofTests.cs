using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using MicroLlm.Constraints;

namespace MicroLlm.Tests.Constraints;

/// <summary>
/// The proof of issue 4: a random model (random logits every step) over the 32,000-token llama-spm vocabulary, constrained
/// by a grammar or JSON Schema, gives outputs that all parse and validate; 100 seeds each.
/// </summary>
public class RandomModelProofTests
{
    private const int Seeds = 100;
    private static readonly JsonSerializerOptions Printable = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    // (name, grammar, token limit, generations that must finish within it)
    private static IEnumerable<TestCaseData> Grammars()
    {
        yield return new TestCaseData("json", ReferenceGrammars.BoundedJson, 96, 75);
        yield return new TestCaseData("arithmetic", ReferenceGrammars.BoundedArithmetic, 96, 75);
        yield return new TestCaseData("list", ReferenceGrammars.BoundedList, 64, 75);
        yield return new TestCaseData("chess", ReferenceGrammars.BoundedChess, 96, 75);
        yield return new TestCaseData("bangla", ReferenceGrammars.Bangla, 128, 75);

        // The unbounded originals: a random model rarely chooses to stop, so fewer finish; every one that does must match.
        yield return new TestCaseData("json-unbounded", ReferenceGrammars.Json, 128, 5);
        yield return new TestCaseData("chess-unbounded", ReferenceGrammars.Chess, 128, 5);
    }

    [TestCaseSource(nameof(Grammars))]
    public void GrammarOutputsAllMatch(string name, string gbnf, int maxTokens, int mustFinish)
    {
        var vocabulary = TestVocabularies.Llama();
        var grammar = Grammar.Parse(gbnf);
        Func<string, bool> oracle = name switch
        {
            "json" or "json-unbounded" => IsJsonObject,
            "arithmetic" => ArithmeticOracle.IsMatch,
            "list" => ListPattern().IsMatch,
            "chess" => ChessPattern(2).IsMatch,
            "chess-unbounded" => ChessPattern(null).IsMatch,
            _ => BanglaPattern().IsMatch,
        };
        Run(name, grammar, vocabulary, maxTokens, mustFinish, text => oracle(text) ? null : "does not match the grammar's independent check");
    }

    private static IEnumerable<TestCaseData> Schemas()
    {
        yield return new TestCaseData("person", """
            {"type":"object","properties":{
              "name":{"type":"string","maxLength":8},
              "age":{"type":"integer","minimum":0,"maximum":120},
              "email":{"type":"string","pattern":"^[a-z]{1,5}@[a-z]{1,5}\\.(com|org)$"},
              "tags":{"type":"array","items":{"enum":["a","b","c"]},"maxItems":3}},
             "required":["name","age"],"additionalProperties":false}
            """, 96, 75);
        yield return new TestCaseData("nested", """
            {"type":"object","properties":{
              "point":{"type":"object","properties":{"x":{"type":"number","minimum":-1.5,"maximum":2.25},"y":{"type":"number","exclusiveMinimum":0,"exclusiveMaximum":1}},"required":["x","y"]},
              "ok":{"type":"boolean"},
              "kind":{"enum":["circle","square",null,7]}},
             "required":["point","kind"]}
            """, 96, 75);
        yield return new TestCaseData("array-of-any-of", """
            {"type":"array","items":{"anyOf":[{"type":"integer","minimum":-50,"maximum":50},{"type":"string","maxLength":3},{"type":"null"}]},"minItems":1,"maxItems":4}
            """, 96, 75);
        yield return new TestCaseData("recursive", """
            {"$defs":{"node":{"type":"object","properties":{"v":{"type":"integer","minimum":0,"maximum":9},"kids":{"type":"array","items":{"$ref":"#/$defs/node"},"maxItems":2}},"required":["v"],"additionalProperties":false}},
             "$ref":"#/$defs/node"}
            """, 128, 75);
        yield return new TestCaseData("formats", """
            {"type":"object","properties":{"id":{"type":"string","format":"uuid"},"when":{"type":"string","format":"date-time"},"level":{"type":"string","enum":["low","high"]},"score":{"type":"number","minimum":0,"maximum":1}},"required":["id","when","level"]}
            """, 128, 75);
        yield return new TestCaseData("tuple-and-extras", """
            {"type":"object","properties":{"pair":{"prefixItems":[{"type":"string","maxLength":2},{"type":"integer","exclusiveMaximum":0}],"items":false,"minItems":2},"note":{"type":["string","null"],"maxLength":4}},"required":["pair"],
             "additionalProperties":{"type":"boolean"}}
            """, 128, 30); // extra property names are free text, which a random model rarely closes
    }

    [TestCaseSource(nameof(Schemas))]
    public void SchemaOutputsAllParseAndValidate(string name, string schemaJson, int maxTokens, int mustFinish)
    {
        var vocabulary = TestVocabularies.Llama();
        var grammar = Grammar.FromJsonSchema(schemaJson);
        using var schema = JsonDocument.Parse(schemaJson);
        Run(name, grammar, vocabulary, maxTokens, mustFinish, text =>
        {
            try
            {
                using var document = JsonDocument.Parse(text);
                return SchemaValidator.Validate(schema.RootElement, document.RootElement);
            }
            catch (JsonException e)
            {
                return "not JSON: " + e.Message;
            }
        });
    }

    private static void Run(string name, Grammar grammar, ConstraintVocabulary vocabulary, int maxTokens, int mustFinish, Func<string, string?> check)
    {
        var sw = Stopwatch.StartNew();
        var results = new (string Text, bool Completed)[Seeds];
        // Two workers, each with its own constraint and model (neither is thread-safe).
        Parallel.For(0, 2, worker =>
        {
            var constraint = TokenConstraint.Create(grammar, vocabulary);
            var model = new RandomModel(vocabulary);
            for (int seed = worker; seed < Seeds; seed += 2)
            {
                results[seed] = model.Generate(constraint, seed, maxTokens);
            }
        });

        int completed = 0;
        for (int seed = 0; seed < Seeds; seed++)
        {
            var (text, done) = results[seed];
            if (!done)
            {
                continue;
            }

            completed++;
            Assert.That(grammar.IsMatch(text), Is.True, $"seed {seed}: {text}");
            string? problem = check(text);
            Assert.That(problem, Is.Null, $"{name}, seed {seed}: {text}");
        }

        string example = results.FirstOrDefault(r => r.Completed).Text ?? "";
        TestContext.Out.WriteLine($"{name}: {completed}/{Seeds} completed within {maxTokens} tokens, all valid; {sw.Elapsed.TotalSeconds:F1} s. Example: {JsonSerializer.Serialize(example, Printable)}");
        Assert.That(completed, Is.GreaterThanOrEqualTo(mustFinish), "enough generations should finish, or the proof proves little");
    }

    private static bool IsJsonObject(string text)
    {
        try
        {
            using var document = JsonDocument.Parse(text);
            return document.RootElement.ValueKind == JsonValueKind.Object;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static Regex ListPattern() => new("^(- [^\\r\\n\\x0b\\x0c\\x85\\u2028\\u2029]{1,8}\\n){1,3}$");

    private static Regex ChessPattern(int? maxMoreLines)
    {
        const string Move = "(([a-h]x)?[a-h][1-8](=[NBKQR])?|[NBKQR][a-h]?[1-8]?x?[a-h][1-8]|O-O(-O)?)[+#]?";
        string more = maxMoreLines is null ? "+" : $"{{1,{maxMoreLines}}}";
        return new Regex($"^1\\. {Move} {Move}\\n([1-9][0-9]?\\. {Move} {Move}\\n){more}$");
    }

    private static Regex BanglaPattern()
    {
        const string Letter = "[\\u0981-\\u0983\\u0985-\\u09B9\\u09BC-\\u09CD\\u09E6-\\u09EF]";
        return new Regex($"^{Letter}{{1,6}}( {Letter}{{1,6}}){{0,3}}\\u0964$");
    }
}

/// <summary>An independent recursive-descent check of <see cref="ReferenceGrammars.BoundedArithmetic"/>.</summary>
internal static class ArithmeticOracle
{
    public static bool IsMatch(string text)
    {
        // The grammar is ambiguous in its whitespace, so the check tries every way (the inputs are short).
        return Lines(text, 0, 0).Contains(text.Length);
    }

    private static IEnumerable<int> Lines(string s, int pos, int count)
    {
        if (count is 1 or 2)
        {
            yield return pos;
        }

        if (count == 2)
        {
            yield break;
        }

        foreach (int afterExpr in Expr(s, pos))
        {
            if (afterExpr < s.Length && s[afterExpr] == '=')
            {
                foreach (int afterWs in Ws(s, afterExpr + 1))
                {
                    foreach (int afterTerm in Term(s, afterWs))
                    {
                        if (afterTerm < s.Length && s[afterTerm] == '\n')
                        {
                            foreach (int end in Lines(s, afterTerm + 1, count + 1))
                            {
                                yield return end;
                            }
                        }
                    }
                }
            }
        }
    }

    private static IEnumerable<int> Expr(string s, int pos) => ExprTail(s, Term(s, pos), 0);

    private static IEnumerable<int> ExprTail(string s, IEnumerable<int> starts, int ops)
    {
        foreach (int p in starts)
        {
            yield return p;
            if (ops < 2 && p < s.Length && "-+*/".Contains(s[p]))
            {
                foreach (int q in ExprTail(s, Term(s, p + 1), ops + 1))
                {
                    yield return q;
                }
            }
        }
    }

    private static IEnumerable<int> Term(string s, int pos)
    {
        if (pos >= s.Length)
        {
            yield break;
        }

        char c = s[pos];
        if (c is >= 'a' and <= 'z')
        {
            int end = pos + 1;
            for (int k = 0; k < 3 && end < s.Length && (char.IsAsciiLetterLower(s[end]) || char.IsAsciiDigit(s[end]) || s[end] == '_'); k++)
            {
                end++;
                foreach (int w in Ws(s, end))
                {
                    yield return w;
                }
            }

            foreach (int w in Ws(s, pos + 1))
            {
                yield return w;
            }
        }
        else if (char.IsAsciiDigit(c))
        {
            for (int end = pos + 1; end <= Math.Min(s.Length, pos + 3) && char.IsAsciiDigit(s[end - 1]); end++)
            {
                foreach (int w in Ws(s, end))
                {
                    yield return w;
                }
            }
        }
        else if (c == '(')
        {
            foreach (int afterWs in Ws(s, pos + 1))
            {
                foreach (int afterExpr in Expr(s, afterWs))
                {
                    if (afterExpr < s.Length && s[afterExpr] == ')')
                    {
                        foreach (int w in Ws(s, afterExpr + 1))
                        {
                            yield return w;
                        }
                    }
                }
            }
        }
    }

    private static IEnumerable<int> Ws(string s, int pos)
    {
        yield return pos;
        for (int k = 0; k < 2 && pos + k < s.Length && s[pos + k] is ' ' or '\t'; k++)
        {
            yield return pos + k + 1;
        }
    }
}
