using System.CommandLine;
using System.Globalization;
using MicroLlm.Chat;
using MicroLlm.Constraints;
using MicroLlm.Generation;
using MicroLlm.Inference;
using MicroLlm.Sampling;

namespace MicroLlm.Cli;

/// <summary>
/// <c>microllm generate --model M --prompt P [...]</c>: streams the generated text, and nothing else, to stdout;
/// statistics go to stderr.
/// </summary>
internal static class GenerateCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var model = new Option<FileInfo>("--model", "-m") { Description = "The GGUF model.", Required = true };
        var prompt = new Option<string>("--prompt", "-p") { Description = "The prompt (with --chat: the user's message).", Required = true };
        var maxTokens = new Option<int>("--max-tokens", "-n") { Description = "The most tokens to generate.", DefaultValueFactory = _ => 256 };
        var temperature = new Option<float>("--temperature") { Description = "Sampling temperature; 0 is greedy.", DefaultValueFactory = _ => 0.8f };
        var topK = new Option<int?>("--top-k") { Description = "Keep the K most likely tokens (default 40; 0 for all)." };
        var topP = new Option<float?>("--top-p") { Description = "Keep the smallest set of tokens whose probability reaches P (default 0.95)." };
        var minP = new Option<float?>("--min-p") { Description = "Drop tokens less likely than P times the most likely one (default 0.05)." };
        var repeat = new Option<float?>("--repeat-penalty") { Description = "Repetition penalty (1 for none)." };
        var seed = new Option<ulong?>("--seed") { Description = "Random seed, for repeatable output." };
        var chat = new Option<bool>("--chat") { Description = "Wrap the prompt in the model's chat format as a user turn." };
        var system = new Option<string?>("--system") { Description = "With --chat: a system message first." };
        var stop = new Option<string[]>("--stop") { Description = "Stop when this text appears (repeatable).", AllowMultipleArgumentsPerToken = false };
        var grammar = new Option<FileInfo?>("--grammar") { Description = "Constrain the output to a GBNF grammar file." };
        var schema = new Option<FileInfo?>("--json-schema") { Description = "Constrain the output to JSON valid against this JSON Schema file." };
        var regex = new Option<string?>("--regex") { Description = "Constrain the output to this regular expression." };
        var context = new Option<int?>("--context") { Description = "Context length of the session (default: the model's, at most 4096)." };
        var threads = new Option<int?>("--threads", "-t") { Description = "Threads to compute with (default: every processor)." };
        var command = new Command("generate", "Generate text from a prompt, streamed to stdout.")
        {
            model, prompt, maxTokens, temperature, topK, topP, minP, repeat, seed, chat, system, stop, grammar, schema, regex, context, threads,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var sampling = new SamplingOptions
            {
                Temperature = parse.GetValue(temperature),
                Seed = parse.GetValue(seed),
                RepetitionPenalty = parse.GetValue(repeat),
            };
            if (parse.GetValue(topK) is int k)
            {
                sampling.TopK = k == 0 ? null : k;
            }

            if (parse.GetValue(topP) is float p)
            {
                sampling.TopP = p;
            }

            if (parse.GetValue(minP) is float m)
            {
                sampling.MinP = m;
            }

            var options = new GenerationOptions
            {
                MaxTokens = parse.GetValue(maxTokens),
                Sampling = sampling,
                StopStrings = [.. parse.GetValue(stop) ?? []],
                Grammar = ReadGrammar(parse.GetValue(grammar), parse.GetValue(schema), parse.GetValue(regex)),
            };

            using var lm = await LanguageModel.LoadAsync(parse.GetRequiredValue(model).FullName, new LanguageModelOptions { ThreadCount = parse.GetValue(threads) }, cancellationToken).ConfigureAwait(false);
            using var session = lm.CreateSession(new SessionOptions { ContextLength = parse.GetValue(context) });
            IAsyncEnumerable<GenerationUpdate> updates;
            if (parse.GetValue(chat))
            {
                var template = lm.ChatTemplate
                    ?? throw new InvalidOperationException("The model declares no chat format this tool recognises; run without --chat.");
                var turns = new List<ChatTurn>();
                if (parse.GetValue(system) is { Length: > 0 } s)
                {
                    turns.Add(new ChatTurn("system", s));
                }

                turns.Add(new ChatTurn("user", parse.GetRequiredValue(prompt)));
                var ids = new List<int>();
                foreach (var part in template.Render(turns))
                {
                    ids.AddRange(lm.Tokenizer.Encode(part.Text, addSpecialTokens: false, parseSpecialTokens: part.IsMarkup));
                }

                if (lm.AddsBeginningOfSequence && lm.Tokenizer.Vocabulary.BosId is int bos && (ids.Count == 0 || ids[0] != bos))
                {
                    ids.Insert(0, bos);
                }

                foreach (string st in template.StopStrings)
                {
                    options.StopStrings.Add(st);
                }

                updates = session.GenerateAsync(ids, options, cancellationToken);
            }
            else
            {
                updates = session.GenerateAsync(parse.GetRequiredValue(prompt), options, cancellationToken);
            }

            await foreach (var update in updates.ConfigureAwait(false))
            {
                stdout.Write(update.Text);
                stdout.Flush();
                if (update.Statistics is { } st)
                {
                    stdout.WriteLine();
                    var inv = CultureInfo.InvariantCulture;
                    stderr.WriteLine(string.Create(inv,
                        $"microllm: {st.PromptTokens} prompt tokens at {st.PromptTokensPerSecond:F1} tok/s, {st.GeneratedTokens} generated at {st.GenerationTokensPerSecond:F1} tok/s; finished: {update.FinishReason}"));
                }
            }

            return 0;
        });
        return command;
    }

    private static Grammar? ReadGrammar(FileInfo? gbnf, FileInfo? schema, string? regex)
    {
        int given = (gbnf is null ? 0 : 1) + (schema is null ? 0 : 1) + (regex is null ? 0 : 1);
        if (given > 1)
        {
            throw new ArgumentException("Give at most one of --grammar, --json-schema and --regex.");
        }

        return gbnf is not null ? Grammar.Parse(File.ReadAllText(gbnf.FullName))
            : schema is not null ? Grammar.FromJsonSchema(File.ReadAllText(schema.FullName))
            : regex is not null ? Grammar.FromRegex(regex)
            : null;
    }
}
