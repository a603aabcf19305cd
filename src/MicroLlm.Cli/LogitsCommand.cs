using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using MicroLlm.Inference;

namespace MicroLlm.Cli;

/// <summary>
/// <c>microllm logits --model M --prompt P [--top K] [--greedy N] [--json]</c>: the prompt's tokens (with BOS as the model
/// adds it), the top-K logits at every prompt position and N greedy tokens, in the shape of the conformance data.
/// </summary>
internal static class LogitsCommand
{
    public static Command Create(TextWriter stdout)
    {
        var model = new Option<FileInfo>("--model", "-m") { Description = "The GGUF model.", Required = true };
        var prompt = new Option<string>("--prompt", "-p") { Description = "The prompt text.", Required = true };
        var top = new Option<int>("--top") { Description = "Logits to list per position (highest first).", DefaultValueFactory = _ => 64 };
        var greedy = new Option<int>("--greedy") { Description = "Greedy tokens to generate after the prompt.", DefaultValueFactory = _ => 16 };
        var json = new Option<bool>("--json") { Description = "Print one JSON object (the conformance data's shape)." };
        var command = new Command("logits", "Print the prompt's tokens, the top logits at every position and a greedy continuation.") { model, prompt, top, greedy, json };
        command.SetAction((parse, cancellationToken) =>
        {
            int k = parse.GetValue(top), n = parse.GetValue(greedy);
            if (k < 1 || n < 0)
            {
                throw new ArgumentException("--top must be at least 1 and --greedy at least 0.");
            }

            var path = parse.GetRequiredValue(model);
            using var lm = LanguageModel.Load(path.FullName);
            string text = parse.GetRequiredValue(prompt);
            var tokens = new List<int>();
            if (lm.AddsBeginningOfSequence && lm.Tokenizer.Vocabulary.BosId is int bos)
            {
                tokens.Add(bos);
            }

            tokens.AddRange(lm.Tokenizer.Encode(text, addSpecialTokens: false, parseSpecialTokens: false));
            if (tokens.Count == 0)
            {
                throw new ArgumentException("The prompt gave no tokens; give a non-empty --prompt.");
            }

            int vocab = lm.Info.VocabularySize;
            k = Math.Min(k, vocab);
            using var session = lm.CreateSession(new SessionOptions { ContextLength = Math.Min(lm.Info.ContextLength, tokens.Count + n + 1) });
            var all = new float[tokens.Count * vocab];
            session.EvaluateAll(tokens.ToArray(), all, cancellationToken);
            var tops = new List<(int Id, float Logit)[]>();
            for (int p = 0; p < tokens.Count; p++)
            {
                tops.Add(Top(all.AsSpan(p * vocab, vocab), k));
            }

            var continuation = new List<int>();
            for (int i = 0; i < n; i++)
            {
                int next = Top(session.Logits, 1)[0].Id;
                continuation.Add(next);
                if (i + 1 < n)
                {
                    session.Evaluate([next], cancellationToken);
                }
            }

            if (parse.GetValue(json))
            {
                WriteJson(stdout, path.Name, text, vocab, tokens, tops, continuation);
            }
            else
            {
                var inv = CultureInfo.InvariantCulture;
                stdout.WriteLine($"tokens: {string.Join(' ', tokens)}");
                for (int p = 0; p < tokens.Count; p++)
                {
                    stdout.WriteLine($"{p,4} {tokens[p],7}: " + string.Join(' ', tops[p].Take(Math.Min(k, 8)).Select(t => string.Create(inv, $"{t.Id}:{t.Logit:F5}"))));
                }

                stdout.WriteLine($"greedy: {string.Join(' ', continuation)}");
                stdout.WriteLine($"text:   {lm.Tokenizer.Decode(continuation)}");
            }

            return Task.FromResult(0);
        });
        return command;
    }

    private static (int Id, float Logit)[] Top(ReadOnlySpan<float> logits, int k)
    {
        var best = new List<(int Id, float Logit)>(k + 1);
        for (int i = 0; i < logits.Length; i++)
        {
            float v = logits[i];
            if (best.Count == k && v <= best[^1].Logit)
            {
                continue;
            }

            int at = best.FindIndex(b => v > b.Logit);
            best.Insert(at < 0 ? best.Count : at, (i, v));
            if (best.Count > k)
            {
                best.RemoveAt(best.Count - 1);
            }
        }

        return [.. best];
    }

    private static void WriteJson(TextWriter stdout, string model, string prompt, int vocab, List<int> tokens, List<(int Id, float Logit)[]> tops, List<int> greedy)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            w.WriteString("model", model);
            w.WriteString("prompt", prompt);
            w.WriteNumber("n_vocab", vocab);
            w.WriteStartArray("tokens");
            tokens.ForEach(w.WriteNumberValue);
            w.WriteEndArray();
            w.WriteStartArray("logits");
            foreach (var position in tops)
            {
                w.WriteStartArray();
                foreach (var (id, logit) in position)
                {
                    w.WriteStartArray();
                    w.WriteNumberValue(id);
                    w.WriteNumberValue(MathF.Round(logit, 5));
                    w.WriteEndArray();
                }

                w.WriteEndArray();
            }

            w.WriteEndArray();
            w.WriteStartArray("greedy");
            greedy.ForEach(w.WriteNumberValue);
            w.WriteEndArray();
            w.WriteEndObject();
        }

        stdout.WriteLine(System.Text.Encoding.UTF8.GetString(buffer.ToArray()));
    }
}
