using System.CommandLine;
using System.Globalization;
using MicroLlm.Gguf;

namespace MicroLlm.Cli;

/// <summary><c>microllm info --model M.gguf</c>: architecture, hyperparameters, tensor types and sizes, metadata.</summary>
internal static class InfoCommand
{
    public static Command Create(TextWriter stdout)
    {
        var model = new Option<FileInfo>("--model", "-m") { Description = "The GGUF file to describe.", Required = true };
        var command = new Command("info", "Describe a GGUF file: architecture, hyperparameters, tensors and metadata.") { model };
        command.SetAction(parse =>
        {
            using var file = GgufFile.Open(parse.GetRequiredValue(model).FullName);
            Write(file, stdout);
            return 0;
        });
        return command;
    }

    internal static void Write(GgufFile file, TextWriter o)
    {
        var inv = CultureInfo.InvariantCulture;
        string arch = file.Architecture ?? "(not stated)";
        o.WriteLine($"file:          {file.Path}");
        o.WriteLine($"format:        GGUF v{file.Version}, {Size(file.Length)}, alignment {file.Alignment}, data at byte {file.DataOffset}");
        o.WriteLine($"architecture:  {arch}");
        o.WriteLine($"name:          {file.Metadata.GetString("general.name", "(not stated)")}");
        if (file.Metadata.TryGetValue("general.file_type", out var ft))
        {
            o.WriteLine($"file type:     {FileTypeName(ft)}");
        }

        o.WriteLine();
        o.WriteLine("hyperparameters:");
        string prefix = arch + ".";
        bool any = false;
        foreach (var kv in file.Metadata.Where(kv => kv.Key.StartsWith(prefix, StringComparison.Ordinal)))
        {
            o.WriteLine($"  {kv.Key[prefix.Length..],-40} {kv.Value}");
            any = true;
        }

        if (!any)
        {
            o.WriteLine("  (none: a vocabulary-only or non-model file)");
        }

        if (file.Metadata.TryGetValue("tokenizer.ggml.model", out var tok))
        {
            int n = file.Metadata.TryGetValue("tokenizer.ggml.tokens", out var toks) ? toks.Length : 0;
            string pre = file.Metadata.GetString("tokenizer.ggml.pre", "default");
            o.WriteLine();
            o.WriteLine($"tokenizer:     {tok} (pre-tokenizer {pre}), {n} tokens");
        }

        o.WriteLine();
        long params_ = file.Tensors.Sum(t => t.ElementCount);
        long bytes = file.Tensors.Sum(t => t.ByteCount);
        o.WriteLine($"tensors:       {file.Tensors.Count}, {params_.ToString("N0", inv)} parameters, {Size(bytes)}" +
            (params_ > 0 ? $", {(bytes * 8.0 / params_).ToString("F2", inv)} bits per weight" : string.Empty));
        foreach (var g in file.Tensors.GroupBy(t => t.Type).OrderByDescending(g => g.Sum(t => t.ByteCount)))
        {
            o.WriteLine($"  {GgmlTypeInfo.Get(g.Key).Name,-8} {g.Count(),5} tensors  {g.Sum(t => t.ElementCount).ToString("N0", inv),16} elements  {Size(g.Sum(t => t.ByteCount)),10}");
        }

        o.WriteLine();
        foreach (var t in file.Tensors)
        {
            o.WriteLine($"  {t.Name,-40} {GgmlTypeInfo.Get(t.Type).Name,-8} {t.ShapeText(),-22} {Size(t.ByteCount),10}");
        }

        o.WriteLine();
        o.WriteLine($"metadata:      {file.Metadata.Count} keys");
        foreach (var kv in file.Metadata)
        {
            string value = kv.Value.ToString().ReplaceLineEndings("\\n");
            if (value.Length > 160)
            {
                value = value[..157] + "...";
            }

            o.WriteLine($"  {kv.Key,-44} {value}");
        }
    }

    private static readonly Dictionary<long, string> FileTypes = new()
    {
        [0] = "all F32", [1] = "mostly F16", [2] = "mostly Q4_0", [3] = "mostly Q4_1", [7] = "mostly Q8_0", [8] = "mostly Q5_0",
        [9] = "mostly Q5_1", [10] = "mostly Q2_K", [11] = "Q3_K_S", [12] = "Q3_K_M", [13] = "Q3_K_L", [14] = "Q4_K_S", [15] = "Q4_K_M",
        [16] = "Q5_K_S", [17] = "Q5_K_M", [18] = "Q6_K", [19] = "IQ2_XXS", [20] = "IQ2_XS", [21] = "Q2_K_S", [22] = "IQ3_XS",
        [23] = "IQ3_XXS", [24] = "IQ1_S", [25] = "IQ4_NL", [26] = "IQ3_S", [27] = "IQ3_M", [28] = "IQ2_S", [29] = "IQ2_M",
        [30] = "IQ4_XS", [31] = "IQ1_M", [32] = "mostly BF16", [36] = "TQ1_0", [37] = "TQ2_0",
    };

    private static string FileTypeName(GgufValue value)
    {
        try
        {
            long code = value.AsInt64();
            return FileTypes.TryGetValue(code, out string? name) ? $"{name} ({code})" : $"unknown ({code})";
        }
        catch (InvalidOperationException)
        {
            return value.ToString();
        }
    }

    private static string Size(long bytes)
    {
        var inv = CultureInfo.InvariantCulture;
        return bytes switch
        {
            >= 1L << 30 => (bytes / (double)(1L << 30)).ToString("F2", inv) + " GiB",
            >= 1L << 20 => (bytes / (double)(1L << 20)).ToString("F2", inv) + " MiB",
            >= 1L << 10 => (bytes / 1024.0).ToString("F1", inv) + " KiB",
            _ => bytes.ToString(inv) + " B",
        };
    }
}
