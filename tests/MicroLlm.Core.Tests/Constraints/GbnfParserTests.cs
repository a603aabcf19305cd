using MicroLlm.Constraints;

namespace MicroLlm.Tests.Constraints;

public class GbnfParserTests
{
    [TestCase(ReferenceGrammars.Json)]
    [TestCase(ReferenceGrammars.BoundedJson)]
    [TestCase(ReferenceGrammars.Arithmetic)]
    [TestCase(ReferenceGrammars.BoundedArithmetic)]
    [TestCase(ReferenceGrammars.List)]
    [TestCase(ReferenceGrammars.BoundedList)]
    [TestCase(ReferenceGrammars.Chess)]
    [TestCase(ReferenceGrammars.BoundedChess)]
    [TestCase(ReferenceGrammars.Bangla)]
    public void ExampleGrammarsCompile(string gbnf)
    {
        var grammar = Grammar.Parse(gbnf);
        Assert.That(grammar.Gbnf, Is.EqualTo(gbnf));
    }

    [TestCase("{\"a\": [1, 2.5e3, true, null, \"x\\n\\u00e9\"], \"b\": {}}", true)]
    [TestCase("{\n  \"key\": \"value\"\n}", true)]
    [TestCase("{}", true)]
    [TestCase("{\"a\": }", false)]
    [TestCase("[1]", false)]
    [TestCase("{\"a\": 01}", false)]
    [TestCase("{\"a\": \"\\x\"}", false)]
    [TestCase("{\"ক\": \"বাংলা\"}", true)]
    public void JsonGrammarMatches(string text, bool expected) =>
        Assert.That(Grammar.Parse(ReferenceGrammars.Json).IsMatch(text), Is.EqualTo(expected));

    [TestCase("x = 1\n", true)]
    [TestCase("(a+b)*c=d\n1=2\n", true)]
    [TestCase("x = \n", false)]
    [TestCase("x = y", false)]
    public void ArithmeticGrammarMatches(string text, bool expected) =>
        Assert.That(Grammar.Parse(ReferenceGrammars.Arithmetic).IsMatch(text), Is.EqualTo(expected));

    [TestCase("1. e4 e5\n2. Nf3 Nc6\n", true)]
    [TestCase("1. O-O-O exd8=Q#\n12. Rxa1+ h1\n", true)]
    [TestCase("1. e4 e5\n", false)]
    [TestCase("1. e9 e5\n2. a1 a2\n", false)]
    public void ChessGrammarMatches(string text, bool expected) =>
        Assert.That(Grammar.Parse(ReferenceGrammars.Chess).IsMatch(text), Is.EqualTo(expected));

    [TestCase("আমি বাংলা\u0964", true)]
    [TestCase("আমি\u0964", true)]
    [TestCase("আমি  বাংলা\u0964", false)]
    [TestCase("abc\u0964", false)]
    public void BanglaGrammarMatches(string text, bool expected) =>
        Assert.That(Grammar.Parse(ReferenceGrammars.Bangla).IsMatch(text), Is.EqualTo(expected));

    [TestCase("root ::= \"a\"{3}", "aaa", true)]
    [TestCase("root ::= \"a\"{3}", "aa", false)]
    [TestCase("root ::= \"ab\"{2,3}", "abababab", false)]
    [TestCase("root ::= \"ab\"{2,3}", "ababab", true)]
    [TestCase("root ::= \"ab\"{2,}", "abababababab", true)]
    [TestCase("root ::= \"ab\"{2,}", "ab", false)]
    [TestCase("root ::= [a-c]{0,2} \"d\"", "d", true)]
    [TestCase("root ::= [a-c]{0,2} \"d\"", "abd", true)]
    [TestCase("root ::= [a-c]{0,2} \"d\"", "abcd", false)]
    [TestCase("root ::= (\"x\" | \"y\")+ \"!\"", "xyyx!", true)]
    [TestCase("root ::= [^a-z] .", "A\u00e9", true)]
    [TestCase("root ::= [^a-z] .", "a\u00e9", false)]
    [TestCase("root ::= \"\\x41\\u00e9\\U0001F600\\t\\\"\\\\\\[\\]\"", "A\u00e9\U0001F600\t\"\\[]", true)]
    [TestCase("root ::= [\\x00-\\x7F]+", "plain ascii", true)]
    [TestCase("root ::= [\\x00-\\x7F]+", "caf\u00e9", false)]
    [TestCase("root ::= [\\U0001F600-\\U0001F64F]", "\U0001F642", true)]
    [TestCase("root ::= (\"a\"?)* \"b\"", "aab", true)]
    [TestCase("root ::= (\"a\"?)* \"b\"", "b", true)]
    [TestCase("root ::= \"\"", "", true)]
    [TestCase("root ::= [-a]", "-", true)]
    [TestCase("root ::= [a-]", "-", true)]
    public void LanguageOfSmallGrammars(string gbnf, string text, bool expected) =>
        Assert.That(Grammar.Parse(gbnf).IsMatch(text), Is.EqualTo(expected));

    [Test]
    public void AlternativesMayContinueOnLinesStartingWithABar()
    {
        var grammar = Grammar.Parse("root ::= \"a\"\n     | \"b\"  # comment\n\n     | \"c\"\nother ::= \"x\"\n");
        Assert.That(new[] { "a", "b", "c", "x" }.Select(grammar.IsMatch), Is.EqualTo(new[] { true, true, true, false }));
    }

