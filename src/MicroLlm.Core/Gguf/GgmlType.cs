using System.Diagnostics.CodeAnalysis;

namespace MicroLlm.Gguf;

/// <summary>
/// The element type of a tensor stored in a GGUF file, with the numeric values the format defines.
/// Block-quantized types store <see cref="GgmlTypeInfo.BlockSize"/> elements in <see cref="GgmlTypeInfo.BlockBytes"/> bytes.
/// </summary>
/// <remarks>Values 4, 5 and 31-33, 36-38 belong to layouts that were removed from the format and are rejected by the reader.</remarks>
[SuppressMessage("Naming", "CA1707", Justification = "The names follow the format's own (Q4_0, Q4_K).")]
[SuppressMessage("Design", "CA1028", Justification = "The file stores a 32-bit unsigned value.")]
public enum GgmlType : uint
{
    /// <summary>32-bit IEEE float.</summary>
    F32 = 0,
    /// <summary>16-bit IEEE half float.</summary>
    F16 = 1,
    /// <summary>4-bit, 32 per block, one half-float scale.</summary>
    Q4_0 = 2,
    /// <summary>4-bit, 32 per block, half-float scale and minimum.</summary>
    Q4_1 = 3,
    /// <summary>5-bit, 32 per block, one half-float scale.</summary>
    Q5_0 = 6,
    /// <summary>5-bit, 32 per block, half-float scale and minimum.</summary>
    Q5_1 = 7,
    /// <summary>8-bit, 32 per block, one half-float scale.</summary>
    Q8_0 = 8,
    /// <summary>8-bit, 32 per block, half-float scale and sum (activations).</summary>
    Q8_1 = 9,
    /// <summary>2-bit K-quant, 256 per super-block.</summary>
    Q2_K = 10,
    /// <summary>3-bit K-quant, 256 per super-block.</summary>
    Q3_K = 11,
    /// <summary>4-bit K-quant, 256 per super-block of eight 32-element groups.</summary>
    Q4_K = 12,
    /// <summary>5-bit K-quant, 256 per super-block.</summary>
    Q5_K = 13,
    /// <summary>6-bit K-quant, 256 per super-block of sixteen 16-element groups.</summary>
    Q6_K = 14,
    /// <summary>8-bit K-quant with float scale and group sums (activations).</summary>
    Q8_K = 15,
    /// <summary>2.06-bit importance quant.</summary>
    IQ2_XXS = 16,
    /// <summary>2.31-bit importance quant.</summary>
    IQ2_XS = 17,
    /// <summary>3.06-bit importance quant.</summary>
    IQ3_XXS = 18,
    /// <summary>1.56-bit importance quant.</summary>
    IQ1_S = 19,
    /// <summary>4-bit non-linear quant, 32 per block.</summary>
    IQ4_NL = 20,
    /// <summary>3.44-bit importance quant.</summary>
    IQ3_S = 21,
    /// <summary>2.5-bit importance quant.</summary>
    IQ2_S = 22,
    /// <summary>4.25-bit non-linear quant, 256 per super-block.</summary>
    IQ4_XS = 23,
    /// <summary>8-bit signed integer.</summary>
    I8 = 24,
    /// <summary>16-bit signed integer.</summary>
    I16 = 25,
    /// <summary>32-bit signed integer.</summary>
    I32 = 26,
    /// <summary>64-bit signed integer.</summary>
    I64 = 27,
    /// <summary>64-bit IEEE float.</summary>
    F64 = 28,
    /// <summary>1.75-bit importance quant.</summary>
    IQ1_M = 29,
    /// <summary>bfloat16: the upper 16 bits of an IEEE float.</summary>
    BF16 = 30,
    /// <summary>Ternary quant, 1.69 bits.</summary>
    TQ1_0 = 34,
    /// <summary>Ternary quant, 2.06 bits.</summary>
    TQ2_0 = 35,
}

