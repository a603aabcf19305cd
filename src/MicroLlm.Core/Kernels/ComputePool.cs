using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;

namespace MicroLlm.Kernels;

/// <summary>A body for <see cref="ComputePool.For"/>: handles the items <c>[start, end)</c>.</summary>
internal interface IRangeBody
{
    /// <summary>Processes items <paramref name="start"/> (inclusive) to <paramref name="end"/> (exclusive).</summary>
    void Invoke(int start, int end);
}

/// <summary>
/// A fixed set of worker threads for the kernels: <see cref="For"/> splits a range of items (matrix rows) into chunks
/// that the calling thread and the workers claim in turn. Nothing is allocated per call: the body is a struct read
/// through a pointer to the caller's stack while the caller waits. Workers spin for a short while after each call
/// (decode issues hundreds of calls per token, back to back) and then block until the next one. A call waits only for
/// the workers that joined it before its chunks ran out: on a busy host, a worker the system has not scheduled does not
/// hold the caller up (the caller runs the chunks itself).
/// </summary>
/// <remarks>
/// Each item is processed by exactly one thread, so results that depend only on the item (a row's dot product) are
/// the same bits for every thread count. Calls from several threads are serialized; a body must not call
/// <see cref="For"/> on the same pool.
/// </remarks>
internal sealed unsafe class ComputePool : IDisposable
{
    private static readonly long SpinTicks = Stopwatch.Frequency / 10_000; // 100 µs

    private readonly Thread[] _workers;
    private readonly Lock _callGate = new();
    private readonly object _wakeGate = new();  // Monitor.Wait/PulseAll: workers sleeping until the next call
    private readonly object _doneGate = new();  // Monitor.Wait/PulseAll: the caller sleeping until the workers finish
    private long _generation;
    private int _sleepers;
    private int _active; // workers inside the current call (joined and not yet left)
    private int _open;   // 1 while the current call takes new workers
    private volatile bool _disposed;

    // The current call, published before _generation moves.
    private delegate*<void*, int, int, void> _invoke;
    private void* _body;
    private int _count;
    private int _chunk;
    private int _next;
    private ExceptionDispatchInfo? _error;

