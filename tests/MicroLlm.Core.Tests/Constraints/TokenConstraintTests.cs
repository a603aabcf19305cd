using System.Diagnostics;
using System.Text;
using MicroLlm.Constraints;

namespace MicroLlm.Tests.Constraints;

public class TokenConstraintTests
{
    private static byte[] B(string hex) => Convert.FromHexString(hex);

    private static int[] Allowed(TokenConstraint constraint)
    {
        var mask = new bool[constraint.Vocabulary.Count];
        int n = constraint.ComputeMask(mask);
        int[] ids = [.. Enumerable.Range(0, mask.Length).Where(i => mask[i])];
        Assert.That(ids, Has.Length.EqualTo(n));
        return ids;
    }

    [Test]
    public void TokensMayEndInsideACharacterAndSpanCharacters()
    {
        // ক = E0 A6 95, খ = E0 A6 96
        byte[][] tokens = [B("E0"), B("A6"), B("95"), B("E0A695"), B("E0A695E0A696"), B("61"), B("E0A6"), B("95E0"), B("96"), B("A696"), []];
        var vocabulary = ConstraintVocabulary.Create(tokens, [10]);
        var constraint = TokenConstraint.Create(Grammar.Parse("root ::= [\\u0995-\\u0996]+"), vocabulary);

        Assert.That(Allowed(constraint), Is.EqualTo(new[] { 0, 3, 4, 6 }));
        constraint.Accept(0); // E0: inside a character
        Assert.That(constraint.CanEnd, Is.False);
        Assert.That(Allowed(constraint), Is.EqualTo(new[] { 1, 9 }));
        constraint.Accept(1); // E0 A6
        Assert.That(Allowed(constraint), Is.EqualTo(new[] { 2, 7, 8 }));
        constraint.Accept(7); // 95 E0: ends ক, starts the next character
        Assert.That(constraint.CanEnd, Is.False);
        Assert.That(Allowed(constraint), Is.EqualTo(new[] { 1, 9 }));
        constraint.Accept(9); // A6 96: খ complete
        Assert.That(constraint.CanEnd, Is.True);
        Assert.That(Allowed(constraint), Is.EqualTo(new[] { 0, 3, 4, 6, 10 }));
        constraint.Accept(10);
        Assert.That(constraint.IsComplete, Is.True);
        Assert.That(Allowed(constraint), Is.Empty);
    }

    [Test]
    public void InvalidUtf8IsNeverAllowed()
    {
        // An overlong encoding of '/', a lone continuation byte, a surrogate (ED A0 80), and a valid 'é'.
        byte[][] tokens = [B("C0AF"), B("80"), B("EDA080"), B("C3A9"), B("F4908080"), []];
        var constraint = TokenConstraint.Create(Grammar.Parse("root ::= .*"), ConstraintVocabulary.Create(tokens, [5]));
        Assert.That(Allowed(constraint), Is.EqualTo(new[] { 3, 5 }));
    }

    [Test]
    public void EndOfGenerationOnlyWhereTheGrammarMayEnd()
    {
        var vocabulary = TestVocabularies.Of("a", "b", "ab", "c", "abc");
        int eos = 5;
        var constraint = TokenConstraint.Create(Grammar.Parse("root ::= \"ab\" \"c\"?"), vocabulary);
        Assert.Multiple(() =>
        {
            Assert.That(Allowed(constraint), Is.EqualTo(new[] { 0, 2, 4 }));
            Assert.That(constraint.CanEnd, Is.False);
            Assert.That(constraint.IsAllowed(eos), Is.False);
            Assert.That(() => constraint.Accept(eos), Throws.InvalidOperationException.With.Message.Contains("not complete"));
        });
        constraint.Accept(2);
        Assert.Multiple(() =>
        {
            Assert.That(constraint.CanEnd, Is.True);
            Assert.That(constraint.IsComplete, Is.False);
            Assert.That(Allowed(constraint), Is.EqualTo(new[] { 3, eos }));
        });
        constraint.Accept(3);
        Assert.Multiple(() =>
        {
            Assert.That(constraint.IsComplete, Is.True, "nothing can follow 'abc'");
            Assert.That(Allowed(constraint), Is.EqualTo(new[] { eos }));
        });
        constraint.Accept(eos);
        Assert.Multiple(() =>
        {
            Assert.That(constraint.IsComplete, Is.True);
            Assert.That(constraint.CanEnd, Is.False);
            Assert.That(() => constraint.Accept(0), Throws.InvalidOperationException.With.Message.Contains("Reset"));
        });
        constraint.Reset();
        Assert.That(Allowed(constraint), Is.EqualTo(new[] { 0, 2, 4 }));
    }

