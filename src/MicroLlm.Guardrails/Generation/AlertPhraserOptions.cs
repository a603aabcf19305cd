using Microsoft.Extensions.AI;

namespace MicroLlm.Guardrails;

/// <summary>Options for <see cref="AlertPhraser"/>; null or default values mean the documented defaults.</summary>
public sealed class AlertPhraserOptions
{
    /// <summary>The catalogue; null for <see cref="AlertCatalog.Default"/>.</summary>
    public AlertCatalog? Catalog { get; set; }

    /// <summary>The policy; null for <see cref="AlertPolicy.Default"/>.</summary>
    public AlertPolicy? Policy { get; set; }

    /// <summary>The languages to write, in order (default English then Bangla).</summary>
    public IReadOnlyList<AlertLanguage> Languages { get; set; } = [AlertLanguage.English, AlertLanguage.Bangla];

    /// <summary>
    /// The time the whole call may take, or null for no limit. When the model cannot finish in time the template is
    /// returned in time: model calls are abandoned (and cancelled) with a small reserve left for the template.
    /// </summary>
    /// <remarks>
    /// The deadline is kept by a timer and by continuations on the .NET thread pool. A host whose pool threads are all
    /// blocked by its own synchronous work (or by a chat client that blocks instead of awaiting) starves those timers,
    /// and the template then comes as late as the pool lets it, not at the deadline: keep blocking work off the pool, or
    /// raise its minimum with <see cref="System.Threading.ThreadPool.SetMinThreads(int, int)"/>. A client that ignores
    /// cancellation keeps its thread until it returns; the phraser does not wait for it.
    /// </remarks>
    public TimeSpan? Deadline { get; set; }

    /// <summary>Model attempts after the first one, per language, before the template is used (default 2; 0 means one attempt).</summary>
    public int MaxRetries { get; set; } = 2;

    /// <summary>
    /// Whether each request carries a grammar (under <see cref="MicroLlm.Inference.LocalChatClient.GrammarKey"/>) that forces
    /// the facts as literals, in the template's order, with only the language's letters and punctuation between them
    /// (no digits), so a client with constrained decoding, like <see cref="MicroLlm.Inference.LocalChatClient"/>, cannot
    /// change or invent a number. Default true. Clients that do not know the key ignore it; the verifier checks every
    /// answer either way. Not sent when <see cref="ChatOptions"/> already sets a grammar or a response format.
    /// </summary>
    public bool ForceFacts { get; set; } = true;

    /// <summary>
    /// Options passed to the chat client (cloned per call), e.g. temperature, max output tokens, or a grammar or response
    /// format for clients that constrain decoding. The phraser adds <see cref="AlertPhraser.RequiredLiteralsKey"/> to
    /// <see cref="ChatOptions.AdditionalProperties"/>: the exact strings the alert must contain.
    /// </summary>
    public ChatOptions? ChatOptions { get; set; }
}
