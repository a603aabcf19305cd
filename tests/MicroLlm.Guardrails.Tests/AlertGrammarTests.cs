using FsCheck;
using FsCheck.Fluent;
using MicroLlm.Constraints;
using MicroLlm.Guardrails;
using MicroLlm.Guardrails.Catalog;
using MicroLlm.Guardrails.Generation;

namespace MicroLlm.Guardrails.Tests;

/// <summary>The grammar that forces an alert's facts as literals while the model phrases.</summary>
public class AlertGrammarTests
{
    private static readonly AlertCatalog Catalog = AlertCatalog.Default;
    private static readonly AlertPolicy KeepText = new() { RedactPii = false };
    private static readonly System.Buffers.SearchValues<char> Punctuation = System.Buffers.SearchValues.Create(" ,.;:()-/#'\"");

    private static (Grammar Grammar, string Template, string[] Literals) For(AlertEvent ev, AlertLanguage language)
    {
        string template = TemplateRenderer.Render(Catalog, ev, language, KeepText);
        string[] literals = AlertPrompt.RequiredLiterals(Catalog, KeepText, ev, language);
        return (AlertGrammar.For(Catalog, KeepText, ev, language, template), template, literals);
    }

    private static AlertEvent Parse(string json)
    {
        var validation = Catalog.ValidateEvent(json);
        Assert.That(validation.IsValid, Is.True, () => json + "\n" + string.Join("\n", validation.Errors));
        return validation.Event!;
    }

    /// <summary>The template is one phrasing the grammar admits, so the grammar never forbids what the library itself writes.</summary>
    [FsCheck.NUnit.Property(MaxTest = 500, QuietOnSuccess = true)]
    public Property TheTemplateIsAPhrasingTheGrammarAdmits() =>
        Prop.ForAll(RandomEvents.Arbitrary(Catalog), json =>
        {
            var ev = Parse(json);
            foreach (var language in new[] { AlertLanguage.English, AlertLanguage.Bangla })
            {
                var (grammar, template, _) = For(ev, language);
                Assert.That(grammar.IsMatch(template), Is.True, () => $"{json}\n{language}: {template}\n{grammar.Gbnf}");
            }

            return true;
        });

    /// <summary>A digit outside the literals, or a literal changed, and the text no longer matches.</summary>
    [FsCheck.NUnit.Property(MaxTest = 300, QuietOnSuccess = true)]
    public Property NoNumberCanBeAddedOrChanged() =>
        Prop.ForAll(RandomEvents.Arbitrary(Catalog), Gen.Choose(0, 9).ToArbitrary(), (json, digit) =>
        {
            var ev = Parse(json);
            foreach (var language in new[] { AlertLanguage.English, AlertLanguage.Bangla })
            {
                var (grammar, template, literals) = For(ev, language);
                string[] digits = [digit.ToString(System.Globalization.CultureInfo.InvariantCulture), RandomEvents.Bangla(digit.ToString(System.Globalization.CultureInfo.InvariantCulture)), ((char)('０' + digit)).ToString()];
                foreach (string d in digits)
                {
                    Assert.That(grammar.IsMatch(d + " " + template), Is.False, () => $"{language}: a leading {d} got through");
                }

                string longest = literals.OrderByDescending(l => l.Length).First();
                int at = template.IndexOf(longest, StringComparison.Ordinal);
                if (at >= 0)
                {
                    // Drop the literal's first letter or digit (dropping trailing punctuation can be undone by the template's own).
                    int drop = longest.AsSpan().IndexOfAnyExcept(Punctuation);
                    string changed = template[..at] + longest.Remove(Math.Max(drop, 0), 1) + template[(at + longest.Length)..];
                    Assert.That(grammar.IsMatch(changed), Is.False, () => $"{language}: '{longest}' changed got through");
                }
            }

            return true;
        });

    [Test]
    public void QuotesBackslashesAndNewlinesInALiteralStayText()
    {
        string[] literals = ["Gate \"4\" \\ east", "12:05 PM"];
        string gbnf = AlertGrammar.Build(literals, "At Gate \"4\" \\ east, 12:05 PM.", AlertLanguage.English, 600);
        var grammar = Grammar.Parse(gbnf);
        Assert.That(grammar.IsMatch("At Gate \"4\" \\ east, 12:05 PM."), Is.True, gbnf);
        Assert.That(grammar.IsMatch("At Gate 4 \\ east, 12:05 PM."), Is.False);
        Assert.That(Grammar.Parse("root ::= " + Grammar.QuoteLiteral("a\nb\u0001\"\\")).IsMatch("a\nb\u0001\"\\"), Is.True);
    }
}
