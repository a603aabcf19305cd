using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace MicroLlm.Kernels;

/// <summary>
/// Half (binary16) to float in a few integer operations and one multiply, scalar and per vector: exact for every
/// finite half, normal or subnormal (the exponent is rebased by multiplying with 2^112). Infinities and NaNs become
/// large finite values; weights and block scales never hold them in a usable file.
/// </summary>
internal static class HalfBits
{
    private const float Rebase = 5.192297e33f; // 2^112

    /// <summary>The float equal to the finite half <paramref name="bits"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float ToSingle(ushort bits)
    {
        float magnitude = BitConverter.UInt32BitsToSingle((uint)(bits & 0x7FFF) << 13) * Rebase;
        return BitConverter.UInt32BitsToSingle(BitConverter.SingleToUInt32Bits(magnitude) | ((uint)(bits & 0x8000) << 16));
    }

    /// <summary>
    /// Sixteen halves at <paramref name="halves"/> as floats, the bits of <see cref="ToSingle(Vector512{uint})"/> in four
    /// operations: sign-extended to 32 bits and shifted left by 13, a half's sign fills bits 28-31 and its exponent and
    /// mantissa bits 13-27; keeping bit 31 and bits 13-27 gives 2^-112 times the half, and the multiply by 2^112 is
    /// exact and carries the sign.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe Vector512<float> Load16(short* halves)
    {
        var bits = Avx512F.ConvertToVector512Int32(Vector256.Load(halves)) << 13;
        return (bits & Vector512.Create(unchecked((int)0x8FFFE000))).AsSingle() * Vector512.Create(Rebase);
    }

    /// <summary>Eight halves at <paramref name="halves"/> as floats, in <see cref="Load16"/>'s four operations.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe Vector256<float> Load8(short* halves)
    {
        var bits = Avx2.ConvertToVector256Int32(halves) << 13;
        return (bits & Vector256.Create(unchecked((int)0x8FFFE000))).AsSingle() * Vector256.Create(Rebase);
    }

    /// <summary>Halves widened to 32-bit lanes, converted to floats.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> ToSingle(Vector512<uint> bits)
    {
        var magnitude = ((bits & Vector512.Create(0x7FFFu)) << 13).AsSingle() * Vector512.Create(Rebase);
        return (magnitude.AsUInt32() | ((bits & Vector512.Create(0x8000u)) << 16)).AsSingle();
    }

    /// <summary>Halves widened to 32-bit lanes, converted to floats.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> ToSingle(Vector256<uint> bits)
    {
        var magnitude = ((bits & Vector256.Create(0x7FFFu)) << 13).AsSingle() * Vector256.Create(Rebase);
        return (magnitude.AsUInt32() | ((bits & Vector256.Create(0x8000u)) << 16)).AsSingle();
    }

    /// <summary>Halves widened to 32-bit lanes, converted to floats.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> ToSingle(Vector128<uint> bits)
    {
        var magnitude = ((bits & Vector128.Create(0x7FFFu)) << 13).AsSingle() * Vector128.Create(Rebase);
        return (magnitude.AsUInt32() | ((bits & Vector128.Create(0x8000u)) << 16)).AsSingle();
    }
}
