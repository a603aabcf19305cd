using System.Text;
using System.Text.Json;
using Microsoft.Extensions.AI;
using MicroLlm.Chat;
using MicroLlm.Inference;
using MicroLlm.Tests;

namespace MicroLlm.Core.Tests.Inference;

/// <summary>The local model through the Microsoft.Extensions.AI abstractions only.</summary>
public class ChatClientTests
{
    private static LanguageModel Load() => LanguageModel.Load(Conformance.RequireFile("models", "tiny-llama-q4_0.gguf"));

    private static IChatClient Client(LanguageModel model) =>
        new LocalChatClient(model, new LocalChatClientOptions { Template = ChatTemplate.ChatML, ContextLength = 512 });

    [Test]
    public async Task AResponseHasTextUsageAndAFinishReason()
    {
        using var model = Load();
        using IChatClient client = Client(model);
        var response = await client.GetResponseAsync(
            [new ChatMessage(ChatRole.System, "You phrase alerts."), new ChatMessage(ChatRole.User, "Smoke in building B.")],
            new ChatOptions { MaxOutputTokens = 8, Temperature = 0.7f, Seed = 3 });
        Assert.That(response.FinishReason, Is.EqualTo(ChatFinishReason.Length));
        Assert.That(response.Usage!.OutputTokenCount, Is.EqualTo(8));
        Assert.That(response.Usage.InputTokenCount, Is.GreaterThan(5));
        Assert.That(response.Messages.Last().Role, Is.EqualTo(ChatRole.Assistant));
        Assert.That(response.Text, Is.Not.Empty);
    }

    [Test]
    public async Task StreamingGivesTheSameTextAsTheWholeResponse()
    {
        using var model = Load();
        using IChatClient client = Client(model);
        ChatMessage[] messages = [new(ChatRole.User, "Water level at the gauge is rising.")];
        var options = new ChatOptions { MaxOutputTokens = 20, Temperature = 0.9f, TopK = 20, TopP = 0.9f, Seed = 11 };
        var whole = await client.GetResponseAsync(messages, options);
        var streamed = new StringBuilder();
        ChatFinishReason? reason = null;
        await foreach (var update in client.GetStreamingResponseAsync(messages, options))
        {
            streamed.Append(update.Text);
            reason ??= update.FinishReason;
        }

        Assert.That(streamed.ToString(), Is.EqualTo(whole.Text));
        Assert.That(reason, Is.EqualTo(whole.FinishReason));
    }

    [Test]
    public async Task ASecondTurnReusesTheConversationAndAgreesWithAFreshClient()
    {
        using var model = Load();
        var options = new ChatOptions { MaxOutputTokens = 6, Temperature = 0f };
        var history = new List<ChatMessage> { new(ChatRole.User, "Gate 4 alarm.") };
        using IChatClient client = Client(model);
        var first = await client.GetResponseAsync(history, options);
        history.AddRange(first.Messages);
        history.Add(new ChatMessage(ChatRole.User, "Repeat."));
        var second = await client.GetResponseAsync(history, options);

        using IChatClient fresh = Client(model);
        var expected = await fresh.GetResponseAsync(history, options);
        Assert.That(second.Text, Is.EqualTo(expected.Text));
    }

    [Test]
    public async Task AJsonSchemaResponseFormatGivesSchemaValidJson()
    {
        using var model = Load();
        using IChatClient client = Client(model);
        using var schema = JsonDocument.Parse("""
            {"type":"object","properties":{"alert":{"type":"string","maxLength":12},"count":{"type":"integer","minimum":0,"maximum":99}},
             "required":["alert","count"],"additionalProperties":false}
            """);
        for (int seed = 0; seed < 3; seed++)
        {
            var response = await client.GetResponseAsync(
                [new ChatMessage(ChatRole.User, "Report the alert as JSON.")],
                new ChatOptions { ResponseFormat = ChatResponseFormat.ForJsonSchema(schema.RootElement, "alert"), Seed = seed, Temperature = 1f, MaxOutputTokens = 120 });
            using var doc = JsonDocument.Parse(response.Text);
            Assert.That(doc.RootElement.GetProperty("alert").GetString()!.Length, Is.LessThanOrEqualTo(12));
            Assert.That(doc.RootElement.GetProperty("count").GetInt32(), Is.InRange(0, 99));
            Assert.That(doc.RootElement.EnumerateObject().Count(), Is.EqualTo(2));
        }
    }

