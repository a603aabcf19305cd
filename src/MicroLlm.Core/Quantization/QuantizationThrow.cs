using System.Diagnostics.CodeAnalysis;
using MicroLlm.Gguf;

namespace MicroLlm.Quantization;

/// <summary>Argument checks shared by <see cref="Dequantizer"/> and <see cref="Quantizer"/>, with messages that say what to pass.</summary>
internal static class QuantizationThrow
{
    /// <summary>Checks that <paramref name="elements"/> is a whole number of blocks of <paramref name="info"/> and that
    /// <paramref name="bytes"/> is exactly their size.</summary>
    public static void CheckSizes(GgmlTypeInfo info, long elements, long bytes, string elementsName, string bytesName)
    {
        if (elements % info.BlockSize != 0)
        {
            NotWholeBlocks(info, elements, elementsName);
        }

        long expected = elements / info.BlockSize * info.BlockBytes;
        if (bytes != expected)
        {
            WrongByteCount(info, elements, bytes, expected, bytesName);
        }
    }

    [DoesNotReturn]
    public static void NotSupported(GgmlType type, string operation, string supported)
    {
        string name = GgmlTypeInfo.IsKnown(type) ? $"{type} ({GgmlTypeInfo.Get(type).Name})" : $"type {(uint)type}";
        throw new NotSupportedException($"{operation} {name} is not supported; supported types are {supported}.");
    }

    [DoesNotReturn]
    private static void NotWholeBlocks(GgmlTypeInfo info, long elements, string paramName) =>
        throw new ArgumentException(
            $"{info.Type} stores {info.BlockSize} elements per {info.BlockBytes}-byte block, but {paramName} has {elements} elements, " +
            $"which is not a whole number of blocks; pass a multiple of {info.BlockSize} elements.",
            paramName);

    [DoesNotReturn]
    private static void WrongByteCount(GgmlTypeInfo info, long elements, long bytes, long expected, string paramName) =>
        throw new ArgumentException(
            $"{elements} elements of {info.Type} take exactly {expected} bytes ({elements / info.BlockSize} blocks of {info.BlockBytes}), " +
            $"but {paramName} has {bytes} bytes; pass exactly the bytes of those elements.",
            paramName);
}
