using System.Diagnostics;
using System.Text;
using MicroLlm.Constraints;

namespace MicroLlm.Tests.Constraints;

/// <summary>Grammars, patterns and schemas are untrusted input: any text compiles or fails with the compile error type, fast.</summary>
public class CompilerRobustnessTests
{
    private const string Alphabet = "\"\\[]()|*+?{},:=-^.#\n az09\u00e9\u0995xuU";

    private static string Mutate(string text, Random rng)
    {
        var sb = new StringBuilder(text);
        int edits = rng.Next(1, 4);
        for (int e = 0; e < edits && sb.Length > 0; e++)
        {
            int pos = rng.Next(sb.Length);
            switch (rng.Next(3))
            {
                case 0: sb.Remove(pos, 1); break;
                case 1: sb.Insert(pos, Alphabet[rng.Next(Alphabet.Length)]); break;
                default: sb[pos] = Alphabet[rng.Next(Alphabet.Length)]; break;
            }
        }

        return sb.ToString();
    }

    [Test]
    public void MutatedGrammarsCompileOrThrowGrammarException()
    {
        var rng = new Random(11);
        string[] sources = [ReferenceGrammars.Json, ReferenceGrammars.Arithmetic, ReferenceGrammars.Chess, ReferenceGrammars.Bangla, ReferenceGrammars.List];
        int rejected = 0;
        for (int i = 0; i < 3000; i++)
        {
            string text = Mutate(sources[i % sources.Length], rng);
            try
            {
                var grammar = Grammar.Parse(text);
                grammar.IsMatch("{\"a\": 1}");
            }
            catch (GrammarException e)
            {
                rejected++;
                Assert.That(e.Line, Is.GreaterThanOrEqualTo(1));
                Assert.That(e.Column, Is.GreaterThanOrEqualTo(1));
            }
        }

        Assert.That(rejected, Is.InRange(300, 2900));
    }

    [Test]
    public void MutatedPatternsCompileOrThrowGrammarException()
    {
        var rng = new Random(12);
        string[] sources = ["^[a-z]+@[a-z]{2,5}\\.(com|org)$", "(?:\\d{3}-)?\\d{4}", "[^\\s\"]+|\\(x\\)*?"];
        for (int i = 0; i < 3000; i++)
        {
            string pattern = Mutate(sources[i % sources.Length], rng);
            try
            {
                Grammar.FromRegex(pattern).IsMatch("abc@de.com");
            }
            catch (GrammarException e)
            {
                Assert.That(e.Column, Is.InRange(1, pattern.Length + 1), e.Message);
            }
        }
    }

    [Test]
    public void MutatedSchemasCompileOrThrowJsonSchemaException()
    {
        var rng = new Random(13);
        const string Source = """{"type":"object","properties":{"a":{"type":"integer","minimum":-5,"maximum":12},"b":{"type":"array","items":{"enum":["x",1]},"maxItems":2},"c":{"$ref":"#/$defs/c"}},"required":["a"],"$defs":{"c":{"type":"string","pattern":"^[a-c]+$"}}}""";
        int compiled = 0;
        for (int i = 0; i < 3000; i++)
        {
            string schema = Mutate(Source, rng);
            try
            {
                Grammar.FromJsonSchema(schema);
                compiled++;
            }
            catch (JsonSchemaException e)
            {
                Assert.That(e.Line, Is.GreaterThanOrEqualTo(1), e.Message);
            }
        }

        Assert.That(compiled, Is.GreaterThan(30));
    }

    [Test]
    public void DeepNestingIsRejectedNotAStackOverflow()
    {
        string deep = "root ::= " + new string('(', 5000) + "\"a\"" + new string(')', 5000);
        Assert.That(() => Grammar.Parse(deep), Throws.TypeOf<GrammarException>().With.Message.Contains("nested"));
        Assert.That(() => Grammar.FromRegex(new string('(', 5000) + "a" + new string(')', 5000)), Throws.TypeOf<GrammarException>().With.Message.Contains("nested"));
        string refs = "{\"$defs\":{" + string.Join(",", Enumerable.Range(0, 2000).Select(i => $"\"d{i}\":{{\"$ref\":\"#/$defs/d{i + 1}\"}}")) + ",\"d2000\":{\"type\":\"null\"}},\"$ref\":\"#/$defs/d0\"}";
        Assert.That(() => Grammar.FromJsonSchema(refs), Throws.TypeOf<JsonSchemaException>().With.Message.Contains("nests"));
    }

    [Test]
    public void LongRuleChainsCompileInLinearTime()
    {
        // Each rule refers to the next one, defined later: a fixpoint that sweeps in file order would be quadratic.
        const int N = 20_000;
        var sb = new StringBuilder("root ::= r0\n");
        for (int i = 0; i < N; i++)
        {
            sb.Append($"r{i} ::= \"x\" r{i + 1} | \"y\"\n");
        }

        sb.Append($"r{N} ::= \"z\"\n");
        var sw = Stopwatch.StartNew();
        var grammar = Grammar.Parse(sb.ToString());
        Assert.That(grammar.IsMatch("xxxy"), Is.True);
        Assert.That(sw.Elapsed.TotalSeconds, Is.LessThan(5));
    }

    [Test]
    public void LargeRepetitionBoundsCompile()
    {
        var grammar = Grammar.FromJsonSchema("""{"type":"string","maxLength":20000}""");
        Assert.That(grammar.IsMatch("\"" + new string('a', 20000) + "\""), Is.True);
        Assert.That(grammar.IsMatch("\"" + new string('a', 20001) + "\""), Is.False);
    }
}
