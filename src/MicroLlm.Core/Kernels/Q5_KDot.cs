namespace MicroLlm.Kernels;

/// <summary>
/// Q5_K weights (176-byte super-blocks: Q4_K's fields plus 32 bytes <c>qh</c> holding each code's fifth bit: weight
/// 32g + i is bit g of byte i) against Q8_K activations; the same sums as <see cref="Q4_KDot"/> with codes 0..31.
/// </summary>
internal static unsafe class Q5_KDot
{
    internal const int WBytes = 176;

    /// <summary>Dot product over <paramref name="blocks"/> super-blocks of 256.</summary>
    public static float Dot(byte* w, byte* x, int blocks, KernelWidth width) => width switch
    {
        KernelWidth.Vector512 => Q4_KDot.Dot512(w, x, blocks, fifthBits: true),
        KernelWidth.Vector256 => Q4_KDot.Dot256(w, x, blocks, fifthBits: true),
        KernelWidth.Vector128 => Q4_KDot.Dot128(w, x, blocks, fifthBits: true),
        _ => Q4_KDot.DotScalar(w, x, blocks, fifthBits: true),
    };
}
