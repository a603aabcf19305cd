namespace MicroLlm.Constraints;

/// <summary>A set of byte values (256 bits): what one byte-level grammar terminal accepts.</summary>
internal readonly struct ByteSet : IEquatable<ByteSet>
{
    private readonly ulong _b0, _b1, _b2, _b3;

    private ByteSet(ulong b0, ulong b1, ulong b2, ulong b3)
    {
        _b0 = b0;
        _b1 = b1;
        _b2 = b2;
        _b3 = b3;
    }

    public bool IsEmpty => (_b0 | _b1 | _b2 | _b3) == 0;

    public static ByteSet Single(byte value) => Range(value, value);

    public static ByteSet Range(byte lo, byte hi)
    {
        Span<ulong> words = stackalloc ulong[4];
        for (int b = lo; b <= hi; b++)
        {
            words[b >> 6] |= 1UL << (b & 63);
        }

        return new ByteSet(words[0], words[1], words[2], words[3]);
    }

    public bool Contains(byte value) => ((value >> 6) switch { 0 => _b0, 1 => _b1, 2 => _b2, _ => _b3 } & (1UL << (value & 63))) != 0;

    public ByteSet Union(ByteSet other) => new(_b0 | other._b0, _b1 | other._b1, _b2 | other._b2, _b3 | other._b3);

    public bool Equals(ByteSet other) => _b0 == other._b0 && _b1 == other._b1 && _b2 == other._b2 && _b3 == other._b3;

    public override bool Equals(object? obj) => obj is ByteSet other && Equals(other);

    public override int GetHashCode() => HashCode.Combine(_b0, _b1, _b2, _b3);

    public override string ToString()
    {
        var parts = new List<string>();
        for (int b = 0; b < 256; b++)
        {
            if (!Contains((byte)b))
            {
                continue;
            }

            int e = b;
            while (e < 255 && Contains((byte)(e + 1)))
            {
                e++;
            }

            parts.Add(e == b ? $"{b:X2}" : $"{b:X2}-{e:X2}");
            b = e;
        }

        return "{" + string.Join(",", parts) + "}";
    }
}
