using System.Text;
using System.Text.RegularExpressions;
using MicroLlm.Constraints;

namespace MicroLlm.Tests.Constraints;

public class RegexGrammarTests
{
    // (pattern, alphabet for the exhaustive comparison with .NET's engine, longest string)
    private static IEnumerable<TestCaseData> Patterns()
    {
        yield return new TestCaseData("abc", "abc", 4);
        yield return new TestCaseData("^a(b|c)*d$", "abcd", 5);
        yield return new TestCaseData("a+b?c{2}", "abc", 6);
        yield return new TestCaseData("(ab){1,2}|c{2,}", "abc", 6);
        yield return new TestCaseData("[a-c]{0,3}x", "abcx", 5);
        yield return new TestCaseData("[^ab]+", "abcé-", 4);
        yield return new TestCaseData("\\d{2}-\\d", "0a9-", 5);
        yield return new TestCaseData("\\w+\\s\\W", "a_1 -!", 5);
        yield return new TestCaseData("\\D\\S", "a1 -", 3);
        yield return new TestCaseData("a.c", "abc\nx", 4);
        yield return new TestCaseData("(?:x|yz)+?", "xyz", 5);
        yield return new TestCaseData("(?<name>a|b)c", "abc", 3);
        yield return new TestCaseData("[\\-.a]\\.\\*", "-.a*", 4);
        yield return new TestCaseData("\\x41\\u00e9|\\uD83D\\uDE00", "Aé\U0001F600", 3);
        yield return new TestCaseData("a{2}b{1,}c{0,1}", "abc", 6);
        yield return new TestCaseData("(a|)b", "ab", 3);
        yield return new TestCaseData("[ক-ঘ]+", "কখঘa", 3);
        yield return new TestCaseData("a{,2}", "a{,2}", 5); // '{' without a valid count is a literal
        yield return new TestCaseData("", "ab", 2);
    }

    [TestCaseSource(nameof(Patterns))]
    public void MatchesWhatTheRegexEngineMatches(string pattern, string alphabet, int maxLength)
    {
        var grammar = Grammar.FromRegex(pattern);
        string body = pattern.TrimStart('^').TrimEnd('$');
        var reference = new Regex("^(?:" + body + ")$", RegexOptions.CultureInvariant);
        var symbols = alphabet.EnumerateRunes().Select(r => r.ToString()).ToArray();
        int matches = 0;
        foreach (string text in Strings(symbols, maxLength))
        {
            // .NET's '$' also matches before a final '\n', so the match must cover the whole text.
            bool expected = reference.Match(text) is { Success: true } m && m.Length == text.Length;
            Assert.That(grammar.IsMatch(text), Is.EqualTo(expected), $"/{pattern}/ on '{text}'");
            matches += expected ? 1 : 0;
        }

        Assert.That(matches, Is.GreaterThan(0), "the alphabet should produce some matches");
    }

    private static IEnumerable<string> Strings(string[] symbols, int maxLength)
    {
        var current = new List<string> { "" };
        for (int length = 0; length <= maxLength; length++)
        {
            foreach (string s in current)
            {
                yield return s;
            }

            if (length < maxLength)
            {
                current = [.. current.SelectMany(s => symbols.Select(c => s + c))];
            }
        }
    }

    [TestCase("(a)\\1", 4, "Backreferences")]
    [TestCase("a(?=b)", 2, "Lookahead")]
    [TestCase("a(?!b)", 2, "Lookahead")]
    [TestCase("(?<=a)b", 1, "lookbehind")]
    [TestCase("(?i)abc", 1, "Inline flags")]
    [TestCase("\\bword", 1, "Word boundaries")]
    [TestCase("a^b", 2, "anchor '^'")]
    [TestCase("a$b", 2, "anchor '$'")]
    [TestCase("(ab", 1, "Unterminated group")]
    [TestCase("ab)", 3, "Unbalanced ')'")]
    [TestCase("[abc", 1, "Unterminated character class")]
    [TestCase("*a", 1, "nothing to repeat")]
    [TestCase("a**", 3, "cannot follow another quantifier")]
    [TestCase("a*+", 3, "Possessive")]
    [TestCase("a{3,1}", 2, "maximum below its minimum")]
    [TestCase("[z-a]", 3, "reversed")]
    [TestCase("\\p{L}", 1, "Unicode property classes")]
    [TestCase("\\q", 1, "Unknown escape")]
    [TestCase("[]", 1, "Empty character class")]
    [TestCase("\\k<n>", 1, "Named backreferences")]
    public void UnsupportedOrMalformedPatternsAreRejectedWithTheColumn(string pattern, int column, string words)
    {
        var e = Assert.Throws<GrammarException>(() => Grammar.FromRegex(pattern))!;
        Assert.That(e.Message, Does.Contain(words));
        Assert.That((e.Line, e.Column), Is.EqualTo((1, column)), e.Message);
    }

    [Test]
    public void BracedUnicodeEscapes()
    {
        var grammar = Grammar.FromRegex("\\u{1F600}+\\u{e9}");
        Assert.That(grammar.IsMatch("\U0001F600\U0001F600é"), Is.True);
        Assert.That(grammar.IsMatch("é"), Is.False);
    }

    [Test]
    public void GeneratedGbnfIsReadable()
    {
        Assert.That(RegexGrammar.ToGbnf("^[a-z]+@[a-z]+\\.com$"), Is.EqualTo("root ::= ([a-z]+ \"@\" [a-z]+ \".com\")\n"));
        Assert.That(Encoding.UTF8.GetByteCount(RegexGrammar.ToGbnf(".")), Is.GreaterThan(0));
    }
}
