using System.Runtime.CompilerServices;

namespace MicroLlm.Quantization;

/// <summary>
/// bfloat16 (GGUF type BF16) conversions that give the reference runtime's bits: a bfloat16 is the upper 16 bits of
/// an IEEE float (sign, 8 exponent bits, 7 mantissa bits).
/// </summary>
/// <remarks>
/// Widening shifts the bits up, exactly. Narrowing rounds to nearest, ties to even, on the dropped 16 bits (a carry
/// can round up into the exponent and on to infinity); subnormals are kept; a NaN keeps its upper bits and is made
/// quiet by setting mantissa bit 6, so it never rounds into an infinity.
/// </remarks>
internal static class Bf16
{
    /// <summary>The float whose upper 16 bits are <paramref name="bits"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float ToSingle(ushort bits) => BitConverter.UInt32BitsToSingle((uint)bits << 16);

    /// <summary>The bfloat16 nearest to <paramref name="value"/> (ties to even), as bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ushort FromSingle(float value)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value);
        if ((bits & 0x7FFF_FFFF) > 0x7F80_0000)
        {
            // NaN: truncate and force the quiet bit.
            return (ushort)(bits >> 16 | 0x40);
        }

        // Add just under one half of the dropped part's unit, plus one when the kept part is odd: ties go to even.
        uint roundingBias = 0x7FFF + (bits >> 16 & 1);
        return (ushort)((bits + roundingBias) >> 16);
    }

    /// <summary>Widens <paramref name="source"/>'s little-endian bfloat16 values (2 bytes each) into <paramref name="destination"/>.</summary>
    public static void Dequantize(ReadOnlySpan<byte> source, Span<float> destination)
    {
        for (int i = 0; i < destination.Length; i++)
        {
            destination[i] = ToSingle(BlockReader.U16(source, 2 * i));
        }
    }

    /// <summary>Rounds each float of <paramref name="source"/> to bfloat16, stored little-endian in <paramref name="destination"/>.</summary>
    public static void Quantize(ReadOnlySpan<float> source, Span<byte> destination)
    {
        for (int i = 0; i < source.Length; i++)
        {
            BlockReader.WriteU16(destination, 2 * i, FromSingle(source[i]));
        }
    }
}
