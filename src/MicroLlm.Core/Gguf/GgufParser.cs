using System.Buffers.Binary;
using System.Text;

namespace MicroLlm.Gguf;

/// <summary>
/// Parses and validates the header, metadata and tensor descriptors of a GGUF file held at a pointer.
/// Every read is bounds-checked; every count is checked against the bytes that remain before it sizes anything.
/// </summary>
internal unsafe ref struct GgufParser
{
    internal const uint Magic = 0x46554747; // "GGUF" little-endian
    private const int MaxDimensions = 4;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private readonly byte* _p;
    private readonly long _length;
    private long _pos;

    private GgufParser(byte* p, long length)
    {
        _p = p;
        _length = length;
    }

    internal readonly record struct Result(int Version, int Alignment, long DataOffset, GgufMetadata Metadata, GgufTensorInfo[] Tensors);

    private readonly long Remaining => _length - _pos;

    internal static Result Parse(byte* p, long length)
    {
        var r = new GgufParser(p, length);
        return r.ParseAll();
    }

    private Result ParseAll()
    {
        uint magic = ReadUInt32("magic");
        if (magic != Magic)
        {
            throw new GgufFormatException("magic", 0, $"expected the magic bytes 'GGUF', found 0x{magic:X8}; this is not a GGUF file");
        }

        uint version = ReadUInt32("version");
        if (version is not (2 or 3))
        {
            string detail = version switch
            {
                1 => "GGUF version 1 is not supported; convert the model with a current llama.cpp",
                0x02000000 or 0x03000000 => "big-endian GGUF files are not supported",
                _ => $"unsupported GGUF version {version}; versions 2 and 3 are supported",
            };
            throw new GgufFormatException("version", 4, detail);
        }

        long tensorCountAt = _pos;
        ulong tensorCount = ReadUInt64("tensor_count");
        long kvCountAt = _pos;
        ulong kvCount = ReadUInt64("metadata_kv_count");

        // A tensor descriptor takes at least 8 (name length) + 4 (n_dims) + 4 (type) + 8 (offset) bytes;
        // a key-value pair at least 8 (key length) + 4 (type) + 1 (value).
        if (tensorCount > (ulong)(Remaining / 24))
        {
            throw new GgufFormatException("tensor_count", tensorCountAt, $"{tensorCount} tensors cannot fit in the {_length} bytes of the file");
        }

        if (kvCount > (ulong)(Remaining / 13))
        {
            throw new GgufFormatException("metadata_kv_count", kvCountAt, $"{kvCount} metadata entries cannot fit in the {_length} bytes of the file");
        }

        var entries = new List<KeyValuePair<string, GgufValue>>((int)kvCount);
        var keys = new HashSet<string>(StringComparer.Ordinal);
        for (ulong i = 0; i < kvCount; i++)
        {
            long keyAt = _pos;
            string key = ReadString($"metadata[{i}].key");
            if (!keys.Add(key))
            {
                throw new GgufFormatException($"metadata[{i}].key", keyAt, $"duplicate metadata key '{key}'");
            }

            GgufValue value = ReadValue($"metadata '{key}'");
            entries.Add(new(key, value));
        }

        var metadata = new GgufMetadata(entries);
        int alignment = DefaultAlignmentOr(metadata);

        var tensors = new GgufTensorInfo[(int)tensorCount];
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < tensors.Length; i++)
        {
            tensors[i] = ReadTensorInfo(i, alignment, names);
        }

        long dataOffset = AlignUp(_pos, alignment);
        ValidateDataSection(tensors, dataOffset);
        return new Result((int)version, alignment, dataOffset, metadata, tensors);
    }

    private GgufTensorInfo ReadTensorInfo(int index, int alignment, HashSet<string> names)
    {
        string field = $"tensor[{index}]";
        long nameAt = _pos;
        string name = ReadString($"{field}.name");
        if (!names.Add(name))
        {
            throw new GgufFormatException($"{field}.name", nameAt, $"duplicate tensor name '{name}'");
        }

        field = $"tensor '{name}'";
        long dimsAt = _pos;
        uint nDims = ReadUInt32($"{field} n_dims");
        if (nDims is 0 or > MaxDimensions)
        {
            throw new GgufFormatException($"{field} n_dims", dimsAt, $"{nDims} dimensions; 1 to {MaxDimensions} are allowed");
        }

        var dims = new long[nDims];
        long elements = 1;
        for (int d = 0; d < dims.Length; d++)
        {
            long at = _pos;
            ulong dim = ReadUInt64($"{field} dims[{d}]");
            if (dim > long.MaxValue)
            {
                throw new GgufFormatException($"{field} dims[{d}]", at, $"dimension {dim} is negative as a signed 64-bit number");
            }

            dims[d] = (long)dim;
            if (dim != 0 && elements > long.MaxValue / (long)dim)
            {
                throw new GgufFormatException($"{field} dims[{d}]", at, $"the element count of shape [{string.Join(", ", dims.Take(d + 1))}] overflows 64 bits");
            }

            elements *= (long)dim;
        }

        long typeAt = _pos;
        uint rawType = ReadUInt32($"{field} type");
        var type = (GgmlType)rawType;
        if (!GgmlTypeInfo.IsKnown(type))
        {
            throw new GgufFormatException($"{field} type", typeAt, $"unknown tensor type {rawType}");
        }

        var info = GgmlTypeInfo.Get(type);
        if (dims[0] % info.BlockSize != 0)
        {
            throw new GgufFormatException($"{field} dims[0]", dimsAt + 4, $"row length {dims[0]} is not a multiple of the {info.Name} block size {info.BlockSize}");
        }

        long bytes = elements / info.BlockSize;
        if (bytes > long.MaxValue / info.BlockBytes)
        {
            throw new GgufFormatException($"{field} dims", dimsAt + 4, "the byte size overflows 64 bits");
        }

        bytes *= info.BlockBytes;
        long offsetAt = _pos;
        ulong offset = ReadUInt64($"{field} offset");
        if (offset % (ulong)alignment != 0)
        {
            throw new GgufFormatException($"{field} offset", offsetAt, $"offset {offset} is not a multiple of the alignment {alignment}");
        }

        if (offset > long.MaxValue)
        {
            throw new GgufFormatException($"{field} offset", offsetAt, $"offset {offset} is past the end of the file");
        }

        return new GgufTensorInfo(name, type, dims, (long)offset, elements, bytes);
    }

    private readonly void ValidateDataSection(GgufTensorInfo[] tensors, long dataOffset)
    {
        if (tensors.Length == 0)
        {
            return;
        }

        long dataLength = _length - dataOffset;
        if (dataLength < 0)
        {
            throw new GgufFormatException("data section", _pos, $"the file ends at byte {_length}, before the data section at {dataOffset}");
        }

        foreach (var t in tensors)
        {
            if (t.Offset > dataLength || t.ByteCount > dataLength - t.Offset)
            {
                throw new GgufFormatException($"tensor '{t.Name}' offset", dataOffset + Math.Min(t.Offset, dataLength),
                    $"{t.ByteCount} bytes at data offset {t.Offset} run past the end of the file (data section holds {dataLength} bytes); the file may be truncated");
            }
        }

        var ordered = (GgufTensorInfo[])tensors.Clone();
        Array.Sort(ordered, static (a, b) => a.Offset.CompareTo(b.Offset));
        for (int i = 1; i < ordered.Length; i++)
        {
            var prev = ordered[i - 1];
            var cur = ordered[i];
            if (cur.Offset < prev.Offset + prev.ByteCount)
            {
                throw new GgufFormatException($"tensor '{cur.Name}' offset", dataOffset + cur.Offset,
                    $"its bytes overlap those of tensor '{prev.Name}' ({prev.Offset}..{prev.Offset + prev.ByteCount})");
            }
        }
    }

    private static int DefaultAlignmentOr(GgufMetadata metadata)
    {
        if (!metadata.TryGetValue(GgufFile.AlignmentKey, out var value))
        {
            return GgufFile.DefaultAlignment;
        }

        if (value.Type != GgufValueType.UInt32)
        {
            throw new GgufFormatException(GgufFile.AlignmentKey, 0, $"the alignment must be a uint32, not {value.Type}");
        }

        uint a = (uint)value.RawValue;
        if (a == 0 || (a & (a - 1)) != 0 || a > (1u << 30))
        {
            throw new GgufFormatException(GgufFile.AlignmentKey, 0, $"the alignment {a} is not a power of two up to 2^30");
        }

        return (int)a;
    }

    internal static long AlignUp(long value, int alignment) => (value + alignment - 1) / alignment * alignment;

    private GgufValue ReadValue(string field)
    {
        long typeAt = _pos;
        uint rawType = ReadUInt32($"{field} type");
        var type = (GgufValueType)rawType;
        if (type == GgufValueType.Array)
        {
            return ReadArray(field);
        }

        if (rawType > (uint)GgufValueType.Float64)
        {
            throw new GgufFormatException($"{field} type", typeAt, $"unknown value type {rawType}");
        }

        return GgufValue.Scalar(type, ReadScalar(type, field));
    }

    private GgufValue ReadArray(string field)
    {
        long typeAt = _pos;
        uint rawType = ReadUInt32($"{field} array type");
        var elementType = (GgufValueType)rawType;
        if (elementType == GgufValueType.Array)
        {
            throw new GgufFormatException($"{field} array type", typeAt, "nested arrays are not supported");
        }

        if (rawType > (uint)GgufValueType.Float64)
        {
            throw new GgufFormatException($"{field} array type", typeAt, $"unknown value type {rawType}");
        }

        long countAt = _pos;
        ulong count = ReadUInt64($"{field} array count");
        int minSize = elementType == GgufValueType.String ? 8 : ScalarSize(elementType);
        if (count > (ulong)(Remaining / minSize) || count > (ulong)Array.MaxLength)
        {
            throw new GgufFormatException($"{field} array count", countAt, $"{count} elements of {elementType} cannot fit in the {Remaining} bytes that remain");
        }

        int n = (int)count;
        long dataAt = _pos;
        Array values;
        switch (elementType)
        {
            case GgufValueType.String:
                var strings = new string[n];
                for (int i = 0; i < n; i++)
                {
                    strings[i] = ReadString($"{field}[{i}]");
                }

                values = strings;
                break;
            case GgufValueType.Bool:
                var bools = new bool[n];
                for (int i = 0; i < n; i++)
                {
                    bools[i] = ReadBool($"{field}[{i}]");
                }

                values = bools;
                break;
            default:
                values = ReadPrimitiveArray(elementType, n);
                _pos = dataAt + ((long)n * minSize);
                break;
        }

        return GgufValue.ArrayOf(elementType, values);
    }

    private readonly Array ReadPrimitiveArray(GgufValueType elementType, int n)
    {
        var src = new ReadOnlySpan<byte>(_p + _pos, checked(n * ScalarSize(elementType)));
        return elementType switch
        {
            GgufValueType.UInt8 => src.ToArray(),
            GgufValueType.Int8 => Cast<sbyte>(src, n),
            GgufValueType.UInt16 => Cast<ushort>(src, n),
            GgufValueType.Int16 => Cast<short>(src, n),
            GgufValueType.UInt32 => Cast<uint>(src, n),
            GgufValueType.Int32 => Cast<int>(src, n),
            GgufValueType.Float32 => Cast<float>(src, n),
            GgufValueType.UInt64 => Cast<ulong>(src, n),
            GgufValueType.Int64 => Cast<long>(src, n),
            GgufValueType.Float64 => Cast<double>(src, n),
            _ => throw new InvalidOperationException(),
        };

        static T[] Cast<T>(ReadOnlySpan<byte> bytes, int count)
            where T : unmanaged
        {
            // The format is little-endian, as is every platform .NET runs this library on.
            var result = new T[count];
            bytes.CopyTo(System.Runtime.InteropServices.MemoryMarshal.AsBytes(result.AsSpan()));
            return result;
        }
    }

    private object ReadScalar(GgufValueType type, string field) => type switch
    {
        GgufValueType.UInt8 => Need(1, field)[0],
        GgufValueType.Int8 => (sbyte)Need(1, field)[0],
        GgufValueType.UInt16 => BinaryPrimitives.ReadUInt16LittleEndian(Need(2, field)),
        GgufValueType.Int16 => BinaryPrimitives.ReadInt16LittleEndian(Need(2, field)),
        GgufValueType.UInt32 => ReadUInt32(field),
        GgufValueType.Int32 => BinaryPrimitives.ReadInt32LittleEndian(Need(4, field)),
        GgufValueType.Float32 => BinaryPrimitives.ReadSingleLittleEndian(Need(4, field)),
        GgufValueType.Bool => ReadBool(field),
        GgufValueType.String => ReadString(field),
        GgufValueType.UInt64 => ReadUInt64(field),
        GgufValueType.Int64 => BinaryPrimitives.ReadInt64LittleEndian(Need(8, field)),
        GgufValueType.Float64 => BinaryPrimitives.ReadDoubleLittleEndian(Need(8, field)),
        _ => throw new GgufFormatException(field, _pos, $"unknown value type {type}"),
    };

    internal static int ScalarSize(GgufValueType type) => type switch
    {
        GgufValueType.UInt8 or GgufValueType.Int8 or GgufValueType.Bool => 1,
        GgufValueType.UInt16 or GgufValueType.Int16 => 2,
        GgufValueType.UInt32 or GgufValueType.Int32 or GgufValueType.Float32 => 4,
        GgufValueType.UInt64 or GgufValueType.Int64 or GgufValueType.Float64 => 8,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "not a fixed-size type"),
    };

    private bool ReadBool(string field)
    {
        long at = _pos;
        byte b = Need(1, field)[0];
        return b switch
        {
            0 => false,
            1 => true,
            _ => throw new GgufFormatException(field, at, $"boolean byte is {b}, not 0 or 1"),
        };
    }

    private string ReadString(string field)
    {
        long at = _pos;
        ulong len = ReadUInt64($"{field} length");
        if (len > (ulong)Remaining)
        {
            throw new GgufFormatException(field, at, $"string length {len} runs past the end of the file ({Remaining} bytes remain)");
        }

        if (len > int.MaxValue / 2)
        {
            throw new GgufFormatException(field, at, $"string length {len} is larger than this reader accepts");
        }

        var bytes = Need((int)len, field);
        try
        {
            return StrictUtf8.GetString(bytes);
        }
        catch (DecoderFallbackException e)
        {
            throw new GgufFormatException(field, at + 8 + e.Index, "the string is not valid UTF-8", e);
        }
    }

    private uint ReadUInt32(string field) => BinaryPrimitives.ReadUInt32LittleEndian(Need(4, field));

    private ulong ReadUInt64(string field) => BinaryPrimitives.ReadUInt64LittleEndian(Need(8, field));

    private ReadOnlySpan<byte> Need(int count, string field)
    {
        if (count > Remaining)
        {
            throw new GgufFormatException(field, _pos, $"the file ends after {_length} bytes, {count} more were needed; it is truncated");
        }

        var span = new ReadOnlySpan<byte>(_p + _pos, count);
        _pos += count;
        return span;
    }
}
