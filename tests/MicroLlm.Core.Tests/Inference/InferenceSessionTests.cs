using MicroLlm.Inference;
using MicroLlm.Tests;

namespace MicroLlm.Core.Tests.Inference;

public class InferenceSessionTests
{
    private static readonly int[] Prompt = [1, 6438, 6655, 29901, 25158, 17809, 297, 17166, 350, 29892, 11904, 29871, 29941, 29889, 7298, 22061, 403, 1286, 29889,
        29871, 31537, 30653, 31154, 30653, 30786, 29871, 31148, 31150, 30653, 30655, 30995, 31150, 30445, 29901, 29871, 227, 169, 165];

    private static LanguageModel Load(string quant = "q4_0") => LanguageModel.Load(Conformance.RequireFile("models", $"tiny-llama-{quant}.gguf"));

    [TestCase("q4_0")]
    [TestCase("q4_k_m")]
    [TestCase("f16")]
    public void BatchedPrefillGivesTheSameLogitsAsOneTokenAtATime(string quant)
    {
        using var model = Load(quant);
        int vocab = model.Info.VocabularySize;
        using var batched = model.CreateSession();
        var all = new float[Prompt.Length * vocab];
        batched.EvaluateAll(Prompt, all);

        using var single = model.CreateSession();
        for (int p = 0; p < Prompt.Length; p++)
        {
            var logits = single.Evaluate([Prompt[p]]);
            Assert.That(logits.SequenceEqual(all.AsSpan(p * vocab, vocab)), Is.True, $"position {p}");
        }

        Assert.That(batched.Logits.SequenceEqual(single.Logits), Is.True);
        Assert.That(batched.Length, Is.EqualTo(Prompt.Length));
    }

    [Test]
    public void TruncateThenContinueEqualsAFreshSequence()
    {
        using var model = Load();
        using var session = model.CreateSession();
        session.Evaluate(Prompt);
        session.Truncate(10);
        Assert.That(session.Length, Is.EqualTo(10));
        Assert.That(session.Logits.IsEmpty, Is.True);
        float[] continued = session.Evaluate([Prompt[20], Prompt[21]]).ToArray();

        using var fresh = model.CreateSession();
        fresh.Evaluate(Prompt.AsSpan(0, 10));
        float[] expected = fresh.Evaluate([Prompt[20], Prompt[21]]).ToArray();
        Assert.That(continued, Is.EqualTo(expected));

        session.Reset();
        Assert.That(session.Length, Is.Zero);
        fresh.Truncate(3);
        fresh.Truncate(0);
        float[] again = fresh.Evaluate(Prompt.AsSpan(0, 3)).ToArray();
        Assert.That(session.Evaluate(Prompt.AsSpan(0, 3)).ToArray(), Is.EqualTo(again));
    }

    [Test]
    public void PastTheContextIsAClearErrorAndLosesNothing()
    {
        using var model = Load();
        using var session = model.CreateSession(new SessionOptions { ContextLength = 8 });
        session.Evaluate(Prompt.AsSpan(0, 6));
        var e = Assert.Throws<InvalidOperationException>(() => session.Evaluate(Prompt.AsSpan(6, 3)));
        Assert.That(e!.Message, Does.Contain("context of 8"));
        Assert.That(session.Length, Is.EqualTo(6));
        Assert.That(session.Evaluate(Prompt.AsSpan(6, 2)).Length, Is.EqualTo(model.Info.VocabularySize));
    }

    [Test]
    public void BadTokensAndOptionsAreRejected()
    {
        using var model = Load();
        using var session = model.CreateSession();
        Assert.Throws<ArgumentOutOfRangeException>(() => session.Evaluate([model.Info.VocabularySize]));
        Assert.Throws<ArgumentOutOfRangeException>(() => session.Evaluate([-1]));
        Assert.Throws<ArgumentException>(() => session.Evaluate([]));
        Assert.That(session.Length, Is.Zero);
        Assert.Throws<ArgumentOutOfRangeException>(() => model.CreateSession(new SessionOptions { ContextLength = model.Info.ContextLength + 1 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => session.Truncate(1));
    }

    [Test]
    public void CancellationStopsAndTheSessionStaysUsable()
    {
        using var model = Load();
        using var session = model.CreateSession();
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        Assert.Throws<OperationCanceledException>(() => session.Evaluate(Prompt, cts.Token));
        Assert.That(session.Length, Is.Zero);
        Assert.That(session.Evaluate(Prompt.AsSpan(0, 2)).Length, Is.EqualTo(model.Info.VocabularySize));
    }

    [Test]
    public void ManySessionsRunInParallelAndAgree()
    {
        using var model = Load();
        float[] expected;
        using (var s = model.CreateSession())
        {
            expected = s.Evaluate(Prompt).ToArray();
        }

        var results = new float[4][];
        Parallel.For(0, 4, i =>
        {
            using var s = model.CreateSession();
            results[i] = s.Evaluate(Prompt).ToArray();
        });
        foreach (var r in results)
        {
            Assert.That(r, Is.EqualTo(expected));
        }
    }

    [Test]
    public void DisposedModelThrowsInsteadOfCrashing()
    {
        var model = Load();
        var session = model.CreateSession();
        session.Evaluate(Prompt.AsSpan(0, 2));
        model.Dispose();
        Assert.Throws<ObjectDisposedException>(() => session.Evaluate([5]));
        Assert.Throws<ObjectDisposedException>(() => model.CreateSession());
        session.Dispose();
        Assert.Throws<ObjectDisposedException>(() => session.Evaluate([5]));
    }

    [Test]
    public void InfoDescribesTheModel()
    {
        using var model = Load();
        Assert.That(model.Info.Architecture, Is.EqualTo("llama"));
        Assert.That(model.Info.VocabularySize, Is.EqualTo(32000));
        Assert.That(model.Info.EmbeddingLength, Is.EqualTo(256));
        Assert.That(model.Info.LayerCount, Is.EqualTo(2));
        Assert.That(model.Info.HeadCount, Is.EqualTo(8));
        Assert.That(model.Info.KvHeadCount, Is.EqualTo(4));
        Assert.That(model.Info.WeightBytes, Is.GreaterThan(0).And.LessThan(new FileInfo(model.File.Path!).Length));
    }
}
