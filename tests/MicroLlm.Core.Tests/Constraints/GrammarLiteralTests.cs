using FsCheck;
using FsCheck.Fluent;
using MicroLlm.Constraints;

namespace MicroLlm.Tests.Constraints;

/// <summary><see cref="Grammar.QuoteLiteral"/>: any text, written as a literal, matches itself and nothing else.</summary>
public class GrammarLiteralTests
{
    [FsCheck.NUnit.Property(MaxTest = 500, QuietOnSuccess = true)]
    public Property AQuotedLiteralMatchesExactlyItsText() =>
        Prop.ForAll(ArbMap.Default.ArbFor<NonEmptyString>(), s =>
        {
            string text = s.Get.Normalize(); // lone surrogates are not text; NonEmptyString may hold them
            if (text.EnumerateRunes().Any(r => r == System.Text.Rune.ReplacementChar))
            {
                return true;
            }

            var grammar = Grammar.Parse("root ::= " + Grammar.QuoteLiteral(text));
            return grammar.IsMatch(text) && !grammar.IsMatch(text + "x") && !grammar.IsMatch(text[..^1]);
        });

    [Test]
    public void TheAwkwardCharactersAreEscaped() =>
        Assert.That(Grammar.QuoteLiteral("a\"b\\c\nd\u0001\u00A0"), Is.EqualTo("\"a\\\"b\\\\c\\nd\\x01\\u00A0\""));
}