/// <summary>Layout facts about a <see cref="GgmlType"/>: how many elements a block holds and how many bytes it takes.</summary>
/// <param name="Type">The type described.</param>
/// <param name="Name">The name the format uses for the type, such as <c>q4_K</c>.</param>
/// <param name="BlockSize">Elements per block (1 for plain types).</param>
/// <param name="BlockBytes">Bytes per block.</param>
public readonly record struct GgmlTypeInfo(GgmlType Type, string Name, int BlockSize, int BlockBytes)
{
    private static readonly GgmlTypeInfo[] Table = BuildTable();

    /// <summary>Whether <paramref name="type"/> is a type this library knows the layout of.</summary>
    /// <param name="type">The type to check.</param>
    /// <returns><see langword="true"/> for every type the format currently defines.</returns>
    public static bool IsKnown(GgmlType type) => (uint)type < (uint)Table.Length && Table[(int)type].BlockSize != 0;

    /// <summary>Gets the layout of <paramref name="type"/>.</summary>
    /// <param name="type">A type the format defines.</param>
    /// <returns>Its block size, block bytes and name.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="type"/> is not a defined type.</exception>
    public static GgmlTypeInfo Get(GgmlType type)
    {
        if (!IsKnown(type))
        {
            throw new ArgumentOutOfRangeException(nameof(type), type, $"Unknown tensor type {(uint)type}; the format defines 0-3, 6-30, 34 and 35.");
        }

        return Table[(int)type];
    }

    /// <summary>Bytes taken by <paramref name="elements"/> elements of this type.</summary>
    /// <param name="elements">A multiple of <see cref="BlockSize"/>.</param>
    /// <returns>The byte count.</returns>
    /// <exception cref="ArgumentException"><paramref name="elements"/> is negative or not a whole number of blocks.</exception>
    /// <exception cref="OverflowException">The size does not fit in 64 bits.</exception>
    public long ByteCount(long elements)
    {
        if (elements < 0 || elements % BlockSize != 0)
        {
            throw new ArgumentException($"{elements} elements is not a whole number of {Name} blocks of {BlockSize}.", nameof(elements));
        }

        return checked(elements / BlockSize * BlockBytes);
    }

    /// <inheritdoc/>
    public override string ToString() => Name;

    private static GgmlTypeInfo[] BuildTable()
    {
        var t = new GgmlTypeInfo[39];
        void Add(GgmlType type, string name, int block, int bytes) => t[(int)type] = new GgmlTypeInfo(type, name, block, bytes);
        const int QK = 256;
        Add(GgmlType.F32, "f32", 1, 4);
        Add(GgmlType.F16, "f16", 1, 2);
        Add(GgmlType.Q4_0, "q4_0", 32, 2 + 16);
        Add(GgmlType.Q4_1, "q4_1", 32, 4 + 16);
        Add(GgmlType.Q5_0, "q5_0", 32, 2 + 4 + 16);
        Add(GgmlType.Q5_1, "q5_1", 32, 4 + 4 + 16);
        Add(GgmlType.Q8_0, "q8_0", 32, 2 + 32);
        Add(GgmlType.Q8_1, "q8_1", 32, 4 + 32);
        Add(GgmlType.Q2_K, "q2_K", QK, 4 + (QK / 16) + (QK / 4));
        Add(GgmlType.Q3_K, "q3_K", QK, 2 + (QK / 4) + (QK / 8) + 12);
        Add(GgmlType.Q4_K, "q4_K", QK, 4 + 12 + (QK / 2));
        Add(GgmlType.Q5_K, "q5_K", QK, 4 + 12 + (QK / 2) + (QK / 8));
        Add(GgmlType.Q6_K, "q6_K", QK, 2 + (QK / 16) + (3 * QK / 4));
        Add(GgmlType.Q8_K, "q8_K", QK, 4 + QK + (QK / 16 * 2));
        Add(GgmlType.IQ2_XXS, "iq2_xxs", QK, 2 + (QK / 8 * 2));
        Add(GgmlType.IQ2_XS, "iq2_xs", QK, 2 + (QK / 8 * 2) + (QK / 32));
        Add(GgmlType.IQ3_XXS, "iq3_xxs", QK, 2 + (3 * (QK / 8)));
        Add(GgmlType.IQ1_S, "iq1_s", QK, 2 + (QK / 8) + (QK / 16));
        Add(GgmlType.IQ4_NL, "iq4_nl", 32, 2 + 16);
        Add(GgmlType.IQ3_S, "iq3_s", QK, 2 + (13 * (QK / 32)) + (QK / 64));
        Add(GgmlType.IQ2_S, "iq2_s", QK, 2 + (QK / 4) + (QK / 16));
        Add(GgmlType.IQ4_XS, "iq4_xs", QK, 2 + 2 + (QK / 64) + (QK / 2));
        Add(GgmlType.I8, "i8", 1, 1);
        Add(GgmlType.I16, "i16", 1, 2);
        Add(GgmlType.I32, "i32", 1, 4);
        Add(GgmlType.I64, "i64", 1, 8);
        Add(GgmlType.F64, "f64", 1, 8);
        Add(GgmlType.IQ1_M, "iq1_m", QK, (QK / 8) + (QK / 16) + (QK / 32));
        Add(GgmlType.BF16, "bf16", 1, 2);
        Add(GgmlType.TQ1_0, "tq1_0", QK, 2 + (QK / 64) + ((QK - (4 * QK / 64)) / 5));
        Add(GgmlType.TQ2_0, "tq2_0", QK, 2 + (QK / 4));
        return t;
    }
}
