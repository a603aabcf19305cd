using System.Text.RegularExpressions;
using Microsoft.Extensions.AI;
using MicroLlm.Chat;
using MicroLlm.Constraints;
using MicroLlm.Guardrails;
using MicroLlm.Guardrails.Catalog;
using MicroLlm.Guardrails.Generation;
using MicroLlm.Inference;
using MicroLlm.Models;

namespace MicroLlm.Guardrails.Tests;

/// <summary>
/// A random-weight model (written by the project, built-in byte vocabulary) through the runtime's own chat client, with
/// the facts forced as literals: whatever it writes, every finished answer carries every fact exactly and no other
/// number; the phraser still ends in a verified alert.
/// </summary>
[NonParallelizable]
public class ForcedFactsTests
{
    private static readonly AlertCatalog Catalog = AlertCatalog.Default;
    private static readonly AlertPolicy KeepText = new() { RedactPii = false };
    private string _path = "";
    private LanguageModel _model = null!;

    [OneTimeSetUp]
    public async Task WriteModel()
    {
        _path = Path.Combine(Path.GetTempPath(), $"forced-facts-{Guid.NewGuid():N}.gguf");
        await SyntheticModel.WriteAsync(new SyntheticModelOptions(SyntheticModelShape.Presets["tiny-llama"]) { FileType = SyntheticModelFileType.Q8_0, Seed = 3 }, _path);
        _model = LanguageModel.Load(_path);
    }

    [OneTimeTearDown]
    public void DeleteModel()
    {
        _model?.Dispose();
        File.Delete(_path);
    }

    [TestCase("fire", 1)]
    [TestCase("flood", 2)]
    [TestCase("intrusion", 3)]
    [TestCase("medical_vitals", 4)]
    public async Task EveryFinishedAnswerCarriesEveryFactAndNoOtherNumber(string type, int seed)
    {
        string json = Catalog.GetAlertType(type).ExampleJson;
        var ev = Catalog.ValidateEvent(json).Event!;
        using IChatClient client = new LocalChatClient(_model, new LocalChatClientOptions { Template = ChatTemplate.ChatML, ContextLength = 2048 });
        var options = new AlertPhraserOptions
        {
            Policy = KeepText,
            MaxRetries = 1,
            ChatOptions = new ChatOptions { MaxOutputTokens = 1500, Temperature = 1f, Seed = seed },
        };
        var result = await new AlertPhraser(client, options).PhraseAsync(ev);

        int finished = 0;
        foreach (var attempt in result.Audit.Attempts.Where(a => a.Source == AlertTextSource.Model && a.Text is not null))
        {
            string template = TemplateRenderer.Render(Catalog, ev, attempt.Language, KeepText);
            string[] literals = AlertPrompt.RequiredLiterals(Catalog, KeepText, ev, attempt.Language);
            var grammar = AlertGrammar.For(Catalog, KeepText, ev, attempt.Language, template);
            if (!grammar.IsMatch(attempt.Text!))
            {
                continue; // stopped by the token limit before the grammar's end
            }

            finished++;
            Assert.That(literals.Where(l => !attempt.Text!.Contains(l, StringComparison.Ordinal)), Is.Empty, attempt.Text);
            Assert.That(FactOracle.Problems(ev, attempt.Language, attempt.Text!), Is.Empty, attempt.Text);
            Assert.That(Regex.IsMatch(Strip(attempt.Text!, literals), @"\p{Nd}"), Is.False, "a digit outside the facts: " + attempt.Text);
        }

        Assert.That(finished, Is.GreaterThan(0), "no model answer finished within the token limit");
        foreach (var text in result.Texts)
        {
            Assert.That(FactOracle.Problems(ev, text.Language, text.Text), Is.Empty, $"{text.Source}: {text.Text}");
        }
    }

    private static string Strip(string text, IEnumerable<string> literals)
    {
        foreach (string literal in literals.OrderByDescending(l => l.Length))
        {
            text = text.Replace(literal, " ", StringComparison.Ordinal);
        }

        return text;
    }
}
