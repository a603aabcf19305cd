using System.Diagnostics;
using System.Runtime.CompilerServices;
using MicroLlm.Constraints;
using MicroLlm.Inference;
using MicroLlm.Sampling;

namespace MicroLlm.Generation;

/// <summary>
/// The decode loop shared by <see cref="InferenceSession"/> and the chat client: evaluate the prompt, then sample,
/// constrain, evaluate and stream one token at a time until an end-of-generation token, a stop string, the grammar's
/// end, the token limit or the context's end.
/// </summary>
internal static class Generator
{
    public static async IAsyncEnumerable<GenerationUpdate> RunAsync(
        InferenceSession session,
        IReadOnlyList<int> prompt,
        GenerationOptions options,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        options.Validate();
        var model = session.Model;
        var tokenizer = model.Tokenizer;
        var sampler = new Sampler(model.Info.VocabularySize, options.Sampling);
        int window = options.Sampling.PenaltyWindow;
        foreach (int t in session.Tokens.Concat(prompt).TakeLast(window))
        {
            sampler.Accept(t);
        }

        TokenConstraint? constraint = options.Grammar is null ? null : TokenConstraint.Create(options.Grammar, model.ConstraintVocabulary);
        bool[]? mask = constraint is null ? null : new bool[model.Info.VocabularySize];
        var decoder = new IncrementalTextDecoder();
        var stops = new StopStringFilter(options.StopStrings);
        var eog = model.EndOfGenerationIds;

        var clock = Stopwatch.StartNew();
        if (prompt.Count > 0)
        {
            int[] promptArray = [.. prompt];
            await Task.Run(() => session.Evaluate(promptArray, cancellationToken), cancellationToken).ConfigureAwait(false);
        }
        else if (session.Logits.IsEmpty)
        {
            throw new InvalidOperationException("Nothing to continue from: give a prompt, or evaluate tokens in the session first.");
        }

        TimeSpan promptTime = clock.Elapsed;
        clock.Restart();
        var generated = new List<int>();
        var unreported = new List<int>();
        GenerationFinishReason? finish = null;
        while (finish is null)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (generated.Count >= options.MaxTokens)
            {
                finish = GenerationFinishReason.MaxTokens;
                break;
            }

            if (constraint is not null)
            {
                if (constraint.IsComplete)
                {
                    finish = GenerationFinishReason.GrammarComplete;
                    break;
                }

                constraint.ComputeMask(mask);
            }

            int token = sampler.Sample(session.Logits, mask);
            if (eog.Contains(token))
            {
                finish = GenerationFinishReason.EndOfSequence;
                break;
            }

            constraint?.Accept(token);
            sampler.Accept(token);
            generated.Add(token);
            unreported.Add(token);
            string text = stops.Push(decoder.Append(tokenizer.GetTokenBytes(token)));
            if (stops.Stopped)
            {
                finish = GenerationFinishReason.StopString;
            }

            if (text.Length > 0 || finish is not null)
            {
                yield return new GenerationUpdate(text, [.. unreported]);
                unreported.Clear();
            }

            if (finish is not null)
            {
                break;
            }

            if (session.Length >= session.ContextLength)
            {
                finish = GenerationFinishReason.ContextFull;
                break;
            }

            await Task.Run(() => session.Evaluate([token], cancellationToken), cancellationToken).ConfigureAwait(false);
        }

        string rest = stops.Stopped ? "" : stops.Push(decoder.Flush()) + stops.Flush();
        var statistics = new GenerationStatistics(prompt.Count, generated.Count, promptTime, clock.Elapsed);
        yield return new GenerationUpdate(rest, [.. unreported], finish, statistics);
    }

    /// <summary>Runs <see cref="RunAsync"/> to the end and collects the text.</summary>
    public static async Task<GenerationResult> CompleteAsync(
        InferenceSession session, IReadOnlyList<int> prompt, GenerationOptions options, CancellationToken cancellationToken)
    {
        var text = new System.Text.StringBuilder();
        var tokens = new List<int>();
        await foreach (var update in RunAsync(session, prompt, options, cancellationToken).ConfigureAwait(false))
        {
            text.Append(update.Text);
            tokens.AddRange(update.TokenIds);
            if (update.FinishReason is { } reason)
            {
                return new GenerationResult(text.ToString(), tokens, reason, update.Statistics!);
            }
        }

        throw new UnreachableException("The generation ended without a final update.");
    }
}
