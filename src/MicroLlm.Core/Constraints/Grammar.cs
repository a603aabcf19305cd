using System.Text;
using System.Text.Json;

namespace MicroLlm.Constraints;

/// <summary>
/// A compiled grammar in GBNF, the format of the reference runtime (llama.cpp): rules <c>name ::= ...</c> with
/// alternation <c>|</c>, grouping <c>( )</c>, repetition <c>* + ? {m} {m,} {m,n}</c>, string literals, character classes
/// (<c>[a-z]</c>, <c>[^"\\]</c>, escapes <c>\xHH \uHHHH \UHHHHHHHH \t \r \n</c>), <c>.</c> (any character), rule references and
/// <c>#</c> comments; generation starts at the rule <c>root</c>. Also made from a JSON Schema or a regular expression.
/// Immutable and thread-safe; share one grammar among many <see cref="TokenConstraint"/>s.
/// </summary>
public sealed class Grammar
{
    private Grammar(string gbnf, GrammarProgram program)
    {
        Gbnf = gbnf;
        Program = program;
    }

    /// <summary>The grammar's GBNF text (generated for JSON Schemas and regular expressions).</summary>
    public string Gbnf { get; }

    internal GrammarProgram Program { get; }

    /// <summary>Compiles a GBNF grammar.</summary>
    /// <param name="gbnf">The grammar text; its start rule is <c>root</c>.</param>
    /// <returns>The grammar.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="gbnf"/> is null.</exception>
    /// <exception cref="GrammarException">
    /// The text is not valid GBNF, a rule is used but not defined, there is no <c>root</c>, a rule can never finish, or a rule is
    /// left-recursive. The message says what to fix; <see cref="GrammarException.Line"/> and <see cref="GrammarException.Column"/> say where.
    /// </exception>
    public static Grammar Parse(string gbnf)
    {
        ArgumentNullException.ThrowIfNull(gbnf);
        var symbolic = GbnfParser.Parse(gbnf);
        return new Grammar(gbnf, GrammarCompiler.Compile(symbolic, gbnf));
    }

    /// <summary>Compiles a JSON Schema to a grammar whose strings are exactly JSON texts the schema accepts (see <see cref="JsonSchemaGrammar"/>).</summary>
    /// <param name="schemaJson">The schema as JSON text.</param>
    /// <param name="options">How to compile it; null means the defaults.</param>
    /// <returns>The grammar.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="schemaJson"/> is null.</exception>
    /// <exception cref="JsonSchemaException">The schema is not valid JSON, is malformed, or uses an unsupported keyword; the message names the keyword and its JSON pointer.</exception>
    public static Grammar FromJsonSchema(string schemaJson, JsonSchemaGrammarOptions? options = null) =>
        Parse(JsonSchemaGrammar.ToGbnf(schemaJson, options));

    /// <summary>Compiles a JSON Schema given as a parsed element (for example <c>ChatResponseFormat.ForJsonSchema</c>'s).</summary>
    /// <param name="schema">The schema.</param>
    /// <param name="options">How to compile it; null means the defaults.</param>
    /// <returns>The grammar.</returns>
    /// <exception cref="JsonSchemaException">The schema is malformed or uses an unsupported keyword.</exception>
    public static Grammar FromJsonSchema(JsonElement schema, JsonSchemaGrammarOptions? options = null) =>
        Parse(JsonSchemaGrammar.ToGbnf(schema, options));

    /// <summary>Compiles a regular expression to a grammar whose strings are those the whole expression matches (see <see cref="RegexGrammar"/>).</summary>
    /// <param name="pattern">The regular expression.</param>
    /// <returns>The grammar.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="pattern"/> is null.</exception>
    /// <exception cref="GrammarException">The expression is malformed or uses a feature a grammar cannot express (backreferences, lookaround); the column points at it.</exception>
    public static Grammar FromRegex(string pattern) => Parse(RegexGrammar.ToGbnf(pattern));

    /// <summary>
    /// Writes <paramref name="text"/> as a GBNF string literal that matches exactly that text (quotes, backslashes,
    /// control and invisible characters escaped), for building grammars from data such as names or ids.
    /// </summary>
    /// <param name="text">The text.</param>
    /// <returns>The literal, with its quotes.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="text"/> is null.</exception>
    public static string QuoteLiteral(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return GbnfText.Literal(text);
    }

    /// <summary>Whether <paramref name="text"/> is a complete string of the grammar.</summary>
    /// <param name="text">The text.</param>
    /// <returns><see langword="true"/> if the grammar matches the whole text.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="text"/> is null.</exception>
    public bool IsMatch(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return IsMatch(Encoding.UTF8.GetBytes(text));
    }

    /// <summary>Whether <paramref name="utf8"/> is a complete string of the grammar.</summary>
    /// <param name="utf8">The text's UTF-8 bytes.</param>
    /// <returns><see langword="true"/> if the grammar matches all the bytes.</returns>
    public bool IsMatch(ReadOnlySpan<byte> utf8)
    {
        var machine = new GrammarMachine(Program);
        int state = machine.Run(machine.Initial, utf8);
        return state != GrammarMachine.Dead && machine.IsAccepting(state);
    }

    /// <summary>The grammar's GBNF text.</summary>
    /// <returns><see cref="Gbnf"/>.</returns>
    public override string ToString() => Gbnf;
}
