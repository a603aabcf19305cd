using System.Buffers.Binary;
using System.Runtime.CompilerServices;

namespace MicroLlm.Quantization;

/// <summary>Little-endian field access inside a block's bytes, shared by the block formats.</summary>
internal static class BlockReader
{
    /// <summary>The 16-bit field at <paramref name="offset"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ushort U16(ReadOnlySpan<byte> block, int offset) => BinaryPrimitives.ReadUInt16LittleEndian(block[offset..]);

    /// <summary>The 32-bit field at <paramref name="offset"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint U32(ReadOnlySpan<byte> block, int offset) => BinaryPrimitives.ReadUInt32LittleEndian(block[offset..]);

    /// <summary>The half-float field at <paramref name="offset"/>, widened to float.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Half(ReadOnlySpan<byte> block, int offset) => Fp16.ToSingle(U16(block, offset));

    /// <summary>Writes a 16-bit field at <paramref name="offset"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void WriteU16(Span<byte> block, int offset, ushort value) => BinaryPrimitives.WriteUInt16LittleEndian(block[offset..], value);

    /// <summary>Writes <paramref name="value"/> rounded to a half float at <paramref name="offset"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void WriteHalf(Span<byte> block, int offset, float value) => WriteU16(block, offset, Fp16.FromSingle(value));
}