    [Test]
    public async Task JsonModeGivesAJsonObject()
    {
        using var model = Load();
        using IChatClient client = Client(model);
        var response = await client.GetResponseAsync(
            [new ChatMessage(ChatRole.User, "JSON please.")],
            new ChatOptions { ResponseFormat = ChatResponseFormat.Json, Seed = 5, Temperature = 1f, MaxOutputTokens = 400 });
        if (response.FinishReason == ChatFinishReason.Stop)
        {
            using var doc = JsonDocument.Parse(response.Text);
            Assert.That(doc.RootElement.ValueKind, Is.EqualTo(JsonValueKind.Object));
        }
        else
        {
            Assert.That(response.Text, Does.StartWith("{"), "cut by the token limit, but still a JSON prefix");
        }
    }

    [Test]
    public void MetadataAndServicesAreAvailable()
    {
        using var model = Load();
        using IChatClient client = Client(model);
        Assert.That(client.GetService<ChatClientMetadata>()!.ProviderName, Is.EqualTo("MicroLlm"));
        Assert.That(client.GetService<LanguageModel>(), Is.SameAs(model));
        Assert.That(client.GetService(typeof(string)), Is.Null);
    }

    [Test]
    public async Task EmbeddingsAreUnitVectorsThatTellTextsApart()
    {
        using var model = Load();
        using IEmbeddingGenerator<string, Embedding<float>> generator = new LocalEmbeddingGenerator(model);
        var result = await generator.GenerateAsync(["fire in building B", "fire in building B", "water level rising"]);
        Assert.That(result, Has.Count.EqualTo(3));
        var a = result[0].Vector.Span;
        Assert.That(a.Length, Is.EqualTo(model.Info.EmbeddingLength));
        Assert.That(System.Numerics.Tensors.TensorPrimitives.Norm(a), Is.EqualTo(1f).Within(1e-4));
        Assert.That(result[1].Vector.ToArray(), Is.EqualTo(a.ToArray()));
        float cos = System.Numerics.Tensors.TensorPrimitives.Dot(a, result[2].Vector.Span);
        Assert.That(cos, Is.LessThan(0.9999f));
        Assert.That(result.Usage!.InputTokenCount, Is.GreaterThan(3));
    }

    [Test]
    public async Task AGrammarInAdditionalPropertiesShapesTheAnswer()
    {
        using var model = Load();
        using IChatClient client = Client(model);
        var grammar = MicroLlm.Constraints.Grammar.Parse("root ::= \"Level \" [1-5] \": \" [a-z ]{3,12} \".\"");
        foreach (object value in new object[] { grammar, grammar.Gbnf })
        {
            var options = new ChatOptions { MaxOutputTokens = 40, Temperature = 1f, Seed = 5, AdditionalProperties = new() { [LocalChatClient.GrammarKey] = value } };
            var response = await client.GetResponseAsync([new ChatMessage(ChatRole.User, "Rate the alarm.")], options);
            Assert.That(grammar.IsMatch(response.Text), Is.True, response.Text);
        }
    }

    [Test]
    public void AGrammarBesideAJsonFormatOrOfAnotherTypeIsRefused()
    {
        using var model = Load();
        using IChatClient client = Client(model);
        ChatMessage[] messages = [new(ChatRole.User, "x")];
        var both = new ChatOptions { ResponseFormat = ChatResponseFormat.Json, AdditionalProperties = new() { [LocalChatClient.GrammarKey] = "root ::= \"a\"" } };
        Assert.That(async () => await client.GetResponseAsync(messages, both), Throws.ArgumentException.With.Message.Contains("give one of them"));
        var wrongType = new ChatOptions { AdditionalProperties = new() { [LocalChatClient.GrammarKey] = 42 } };
        Assert.That(async () => await client.GetResponseAsync(messages, wrongType), Throws.ArgumentException.With.Message.Contains("GBNF"));
    }
}
