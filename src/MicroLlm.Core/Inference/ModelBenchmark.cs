using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace MicroLlm.Inference;

/// <summary>What <see cref="ModelBenchmark.Run"/> measures.</summary>
public sealed class ModelBenchmarkOptions
{
    /// <summary>Tokens evaluated as one prompt (prefill). Default 128; 0 to skip.</summary>
    public int PromptTokens { get; set; } = 128;

    /// <summary>
    /// Timed prefills of the prompt, each from an empty cache, after one untimed one (as llama-bench repeats its
    /// prompt after a warm-up run); the prefill speed is their mean. Default 3.
    /// </summary>
    public int PromptRepetitions { get; set; } = 3;

    /// <summary>Tokens generated one at a time (decode). Default 64; 0 to skip.</summary>
    public int GenerationTokens { get; set; } = 64;

    /// <summary>Bytes read by each pass of the bandwidth probe. Default 512 MiB (well past any cache).</summary>
    public long BandwidthProbeBytes { get; set; } = 512L << 20;

    /// <summary>
    /// Rounds the decode is split into, with one bandwidth probe pass before each round and one after the last, so that
    /// bandwidth and decode are measured in the same seconds of a machine whose bandwidth may change with its neighbours.
    /// Default 8 (fewer when fewer tokens are generated).
    /// </summary>
    public int DecodeRounds { get; set; } = 8;

    /// <summary>Seed of the random token ids. Default 1.</summary>
    public int Seed { get; set; } = 1;
}

/// <summary>The figures of one <see cref="ModelBenchmark.Run"/>.</summary>
/// <param name="PromptTokensPerSecond">Prefill speed: the mean over <see cref="ModelBenchmarkOptions.PromptRepetitions"/> prefills.</param>
/// <param name="GenerationTokensPerSecond">Decode speed, one token at a time.</param>
/// <param name="BandwidthGBps">
/// Measured read bandwidth of this machine with the model's thread count (10^9 bytes/s): the median of the probe passes
/// interleaved with the decode rounds.
/// </param>
/// <param name="WeightBytes">Bytes of weights a decode step reads.</param>
/// <param name="RooflineTokensPerSecond">Decode ceiling: bandwidth ÷ weight bytes.</param>
/// <param name="RooflineRatio">Decode speed ÷ ceiling.</param>
/// <param name="PeakRssBytes">Peak resident memory of the model's process, the probe's buffer not counted.</param>
/// <param name="Threads">Threads the model computed with.</param>
/// <param name="BandwidthMinGBps">The slowest probe pass (10^9 bytes/s).</param>
/// <param name="BandwidthMaxGBps">The fastest probe pass (10^9 bytes/s).</param>
public sealed record ModelBenchmarkResult(
    double PromptTokensPerSecond,
    double GenerationTokensPerSecond,
    double BandwidthGBps,
    long WeightBytes,
    double RooflineTokensPerSecond,
    double RooflineRatio,
    long PeakRssBytes,
    int Threads,
    double BandwidthMinGBps,
    double BandwidthMaxGBps);

