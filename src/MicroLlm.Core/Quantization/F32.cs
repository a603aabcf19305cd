using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace MicroLlm.Quantization;

/// <summary>GGUF type F32: little-endian IEEE floats, 4 bytes each. "Dequantizing" and "quantizing" copy the bits.</summary>
internal static class F32
{
    /// <summary>Copies <paramref name="source"/>'s little-endian floats into <paramref name="destination"/>.</summary>
    public static void Dequantize(ReadOnlySpan<byte> source, Span<float> destination)
    {
        if (BitConverter.IsLittleEndian)
        {
            MemoryMarshal.Cast<byte, float>(source).CopyTo(destination);
            return;
        }

        for (int i = 0; i < destination.Length; i++)
        {
            destination[i] = BinaryPrimitives.ReadSingleLittleEndian(source[(4 * i)..]);
        }
    }

    /// <summary>Copies <paramref name="source"/> into <paramref name="destination"/> as little-endian floats.</summary>
    public static void Quantize(ReadOnlySpan<float> source, Span<byte> destination)
    {
        if (BitConverter.IsLittleEndian)
        {
            MemoryMarshal.AsBytes(source).CopyTo(destination);
            return;
        }

        for (int i = 0; i < source.Length; i++)
        {
            BinaryPrimitives.WriteSingleLittleEndian(destination[(4 * i)..], source[i]);
        }
    }
}
