using BenchmarkDotNet.Attributes;
using MicroLlm.Guardrails;
using Microsoft.Extensions.AI;

namespace MicroLlm.Benchmarks;

/// <summary>
/// Alert latency on the template path (validate the event JSON, render, verify; English and Bangla) and the cost of the
/// guard around a model (a chat client that answers instantly with a correct alert, so only prompting and verification
/// are timed).
/// </summary>
/// <remarks>dotnet run -c Release --project benchmarks/MicroLlm.Benchmarks -- --filter '*AlertBenchmarks*'</remarks>
[MemoryDiagnoser]
public class AlertBenchmarks
{
    private readonly AlertPhraser _templates = new();
    private readonly AlertPhraser _guarded = new(new InstantClient());
    private readonly AlertVerifier _verifier = new();
    private string _json = "";
    private AlertEvent _event = null!;
    private string _bangla = "";

    /// <summary>The alert type of the catalogue's example event.</summary>
    [Params("fire", "flood", "network_attack")]
    public string Type { get; set; } = "fire";

    [GlobalSetup]
    public void Setup()
    {
        _json = AlertCatalog.Default.GetAlertType(Type).ExampleJson;
        _event = AlertEvent.Parse(_json);
        _bangla = AlertCatalog.Default.RenderTemplate(_event, AlertLanguage.Bangla);
    }

    /// <summary>Event JSON in, verified English and Bangla template alerts out.</summary>
    [Benchmark(Baseline = true)]
    public AlertResult TemplatePath() => _templates.PhraseAsync(_json).GetAwaiter().GetResult();

    /// <summary>Verifying one Bangla text against its event.</summary>
    [Benchmark]
    public bool VerifyBangla() => _verifier.Verify(_event, AlertLanguage.Bangla, _bangla).Passed;

    /// <summary>Model path with an instant, correct model: prompts, two calls, verification of both answers.</summary>
    [Benchmark]
    public AlertResult GuardedModelPath() => _guarded.PhraseAsync(_event).GetAwaiter().GetResult();

    private sealed class InstantClient : IChatClient
    {
        public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
        {
            var literals = (string[])options!.AdditionalProperties![AlertPhraser.RequiredLiteralsKey]!;
            bool bangla = messages.Last().Text.Contains("Bangla", StringComparison.Ordinal);
            string text = bangla
                ? $"{literals[0]}। ঘটনাস্থল: {literals[1]}। সময়: {literals[2]}। {string.Join("। ", literals.Skip(3))}।"
                : $"{literals[0]}. Location: {literals[1]}. Time: {literals[2]}. {string.Join(". ", literals.Skip(3))}.";
            return Task.FromResult(new ChatResponse(new ChatMessage(ChatRole.Assistant, text)));
        }

        public IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
            throw new NotSupportedException();

        public object? GetService(Type serviceType, object? serviceKey = null) => null;

        public void Dispose()
        {
        }
    }
}
