using MicroLlm.Gguf;

namespace MicroLlm.Quantization;

/// <summary>
/// Decodes tensor data stored in a GGUF tensor type to 32-bit floats, bit for bit as the reference runtime (ggml) does.
/// </summary>
/// <remarks>
/// <para>Supported: F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K and Q8_K. The importance
/// quants (IQ*), ternary quants (TQ*), Q8_1, F64 and the integer types are not.</para>
/// <para>Every result equals the reference's: the same float operations run in the same order (a K-quant weight is
/// <c>(d * scale) * code - (dmin * min)</c>, never fused). Decoding allocates nothing and is safe to call from many
/// threads on distinct destinations.</para>
/// </remarks>
public static class Dequantizer
{
    private const string SupportedList = "F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K and Q8_K";

    /// <summary>Whether <see cref="Dequantize"/> can decode <paramref name="type"/>.</summary>
    /// <param name="type">A tensor type.</param>
    /// <returns><see langword="true"/> for the types listed on <see cref="Dequantizer"/>.</returns>
    public static bool IsSupported(GgmlType type) => type is
        GgmlType.F32 or GgmlType.F16 or GgmlType.BF16 or
        GgmlType.Q4_0 or GgmlType.Q4_1 or GgmlType.Q5_0 or GgmlType.Q5_1 or GgmlType.Q8_0 or
        GgmlType.Q2_K or GgmlType.Q3_K or GgmlType.Q4_K or GgmlType.Q5_K or GgmlType.Q6_K or GgmlType.Q8_K;

    /// <summary>Decodes <paramref name="destination"/>.Length elements of <paramref name="type"/> to floats.</summary>
    /// <param name="type">The type the bytes are stored in.</param>
    /// <param name="source">Exactly the bytes of <paramref name="destination"/>.Length elements: whole blocks, as in a
    /// tensor's data (<see cref="GgufFile.GetTensorData"/>) or a row of it.</param>
    /// <param name="destination">Receives the elements; its length is the element count, a multiple of the type's block size.</param>
    /// <exception cref="NotSupportedException"><paramref name="type"/> is not one <see cref="IsSupported"/> accepts.</exception>
    /// <exception cref="ArgumentException"><paramref name="destination"/>'s length is not a whole number of blocks, or
    /// <paramref name="source"/> is not exactly the size of that many elements.</exception>
    public static void Dequantize(GgmlType type, ReadOnlySpan<byte> source, Span<float> destination)
    {
        if (!IsSupported(type))
        {
            QuantizationThrow.NotSupported(type, "Dequantizing", SupportedList);
        }

        QuantizationThrow.CheckSizes(GgmlTypeInfo.Get(type), destination.Length, source.Length, nameof(destination), nameof(source));
        switch (type)
        {
            case GgmlType.F32: F32.Dequantize(source, destination); break;
            case GgmlType.F16: Fp16.Dequantize(source, destination); break;
            case GgmlType.BF16: Bf16.Dequantize(source, destination); break;
            case GgmlType.Q4_0: Q4_0Block.Dequantize(source, destination); break;
            case GgmlType.Q4_1: Q4_1Block.Dequantize(source, destination); break;
            case GgmlType.Q5_0: Q5_0Block.Dequantize(source, destination); break;
            case GgmlType.Q5_1: Q5_1Block.Dequantize(source, destination); break;
            case GgmlType.Q8_0: Q8_0Block.Dequantize(source, destination); break;
            case GgmlType.Q2_K: Q2_KBlock.Dequantize(source, destination); break;
            case GgmlType.Q3_K: Q3_KBlock.Dequantize(source, destination); break;
            case GgmlType.Q4_K: Q4_KBlock.Dequantize(source, destination); break;
            case GgmlType.Q5_K: Q5_KBlock.Dequantize(source, destination); break;
            case GgmlType.Q6_K: Q6_KBlock.Dequantize(source, destination); break;
            case GgmlType.Q8_K: Q8_KBlock.Dequantize(source, destination); break;
            default: QuantizationThrow.NotSupported(type, "Dequantizing", SupportedList); break;
        }
    }
}
