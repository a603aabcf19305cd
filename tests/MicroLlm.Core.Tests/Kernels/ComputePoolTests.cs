using MicroLlm.Gguf;
using MicroLlm.Kernels;
using static MicroLlm.Core.Tests.Kernels.KernelTestData;

namespace MicroLlm.Core.Tests.Kernels;

/// <summary>The compute pool covers every item exactly once, and parallel products do not depend on the thread count.</summary>
public unsafe class ComputePoolTests
{
    private struct CountingBody : IRangeBody
    {
        public int* Hits;
        public int* Calls;

        public readonly void Invoke(int start, int end)
        {
            Interlocked.Increment(ref *Calls);
            for (int i = start; i < end; i++)
            {
                Interlocked.Increment(ref Hits[i]);
            }
        }
    }

    [TestCase(1)]
    [TestCase(2)]
    [TestCase(3)]
    [TestCase(5)]
    public void EveryItemIsProcessedExactlyOnce(int threads)
    {
        using var pool = new ComputePool(threads);
        foreach (int count in new[] { 0, 1, 2, 7, 100, 4097 })
        {
            for (int repeat = 0; repeat < 50; repeat++)
            {
                var hits = new int[Math.Max(1, count)];
                int calls = 0;
                fixed (int* h = hits)
                {
                    var body = new CountingBody { Hits = h, Calls = &calls };
                    pool.For(count, minChunk: 1, ref body);
                }

                Assert.That(hits.Take(count), Is.All.EqualTo(1), $"{threads} threads, {count} items");
                Assert.That(calls, Is.LessThanOrEqualTo(Math.Max(1, count)));
            }
        }
    }

    private struct OwnedBody : IRangeBody
    {
        public int CallId;
        public int* Current;
        public int* Hits;
        public int* Strays;

        public readonly void Invoke(int start, int end)
        {
            for (int i = start; i < end; i++)
            {
                if (Volatile.Read(ref *Current) != CallId)
                {
                    Interlocked.Increment(ref *Strays);
                }

                Thread.SpinWait(20 + (i % 3 * 40)); // long enough that workers take chunks and finish after the caller
                if (Volatile.Read(ref *Current) != CallId)
                {
                    Interlocked.Increment(ref *Strays);
                }

                Interlocked.Increment(ref Hits[i]);
            }
        }
    }

    [TestCase(2)]
    [TestCase(4)]
    public void NoWorkerTouchesACallAfterItReturns(int threads)
    {
        // Calls back to back, more threads than cores: workers join late, get descheduled, or find a call closed.
        // A call returns only when every worker that joined it has left; one that comes late must not run its body.
        using var pool = new ComputePool(threads);
        var hits = new int[16];
        int current = -1, strays = 0;
        fixed (int* h = hits)
        {
            for (int call = 0; call < 20_000; call++)
            {
                int count = 2 + (call % 15);
                Volatile.Write(ref current, call);
                var body = new OwnedBody { CallId = call, Current = &current, Hits = h, Strays = &strays };
                pool.For(count, minChunk: 1, ref body);
                Volatile.Write(ref current, -1);
                for (int i = 0; i < hits.Length; i++)
                {
                    Assert.That(hits[i], Is.EqualTo(i < count ? 1 : 0), $"call {call}, item {i}");
                    hits[i] = 0;
                }
            }
        }

        Assert.That(strays, Is.Zero, "a body ran outside its call");
    }

    [Test]
    public void WorkersWakeAfterSleeping()
    {
        using var pool = new ComputePool(3);
        var hits = new int[64];
        int calls = 0;
        fixed (int* h = hits)
        {
            var body = new CountingBody { Hits = h, Calls = &calls };
            pool.For(hits.Length, 1, ref body);
            Thread.Sleep(50); // past the spin window: the workers block
            pool.For(hits.Length, 1, ref body);
        }

        Assert.That(hits, Is.All.EqualTo(2));
    }

    private struct ThrowingBody : IRangeBody
    {
        public readonly void Invoke(int start, int end)
        {
            if (start <= 50 && 50 < end)
            {
                throw new InvalidOperationException("item 50");
            }
        }
    }

    [Test]
    public void AnExceptionInTheBodyReachesTheCaller()
    {
        using var pool = new ComputePool(2);
        var body = new ThrowingBody();
        Assert.That(() => pool.For(100, 1, ref body), Throws.InvalidOperationException.With.Message.EqualTo("item 50"));
        var hits = new int[10];
        int calls = 0;
        fixed (int* h = hits)
        {
            var counting = new CountingBody { Hits = h, Calls = &calls };
            pool.For(hits.Length, 1, ref counting);
        }

        Assert.That(hits, Is.All.EqualTo(1), "the pool still works after a failed call");
    }

    private static IEnumerable<TestCaseData> Types() => WeightTypes.Select(t => new TestCaseData(t).SetName($"ThreadCountIndependent_{t}"));

    [TestCaseSource(nameof(Types))]
    public void ParallelProductsAreBitIdenticalForAnyThreadCount(GgmlType type)
    {
        var activationType = ActivationQuantizer.ActivationTypeFor(type);
        int columns = ColumnsFor(type)[^1];
        const int rows = 301, batch = 3;
        byte[] weights = Weights(type, rows, columns, seed: 9);
        long rowBytes = GgmlTypeInfo.Get(type).ByteCount(columns);
        int xBytes = ActivationQuantizer.ByteCount(activationType, columns);
        var prepared = new byte[xBytes * batch];
        for (int t = 0; t < batch; t++)
        {
            ActivationQuantizer.Quantize(activationType, Activations(columns, seed: 20 + t), prepared.AsSpan(t * xBytes, xBytes));
        }

        float[]? first = null;
        foreach (int threads in new[] { 1, 2, 3 })
        {
            using var pool = new ComputePool(threads);
            var y = new float[batch * rows];
            fixed (byte* w = weights)
            fixed (byte* px = prepared)
            fixed (float* py = y)
            {
                ParallelMatVec.Run(pool, type, w, rowBytes, columns, rows, px, xBytes, batch, py, rows, Kernel.Current);
            }

            if (first is null)
            {
                first = y;
            }
            else
            {
                Assert.That(y.Select(BitConverter.SingleToUInt32Bits), Is.EqualTo(first.Select(BitConverter.SingleToUInt32Bits)), $"{threads} threads");
            }
        }
    }
}