    [Test]
    public void TokensSpanSeveralGrammarSymbols()
    {
        var vocabulary = TestVocabularies.Of("{\"", "a", "\":", "1", "},{\"", "}", "[", "\"a\":1}", "]", ",");
        var constraint = TokenConstraint.Create(Grammar.Parse("root ::= \"[\" obj (\",\" obj)* \"]\"\nobj ::= \"{\\\"a\\\":1}\""), vocabulary);
        foreach (int id in new[] { 6, 0, 1, 2, 3, 4, 1, 2, 3, 5, 8 })
        {
            Assert.That(constraint.IsAllowed(id), Is.True, $"token {id}");
            constraint.Accept(id);
        }

        Assert.That(constraint.IsComplete, Is.True);
    }

    [Test]
    public void EmptyTokensAndDisallowedTokensAreRejected()
    {
        var vocabulary = ConstraintVocabulary.Create([[], B("61"), B("62"), []], [3]);
        var constraint = TokenConstraint.Create(Grammar.Parse("root ::= \"a\"*"), vocabulary);
        Assert.Multiple(() =>
        {
            Assert.That(Allowed(constraint), Is.EqualTo(new[] { 1, 3 }));
            Assert.That(constraint.IsAllowed(0), Is.False);
            Assert.That(() => constraint.Accept(0), Throws.InvalidOperationException);
            Assert.That(() => constraint.Accept(2), Throws.InvalidOperationException.With.Message.Contains("not allowed"));
            Assert.That(() => constraint.Accept(4), Throws.TypeOf<ArgumentOutOfRangeException>());
            Assert.That(() => constraint.ComputeMask(new bool[3]), Throws.ArgumentException);
        });
    }

    [Test]
    public void AVocabularyThatCannotSpellTheGrammarGivesAnEmptyMask()
    {
        var constraint = TokenConstraint.Create(Grammar.Parse("root ::= \"x\""), TestVocabularies.Of("a", "b"));
        Assert.That(constraint.ComputeMask(new bool[3]), Is.Zero);
    }

    [Test]
    public void VocabularyArgumentsAreChecked()
    {
        Assert.Multiple(() =>
        {
            Assert.That(() => ConstraintVocabulary.Create([], [0]), Throws.ArgumentException);
            Assert.That(() => ConstraintVocabulary.Create([B("61")], []), Throws.ArgumentException.With.Message.Contains("end-of-generation"));
            Assert.That(() => ConstraintVocabulary.Create([B("61")], [1]), Throws.TypeOf<ArgumentOutOfRangeException>());
            Assert.That(() => ConstraintVocabulary.Create([null!], [0]), Throws.ArgumentNullException);
            Assert.That(() => TokenConstraint.Create(Grammar.Parse("root ::= \"a\""), TestVocabularies.Of("a"), new TokenConstraintOptions { MaxCachedStates = 1 }), Throws.TypeOf<ArgumentOutOfRangeException>());
        });
    }

    [Test]
    public void MaskAgreesWithTokenByTokenChecksOnTheLlamaVocabulary()
    {
        var vocabulary = TestVocabularies.Llama();
        var constraint = TokenConstraint.Create(Grammar.Parse(ReferenceGrammars.Json), vocabulary);
        var mask = new bool[vocabulary.Count];
        var rng = new Random(7);
        for (int step = 0; step < 12; step++)
        {
            constraint.ComputeMask(mask);
            var allowed = new List<int>();
            for (int id = 0; id < vocabulary.Count; id++)
            {
                Assert.That(constraint.IsAllowed(id), Is.EqualTo(mask[id]), $"step {step}, token {id}");
                if (mask[id] && !vocabulary.IsEndOfGeneration(id))
                {
                    allowed.Add(id);
                }
            }

            constraint.Accept(allowed[rng.Next(allowed.Count)]);
        }
    }

    [Test]
    public void SmallStateCacheStillGivesTheSameMasks()
    {
        var vocabulary = TestVocabularies.Llama();
        var grammar = Grammar.Parse(ReferenceGrammars.BoundedJson);
        var roomy = TokenConstraint.Create(grammar, vocabulary);
        var tight = TokenConstraint.Create(grammar, vocabulary, new TokenConstraintOptions { MaxCachedStates = 16 });
        var a = new bool[vocabulary.Count];
        var b = new bool[vocabulary.Count];
        var rng = new Random(3);
        for (int step = 0; step < 40 && !roomy.IsComplete; step++)
        {
            roomy.ComputeMask(a);
            tight.ComputeMask(b);
            Assert.That(b, Is.EqualTo(a), $"step {step}");
            int[] ids = [.. Enumerable.Range(0, a.Length).Where(i => a[i] && !vocabulary.IsEndOfGeneration(i))];
            if (ids.Length == 0)
            {
                break;
            }

            int id = ids[rng.Next(ids.Length)];
            roomy.Accept(id);
            tight.Accept(id);
        }
    }

