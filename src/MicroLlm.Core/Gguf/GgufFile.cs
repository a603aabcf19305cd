using System.Buffers;
using System.IO.MemoryMappedFiles;

namespace MicroLlm.Gguf;

/// <summary>
/// A GGUF model file, opened read-only and memory-mapped: metadata and tensor descriptors are parsed and
/// validated at open; tensor bytes are views into the mapping, never copied.
/// </summary>
/// <remarks>
/// Every malformed input is reported as a <see cref="GgufFormatException"/> naming the field and byte offset.
/// Sizes and counts read from the file are checked against the file's length before anything is allocated.
/// Instances are safe to read from many threads; spans and memory handed out are valid until <see cref="Dispose"/>.
/// </remarks>
public sealed unsafe class GgufFile : IDisposable
{
    /// <summary>The alignment of the data section when <c>general.alignment</c> is absent.</summary>
    public const int DefaultAlignment = 32;

    /// <summary>The metadata key that overrides the alignment.</summary>
    public const string AlignmentKey = "general.alignment";

    private readonly MemoryMappedFile? _map;
    private readonly MemoryMappedViewAccessor? _view;
    private MemoryHandle _pin;
    private byte* _base;
    private readonly Dictionary<string, GgufTensorInfo> _tensorsByName;
    private int _disposed;

