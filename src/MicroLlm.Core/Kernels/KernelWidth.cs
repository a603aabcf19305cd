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
/// Picks the widest supported <see cref="KernelWidth"/> once at start-up (or the one named by the environment variable
/// <c>MICROLLM_KERNEL_WIDTH</c>: Scalar, Vector128, Vector256, Vector512); tests and benchmarks force another per
/// async flow with <see cref="Use"/>.
/// </summary>
internal static class Kernel
{
    /// <summary>The widest width this machine supports.</summary>
    public static KernelWidth Best { get; } = Widest();

    private static readonly AsyncLocal<KernelWidth?> s_forced = new();

    /// <summary>
    /// The width kernels called from this async flow use: <see cref="Best"/> unless <see cref="Use"/> forced another in
    /// it (the width travels with each call to the pool's workers, so a test forcing a width affects no other test).
    /// </summary>
    public static KernelWidth Current => s_forced.Value ?? Best;

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

    /// <summary>Makes <paramref name="width"/> this async flow's <see cref="Current"/> until the returned scope is disposed.</summary>
    /// <exception cref="NotSupportedException">This machine cannot run <paramref name="width"/>.</exception>
    public static WidthScope Use(KernelWidth width)
    {
        if (!IsSupported(width))
        {
            throw new NotSupportedException($"This machine cannot run {width} kernels; supported: {string.Join(", ", Supported)}.");
        }

        var previous = s_forced.Value;
        s_forced.Value = width;
        return new WidthScope(previous);
    }

    /// <summary>Restores the width that was current before <see cref="Use"/>.</summary>
    internal readonly struct WidthScope(KernelWidth? previous) : IDisposable
    {
        /// <summary>Restores the previous width.</summary>
        public void Dispose() => s_forced.Value = previous;
    }

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
