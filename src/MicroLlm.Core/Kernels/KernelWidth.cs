using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace MicroLlm.Kernels;

/// <summary>The vector width a kernel runs at: each kernel has one path per width, all computing the same sums.</summary>
internal enum KernelWidth
{
    /// <summary>Plain C#, one element at a time: the reference the vector paths are tested against.</summary>
    Scalar,

    /// <summary>128-bit vectors (x86: SSSE3 for the integer dot products).</summary>
    Vector128,

    /// <summary>256-bit vectors (x86: AVX2 and FMA).</summary>
    Vector256,

    /// <summary>512-bit vectors (x86: AVX-512 F and BW).</summary>
    Vector512,
}

/// <summary>
/// Picks the widest supported <see cref="KernelWidth"/> once at start-up; tests and benchmarks force a narrower one
/// with <see cref="Force"/> (every width this machine supports can be run anywhere it is supported).
/// </summary>
internal static class Kernel
{
    /// <summary>The widest width this machine supports.</summary>
    public static KernelWidth Best { get; } = Widest();

    /// <summary>The width the kernels use unless a call names one: <see cref="Best"/> until <see cref="Force"/> changes it.</summary>
    public static KernelWidth Current { get; private set; } = Best;

    /// <summary>Whether this machine can run <paramref name="width"/>.</summary>
    public static bool IsSupported(KernelWidth width) => width switch
    {
        KernelWidth.Scalar => true,
        KernelWidth.Vector128 => Ssse3.IsSupported && Vector128.IsHardwareAccelerated,
        KernelWidth.Vector256 => Avx2.IsSupported && Fma.IsSupported && Vector256.IsHardwareAccelerated,
        KernelWidth.Vector512 => Avx512BW.IsSupported && Avx512F.IsSupported && Vector512.IsHardwareAccelerated,
        _ => false,
    };

    /// <summary>Every width this machine supports, narrowest first.</summary>
    public static IReadOnlyList<KernelWidth> Supported { get; } =
        [.. Enum.GetValues<KernelWidth>().Where(IsSupported)];

    /// <summary>Makes <paramref name="width"/> the default for every later call (process-wide; for tests and benchmarks).</summary>
    /// <exception cref="NotSupportedException">This machine cannot run <paramref name="width"/>.</exception>
    public static void Force(KernelWidth width)
    {
        if (!IsSupported(width))
        {
            throw new NotSupportedException($"This machine cannot run {width} kernels; supported: {string.Join(", ", Supported)}.");
        }

        Current = width;
    }

    /// <summary>Returns to <see cref="Best"/>.</summary>
    public static void Reset() => Current = Best;

    private static KernelWidth Widest()
    {
        string? forced = Environment.GetEnvironmentVariable("MICROLLM_KERNEL_WIDTH");
        if (forced is not null && Enum.TryParse(forced, ignoreCase: true, out KernelWidth w) && IsSupported(w))
        {
            return w;
        }

        return IsSupported(KernelWidth.Vector512) ? KernelWidth.Vector512
            : IsSupported(KernelWidth.Vector256) ? KernelWidth.Vector256
            : IsSupported(KernelWidth.Vector128) ? KernelWidth.Vector128
            : KernelWidth.Scalar;
    }
}