    private GgufFile(byte* basePtr, long length, MemoryMappedFile? map, MemoryMappedViewAccessor? view, MemoryHandle pin, string? path)
    {
        _base = basePtr;
        Length = length;
        _map = map;
        _view = view;
        _pin = pin;
        Path = path;
        try
        {
            var parsed = GgufParser.Parse(basePtr, length);
            Version = parsed.Version;
            Alignment = parsed.Alignment;
            DataOffset = parsed.DataOffset;
            Metadata = parsed.Metadata;
            Tensors = parsed.Tensors;
            _tensorsByName = parsed.Tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);
        }
        catch
        {
            Release();
            throw;
        }
    }

    /// <summary>The path the file was opened from, or <see langword="null"/> for an in-memory file.</summary>
    public string? Path { get; }

    /// <summary>The file's total length in bytes.</summary>
    public long Length { get; }

    /// <summary>The format version: 2 or 3.</summary>
    public int Version { get; }

    /// <summary>The alignment of the data section and of every tensor in it.</summary>
    public int Alignment { get; }

    /// <summary>The byte offset of the data section, where tensor offsets count from.</summary>
    public long DataOffset { get; }

    /// <summary>The metadata, in file order.</summary>
    public GgufMetadata Metadata { get; }

    /// <summary>The tensor descriptors, in file order.</summary>
    public IReadOnlyList<GgufTensorInfo> Tensors { get; }

    /// <summary>The model architecture from <c>general.architecture</c>, or <see langword="null"/> if the file does not say.</summary>
    public string? Architecture => Metadata.TryGetValue("general.architecture", out var v) && v.Type == GgufValueType.String ? v.AsString() : null;

    /// <summary>Opens and validates a GGUF file, memory-mapping it read-only.</summary>
    /// <param name="path">The file's path.</param>
    /// <returns>The open file; dispose it to release the mapping.</returns>
    /// <exception cref="GgufFormatException">The file is not a valid GGUF v2/v3 file.</exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    public static GgufFile Open(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.RandomAccess);
        long length = fs.Length;
        if (length == 0)
        {
            fs.Dispose();
            throw new GgufFormatException("magic", 0, "the file is empty");
        }

        MemoryMappedFile? map = null;
        MemoryMappedViewAccessor? view = null;
        try
        {
            map = MemoryMappedFile.CreateFromFile(fs, null, 0, MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: false);
            view = map.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
            byte* p = null;
            view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
            p += view.PointerOffset;
            return new GgufFile(p, length, map, view, default, System.IO.Path.GetFullPath(path));
        }
        catch
        {
            view?.Dispose();
            if (map is null)
            {
                fs.Dispose();
            }

            map?.Dispose();
            throw;
        }
    }

    /// <summary>Parses and validates a GGUF file held in memory. The memory is pinned, not copied, until disposal.</summary>
    /// <param name="data">The file's bytes.</param>
    /// <returns>The parsed file.</returns>
    /// <exception cref="GgufFormatException">The bytes are not a valid GGUF v2/v3 file.</exception>
    public static GgufFile FromMemory(ReadOnlyMemory<byte> data)
    {
        MemoryHandle pin = data.Pin();
        return new GgufFile((byte*)pin.Pointer, data.Length, null, null, pin, null);
    }

    /// <summary>
    /// Releases the resident pages inside <c>[p, p + length)</c> of this file's mapping (<see cref="MemoryAdvice"/>): the
    /// bytes stay readable and come back from the page cache when touched. Does nothing for a file read from memory
    /// (<see cref="FromMemory"/>): those pages are the caller's and would lose their contents.
    /// </summary>
    internal void ReleasePages(byte* p, long length)
    {
        if (_map is not null)
        {
            MemoryAdvice.ReleaseFilePages(p, length);
        }
    }

    /// <summary>Finds a tensor by name.</summary>
    /// <param name="name">The tensor's name.</param>
    /// <returns>The tensor, or <see langword="null"/> if the file has none of that name.</returns>
    public GgufTensorInfo? FindTensor(string name) => _tensorsByName.GetValueOrDefault(name);

    /// <summary>Gets a tensor the caller needs.</summary>
    /// <param name="name">The tensor's name.</param>
    /// <returns>The tensor.</returns>
    /// <exception cref="InvalidDataException">The file has no tensor of that name.</exception>
    public GgufTensorInfo GetTensor(string name) => FindTensor(name)
        ?? throw new InvalidDataException($"The GGUF file has no tensor '{name}'. Is this the right architecture, and a complete file?");

    /// <summary>Gets a tensor's bytes as a view into the file (no copy).</summary>
    /// <param name="tensor">A tensor of this file.</param>
    /// <returns>The bytes, valid until this file is disposed.</returns>
    /// <exception cref="NotSupportedException">The tensor is larger than 2 GiB, which a span cannot hold.</exception>
    public ReadOnlySpan<byte> GetTensorData(GgufTensorInfo tensor) => new(TensorPointer(tensor), CheckedSpanLength(tensor));

    /// <summary>Gets a tensor's bytes as memory backed by the file (no copy), for APIs that need <see cref="ReadOnlyMemory{T}"/>.</summary>
    /// <param name="tensor">A tensor of this file.</param>
    /// <returns>The bytes, valid until this file is disposed.</returns>
    /// <exception cref="NotSupportedException">The tensor is larger than 2 GiB.</exception>
    public ReadOnlyMemory<byte> GetTensorMemory(GgufTensorInfo tensor) =>
        new UnmanagedMemoryManager(TensorPointer(tensor), CheckedSpanLength(tensor)).Memory;

    /// <summary>Gets a range of the file's raw bytes (no copy).</summary>
    /// <param name="offset">The start offset.</param>
    /// <param name="length">The number of bytes.</param>
    /// <returns>The bytes, valid until this file is disposed.</returns>
    /// <exception cref="ArgumentOutOfRangeException">The range is not inside the file.</exception>
    public ReadOnlySpan<byte> GetBytes(long offset, int length)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(offset, Length - length);
        return new ReadOnlySpan<byte>(_base + offset, length);
    }

    /// <summary>The address of a tensor's first byte, for kernels that read it in place.</summary>
    internal byte* TensorPointer(GgufTensorInfo tensor)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        ArgumentNullException.ThrowIfNull(tensor);
        if (!_tensorsByName.TryGetValue(tensor.Name, out var own) || !ReferenceEquals(own, tensor))
        {
            throw new ArgumentException($"Tensor '{tensor.Name}' does not belong to this file.", nameof(tensor));
        }

        return _base + DataOffset + tensor.Offset;
    }

    /// <summary>Releases the mapping. Spans and memory handed out before become invalid.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            Release();
        }
    }

    private void Release()
    {
        if (_view is not null)
        {
            _view.SafeMemoryMappedViewHandle.ReleasePointer();
            _view.Dispose();
        }

        _map?.Dispose();
        _pin.Dispose();
        _base = null;
    }

    private static int CheckedSpanLength(GgufTensorInfo tensor) => tensor.ByteCount <= int.MaxValue
        ? (int)tensor.ByteCount
        : throw new NotSupportedException($"Tensor '{tensor.Name}' has {tensor.ByteCount} bytes; a single view is limited to 2 GiB. Read it by rows.");

    private sealed class UnmanagedMemoryManager(byte* pointer, int length) : MemoryManager<byte>
    {
        public override Span<byte> GetSpan() => new(pointer, length);

        public override MemoryHandle Pin(int elementIndex = 0) => new(pointer + elementIndex);

        public override void Unpin()
        {
        }

        protected override void Dispose(bool disposing)
        {
        }
    }
}
