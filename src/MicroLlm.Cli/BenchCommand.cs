using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using MicroLlm.Inference;

namespace MicroLlm.Cli;

/// <summary>
/// <c>microllm bench --model M [--threads T] [--prompt-tokens P] [--gen-tokens N] [--keep-weights-mapped] [--json]</c>: prefill and decode
/// tokens/s, peak RSS, and the machine's read bandwidth with the decode roofline ratio.
/// </summary>
internal static class BenchCommand
{
    public static Command Create(TextWriter stdout)
    {
        var model = new Option<FileInfo>("--model", "-m") { Description = "The GGUF model.", Required = true };
        var threads = new Option<int?>("--threads", "-t") { Description = "Threads (default: every processor)." };
        var prompt = new Option<int>("--prompt-tokens", "-p") { Description = "Prompt tokens for the prefill figure (0 to skip).", DefaultValueFactory = _ => 128 };
        var gen = new Option<int>("--gen-tokens", "-n") { Description = "Generated tokens for the decode figure (0 to skip).", DefaultValueFactory = _ => 64 };
        var json = new Option<bool>("--json") { Description = "End with one JSON line of the figures." };
        var keepMapped = new Option<bool>("--keep-weights-mapped") { Description = "Keep every weight in the file mapping (LanguageModelOptions.KeepWeightsMapped) instead of copying the matrices that decode faster from the model's own memory." };
        var command = new Command("bench", "Measure prefill and decode speed against the machine's memory bandwidth.") { model, threads, prompt, gen, keepMapped, json };
        command.SetAction((parse, cancellationToken) =>
        {
            var file = parse.GetRequiredValue(model);
            var loadClock = System.Diagnostics.Stopwatch.StartNew();
            bool mapped = parse.GetValue(keepMapped);
            using var lm = LanguageModel.Load(file.FullName, new LanguageModelOptions { ThreadCount = parse.GetValue(threads), KeepWeightsMapped = mapped });
            double loadMs = loadClock.Elapsed.TotalMilliseconds;
            var r = ModelBenchmark.Run(lm, new ModelBenchmarkOptions { PromptTokens = parse.GetValue(prompt), GenerationTokens = parse.GetValue(gen) }, cancellationToken);
            var inv = CultureInfo.InvariantCulture;
            stdout.WriteLine(string.Create(inv, $"model:      {file.Name} ({lm.Info.Architecture}, {r.WeightBytes / 1048576.0:F1} MiB of weights per token), loaded in {loadMs:F0} ms"));
            stdout.WriteLine(string.Create(inv, $"threads:    {r.Threads}"));
            stdout.WriteLine(mapped ? "weights:    kept in the file mapping" : "weights:    those the kernels read faster from a copy copied to the model's memory on first use (see LanguageModelOptions.KeepWeightsMapped), the rest mapped");
            stdout.WriteLine(string.Create(inv, $"prefill:    {r.PromptTokensPerSecond:F2} tok/s (pp{parse.GetValue(prompt)})"));
            stdout.WriteLine(string.Create(inv, $"decode:     {r.GenerationTokensPerSecond:F2} tok/s (tg{parse.GetValue(gen)})"));
            stdout.WriteLine(string.Create(inv, $"bandwidth:  {r.BandwidthGBps:F1} GB/s read (median of the probe passes between decode rounds; {r.BandwidthMinGBps:F1}-{r.BandwidthMaxGBps:F1}) -> roofline {r.RooflineTokensPerSecond:F1} tok/s; decode is {r.RooflineRatio:P0} of it"));
            stdout.WriteLine(string.Create(inv, $"peak RSS:   {r.PeakRssBytes / 1048576.0:F0} MiB"));
            if (parse.GetValue(json))
            {
                stdout.WriteLine(JsonSerializer.Serialize(new Dictionary<string, double>
                {
                    ["pp_tok_s"] = Math.Round(r.PromptTokensPerSecond, 3),
                    ["tg_tok_s"] = Math.Round(r.GenerationTokensPerSecond, 3),
                    ["bandwidth_gb_s"] = Math.Round(r.BandwidthGBps, 3),
                    ["bandwidth_min_gb_s"] = Math.Round(r.BandwidthMinGBps, 3),
                    ["bandwidth_max_gb_s"] = Math.Round(r.BandwidthMaxGBps, 3),
                    ["roofline_ratio"] = Math.Round(r.RooflineRatio, 4),
                    ["peak_rss_mb"] = Math.Round(r.PeakRssBytes / 1048576.0, 1),
                }));
            }

            return Task.FromResult(0);
        });
        return command;
    }
}
