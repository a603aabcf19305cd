using System.Runtime.CompilerServices;

namespace MicroLlm.Quantization;

/// <summary>
/// IEEE 754 binary16 ("half", GGUF type F16) conversions that give the reference runtime's bits.
/// </summary>
/// <remarks>
/// <para>Half to float is exact, as it is in the reference runtime (its lookup table is built from an exact conversion).</para>
/// <para>Float to half rounds to nearest, ties to even, overflows to infinity and keeps subnormals: the reference's
/// software conversion and the F16C instruction agree on every finite and infinite input. A NaN becomes the quiet NaN
/// <c>0x7E00</c> with the input's sign, as the reference's portable build does (F16C would keep payload bits).</para>
/// Bits are stored little-endian, like every multi-byte field of GGUF.
/// </remarks>
internal static class Fp16
{
    /// <summary>The bits of one half (sign, 5 exponent bits, 10 mantissa bits) widened to float, exactly.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float ToSingle(ushort bits) => (float)BitConverter.UInt16BitsToHalf(bits);

    /// <summary>The half nearest to <paramref name="value"/> (ties to even), as bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ushort FromSingle(float value)
    {
        if (float.IsNaN(value))
        {
            return (ushort)((BitConverter.SingleToUInt32Bits(value) >> 16 & 0x8000) | 0x7E00);
        }

        return BitConverter.HalfToUInt16Bits((Half)value);
    }

    /// <summary>Widens <paramref name="source"/>'s little-endian halves (2 bytes each) into <paramref name="destination"/>.</summary>
    public static void Dequantize(ReadOnlySpan<byte> source, Span<float> destination)
    {
        for (int i = 0; i < destination.Length; i++)
        {
            destination[i] = ToSingle(BlockReader.U16(source, 2 * i));
        }
    }

    /// <summary>Rounds each float of <paramref name="source"/> to a half, stored little-endian in <paramref name="destination"/>.</summary>
    public static void Quantize(ReadOnlySpan<float> source, Span<byte> destination)
    {
        for (int i = 0; i < source.Length; i++)
        {
            BlockReader.WriteU16(destination, 2 * i, FromSingle(source[i]));
        }
    }
}