/// <summary>
/// Measures a model like llama-bench: prefill and decode tokens per second on random tokens, next to the machine's read
/// bandwidth measured in the same run, so that decode speed can be read against its memory-bandwidth ceiling.
/// </summary>
/// <remarks>
/// On a shared or virtual machine the read bandwidth moves from second to second, so one probe before or after the
/// decode can be far from what the decode saw. The decode therefore runs in rounds with a probe pass between them
/// (<see cref="ModelBenchmarkOptions.DecodeRounds"/>), and the bandwidth is the median of those passes.
/// </remarks>
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

        ArgumentOutOfRangeException.ThrowIfLessThan(options.DecodeRounds, 1, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.PromptRepetitions, 1, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.BandwidthProbeBytes, 1L << 20, nameof(options));
        double pp = 0, tg = 0;
        using var session = model.CreateSession(new SessionOptions { ContextLength = context });
        if (options.PromptTokens > 0)
        {
            // One untimed prefill of the same prompt first (JIT, the first copy of the weights, the session's buffers for
            // a batch of this size), as llama-bench's warm-up run; then the mean speed of the timed ones.
            int[] prompt = [.. Enumerable.Range(0, options.PromptTokens).Select(_ => random.Next(vocab))];
            session.Evaluate(prompt, cancellationToken);
            for (int i = 0; i < options.PromptRepetitions; i++)
            {
                session.Reset();
                var clock = Stopwatch.StartNew();
                session.Evaluate(prompt, cancellationToken);
                pp += prompt.Length / clock.Elapsed.TotalSeconds / options.PromptRepetitions;
            }
        }

        long peakBeforeProbe = PeakWorkingSet();
        var probe = new BandwidthProbe(threads, options.BandwidthProbeBytes);
        var passes = new List<double>();
        try
        {
            passes.Add(probe.Pass(cancellationToken)); // its first pass also warms the probe's threads
            if (options.GenerationTokens > 0)
            {
                session.Reset();
                session.Evaluate([random.Next(vocab)], cancellationToken);
                session.Evaluate([random.Next(vocab)], cancellationToken); // warm up
                int rounds = Math.Min(options.DecodeRounds, options.GenerationTokens);
                var decoding = new Stopwatch();
                for (int round = 0; round < rounds; round++)
                {
                    int tokens = (options.GenerationTokens * (round + 1) / rounds) - (options.GenerationTokens * round / rounds);
                    decoding.Start();
                    for (int i = 0; i < tokens; i++)
                    {
                        session.Evaluate([random.Next(vocab)], cancellationToken);
                    }

                    decoding.Stop();
                    passes.Add(probe.Pass(cancellationToken));
                }

                tg = options.GenerationTokens / decoding.Elapsed.TotalSeconds;
            }
            else
            {
                for (int pass = 1; pass < 5; pass++)
                {
                    passes.Add(probe.Pass(cancellationToken));
                }
            }
        }
        finally
        {
            probe.Dispose();
        }

        // The probe's buffer is resident from its first pass to the end: a peak reached meanwhile counts without it.
        long peakRss = Math.Max(peakBeforeProbe, PeakWorkingSet() - probe.Bytes);
        passes.Sort();
        double bandwidth = passes.Count % 2 == 1 ? passes[passes.Count / 2] : (passes[(passes.Count / 2) - 1] + passes[passes.Count / 2]) / 2;
        long weightBytes = model.Info.WeightBytes;
        double roofline = bandwidth * 1e9 / weightBytes;
        return new ModelBenchmarkResult(pp, tg, bandwidth, weightBytes, roofline, roofline > 0 ? tg / roofline : 0, peakRss, threads, passes[0], passes[^1]);
    }

    private static long PeakWorkingSet()
    {
        using var process = Process.GetCurrentProcess();
        return process.PeakWorkingSet64;
    }

    /// <summary>
    /// The read bandwidth of this machine in 10^9 bytes per second: <paramref name="threads"/> threads each sum their
    /// part of a <paramref name="bytes"/>-byte buffer with the widest vectors; the best of five passes.
    /// </summary>
    /// <param name="threads">Threads reading at once.</param>
    /// <param name="bytes">Buffer size; make it far larger than the caches.</param>
    /// <param name="cancellationToken">Stops the probe.</param>
    /// <returns>GB/s.</returns>
    public static double MeasureReadBandwidth(int threads, long bytes = 512L << 20, CancellationToken cancellationToken = default)
    {
        using var probe = new BandwidthProbe(threads, bytes);
        double best = 0;
        for (int pass = 0; pass < 5; pass++)
        {
            best = Math.Max(best, probe.Pass(cancellationToken));
        }

        return best;
    }

    /// <summary>A buffer far larger than the caches, filled once, read by a fixed number of threads per pass.</summary>
    private sealed unsafe class BandwidthProbe : IDisposable
    {
        private readonly int _threads;
        private byte* _buffer;

        public BandwidthProbe(int threads, long bytes)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
            ArgumentOutOfRangeException.ThrowIfLessThan(bytes, 1L << 20);
            _threads = threads;
            Bytes = bytes / 64 * 64;
            _buffer = (byte*)NativeMemory.AlignedAlloc((nuint)Bytes, 64);
            for (long filled = 0; filled < Bytes; filled += int.MaxValue)
            {
                new Span<byte>(_buffer + filled, (int)Math.Min(Bytes - filled, int.MaxValue)).Fill(1);
            }
        }

        /// <summary>The buffer's size.</summary>
        public long Bytes { get; }

        /// <summary>Reads the whole buffer once, split over the threads; returns 10^9 bytes per second.</summary>
        public double Pass(CancellationToken cancellationToken)
        {
            cancellationToken.ThrowIfCancellationRequested();
            ObjectDisposedException.ThrowIf(_buffer == null, this);
            long count = Bytes;
            nint start = (nint)_buffer;
            var clock = Stopwatch.StartNew();
            long sink = 0;
            Parallel.For(0, _threads, new ParallelOptions { MaxDegreeOfParallelism = _threads }, t =>
            {
                long from = count * t / _threads / 64 * 64, to = count * (t + 1) / _threads / 64 * 64;
                long s = SumBytes((byte*)start + from, to - from);
                Interlocked.Add(ref sink, s);
            });
            double gbps = count / clock.Elapsed.TotalSeconds / 1e9;
            GC.KeepAlive(sink);
            return gbps;
        }

        public void Dispose()
        {
            if (_buffer != null)
            {
                NativeMemory.AlignedFree(_buffer);
                _buffer = null;
            }
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
