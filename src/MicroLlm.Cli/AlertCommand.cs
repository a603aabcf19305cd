using System.CommandLine;
using MicroLlm.Chat;
using MicroLlm.Guardrails;
using MicroLlm.Inference;
using Microsoft.Extensions.AI;

namespace MicroLlm.Cli;

/// <summary>
/// <c>microllm alert --event E.json --lang en|bn|both [--model M.gguf] [--deadline-ms N] [--policy P.json] [--json]</c>:
/// a verified alert for an event; <c>--example TYPE</c> prints a sample event, <c>--types</c> lists the types and
/// <c>--schema</c> prints the event JSON Schema.
/// </summary>
internal static class AlertCommand
{
    /// <summary>Output token limit for the model's rephrasing: an alert is at most a few hundred characters.</summary>
    internal const int MaxOutputTokens = 384;

    public static Command Create(TextWriter stdout)
    {
        var eventFile = new Option<FileInfo>("--event", "-e") { Description = "The event JSON file." };
        var lang = new Option<string>("--lang", "-l") { Description = "The language(s) to write: en, bn or both.", DefaultValueFactory = _ => "both" };
        lang.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<string>() is not ("en" or "bn" or "both"))
            {
                r.AddError($"--lang must be en, bn or both, not '{r.GetValueOrDefault<string>()}'.");
            }
        });
        var model = new Option<FileInfo>("--model", "-m") { Description = "A GGUF model that rephrases the alert through the local runtime (verified; the template is used when it fails). Models without a chat format get ChatML." };
        var deadline = new Option<int?>("--deadline-ms") { Description = "Return within this many milliseconds; the template is used if the model is not done." };
        deadline.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int?>() is <= 0)
            {
                r.AddError("--deadline-ms must be a positive number of milliseconds.");
            }
        });
        var policy = new Option<FileInfo>("--policy", "-p") { Description = "A policy JSON file: banned terms, required phrases, max length, PII redaction." };
        var json = new Option<bool>("--json") { Description = "Print {\"en\": ..., \"bn\": ..., \"source\": ..., \"audit\": {...}}." };
        var example = new Option<string>("--example") { Description = "Print a valid sample event of this type." };
        var types = new Option<bool>("--types") { Description = "List the alert types and their slots." };
        var schema = new Option<bool>("--schema") { Description = "Print the JSON Schema of events." };
        var command = new Command("alert", "Write a verified safety alert for an event, in English and/or Bangla.")
        {
            eventFile, lang, model, deadline, policy, json, example, types, schema,
        };
        command.Validators.Add(r =>
        {
            int modes = (r.GetValue(eventFile) is null ? 0 : 1) + (r.GetValue(example) is null ? 0 : 1) + (r.GetValue(types) ? 1 : 0) + (r.GetValue(schema) ? 1 : 0);
            if (modes != 1)
            {
                r.AddError("alert needs exactly one of --event FILE, --example TYPE, --types or --schema.");
            }
        });

        command.SetAction(async (parse, cancellationToken) =>
        {
            var catalog = AlertCatalog.Default;
            if (parse.GetValue(types))
            {
                foreach (var type in catalog.Types)
                {
                    stdout.WriteLine($"{type.Name,-22} {type.GetTitle(AlertLanguage.English)} / {type.GetTitle(AlertLanguage.Bangla)}");
                    stdout.WriteLine($"{string.Empty,-22} slots: {string.Join(", ", type.Slots.Select(s => s.IsOptional ? $"[{s.Name}]" : s.Name))}");
                }

                return 0;
            }

            if (parse.GetValue(schema))
            {
                stdout.Write(catalog.GetEventSchema());
                return 0;
            }

            if (parse.GetValue(example) is { } name)
            {
                stdout.WriteLine(catalog.GetAlertType(name).ExampleJson);
                return 0;
            }

            var options = new AlertPhraserOptions
            {
                Catalog = catalog,
                Languages = parse.GetValue(lang) switch
                {
                    "en" => [AlertLanguage.English],
                    "bn" => [AlertLanguage.Bangla],
                    _ => [AlertLanguage.English, AlertLanguage.Bangla],
                },
                Deadline = parse.GetValue(deadline) is { } ms ? TimeSpan.FromMilliseconds(ms) : null,
                Policy = parse.GetValue(policy) is { } p ? AlertPolicy.Parse(await File.ReadAllTextAsync(p.FullName, cancellationToken).ConfigureAwait(false)) : null,
            };
            string eventJson = await File.ReadAllTextAsync(parse.GetRequiredValue(eventFile).FullName, cancellationToken).ConfigureAwait(false);
            var alertEvent = AlertEvent.Parse(eventJson, catalog); // a bad event fails before a model is loaded
            AlertResult result;
            if (parse.GetValue(model) is { } modelFile)
            {
                // The deadline covers phrasing, not loading the model (a host keeps its model loaded between alerts).
                using var lm = await LanguageModel.LoadAsync(modelFile.FullName, null, cancellationToken).ConfigureAwait(false);
                using var client = new LocalChatClient(lm, new LocalChatClientOptions { Template = lm.ChatTemplate ?? ChatTemplate.ChatML });
                options.ChatOptions = new ChatOptions { MaxOutputTokens = MaxOutputTokens };
                result = await new AlertPhraser(client, options).PhraseAsync(alertEvent, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                result = await new AlertPhraser(null, options).PhraseAsync(alertEvent, cancellationToken).ConfigureAwait(false);
            }

            stdout.WriteLine(parse.GetValue(json) ? result.ToJson() : result.ToString());
            return 0;
        });
        return command;
    }
}
