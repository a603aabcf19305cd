using System.Buffers.Binary;
using System.Text;

namespace MicroLlm.Gguf;

/// <summary>
/// Writes GGUF v3 files: metadata in the order added, tensor descriptors, then each tensor's bytes at the next
/// aligned offset. A file read with <see cref="GgufFile"/> and written back with <see cref="FromFile"/> is byte-identical
/// when its tensors were laid out in order, as every mainstream writer does.
/// </summary>
public sealed class GgufWriter
{
    private readonly List<KeyValuePair<string, GgufValue>> _metadata = [];
    private readonly Dictionary<string, int> _metadataIndex = new(StringComparer.Ordinal);
    private readonly List<PendingTensor> _tensors = [];
    private readonly HashSet<string> _tensorNames = new(StringComparer.Ordinal);

    private readonly record struct PendingTensor(
        string Name, GgmlType Type, long[] Dimensions, ReadOnlyMemory<byte> Data, long Length, TensorProducer? Producer);

    /// <summary>Writes a tensor's bytes, exactly as many as were declared, to <paramref name="destination"/> when the file is written.</summary>
    internal delegate Task TensorProducer(Stream destination, CancellationToken cancellationToken);

    /// <summary>The format version written: 3 (the default) or 2.</summary>
    public int Version { get; init; } = 3;

    /// <summary>
    /// Adds or replaces a metadata entry. Replacing keeps the entry's original position.
    /// Setting <c>general.alignment</c> (a uint32 power of two) changes the data alignment.
    /// </summary>
    /// <param name="key">The key, such as <c>general.architecture</c>.</param>
    /// <param name="value">The value.</param>
    /// <returns>This writer.</returns>
    public GgufWriter SetMetadata(string key, GgufValue value)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        ArgumentNullException.ThrowIfNull(value);
        if (key == GgufFile.AlignmentKey && (value.Type != GgufValueType.UInt32 || !IsPowerOfTwo((uint)value.RawValue)))
        {
            throw new ArgumentException($"'{GgufFile.AlignmentKey}' must be a uint32 power of two.", nameof(value));
        }

        if (_metadataIndex.TryGetValue(key, out int i))
        {
            _metadata[i] = new(key, value);
        }
        else
        {
            _metadataIndex.Add(key, _metadata.Count);
            _metadata.Add(new(key, value));
        }