    /// <summary>A pool where <paramref name="threadCount"/> threads (the caller and <c>threadCount - 1</c> workers) share each call.</summary>
    public ComputePool(int threadCount)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threadCount, 1);
        ThreadCount = threadCount;
        _workers = new Thread[threadCount - 1];
        for (int i = 0; i < _workers.Length; i++)
        {
            _workers[i] = new Thread(WorkerLoop) { IsBackground = true, Name = $"MicroLlm compute {i + 1}" };
            _workers[i].Start();
        }
    }

    /// <summary>The process-wide pool, one thread per processor.</summary>
    public static ComputePool Shared => SharedHolder.Pool;

    private static readonly ComputePool?[] s_byThreadCount = new ComputePool?[257];

    /// <summary>The process-wide pool of <paramref name="threadCount"/> threads (created on first use, kept for the process).</summary>
    public static ComputePool ForThreads(int threadCount)
    {
        threadCount = Math.Clamp(threadCount, 1, s_byThreadCount.Length - 1);
        var pool = Volatile.Read(ref s_byThreadCount[threadCount]);
        if (pool is not null)
        {
            return pool;
        }

        lock (s_byThreadCount)
        {
            return s_byThreadCount[threadCount] ??= new ComputePool(threadCount);
        }
    }

    /// <summary>Threads that share each call, the caller included.</summary>
    public int ThreadCount { get; }

    /// <summary>
    /// Runs <paramref name="body"/> over <c>[0, count)</c> in chunks of at least <paramref name="minChunk"/> items, on
    /// the caller and the workers; returns when every item is done. An exception from the body is rethrown here.
    /// </summary>
    public void For<TBody>(int count, int minChunk, ref TBody body)
        where TBody : struct, IRangeBody
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (count <= 0)
        {
            return;
        }

        int chunk = Math.Max(Math.Max(1, minChunk), (count + (4 * ThreadCount) - 1) / (4 * ThreadCount));
        if (ThreadCount == 1 || chunk >= count)
        {
            body.Invoke(0, count);
            return;
        }

        lock (_callGate)
        {
            _invoke = &InvokeBody<TBody>;
            _body = Unsafe.AsPointer(ref body);
            _count = count;
            _chunk = chunk;
            _next = 0;
            _error = null;
            Volatile.Write(ref _open, 1);
            Interlocked.Increment(ref _generation);
            lock (_wakeGate)
            {
                if (_sleepers > 0)
                {
                    Monitor.PulseAll(_wakeGate);
                }
            }

            RunChunks();

            // Every chunk is claimed: close the call to workers that have not joined it yet (one descheduled by the
            // system, or still waking, is not waited for) and wait only for those inside it. The exchange and the
            // workers' increment are both full fences, so a worker either is counted here or sees the call closed.
            Interlocked.Exchange(ref _open, 0);
            WaitForWorkers();
            _body = null;
            _error?.Throw();
        }
    }

    private static void InvokeBody<TBody>(void* body, int start, int end)
        where TBody : struct, IRangeBody => Unsafe.AsRef<TBody>(body).Invoke(start, end);

    private void RunChunks()
    {
        try
        {
            while (true)
            {
                int start = Interlocked.Add(ref _next, _chunk) - _chunk;
                if (start >= _count)
                {
                    return;
                }

                _invoke(_body, start, Math.Min(start + _chunk, _count));
            }
        }
        catch (Exception e)
        {
            Interlocked.CompareExchange(ref _error, ExceptionDispatchInfo.Capture(e), null);
            Volatile.Write(ref _next, _count);
        }
    }

    private void WaitForWorkers()
    {
        long until = Stopwatch.GetTimestamp() + SpinTicks;
        while (Volatile.Read(ref _active) > 0)
        {
            if (Stopwatch.GetTimestamp() > until)
            {
                lock (_doneGate)
                {
                    while (Volatile.Read(ref _active) > 0)
                    {
                        Monitor.Wait(_doneGate);
                    }
                }

                return;
            }

            Thread.SpinWait(8);
        }
    }

    private void WorkerLoop()
    {
        long seen = 0;
        while (true)
        {
            long until = Stopwatch.GetTimestamp() + SpinTicks;
            long generation;
            while ((generation = Volatile.Read(ref _generation)) == seen)
            {
                if (Stopwatch.GetTimestamp() > until)
                {
                    lock (_wakeGate)
                    {
                        _sleepers++;
                        while (Volatile.Read(ref _generation) == seen && !_disposed)
                        {
                            Monitor.Wait(_wakeGate);
                        }

                        _sleepers--;
                    }
                }
                else
                {
                    Thread.SpinWait(8);
                }
            }

            seen = generation;
            if (_disposed)
            {
                return;
            }

            // Join the call, unless its caller has closed it (then every chunk is taken and the body may be gone) or a
            // later call has begun (joined while open, it is that call's worker: its caller waits for it alike).
            Interlocked.Increment(ref _active);
            if (Volatile.Read(ref _open) == 1)
            {
                RunChunks();
            }

            if (Interlocked.Decrement(ref _active) == 0)
            {
                lock (_doneGate)
                {
                    Monitor.PulseAll(_doneGate);
                }
            }
        }
    }

    /// <summary>Stops the workers (they finish the call in progress first).</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        Interlocked.Increment(ref _generation);
        lock (_wakeGate)
        {
            Monitor.PulseAll(_wakeGate);
        }

        foreach (var worker in _workers)
        {
            worker.Join();
        }
    }

    private static class SharedHolder
    {
        public static readonly ComputePool Pool = new(Math.Max(1, Environment.ProcessorCount));
    }
}
