using MicroLlm.Gguf;

namespace MicroLlm.Quantization;

/// <summary>
/// Encodes 32-bit floats into a GGUF tensor type, bit for bit as the reference runtime's deterministic reference
/// quantizers (ggml's <c>quantize_row_*_ref</c>) do: for activations (Q8_0, Q8_K) and for writing small models.
/// </summary>
/// <remarks>
/// <para>Supported: F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_K and the K-quant weight formats Q2_K, Q3_K, Q4_K,
/// Q5_K and Q6_K. The K-quants follow the reference's quantizers without an importance matrix (what its quantizing tool
/// does when given none): a weighted search per group for the scale (and minimum), then the scales quantized against
/// the super-block's largest; this is slower than the other formats (tens of float passes per group).</para>
/// <para>Results equal the reference's bit for bit, for any input: where a NaN, an infinity or an overflowing scale
/// meets one of the reference's C casts, the result is the one x86-64 gives. F16 rounds to nearest even; a NaN becomes
/// the quiet NaN <c>0x7E00</c> with its sign. BF16 rounds to nearest even; a NaN is kept and made quiet. Scales are
/// computed in float and stored rounded to the block's scale type, as the reference does.</para>
/// <para>These are the reference's portable quantizers. Its vectorised x86 activation quantizer for Q8_0 differs from
/// them (it scales by 127 / max and rounds ties to even), so activations it quantizes can differ in a code or two.</para>
/// <para>Encoding allocates nothing and is safe to call from many threads on distinct destinations.</para>
/// </remarks>
public static class Quantizer
{
    private const string SupportedList = "F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_K, Q2_K, Q3_K, Q4_K, Q5_K and Q6_K";

    /// <summary>Whether <see cref="Quantize"/> can encode <paramref name="type"/>.</summary>
    /// <param name="type">A tensor type.</param>
    /// <returns><see langword="true"/> for the types listed on <see cref="Quantizer"/>.</returns>
    public static bool IsSupported(GgmlType type) => type is
        GgmlType.F32 or GgmlType.F16 or GgmlType.BF16 or
        GgmlType.Q4_0 or GgmlType.Q4_1 or GgmlType.Q5_0 or GgmlType.Q5_1 or GgmlType.Q8_0 or GgmlType.Q8_K or
        GgmlType.Q2_K or GgmlType.Q3_K or GgmlType.Q4_K or GgmlType.Q5_K or GgmlType.Q6_K;

    /// <summary>Encodes <paramref name="source"/> as whole blocks of <paramref name="type"/>.</summary>
    /// <param name="type">The type to store the elements in.</param>
    /// <param name="source">The elements; a multiple of the type's block size (32 for Q4_0..Q8_0, 256 for Q8_K and Q2_K..Q6_K). Each
    /// block is encoded on its own, so a tensor row can be encoded alone.</param>
    /// <param name="destination">Receives exactly the bytes of <paramref name="source"/>.Length elements of <paramref name="type"/>
    /// (<see cref="GgmlTypeInfo.ByteCount"/>).</param>
    /// <exception cref="NotSupportedException"><paramref name="type"/> is not one <see cref="IsSupported"/> accepts.</exception>
    /// <exception cref="ArgumentException"><paramref name="source"/>'s length is not a whole number of blocks, or
    /// <paramref name="destination"/> is not exactly the size of that many elements.</exception>
    public static void Quantize(GgmlType type, ReadOnlySpan<float> source, Span<byte> destination)
    {
        if (!IsSupported(type))
        {
            QuantizationThrow.NotSupported(type, "Quantizing to", SupportedList);
        }

        QuantizationThrow.CheckSizes(GgmlTypeInfo.Get(type), source.Length, destination.Length, nameof(source), nameof(destination));
        switch (type)
        {
            case GgmlType.F32: F32.Quantize(source, destination); break;
            case GgmlType.F16: Fp16.Quantize(source, destination); break;
            case GgmlType.BF16: Bf16.Quantize(source, destination); break;
            case GgmlType.Q4_0: Q4_0Block.Quantize(source, destination); break;
            case GgmlType.Q4_1: Q4_1Block.Quantize(source, destination); break;
            case GgmlType.Q5_0: Q5_0Block.Quantize(source, destination); break;
            case GgmlType.Q5_1: Q5_1Block.Quantize(source, destination); break;
            case GgmlType.Q8_0: Q8_0Block.Quantize(source, destination); break;
            case GgmlType.Q8_K: Q8_KBlock.Quantize(source, destination); break;
            case GgmlType.Q2_K: Q2_KBlock.Quantize(source, destination); break;
            case GgmlType.Q3_K: Q3_KBlock.Quantize(source, destination); break;
            case GgmlType.Q4_K: Q4_KBlock.Quantize(source, destination); break;
            case GgmlType.Q5_K: Q5_KBlock.Quantize(source, destination); break;
            case GgmlType.Q6_K: Q6_KBlock.Quantize(source, destination); break;
            default: QuantizationThrow.NotSupported(type, "Quantizing to", SupportedList); break;
        }
    }
}