        return this;
    }

    /// <summary>Adds a tensor. Its bytes are referenced, not copied, until the file is written.</summary>
    /// <param name="name">A unique name.</param>
    /// <param name="type">The element type.</param>
    /// <param name="dimensions">The shape, innermost dimension first (1 to 4 dimensions).</param>
    /// <param name="data">Exactly the tensor's bytes for that type and shape.</param>
    /// <returns>This writer.</returns>
    /// <exception cref="ArgumentException">The name is taken, the shape is invalid, or the byte count does not match.</exception>
    public GgufWriter AddTensor(string name, GgmlType type, ReadOnlySpan<long> dimensions, ReadOnlyMemory<byte> data)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (!_tensorNames.Add(name))
        {
            throw new ArgumentException($"A tensor named '{name}' was already added.", nameof(name));
        }

        var info = GgmlTypeInfo.Get(type);
        if (dimensions.Length is 0 or > 4)
        {
            _tensorNames.Remove(name);
            throw new ArgumentException($"Tensor '{name}' has {dimensions.Length} dimensions; 1 to 4 are allowed.", nameof(dimensions));
        }

        long elements = 1;
        foreach (long d in dimensions)
        {
            if (d < 0)
            {
                _tensorNames.Remove(name);
                throw new ArgumentException($"Tensor '{name}' has a negative dimension.", nameof(dimensions));
            }

            elements = checked(elements * d);
        }

        long expected;
        try
        {
            expected = info.ByteCount(elements);
        }
        catch (ArgumentException)
        {
            _tensorNames.Remove(name);
            throw new ArgumentException($"Tensor '{name}': {elements} elements is not a whole number of {info.Name} blocks.", nameof(dimensions));
        }

        if (dimensions[0] % info.BlockSize != 0 || expected != data.Length)
        {
            _tensorNames.Remove(name);
            throw new ArgumentException($"Tensor '{name}' of type {info.Name} and shape [{string.Join(", ", dimensions.ToArray())}] takes {expected} bytes with rows of whole blocks; {data.Length} were given.", nameof(data));
        }

        _tensors.Add(new PendingTensor(name, type, dimensions.ToArray(), data, data.Length, null));
        return this;
    }

    /// <summary>
    /// Adds a tensor whose bytes <paramref name="producer"/> writes while the file is written, so a large file never
    /// holds its tensors in memory. The producer must write exactly the bytes of <paramref name="dimensions"/> elements
    /// of <paramref name="type"/>; on a seekable stream that is checked.
    /// </summary>
    internal GgufWriter AddTensor(string name, GgmlType type, ReadOnlySpan<long> dimensions, TensorProducer producer)
    {
        ArgumentNullException.ThrowIfNull(producer);
        long elements = 1;
        foreach (long d in dimensions)
        {
            elements = checked(elements * d);
        }

        var info = GgmlTypeInfo.Get(type);
        if (dimensions.Length is 0 or > 4 || elements <= 0 || dimensions[0] % info.BlockSize != 0)
        {
            throw new ArgumentException($"Tensor '{name}' of type {info.Name} cannot have shape [{string.Join(", ", dimensions.ToArray())}].", nameof(dimensions));
        }

        if (!_tensorNames.Add(name))
        {
            throw new ArgumentException($"A tensor named '{name}' was already added.", nameof(name));
        }

        _tensors.Add(new PendingTensor(name, type, dimensions.ToArray(), default, info.ByteCount(elements), producer));
        return this;
    }

    /// <summary>Creates a writer holding everything in <paramref name="file"/>: metadata in order and every tensor's bytes (by reference).</summary>
    /// <param name="file">An open file; keep it open until the writer has written.</param>
    /// <returns>The writer.</returns>
    public static GgufWriter FromFile(GgufFile file)
    {
        ArgumentNullException.ThrowIfNull(file);
        var w = new GgufWriter { Version = file.Version };
        foreach (var kv in file.Metadata)
        {
            w.SetMetadata(kv.Key, kv.Value);
        }

        foreach (var t in file.Tensors)
        {
            w.AddTensor(t.Name, t.Type, t.Dimensions.ToArray(), file.GetTensorMemory(t));
        }

        return w;
    }

    /// <summary>Writes the file to <paramref name="path"/>, replacing it.</summary>
    /// <param name="path">The destination.</param>
    /// <param name="cancellationToken">Cancels between tensors.</param>
    /// <returns>A task that completes when the file is written.</returns>
    public async Task WriteAsync(string path, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var fs = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true);
        await using (fs.ConfigureAwait(false))
        {
            await WriteAsync(fs, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Writes the file to <paramref name="stream"/>.</summary>
    /// <param name="stream">A writable stream.</param>
    /// <param name="cancellationToken">Cancels between tensors.</param>
    /// <returns>A task that completes when everything is written.</returns>
    public async Task WriteAsync(Stream stream, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stream);
        byte[] header = BuildHeader(out long[] offsets, out int alignment);
        await stream.WriteAsync(header, cancellationToken).ConfigureAwait(false);
        long pos = header.Length;
        byte[] zeros = new byte[alignment];
        for (int i = 0; i < _tensors.Count; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            long target = header.Length + offsets[i];
            await stream.WriteAsync(zeros.AsMemory(0, (int)(target - pos)), cancellationToken).ConfigureAwait(false);
            var tensor = _tensors[i];
            if (tensor.Producer is null)
            {
                await stream.WriteAsync(tensor.Data, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                long before = stream.CanSeek ? stream.Position : -1;
                await tensor.Producer(stream, cancellationToken).ConfigureAwait(false);
                if (before >= 0 && stream.Position - before != tensor.Length)
                {
                    throw new InvalidOperationException($"Tensor '{tensor.Name}': {stream.Position - before} bytes were produced; {tensor.Length} were declared.");
                }
            }

            pos = target + tensor.Length;
        }

        if (_tensors.Count > 0)
        {
            long end = GgufParser.AlignUp(pos, alignment);
            await stream.WriteAsync(zeros.AsMemory(0, (int)(end - pos)), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Writes the file to a new byte array (for small files and tests).</summary>
    /// <returns>The file's bytes.</returns>
    public byte[] ToArray()
    {
        using var ms = new MemoryStream();
        WriteAsync(ms).GetAwaiter().GetResult();
        return ms.ToArray();
    }

    private byte[] BuildHeader(out long[] offsets, out int alignment)
    {
        alignment = _metadataIndex.TryGetValue(GgufFile.AlignmentKey, out int ai) ? (int)(uint)_metadata[ai].Value.RawValue : GgufFile.DefaultAlignment;
        var b = new Buffer();
        b.U32(GgufParser.Magic);
        b.U32((uint)Version);
        b.U64((ulong)_tensors.Count);
        b.U64((ulong)_metadata.Count);
        foreach (var kv in _metadata)
        {
            b.Str(kv.Key);
            WriteValue(b, kv.Value);
        }

        offsets = new long[_tensors.Count];
        long next = 0;
        for (int i = 0; i < _tensors.Count; i++)
        {
            var t = _tensors[i];
            offsets[i] = next;
            b.Str(t.Name);
            b.U32((uint)t.Dimensions.Length);
            foreach (long d in t.Dimensions)
            {
                b.U64((ulong)d);
            }

            b.U32((uint)t.Type);
            b.U64((ulong)next);
            next = GgufParser.AlignUp(next + t.Length, alignment);
        }

        // The data section starts at the next aligned offset; a file without tensors ends with its header.
        if (_tensors.Count > 0)
        {
            long dataStart = GgufParser.AlignUp(b.Length, alignment);
            b.Zeros((int)(dataStart - b.Length));
        }

        return b.ToArray();
    }

    private static void WriteValue(Buffer b, GgufValue v)
    {
        b.U32((uint)v.Type);
        if (v.IsArray)
        {
            b.U32((uint)v.ElementType);
            var a = (Array)v.RawValue;
            b.U64((ulong)a.Length);
            foreach (object e in a)
            {
                WriteScalar(b, v.ElementType, e);
            }
        }
        else
        {
            WriteScalar(b, v.Type, v.RawValue);
        }
    }

    private static void WriteScalar(Buffer b, GgufValueType type, object value)
    {
        Span<byte> s = stackalloc byte[8];
        switch (type)
        {
            case GgufValueType.UInt8: b.Bytes([(byte)value]); break;
            case GgufValueType.Int8: b.Bytes([(byte)(sbyte)value]); break;
            case GgufValueType.Bool: b.Bytes([(bool)value ? (byte)1 : (byte)0]); break;
            case GgufValueType.UInt16: BinaryPrimitives.WriteUInt16LittleEndian(s, (ushort)value); b.Bytes(s[..2]); break;
            case GgufValueType.Int16: BinaryPrimitives.WriteInt16LittleEndian(s, (short)value); b.Bytes(s[..2]); break;
            case GgufValueType.UInt32: b.U32((uint)value); break;
            case GgufValueType.Int32: BinaryPrimitives.WriteInt32LittleEndian(s, (int)value); b.Bytes(s[..4]); break;
            case GgufValueType.Float32: BinaryPrimitives.WriteSingleLittleEndian(s, (float)value); b.Bytes(s[..4]); break;
            case GgufValueType.UInt64: b.U64((ulong)value); break;
            case GgufValueType.Int64: BinaryPrimitives.WriteInt64LittleEndian(s, (long)value); b.Bytes(s[..8]); break;
            case GgufValueType.Float64: BinaryPrimitives.WriteDoubleLittleEndian(s, (double)value); b.Bytes(s[..8]); break;
            case GgufValueType.String: b.Str((string)value); break;
            default: throw new InvalidOperationException($"Cannot write a value of type {type}.");
        }
    }

    private static bool IsPowerOfTwo(uint a) => a != 0 && (a & (a - 1)) == 0;

    private sealed class Buffer
    {
        private readonly System.Buffers.ArrayBufferWriter<byte> _w = new(1 << 16);

        public long Length => _w.WrittenCount;

        public void Bytes(ReadOnlySpan<byte> bytes) => System.Buffers.BuffersExtensions.Write(_w, bytes);

        public void Zeros(int n)
        {
            _w.GetSpan(n)[..n].Clear();
            _w.Advance(n);
        }

        public void U32(uint v)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(_w.GetSpan(4), v);
            _w.Advance(4);
        }

        public void U64(ulong v)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(_w.GetSpan(8), v);
            _w.Advance(8);
        }

        public void Str(string v)
        {
            int n = Encoding.UTF8.GetByteCount(v);
            U64((ulong)n);
            Encoding.UTF8.GetBytes(v, _w.GetSpan(n));
            _w.Advance(n);
        }

        public byte[] ToArray() => _w.WrittenSpan.ToArray();
    }
}
