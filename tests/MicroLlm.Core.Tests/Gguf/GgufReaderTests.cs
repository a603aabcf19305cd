using System.Buffers.Binary;
using System.Text;
using MicroLlm.Gguf;

namespace MicroLlm.Core.Tests.Gguf;

public class GgufReaderTests
{
    [Test]
    public void EveryValueTypeReadsBackAsWritten()
    {
        var writer = TestGguf.Sample();
        using var file = GgufFile.FromMemory(writer.ToArray());
        var m = file.Metadata;
        Assert.Multiple(() =>
        {
            Assert.That(m.GetString("general.name"), Is.EqualTo("টেস্ট মডেল — test"));
            Assert.That(m["u8"].Type, Is.EqualTo(GgufValueType.UInt8));
            Assert.That(m["i8"].AsInt64(), Is.EqualTo(-7));
            Assert.That(m["u16"].AsInt64(), Is.EqualTo(700));
            Assert.That(m["i16"].AsInt64(), Is.EqualTo(-700));
            Assert.That(m["u32"].AsInt64(), Is.EqualTo(70000));
            Assert.That(m["i32"].AsInt32(), Is.EqualTo(-70000));
            Assert.That(m["u64"].AsInt64(), Is.EqualTo(7_000_000_000L));
            Assert.That(m["i64"].AsInt64(), Is.EqualTo(-7_000_000_000L));
            Assert.That(m["f32"].AsSingle(), Is.EqualTo(0.5f));
            Assert.That(m["f64"].AsDouble(), Is.EqualTo(0.25));
            Assert.That(m["bool"].AsBoolean(), Is.True);
            Assert.That(m["tokens"].AsStringArray(), Is.EqualTo(new[] { "<s>", "</s>", "▁hello", "ক", "্ষ" }));
            Assert.That(m["scores"].ToSingleArray(), Is.EqualTo(new[] { 0f, -1f, -2.5f, -3f, -4f }));
            Assert.That(m["types"].ToInt32Array(), Is.EqualTo(new[] { 3, 3, 1, 1, 1 }));
            Assert.That(m["flags"].AsSpan<bool>().ToArray(), Is.EqualTo(new[] { true, false }));
            Assert.That(m["longs"].AsSpan<long>().ToArray(), Is.EqualTo(new[] { long.MinValue, 0, long.MaxValue }));
            Assert.That(m["empty"].Length, Is.EqualTo(0));
            Assert.That(m.Keys.First(), Is.EqualTo("general.architecture"), "file order is kept");
            Assert.That(() => m["u8"].AsString(), Throws.InvalidOperationException.With.Message.Contains("UInt8"));
            Assert.That(() => m.GetRequired("missing.key"), Throws.TypeOf<InvalidDataException>().With.Message.Contains("missing.key"));
        });
        Assert.That(file.Tensors.Select(t => t.Name), Is.EqualTo(new[] { "f32.weight", "f16.weight", "q4_0.weight", "q4_k.weight", "q8_0.weight" }));
        foreach (var t in file.Tensors)
        {
            Assert.That(file.GetTensorData(t).Length, Is.EqualTo(t.ByteCount));
            Assert.That(file.DataOffset % file.Alignment, Is.EqualTo(0));
            Assert.That(t.Offset % file.Alignment, Is.EqualTo(0));
        }

        Assert.That(file.GetTensor("q4_k.weight").ByteCount, Is.EqualTo(144));
    }

    [Test]
    public void WriterRoundTripIsStable()
    {
        byte[] once = TestGguf.SampleBytes();
        using var file = GgufFile.FromMemory(once);
        byte[] twice = GgufWriter.FromFile(file).ToArray();
        Assert.That(twice, Is.EqualTo(once));
    }

    [Test]
    public void CustomAlignmentIsHonoured()
    {
        var w = TestGguf.Sample();
        w.SetMetadata(GgufFile.AlignmentKey, GgufValue.From(64u));
        using var file = GgufFile.FromMemory(w.ToArray());
        Assert.That(file.Alignment, Is.EqualTo(64));
        Assert.That(file.DataOffset % 64, Is.EqualTo(0));
        Assert.That(file.Tensors.All(t => t.Offset % 64 == 0), Is.True);
    }

    [Test]
    public void OpenReportsMissingAndEmptyFilesClearly()
    {
        string dir = Path.Combine(Path.GetTempPath(), "microllm-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            string empty = Path.Combine(dir, "empty.gguf");
            File.WriteAllBytes(empty, []);
            Assert.That(() => GgufFile.Open(empty), Throws.TypeOf<GgufFormatException>().With.Message.Contains("empty"));
            Assert.That(() => GgufFile.Open(Path.Combine(dir, "nope.gguf")), Throws.TypeOf<FileNotFoundException>());
            string good = Path.Combine(dir, "good.gguf");
            File.WriteAllBytes(good, TestGguf.SampleBytes());
            using var file = GgufFile.Open(good);
            Assert.That(file.Tensors, Has.Count.EqualTo(5));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Test]
    public void EveryTruncationIsAFormatError()
    {
        byte[] bytes = TestGguf.SampleBytes();
        long lastByte;
        using (var whole = GgufFile.FromMemory(bytes))
        {
            lastByte = whole.DataOffset + whole.Tensors.Max(t => t.Offset + t.ByteCount);
        }

        // Only the final alignment padding may be cut off; every shorter prefix is an error.
        for (int len = 0; len < lastByte; len++)
        {
            var ex = Assert.Throws<GgufFormatException>(() => GgufFile.FromMemory(bytes.AsMemory(0, len)).Dispose(), $"length {len}");
            Assert.That(ex!.Offset, Is.InRange(0, bytes.Length), $"length {len}");
        }
    }

    [TestCase(8, "tensor_count")]
    [TestCase(16, "metadata_kv_count")]
    public void HugeCountsAreRejectedBeforeAllocating(int at, string field)
    {
        byte[] bytes = TestGguf.SampleBytes();
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(at), ulong.MaxValue / 3);
        var ex = Assert.Throws<GgufFormatException>(() => GgufFile.FromMemory(bytes));
        Assert.That(ex!.Field, Is.EqualTo(field));
        Assert.That(ex.Offset, Is.EqualTo(at));
        Assert.That(ex.Message, Does.Contain(field).And.Contain($"byte offset {at}"));
    }