    [Test]
    public void AcceptBytesMovesThroughPrefilledText()
    {
        var constraint = TokenConstraint.Create(Grammar.Parse("root ::= \"{\\\"a\\\":\" [0-9]+ \"}\""), TestVocabularies.Of("1", "}", "{"));
        constraint.AcceptBytes(Encoding.UTF8.GetBytes("{\"a\":"));
        Assert.That(Allowed(constraint), Is.EqualTo(new[] { 0 }));
        Assert.That(() => constraint.AcceptBytes("x"u8), Throws.InvalidOperationException);
    }

    [Test, Explicit("timing probe; the benchmark is the measurement")]
    public void MaskTimingProbe()
    {
        var vocabulary = TestVocabularies.Llama();
        var grammar = Grammar.Parse(ReferenceGrammars.Json);
        var mask = new bool[vocabulary.Count];
        foreach (string prefix in new[] { "", "{", "{\"", "{\"name\": \"Al", "{\"a\": 12", "{\"a\": [1, " })
        {
            var constraint = TokenConstraint.Create(grammar, vocabulary);
            constraint.AcceptBytes(Encoding.UTF8.GetBytes(prefix));
            int n = constraint.ComputeMask(mask);
            var sw = Stopwatch.StartNew();
            const int Reps = 200;
            for (int i = 0; i < Reps; i++)
            {
                constraint.ComputeMask(mask);
            }

            TestContext.Out.WriteLine($"'{prefix}': {n} allowed, {sw.Elapsed.TotalMicroseconds / Reps:F1} µs/mask, trie {vocabulary.Trie.NodeCount} nodes");
        }

        // A document token by token, with warm and with cold caches.
        byte[] doc = Encoding.UTF8.GetBytes("{\"name\": \"Rahim Uddin\", \"age\": 42, \"city\": \"ঢাকা\", \"tags\": [\"a\", \"b\"], \"score\": 0.875, \"ok\": true}");
        var tokens = new List<int>();
        var probe = TokenConstraint.Create(grammar, vocabulary);
        for (int pos = 0; pos < doc.Length;)
        {
            int best = -1, bestLength = 0;
            for (int id = 0; id < vocabulary.Count; id++)
            {
                var b = vocabulary.GetTokenBytes(id);
                if (b.Length > bestLength && doc.AsSpan(pos).StartsWith(b))
                {
                    best = id;
                    bestLength = b.Length;
                }
            }

            tokens.Add(best);
            pos += bestLength;
        }

        var warm = TokenConstraint.Create(grammar, vocabulary);
        for (int round = 0; round < 4; round++)
        {
            foreach (bool cold in new[] { false, true })
            {
                var sw = Stopwatch.StartNew();
                for (int rep = 0; rep < 10; rep++)
                {
                    var c = cold ? TokenConstraint.Create(grammar, vocabulary) : warm;
                    c.Reset();
                    foreach (int t in tokens)
                    {
                        c.ComputeMask(mask);
                        c.Accept(t);
                    }
                }

                TestContext.Out.WriteLine($"{(cold ? "cold" : "warm")}: {sw.Elapsed.TotalMicroseconds / (10 * tokens.Count):F1} µs/token over {tokens.Count} tokens");
            }
        }

        // A counted repetition: every step is a new grammar state (the worst case for the caches). Tokens that would
        // close the string are not chosen, so the string runs on.
        var counted = TokenConstraint.Create(Grammar.FromJsonSchema("""{"type":"string","maxLength":1000}"""), vocabulary);
        var rng = new Random(1);
        var worst = TimeSpan.Zero;
        var total = Stopwatch.StartNew();
        int steps = 0;
        for (; steps < 200 && !counted.IsComplete; steps++)
        {
            var one = Stopwatch.StartNew();
            counted.ComputeMask(mask);
            worst = one.Elapsed > worst ? one.Elapsed : worst;
            total.Stop();
            int[] ids = [.. Enumerable.Range(0, mask.Length).Where(i => mask[i] && !vocabulary.IsEndOfGeneration(i) && (steps == 0 || !vocabulary.GetTokenBytes(i).Contains((byte)'"')))];
            int pick = ids[rng.Next(ids.Length)];
            total.Start();
            counted.Accept(pick);
        }

        TestContext.Out.WriteLine($"maxLength 1000: {total.Elapsed.TotalMicroseconds / steps:F1} µs/step average, worst {worst.TotalMicroseconds:F0} µs");
    }
}
