using MicroLlm.Gguf;

namespace MicroLlm.Core.Tests.Gguf;

/// <summary>Small GGUF files built with the project's writer, exercising every value type and several tensor types.</summary>
internal static class TestGguf
{
    public static GgufWriter Sample(int seed = 1)
    {
        var rng = new Random(seed);
        var w = new GgufWriter();
        w.SetMetadata("general.architecture", GgufValue.From("llama"));
        w.SetMetadata("general.name", GgufValue.From("টেস্ট মডেল — test"));
        w.SetMetadata("u8", GgufValue.From((byte)7));
        w.SetMetadata("i8", GgufValue.From((sbyte)-7));
        w.SetMetadata("u16", GgufValue.From((ushort)700));
        w.SetMetadata("i16", GgufValue.From((short)-700));
        w.SetMetadata("u32", GgufValue.From(70000u));
        w.SetMetadata("i32", GgufValue.From(-70000));
        w.SetMetadata("u64", GgufValue.From(7_000_000_000UL));
        w.SetMetadata("i64", GgufValue.From(-7_000_000_000L));
        w.SetMetadata("f32", GgufValue.From(0.5f));
        w.SetMetadata("f64", GgufValue.From(0.25));
        w.SetMetadata("bool", GgufValue.From(true));
        w.SetMetadata("tokens", GgufValue.FromArray<string>(["<s>", "</s>", "▁hello", "ক", "্ষ"]));
        w.SetMetadata("scores", GgufValue.FromArray<float>([0f, -1f, -2.5f, -3f, -4f]));
        w.SetMetadata("types", GgufValue.FromArray<int>([3, 3, 1, 1, 1]));
        w.SetMetadata("flags", GgufValue.FromArray<bool>([true, false]));
        w.SetMetadata("bytes", GgufValue.FromArray<byte>([1, 2, 3]));
        w.SetMetadata("longs", GgufValue.FromArray<long>([long.MinValue, 0, long.MaxValue]));
        w.SetMetadata("doubles", GgufValue.FromArray<double>([1.5, -2.5]));
        w.SetMetadata("empty", GgufValue.FromArray<string>([]));
        AddRandom(w, rng, "f32.weight", GgmlType.F32, [8, 3]);
        AddRandom(w, rng, "f16.weight", GgmlType.F16, [16, 2]);
        AddRandom(w, rng, "q4_0.weight", GgmlType.Q4_0, [64, 2]);
        AddRandom(w, rng, "q4_k.weight", GgmlType.Q4_K, [256, 1]);
        AddRandom(w, rng, "q8_0.weight", GgmlType.Q8_0, [32]);
        return w;
    }

    public static byte[] SampleBytes(int seed = 1) => Sample(seed).ToArray();

    private static void AddRandom(GgufWriter w, Random rng, string name, GgmlType type, long[] dims)
    {
        long elements = dims.Aggregate(1L, (a, b) => a * b);
        var bytes = new byte[GgmlTypeInfo.Get(type).ByteCount(elements)];
        rng.NextBytes(bytes);
        w.AddTensor(name, type, dims, bytes);
    }
}
