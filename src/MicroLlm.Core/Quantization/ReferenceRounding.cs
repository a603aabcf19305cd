using System.Runtime.CompilerServices;

namespace MicroLlm.Quantization;

/// <summary>
/// Float-to-integer steps of the reference quantizers, reproduced exactly, including where a block's scale overflows
/// (subnormal inputs make 1/d infinite) or an input is not finite.
/// </summary>
/// <remarks>
/// The reference converts with C casts, which x86-64 performs with a truncating instruction that gives
/// <see cref="int.MinValue"/> for NaN and out-of-range values; .NET saturates instead, so the cast is spelled out here.
/// The result is then narrowed to 8 bits, keeping the low bits, as C does.
/// </remarks>
internal static class ReferenceRounding
{
    /// <summary>C's <c>(int)value</c> as x86-64 computes it: toward zero; NaN and values outside int give <see cref="int.MinValue"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Truncate(float value) =>
        value >= -2147483648f && value < 2147483648f ? (int)value : int.MinValue;

    /// <summary>C's <c>(int8_t)value</c>: <see cref="Truncate"/>, then the low 8 bits as a signed byte.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int TruncateToSByte(float value) => unchecked((sbyte)Truncate(value));

    /// <summary>C's <c>roundf</c>: to the nearest integer, halves away from zero (infinities and NaN pass through).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float RoundHalfAwayFromZero(float value) => MathF.Round(value, MidpointRounding.AwayFromZero);

    /// <summary>
    /// The reference's <c>nearest_int</c>: adding 1.5 * 2^23 leaves round-half-even(value) + 2^22 in the sum's low
    /// 23 mantissa bits, which are read back. Exact for |value| below 2^22; beyond that (and for NaN and infinities)
    /// the same bits as the reference come out.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int NearestInt(float value)
    {
        float shifted = value + 12582912f;
        return (BitConverter.SingleToInt32Bits(shifted) & 0x007F_FFFF) - 0x0040_0000;
    }
}
