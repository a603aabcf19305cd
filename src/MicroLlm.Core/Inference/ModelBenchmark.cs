using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace MicroLlm.Inference;

/// <summary>What <see cref="ModelBenchmark.Run"/> measures.</summary>
public sealed class ModelBenchmarkOptions
{
    /// <summary>Tokens evaluated as one prompt (prefill). Default 128; 0 to skip.</summary>
    public int PromptTokens { get; set; } = 128;

    /// <summary>Tokens generated one at a time (decode). Default 64; 0 to skip.</summary>
    public int GenerationTokens { get; set; } = 64;

    /// <summary>Bytes read by the bandwidth probe. Default 512 MiB (well past any cache).</summary>
    public long BandwidthProbeBytes { get; set; } = 512L << 20;

    /// <summary>Seed of the random token ids. Default 1.</summary>
    public int Seed { get; set; } = 1;
}

/// <summary>The figures of one <see cref="ModelBenchmark.Run"/>.</summary>
/// <param name="PromptTokensPerSecond">Prefill speed.</param>
/// <param name="GenerationTokensPerSecond">Decode speed, one token at a time.</param>
/// <param name="BandwidthGBps">Measured read bandwidth of this machine with the model's thread count (10^9 bytes/s).</param>
/// <param name="WeightBytes">Bytes of weights a decode step reads.</param>
/// <param name="RooflineTokensPerSecond">Decode ceiling: bandwidth ÷ weight bytes.</param>
/// <param name="RooflineRatio">Decode speed ÷ ceiling.</param>
/// <param name="PeakRssBytes">Peak resident memory of the process before the bandwidth probe.</param>
/// <param name="Threads">Threads the model computed with.</param>
public sealed record ModelBenchmarkResult(
    double PromptTokensPerSecond,
    double GenerationTokensPerSecond,
    double BandwidthGBps,
    long WeightBytes,
    double RooflineTokensPerSecond,
    double RooflineRatio,
    long PeakRssBytes,
    int Threads);

/// <summary>
/// Measures a model like llama-bench: prefill and decode tokens per second on random tokens, next to the machine's read
/// bandwidth measured in the same run, so that decode speed can be read against its memory-bandwidth ceiling.
/// </summary>
public static class ModelBenchmark
{
    /// <summary>Runs the benchmark.</summary>
    /// <param name="model">The model to measure.</param>
    /// <param name="options">Prompt and generation lengths; null for the defaults.</param>
    /// <param name="cancellationToken">Stops the run.</param>
    /// <returns>The figures.</returns>
    public static ModelBenchmarkResult Run(LanguageModel model, ModelBenchmarkOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        options ??= new ModelBenchmarkOptions();
        ArgumentOutOfRangeException.ThrowIfNegative(options.PromptTokens, nameof(options));
        ArgumentOutOfRangeException.ThrowIfNegative(options.GenerationTokens, nameof(options));
        int threads = model.Transformer.ThreadCount;
        var random = new Random(options.Seed);
        int vocab = model.Info.VocabularySize;
        int context = Math.Max(1, options.PromptTokens) + options.GenerationTokens + 1;
        if (context > model.Info.ContextLength)
        {
            throw new ArgumentException($"Prompt plus generated tokens ({context}) exceed the model's context of {model.Info.ContextLength}.", nameof(options));
        }

        double pp = 0, tg = 0;
        using var session = model.CreateSession(new SessionOptions { ContextLength = context });
        if (options.PromptTokens > 0)
        {
            int[] prompt = [.. Enumerable.Range(0, options.PromptTokens).Select(_ => random.Next(vocab))];
            session.Evaluate(prompt.AsSpan(0, Math.Min(4, prompt.Length)), cancellationToken); // warm up (JIT, first page faults)
            session.Reset();
            var clock = Stopwatch.StartNew();
            session.Evaluate(prompt, cancellationToken);
            pp = prompt.Length / clock.Elapsed.TotalSeconds;
        }

        if (options.GenerationTokens > 0)
        {
            session.Reset();
            session.Evaluate([random.Next(vocab)], cancellationToken);
            session.Evaluate([random.Next(vocab)], cancellationToken); // warm up
            var clock = Stopwatch.StartNew();
            for (int i = 0; i < options.GenerationTokens; i++)
            {
                session.Evaluate([random.Next(vocab)], cancellationToken);
            }

            tg = options.GenerationTokens / clock.Elapsed.TotalSeconds;
        }

        long peakRss; // before the probe, whose buffer is not the model's memory
        using (var process = Process.GetCurrentProcess())
        {
            peakRss = process.PeakWorkingSet64;
        }

        double bandwidth = MeasureReadBandwidth(threads, options.BandwidthProbeBytes, cancellationToken);
        long weightBytes = model.Info.WeightBytes;
        double roofline = bandwidth * 1e9 / weightBytes;
        return new ModelBenchmarkResult(pp, tg, bandwidth, weightBytes, roofline, roofline > 0 ? tg / roofline : 0, peakRss, threads);
    }

    /// <summary>
    /// The read bandwidth of this machine in 10^9 bytes per second: <paramref name="threads"/> threads each sum their
    /// part of a <paramref name="bytes"/>-byte buffer with the widest vectors; the best of five passes.
    /// </summary>
    /// <param name="threads">Threads reading at once.</param>
    /// <param name="bytes">Buffer size; make it far larger than the caches.</param>
    /// <param name="cancellationToken">Stops the probe.</param>
    /// <returns>GB/s.</returns>
    public static unsafe double MeasureReadBandwidth(int threads, long bytes = 512L << 20, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(bytes, 1L << 20);
        long count = bytes / 64 * 64;
        byte* buffer = (byte*)NativeMemory.AlignedAlloc((nuint)count, 64);
        try
        {
            new Span<byte>(buffer, (int)Math.Min(count, int.MaxValue)).Fill(1);
            for (long filled = int.MaxValue; filled < count; filled += int.MaxValue)
            {
                new Span<byte>(buffer + filled, (int)Math.Min(count - filled, int.MaxValue)).Fill(1);
            }

            double best = 0;
            nint start = (nint)buffer;
            for (int pass = 0; pass < 5; pass++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var clock = Stopwatch.StartNew();
                long sink = 0;
                Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, t =>
                {
                    long from = count * t / threads / 64 * 64, to = count * (t + 1) / threads / 64 * 64;
                    long s = SumBytes((byte*)start + from, to - from);
                    Interlocked.Add(ref sink, s);
                });
                double gbps = count / clock.Elapsed.TotalSeconds / 1e9;
                best = Math.Max(best, gbps);
                GC.KeepAlive(sink);
            }

            return best;
        }
        finally
        {
            NativeMemory.AlignedFree(buffer);
        }
    }

    private static unsafe long SumBytes(byte* p, long length)
    {
        var acc0 = Vector512<ulong>.Zero;
        var acc1 = Vector512<ulong>.Zero;
        long i = 0;
        for (; i + 128 <= length; i += 128)
        {
            acc0 += Vector512.Load((ulong*)(p + i));
            acc1 += Vector512.Load((ulong*)(p + i + 64));
        }

        for (; i + 64 <= length; i += 64)
        {
            acc0 += Vector512.Load((ulong*)(p + i));
        }

        return (long)Vector512.Sum(acc0 + acc1);
    }
}