    [Test]
    public void BadMagicAndVersionsAreNamed()
    {
        byte[] bytes = TestGguf.SampleBytes();
        bytes[0] = (byte)'X';
        Assert.That(() => GgufFile.FromMemory(bytes), Throws.TypeOf<GgufFormatException>().With.Message.Contains("not a GGUF file"));
        bytes = TestGguf.SampleBytes();
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(4), 1);
        Assert.That(() => GgufFile.FromMemory(bytes), Throws.TypeOf<GgufFormatException>().With.Message.Contains("version 1"));
        BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(4), 3);
        Assert.That(() => GgufFile.FromMemory(bytes), Throws.TypeOf<GgufFormatException>().With.Message.Contains("big-endian"));
    }

    [Test]
    public void InvalidUtf8InAKeyIsRejected()
    {
        byte[] bytes = TestGguf.SampleBytes();
        int at = IndexOf(bytes, "general.name"u8);
        bytes[at + 3] = 0xFF;
        var ex = Assert.Throws<GgufFormatException>(() => GgufFile.FromMemory(bytes));
        Assert.That(ex!.Message, Does.Contain("UTF-8"));
    }

    [Test]
    public void UnknownTensorTypeIsRejected()
    {
        var (bytes, typeAt, _) = Locate("q8_0.weight");
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(typeAt), 99);
        var ex = Assert.Throws<GgufFormatException>(() => GgufFile.FromMemory(bytes));
        Assert.That(ex!.Message, Does.Contain("unknown tensor type 99"));
        Assert.That(ex.Offset, Is.EqualTo(typeAt));
    }

    [Test]
    public void OffsetsPastTheEndAndOverlapsAreRejected()
    {
        var (bytes, _, offsetAt) = Locate("q8_0.weight");
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(offsetAt), 1UL << 40);
        Assert.That(() => GgufFile.FromMemory(bytes), Throws.TypeOf<GgufFormatException>().With.Message.Contains("past the end"));

        (bytes, _, offsetAt) = Locate("q8_0.weight");
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(offsetAt), 0); // on top of f32.weight
        Assert.That(() => GgufFile.FromMemory(bytes), Throws.TypeOf<GgufFormatException>().With.Message.Contains("overlap"));

        (bytes, _, offsetAt) = Locate("q8_0.weight");
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(offsetAt), 3);
        Assert.That(() => GgufFile.FromMemory(bytes), Throws.TypeOf<GgufFormatException>().With.Message.Contains("alignment"));
    }

    [Test]
    public void HugeDimensionsAreRejected()
    {
        var (bytes, typeAt, _) = Locate("q8_0.weight");
        // q8_0.weight has one dimension, just before its type.
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(typeAt - 8), 1UL << 62);
        Assert.That(() => GgufFile.FromMemory(bytes), Throws.TypeOf<GgufFormatException>().With.Message.Contains("q8_0.weight"));
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(typeAt - 8), 33);
        Assert.That(() => GgufFile.FromMemory(bytes), Throws.TypeOf<GgufFormatException>().With.Message.Contains("block size"));
    }

    [Test]
    public void WriterRejectsMismatchedTensorSizes()
    {
        var w = new GgufWriter();
        Assert.That(() => w.AddTensor("x", GgmlType.Q4_0, [33], new byte[18]), Throws.ArgumentException);
        Assert.That(() => w.AddTensor("x", GgmlType.F32, [4], new byte[15]), Throws.ArgumentException.With.Message.Contains("16"));
        w.AddTensor("x", GgmlType.F32, [4], new byte[16]);
        Assert.That(() => w.AddTensor("x", GgmlType.F32, [4], new byte[16]), Throws.ArgumentException.With.Message.Contains("already"));
    }

    /// <summary>Finds a tensor descriptor in the sample: returns the bytes and the offsets of its type and offset fields.</summary>
    private static (byte[] Bytes, int TypeAt, int OffsetAt) Locate(string tensorName)
    {
        byte[] bytes = TestGguf.SampleBytes();
        int nameAt = IndexOf(bytes, Encoding.UTF8.GetBytes(tensorName));
        int nDimsAt = nameAt + tensorName.Length;
        int nDims = (int)BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(nDimsAt));
        int typeAt = nDimsAt + 4 + (8 * nDims);
        return (bytes, typeAt, typeAt + 4);
    }

    private static int IndexOf(byte[] haystack, ReadOnlySpan<byte> needle)
    {
        int i = haystack.AsSpan().IndexOf(needle);
        Assert.That(i, Is.GreaterThanOrEqualTo(0));
        return i;
    }
}
