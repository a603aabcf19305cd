namespace MicroLlm.Gguf;

/// <summary>Describes one tensor of a GGUF file: its name, type, shape and where its bytes are.</summary>
public sealed class GgufTensorInfo
{
    private readonly long[] _dimensions;

    internal GgufTensorInfo(string name, GgmlType type, long[] dimensions, long offset, long elementCount, long byteCount)
    {
        Name = name;
        Type = type;
        _dimensions = dimensions;
        Offset = offset;
        ElementCount = elementCount;
        ByteCount = byteCount;
    }

    /// <summary>The tensor's name, such as <c>blk.0.attn_q.weight</c>.</summary>
    public string Name { get; }

    /// <summary>The element type.</summary>
    public GgmlType Type { get; }

    /// <summary>The shape, innermost (contiguous) dimension first, as the format stores it: a weight of
    /// <c>[4096, 11008]</c> has rows of 4096 elements, 11008 of them.</summary>
    public IReadOnlyList<long> Dimensions => _dimensions;

    /// <summary>The offset of the tensor's bytes from the start of the data section.</summary>
    public long Offset { get; }

    /// <summary>The number of elements.</summary>
    public long ElementCount { get; }

    /// <summary>The number of bytes the tensor takes.</summary>
    public long ByteCount { get; }

    /// <summary>The shape as text, such as <c>[4096, 11008]</c>.</summary>
    /// <returns>The text.</returns>
    public string ShapeText() => "[" + string.Join(", ", _dimensions) + "]";

    /// <inheritdoc/>
    public override string ToString() => $"{Name} {GgmlTypeInfo.Get(Type).Name} {ShapeText()}";
}
