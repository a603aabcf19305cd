using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace MicroLlm.Kernels;

/// <summary>
/// Half (binary16) to float, scalar and per vector: exact for every finite half, normal or subnormal. Infinities and
/// NaNs become large finite values (2^16 · 1.m); weights and block scales never hold them in a usable file.
/// </summary>
/// <remarks>
/// <para>The vector forms (<see cref="ToSingle(Vector512{uint})"/> and narrower, <see cref="Load8"/>: block scales)
/// never compute with a subnormal float. A normal half's exponent is rebased by adding 112 to the exponent field (an
/// integer add); a zero or subnormal half m · 2^-24 is taken as 2^-14 · (1 + m/1024) − 2^-14, a subtraction of two
/// normal floats, which is exact. They used to multiply the half's bits, placed as a float, by 2^112: for a subnormal
/// half that float is subnormal, and this machine (Zen 5) then takes a microcode assist on the vector multiply. In a
/// matrix of small weights every super-block scale may be subnormal (the random-weight files' FFN down and output
/// matrices): TinyLlama Q4_K_M, one thread, the ffn_down (Q6_K) product ran at 18.4 GB/s against 42.0 now, the output
/// matrix at 19.0 against 45.5; decode 43.3-43.6 against 56.3-57.1 tok/s, Q5_K_M 24.1-24.5 against 44.7-45.0.</para>
/// <para>The scalar form and <see cref="Load16"/> (bulk F16 weights) still multiply, which measured faster: see each.</para>
/// </remarks>
internal static class HalfBits
{
    /// <summary>The smallest normal float exponent field (bit 23): where a half's exponent field is zero.</summary>
    private const uint SubnormalLimit = 0x00800000;

    /// <summary>(127 − 15) in the float exponent field: a normal half's exponent rebased.</summary>
    private const uint Rebase = 0x38000000;

    /// <summary>2^-14, the bits of the offset a zero or subnormal half is taken with and then subtracted.</summary>
    private const uint Offset = 0x38800000;

    /// <summary>
    /// The float equal to the finite half <paramref name="bits"/>: its bits placed as a float, multiplied by 2^112, a
    /// subnormal float on the way for a subnormal half, which costs an assist (a Q8_0 decode loop converting its scales
    /// this way ran at 13.5 GB/s with every scale subnormal, 34 with normal ones; <see cref="Q8_0Dot.Rows512"/> now
    /// converts them in a vector). Scalar alternatives measured slower in that loop with the random-weight file's
    /// scales: TinyLlama Q8_0 decode, one thread, 29.3-30.4 tok/s this way, 20.6-21.0 with the vector forms' integer
    /// steps in scalar code, 5.9-15.9 with a branch to them. Callers on a hot path use the vector forms.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float ToSingle(ushort bits)
    {
        float magnitude = BitConverter.UInt32BitsToSingle((uint)(bits & 0x7FFF) << 13) * 5.192297e33f; // 2^112
        return BitConverter.UInt32BitsToSingle(BitConverter.SingleToUInt32Bits(magnitude) | ((uint)(bits & 0x8000) << 16));
    }

    /// <summary>
    /// Sixteen halves at <paramref name="halves"/> as floats, for bulk F16 data (weights): the same bits as
    /// <see cref="ToSingle(Vector512{uint})"/> in four operations, sign-extended to 32 bits and shifted left by 13 (a
    /// half's sign fills bits 28-31, its exponent and mantissa bits 13-27), bit 31 and bits 13-27 kept, which is 2^-112
    /// times the half, then multiplied by 2^112 (exact, and it carries the sign). A subnormal half is a subnormal float
    /// on the way, so a vector holding one takes a microcode assist; in weights they are rare (0.26 % of the
    /// random-weight F16 file's halves, 4 % of its 16-half vectors), and the assist-free form's seven more operations
    /// cost more than those assists: TinyLlama F16 decode, one thread, 17.8-18.2 tok/s this way, 13.9-14.6 without
    /// assists. Block scales, which are often all subnormal in a matrix of small weights, take <see cref="ToSingle(Vector512{uint})"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe Vector512<float> Load16(short* halves)
    {
        var bits = Avx512F.ConvertToVector512Int32(Vector256.Load(halves)) << 13;
        return (bits & Vector512.Create(unchecked((int)0x8FFFE000))).AsSingle() * Vector512.Create(5.192297e33f); // 2^112
    }

    /// <summary>Eight halves at <paramref name="halves"/> as floats without assists (block scales), the bits of <see cref="ToSingle(Vector256{uint})"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe Vector256<float> Load8(short* halves)
    {
        var bits = Avx2.ConvertToVector256Int32(halves).AsUInt32() << 13;
        return (Magnitude(bits & Vector256.Create(0x0FFFE000u)).AsUInt32() | (bits & Vector256.Create(0x80000000u))).AsSingle();
    }

    /// <summary>Halves widened to 32-bit lanes, converted to floats.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> ToSingle(Vector512<uint> bits) =>
        (Magnitude((bits & Vector512.Create(0x7FFFu)) << 13).AsUInt32() | ((bits & Vector512.Create(0x8000u)) << 16)).AsSingle();

    /// <summary>Halves widened to 32-bit lanes, converted to floats.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> ToSingle(Vector256<uint> bits) =>
        (Magnitude((bits & Vector256.Create(0x7FFFu)) << 13).AsUInt32() | ((bits & Vector256.Create(0x8000u)) << 16)).AsSingle();

    /// <summary>Halves widened to 32-bit lanes, converted to floats.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> ToSingle(Vector128<uint> bits) =>
        (Magnitude((bits & Vector128.Create(0x7FFFu)) << 13).AsUInt32() | ((bits & Vector128.Create(0x8000u)) << 16)).AsSingle();

    /// <summary>The magnitudes of halves whose exponent and mantissa sit in bits 13-27 (nothing above), as the remarks say.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Magnitude(Vector512<uint> shifted)
    {
        var small = Vector512.LessThan(shifted, Vector512.Create(SubnormalLimit));
        return (shifted + (Vector512.ConditionalSelect(small, Vector512.Create(Offset), Vector512.Create(Rebase)))).AsSingle()
            - (small & Vector512.Create(Offset)).AsSingle();
    }

    /// <inheritdoc cref="Magnitude(Vector512{uint})"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Magnitude(Vector256<uint> shifted)
    {
        var small = Vector256.LessThan(shifted, Vector256.Create(SubnormalLimit));
        return (shifted + (Vector256.ConditionalSelect(small, Vector256.Create(Offset), Vector256.Create(Rebase)))).AsSingle()
            - (small & Vector256.Create(Offset)).AsSingle();
    }

    /// <inheritdoc cref="Magnitude(Vector512{uint})"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> Magnitude(Vector128<uint> shifted)
    {
        var small = Vector128.LessThan(shifted, Vector128.Create(SubnormalLimit));
        return (shifted + (Vector128.ConditionalSelect(small, Vector128.Create(Offset), Vector128.Create(Rebase)))).AsSingle()
            - (small & Vector128.Create(Offset)).AsSingle();
    }
}