    [Test]
    public void ATrailingBarBeforeTheNextRuleIsAnEmptyAlternative()
    {
        var grammar = Grammar.Parse("root ::= \"a\" x\nx ::= \"b\" |\nunused ::= \"c\"\n");
        Assert.That(new[] { "a", "ab", "abc" }.Select(grammar.IsMatch), Is.EqualTo(new[] { true, true, false }));
        var continued = Grammar.Parse("root ::= \"a\" |\n  \"b\"\n");
        Assert.That(continued.IsMatch("b"), Is.True);
    }

    [Test]
    public void CommentsAndCrLfAreAccepted()
    {
        var grammar = Grammar.Parse("# header\r\nroot ::= a # trailing\r\n\r\na ::= \"x\"\r\n");
        Assert.That(grammar.IsMatch("x"), Is.True);
    }

    [Test]
    public void ReferenceStyleLeftRecursionThroughNullableRuleIsRejected()
    {
        var e = Assert.Throws<GrammarException>(() => Grammar.Parse("root ::= expr\nexpr ::= opt expr \"+\" \"1\" | \"1\"\nopt ::= \" \"?\n"));
        Assert.That(e!.Message, Does.Contain("left-recursive"));
        Assert.That((e.Line, e.Column), Is.EqualTo((2, 1)));
    }

    // (grammar, line, column, words the message must contain)
    private static IEnumerable<TestCaseData> Errors()
    {
        yield return new TestCaseData("root ::= \"a\" b\n", 1, 14, "'b' is used but never defined").SetName("UndefinedRule");
        yield return new TestCaseData("start ::= \"a\"\n", 2, 1, "no 'root' rule").SetName("NoRoot");
        yield return new TestCaseData("", 1, 1, "empty").SetName("Empty");
        yield return new TestCaseData("root ::= \"a\n", 1, 10, "Unterminated string literal").SetName("UnterminatedLiteral");
        yield return new TestCaseData("root ::= [a-z\n", 1, 10, "Unterminated character class").SetName("UnterminatedClass");
        yield return new TestCaseData("root ::= \"\\q\"", 1, 11, "Unknown escape '\\q'").SetName("UnknownEscape");
        yield return new TestCaseData("root ::= \"\\x4\"", 1, 11, "2 hex digits").SetName("ShortHex");
        yield return new TestCaseData("root ::= [z-a]", 1, 12, "reversed").SetName("ReversedRange");
        yield return new TestCaseData("root ::= \"a\"{3,1}", 1, 13, "maximum below its minimum").SetName("BadRepetition");
        yield return new TestCaseData("root ::= * \"a\"", 1, 10, "must follow").SetName("RepetitionFirst");
        yield return new TestCaseData("root ::= \"a\"**", 1, 14, "cannot follow another repetition").SetName("DoubleRepetition");
        yield return new TestCaseData("root ::= (\"a\" | \"b\"", 1, 20, "is not closed").SetName("UnclosedGroup");
        yield return new TestCaseData("root ::= \"a\" )", 1, 14, "Unexpected ')'").SetName("StrayParen");
        yield return new TestCaseData("root \"a\"", 1, 6, "Expected '::='").SetName("MissingDefinition");
        yield return new TestCaseData("root ::= \"a\"\nroot ::= \"b\"\n", 2, 1, "defined twice").SetName("DuplicateRule");
        yield return new TestCaseData("root ::= a\n\na ::= a \"+\" \"1\" | \"1\"\n", 3, 1, "left-recursive").SetName("LeftRecursion");
        yield return new TestCaseData("root ::= a\na ::= b \"x\"\nb ::= a | \"y\"\n", 2, 1, "left-recursive").SetName("IndirectLeftRecursion");
        yield return new TestCaseData("root ::= \"a\" root\n", 1, 1, "can never finish").SetName("NeverFinishes");
        yield return new TestCaseData("root ::= loop\nloop ::= \"a\" (loop)\n", 2, 1, "can never finish").SetName("NeverFinishesThroughGroup");
        yield return new TestCaseData("root ::= [^\\x00-\\U0010FFFF]", 1, 10, "matches no character").SetName("EmptyClass");
        yield return new TestCaseData("root ::= \"\\U00110000\"", 1, 11, "beyond the last code point").SetName("BeyondUnicode");
        yield return new TestCaseData("root ::= \"a\"{100001}", 1, 14, "too large").SetName("HugeRepetition");
        yield return new TestCaseData("root ::= x\nx ::= \"a\" @", 2, 11, "Unexpected '@'").SetName("StrayCharacter");
    }

    [TestCaseSource(nameof(Errors))]
    public void ErrorsSayWhereAndWhat(string gbnf, int line, int column, string words)
    {
        var e = Assert.Throws<GrammarException>(() => Grammar.Parse(gbnf))!;
        Assert.Multiple(() =>
        {
            Assert.That(e.Message, Does.Contain(words));
            Assert.That((e.Line, e.Column), Is.EqualTo((line, column)), e.Message);
            Assert.That(e.Message, Does.EndWith($"(line {line}, column {column})"));
        });
    }
}
