using System.Buffers.Binary;
using System.Diagnostics;
using MicroLlm.Gguf;

namespace MicroLlm.Core.Tests.Gguf;

/// <summary>
/// Randomized mutation test: thousands of corrupted files must each either parse or fail with a
/// <see cref="GgufFormatException"/>, never another exception, a hang, or an allocation sized by a corrupted number.
/// </summary>
public class GgufMutationTests
{
    private const int Mutants = 12_000;

    [Test]
    public void MutatedFilesFailOnlyWithFormatExceptions()
    {
        byte[][] seeds = [TestGguf.SampleBytes(1), TestGguf.SampleBytes(2), VocabularyLikeSeed()];
        var rng = new Random(20261122);
        int parsed = 0, rejected = 0;
        var wrong = new List<string>();
        var slowest = TimeSpan.Zero;
        for (int i = 0; i < Mutants; i++)
        {
            byte[] seed = seeds[i % seeds.Length];
            byte[] mutant = Mutate(seed, rng, out string how);
            long before = GC.GetAllocatedBytesForCurrentThread();
            var sw = Stopwatch.StartNew();
            try
            {
                using var file = GgufFile.FromMemory(mutant);
                Touch(file);
                parsed++;
            }
            catch (GgufFormatException)
            {
                rejected++;
            }
            catch (Exception e)
            {
                wrong.Add($"mutant {i} ({how}): {e.GetType().Name}: {e.Message}");
            }

            sw.Stop();
            slowest = sw.Elapsed > slowest ? sw.Elapsed : slowest;
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            long budget = (32L * mutant.Length) + (1 << 20);
            if (allocated > budget)
            {
                wrong.Add($"mutant {i} ({how}): allocated {allocated} bytes for a {mutant.Length}-byte file");
            }
        }

        TestContext.Out.WriteLine($"{Mutants} mutants: {parsed} parsed, {rejected} rejected with GgufFormatException, {wrong.Count} wrong; slowest {slowest.TotalMilliseconds:F1} ms");
        Assert.That(wrong, Is.Empty, string.Join(Environment.NewLine, wrong.Take(20)));
        Assert.That(rejected, Is.GreaterThan(Mutants / 4), "the mutations should mostly break the files");
        Assert.That(slowest, Is.LessThan(TimeSpan.FromSeconds(2)), "no mutant may make the reader hang");
    }

    [Test]
    public void MutatedRealVocabularyFilesFailOnlyWithFormatExceptions()
    {
        string[] paths = ["ggml-vocab-llama-spm.gguf", "ggml-vocab-gpt-2.gguf", "ggml-vocab-bert-bge.gguf"];
        byte[][] seeds = paths.Select(p => File.ReadAllBytes(MicroLlm.Tests.Conformance.RequireFile("tokenizer", p))).ToArray();
        var rng = new Random(7);
        var wrong = new List<string>();
        const int count = 600;
        for (int i = 0; i < count; i++)
        {
            byte[] mutant = Mutate(seeds[i % seeds.Length], rng, out string how);
            try
            {
                using var file = GgufFile.FromMemory(mutant);
                Touch(file);
            }
            catch (GgufFormatException)
            {
            }
            catch (Exception e)
            {
                wrong.Add($"{paths[i % paths.Length]} mutant {i} ({how}): {e.GetType().Name}: {e.Message}");
            }
        }

        Assert.That(wrong, Is.Empty, string.Join(Environment.NewLine, wrong.Take(20)));
    }

    private static void Touch(GgufFile file)
    {
        foreach (var kv in file.Metadata)
        {
            _ = kv.Value.ToString();
        }

        foreach (var t in file.Tensors)
        {
            var span = file.GetTensorData(t);
            if (span.Length > 0)
            {
                _ = span[0] ^ span[^1];
            }
        }
    }

    private static byte[] Mutate(byte[] seed, Random rng, out string how)
    {
        byte[] m = (byte[])seed.Clone();
        int kind = rng.Next(7);
        int at = rng.Next(m.Length);
        switch (kind)
        {
            case 0:
                int flips = rng.Next(1, 8);
                for (int k = 0; k < flips; k++)
                {
                    m[rng.Next(m.Length)] ^= (byte)(1 << rng.Next(8));
                }

                how = $"{flips} bit flips";
                return m;
            case 1:
                m[at] = (byte)rng.Next(256);
                how = $"byte {at} randomized";
                return m;
            case 2:
                ulong[] interesting = [0, 1, 0x7F, 0xFF, 0xFFFF, 0x7FFF_FFFF, 0xFFFF_FFFF, 0x1_0000_0000, long.MaxValue, ulong.MaxValue, (ulong)m.Length, 13];
                int width = rng.Next(2) == 0 ? 4 : 8;
                at = Math.Min(at, m.Length - width);
                ulong v = interesting[rng.Next(interesting.Length)];
                if (width == 4)
                {
                    BinaryPrimitives.WriteUInt32LittleEndian(m.AsSpan(at), (uint)v);
                }
                else
                {
                    BinaryPrimitives.WriteUInt64LittleEndian(m.AsSpan(at), v);
                }

                how = $"{width}-byte value 0x{v:X} at {at}";
                return m;
            case 3:
                how = $"truncated to {at}";
                return m[..at];
            case 4:
                int len = rng.Next(1, 16);
                int end = Math.Min(m.Length, at + len);
                how = $"bytes {at}..{end} deleted";
                return [.. m.AsSpan(0, at), .. m.AsSpan(end)];
            case 5:
                byte[] extra = new byte[rng.Next(1, 16)];
                rng.NextBytes(extra);
                how = $"{extra.Length} bytes inserted at {at}";
                return [.. m.AsSpan(0, at), .. extra, .. m.AsSpan(at)];
            default:
                // Mutate within the header region, where the structure lives.
                int headerAt = rng.Next(Math.Min(m.Length, 600));
                m[headerAt] = (byte)rng.Next(256);
                how = $"header byte {headerAt} randomized";
                return m;
        }
    }

    private static byte[] VocabularyLikeSeed()
    {
        var w = new GgufWriter();
        w.SetMetadata("general.architecture", GgufValue.From("llama"));
        w.SetMetadata("tokenizer.ggml.model", GgufValue.From("llama"));
        w.SetMetadata("tokenizer.ggml.tokens", GgufValue.FromArray<string>(Enumerable.Range(0, 40).Select(i => $"tok{i}").ToArray()));
        w.SetMetadata("tokenizer.ggml.scores", GgufValue.FromArray<float>(Enumerable.Range(0, 40).Select(i => -(float)i).ToArray()));
        w.SetMetadata("tokenizer.ggml.token_type", GgufValue.FromArray<int>(Enumerable.Repeat(1, 40).ToArray()));
        return w.ToArray();
    }
}
