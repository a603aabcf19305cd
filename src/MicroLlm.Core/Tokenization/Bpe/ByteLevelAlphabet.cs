namespace MicroLlm.Tokenization.Bpe;

/// <summary>
/// The byte-level alphabet of GPT-2 style BPE: each of the 256 byte values is written as one printable character,
/// so that vocabulary pieces and merges are text. Printable Latin-1 bytes (<c>!</c>..<c>~</c>, <c>¡</c>..<c>¬</c>,
/// <c>®</c>..<c>ÿ</c>) stand for themselves; the other 68 bytes, in ascending order, take U+0100 onwards
/// (so the space, 0x20, is <c>Ġ</c> U+0120 and the line feed, 0x0A, is <c>Ċ</c> U+010A).
/// </summary>
internal static class ByteLevelAlphabet
{
    /// <summary>One past the highest character the alphabet uses (U+0143, the byte 0xAD).</summary>
    public const int CharLimit = 0x144;

    private static readonly char[] ByteToChar = BuildByteToChar();
    private static readonly short[] CharToByte = BuildCharToByte();

    /// <summary>The character that stands for <paramref name="value"/>.</summary>
    /// <param name="value">A byte.</param>
    /// <returns>Its character in the alphabet.</returns>
    public static char ToChar(byte value) => ByteToChar[value];

    /// <summary>Gets the byte a character of the alphabet stands for.</summary>
    /// <param name="codePoint">A code point.</param>
    /// <param name="value">The byte, when the code point is in the alphabet.</param>
    /// <returns><see langword="true"/> if the code point is one of the 256 characters of the alphabet.</returns>
    public static bool TryGetByte(int codePoint, out byte value)
    {
        if ((uint)codePoint < CharLimit && CharToByte[codePoint] >= 0)
        {
            value = (byte)CharToByte[codePoint];
            return true;
        }

        value = 0;
        return false;
    }

    private static bool StandsForItself(int b) => b is (>= 0x21 and <= 0x7E) or (>= 0xA1 and <= 0xAC) or (>= 0xAE and <= 0xFF);

    private static char[] BuildByteToChar()
    {
        var map = new char[256];
        int next = 0x100;
        for (int b = 0; b < 256; b++)
        {
            map[b] = StandsForItself(b) ? (char)b : (char)next++;
        }

        return map;
    }

    private static short[] BuildCharToByte()
    {
        var map = new short[CharLimit];
        Array.Fill(map, (short)-1);
        for (int b = 0; b < 256; b++)
        {
            map[ByteToChar[b]] = (short)b;
        }

        return map;
    }
}
