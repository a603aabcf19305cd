using System.Text;
using Microsoft.Extensions.AI;
using MicroLlm.Chat;
using MicroLlm.Generation;
using MicroLlm.Inference;
using MicroLlm.Models;
using MicroLlm.Sampling;

namespace MicroLlm.Core.Tests.Inference;

/// <summary>
/// Generation streams on every supported architecture, with files the project writes itself (built-in vocabulary, no
/// <c>../shared</c>): a session's token stream and the <see cref="IChatClient"/> stream of each family's chat format.
/// </summary>
[Parallelizable(ParallelScope.None)]
public class EveryArchitectureTests
{
    private static readonly Dictionary<string, string> Files = [];

    private static IEnumerable<TestCaseData> Architectures() =>
        new[] { ("tiny-llama", "llama2"), ("tiny-qwen2", "chatml"), ("tiny-phi3", "phi3"), ("tiny-gemma2", "gemma") }
            .Select(a => new TestCaseData(a.Item1, a.Item2).SetName($"{{m}}({a.Item1})"));

    private static async Task<string> FileFor(string shape)
    {
        if (!Files.TryGetValue(shape, out string? path))
        {
            path = Path.Combine(Path.GetTempPath(), $"every-arch-{Guid.NewGuid():N}-{shape}.gguf");
            await SyntheticModel.WriteAsync(new SyntheticModelOptions(SyntheticModelShape.Presets[shape]) { FileType = SyntheticModelFileType.Q4_K_M, Seed = 5 }, path);
            Files[shape] = path;
        }

        return path;
    }

    [OneTimeTearDown]
    public void DeleteFiles()
    {
        foreach (string path in Files.Values)
        {
            File.Delete(path);
        }
    }

    [TestCaseSource(nameof(Architectures))]
    public async Task ASessionStreamsWholeCharactersThatAddUpToTheTokens(string shape, string template)
    {
        using var model = LanguageModel.Load(await FileFor(shape));
        Assert.That(model.Info.Architecture, Is.EqualTo(shape["tiny-".Length..]));
        using var session = model.CreateSession();
        int[] prompt = model.Tokenizer.Encode("Smoke detected in building B, floor 3.", addSpecialTokens: true, parseSpecialTokens: false).ToArray();
        var options = new GenerationOptions { MaxTokens = 24, Sampling = new SamplingOptions { Temperature = 0.8f, TopK = 40, Seed = 9 } };
        var text = new StringBuilder();
        var tokens = new List<int>();
        int updates = 0;
        GenerationUpdate? last = null;
        await foreach (var update in session.GenerateAsync(prompt, options))
        {
            updates++;
            text.Append(update.Text);
            tokens.AddRange(update.TokenIds);
            Assert.That(update.Text.Length == 0 || !char.IsHighSurrogate(update.Text[^1]), Is.True, "an update ends inside a surrogate pair");
            last = update;
        }

        Assert.That(last!.FinishReason, Is.Not.Null);
        Assert.That(tokens, Has.Count.EqualTo(last.Statistics!.GeneratedTokens));
        if (last.FinishReason == GenerationFinishReason.MaxTokens)
        {
            Assert.That(tokens, Has.Count.EqualTo(24));
            Assert.That(updates, Is.GreaterThan(1), "the text came in one piece: nothing was streamed");
        }

        Assert.That(text.ToString(), Is.EqualTo(model.Tokenizer.Decode(tokens)), "the streamed pieces add up to the tokens' text");
    }

    [TestCaseSource(nameof(Architectures))]
    public async Task TheChatClientStreamsWhatItWouldAnswerWhole(string shape, string template)
    {
        using var model = LanguageModel.Load(await FileFor(shape));
        using IChatClient client = new LocalChatClient(model, new LocalChatClientOptions { Template = ChatTemplate.FromName(template), ContextLength = 256 });
        ChatMessage[] messages = [new(ChatRole.User, "Water at the gauge is 12 cm above the danger level.")];
        var options = new ChatOptions { MaxOutputTokens = 16, Temperature = 0.7f, TopP = 0.9f, Seed = 4 };
        var whole = await client.GetResponseAsync(messages, options);
        var streamed = new StringBuilder();
        int updates = 0;
        await foreach (var update in client.GetStreamingResponseAsync(messages, options))
        {
            streamed.Append(update.Text);
            updates++;
        }

        Assert.That(streamed.ToString(), Is.EqualTo(whole.Text));
        Assert.That(updates, Is.GreaterThan(1));
        Assert.That(whole.Usage!.OutputTokenCount, Is.GreaterThan(0));
    }
}
