using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using MicroLlm.Quantization;

namespace MicroLlm.Kernels;

/// <summary>
/// BF16 weight rows against BF16-rounded activations in the reference's order (<c>Numerics/ReferenceDot.BF16</c> and
/// <c>BF16VecDot</c>): what its AVX512-BF16 <c>vdpbf16ps</c> computes, emulated with float FMA. Lane i of 16 takes
/// the pair 2i, 2i + 1 of each 32 elements, the odd element first, with subnormal inputs read as zero and subnormal
/// results flushed to zero (signs kept), then the 16-lane tree.
/// </summary>
/// <remarks>
/// <para>The activations' kernel layout (<see cref="Prepare"/>): floats; each split chunk of 32 holds its 16 odd
/// elements, then its 16 even ones, subnormals already zero, so that a chunk's pairs are two aligned vectors; the
/// elements after the split chunks (<see cref="SplitChunks"/>) stay in order and unflushed, as the reference's scalar
/// tail reads them. After the <c>n</c> floats, a trailer of <see cref="TrailerFloats"/> holds the smallest biased
/// exponent of a nonzero split activation. A weight vector of 32 bfloat16s is 16 pairs: its high halves are the odd
/// elements (an AND), its low halves the even ones (a 16-bit shift).</para>
/// <para>At 512 bits a row first runs without the instruction's flushes (plain FMA chains, the latency of two FMAs per
/// chunk) while tracking its smallest nonzero weight. The flushes cannot change a bit when no weight is subnormal and
/// every nonzero product is at least 2⁻¹⁰²: then each partial sum is zero or at least 2⁻¹²⁶ (adding such a product to
/// a sum under half its size leaves more than 2⁻¹⁰³; otherwise both are multiples of 2⁻¹²⁶), so nothing is subnormal
/// and the flushes are identities. A row whose smallest weight and activation exponents do not guarantee that is
/// computed again with every flush (<see cref="Chain512"/>).</para>
/// <para>Rows of a multiple of 32 take tinyBLAS's order (<see cref="Dot"/>, and in prefill
/// <see cref="FloatTiles"/> over rows packed by <see cref="PackSplit"/>); other lengths take
/// <c>ggml_vec_dot_bf16</c>'s, two chains over alternate chunks of 32 and a scalar tail summed in double.</para>
/// </remarks>
internal static unsafe class BF16Dot
{
    private const uint ExponentMask = 0x7F80_0000, SignMask = 0x8000_0000, HighHalf = 0xFFFF_0000;

    /// <summary>Floats after the activations: the smallest biased exponent of a nonzero split activation (255 when none), as an int.</summary>
    public const int TrailerFloats = 16;

    /// <summary>Biased exponents whose sum guarantees products of at least 2⁻¹⁰² (2^(ew − 127) · 2^(ex − 127) ≥ 2⁻¹⁰²).</summary>
    private const int SafeExponentSum = 152;

    /// <summary>How many leading chunks of 32 the kernel layout splits into odd and even halves.</summary>
    public static int SplitChunks(int n) => n % 32 == 0 ? n / 32 : n / 64 * 2;

    /// <summary>
    /// Rounds <paramref name="x"/> to bfloat16 as the reference does (nearest even, NaNs quiet) into
    /// <paramref name="y"/> (<c>x.Length</c> floats) in the kernel layout.
    /// </summary>
    public static void Prepare(ReadOnlySpan<float> x, Span<float> y)
    {
        int n = x.Length, split = SplitChunks(n) * 32;
        int minExponent = 255;
        for (int c = 0; c < split; c += 32)
        {
            for (int i = 0; i < 16; i++)
            {
                ushort odd = DenormalsAsZero(Bf16.FromSingle(x[c + (2 * i) + 1]));
                ushort even = DenormalsAsZero(Bf16.FromSingle(x[c + (2 * i)]));
                y[c + i] = Bf16.ToSingle(odd);
                y[c + 16 + i] = Bf16.ToSingle(even);
                minExponent = Math.Min(minExponent, Math.Min(Exponent(odd), Exponent(even)));
            }
        }

        for (int i = split; i < n; i++)
        {
            y[i] = Bf16.ToSingle(Bf16.FromSingle(x[i]));
        }

        y.Slice(n, TrailerFloats).Clear();
        y[n] = BitConverter.Int32BitsToSingle(minExponent);
    }

    /// <summary>The biased exponent of a bfloat16, 255 for zeros (which add nothing).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Exponent(ushort bf16) => (bf16 & 0x7FFF) == 0 ? 255 : (bf16 >> 7) & 0xFF;

    /// <summary>Inverts <see cref="Prepare"/>'s order (for tests): the rounded activations in element order.</summary>
    public static float[] Unsplit(ReadOnlySpan<float> prepared)
    {
        int n = prepared.Length, split = SplitChunks(n) * 32;
        var x = prepared.ToArray();
        for (int c = 0; c < split; c += 32)
        {
            for (int i = 0; i < 16; i++)
            {
                x[c + (2 * i) + 1] = prepared[c + i];
                x[c + (2 * i)] = prepared[c + 16 + i];
            }
        }

        return x;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ushort DenormalsAsZero(ushort bf16) => (bf16 & 0x7F80) == 0 ? (ushort)(bf16 & 0x8000) : bf16;

    /// <summary>The dot product of BF16 row <paramref name="w"/> with activations <paramref name="x"/> in <see cref="Prepare"/>'s layout.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Dot(byte* w, float* x, int n, KernelWidth width)
    {
        if (n % 32 != 0)
        {
            return VecDot(w, x, n, width);
        }

        return width switch
        {
            KernelWidth.Vector512 => DotPrefetching(w, x, n, w),
            KernelWidth.Vector256 => Reduce(Chain256(w, x, n / 32, 1)),
            KernelWidth.Vector128 => Reduce(Chain128(w, x, n / 32, 1)),
            _ => ChainScalar(w, x, n / 32, 1),
        };
    }

    /// <summary>
    /// Widens BF16 row <paramref name="w"/> (<paramref name="n"/> a multiple of 32) into a tile panel for
    /// <see cref="FloatTiles"/>: chunk j's 16 odd elements at <c>panel + 2j · stride</c>, its 16 even ones at
    /// <c>panel + (2j + 1) · stride</c>, unflushed. Returns the biased exponent of the smallest nonzero weight (0 when
    /// one is subnormal, 255 when all are zero) for <see cref="FlushesAreIdentities"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static int PackSplit(byte* w, int n, float* panel, int stride)
    {
        var smallest = Vector512<ushort>.AllBitsSet;
        float* p = panel;
        for (int c = 0; c < n; c += 32, p += 2 * stride)
        {
            var pairs = Vector512.Load((uint*)(w + (2 * c)));
            smallest = Vector512.Min(smallest, NonzeroMagnitudeKey(pairs));
            Vector512.Store((pairs & Vector512.Create(HighHalf)).AsSingle(), p);
            Vector512.Store((pairs << 16).AsSingle(), p + stride);
        }

        return SmallestWeightExponent(smallest);
    }

    /// <summary>
    /// Whether unflushed chains give the flushed bits for a row whose smallest weight exponent (<see cref="PackSplit"/>)
    /// is <paramref name="weightExponent"/> against prepared activations <paramref name="x"/> of length <paramref name="n"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool FlushesAreIdentities(int weightExponent, float* x, int n) => Safe(weightExponent, x, n);

    /// <summary>A row of a multiple of 32 with every flush of <c>vdpbf16ps</c> (the exact, slower chain).</summary>
    public static float Flushed(byte* w, float* x, int n) => Reduce(Chain512(w, x, n / 32, 1));

    /// <summary>
    /// A row of a multiple of 32 at 512 bits: unflushed FMA chains where that gives the same bits, else
    /// <see cref="Chain512"/>; meanwhile <paramref name="ahead"/> (a row at least as long: a later one in decode, or this
    /// one) is prefetched, one cache line per step.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float DotPrefetching(byte* w, float* x, int n, byte* ahead)
    {
        var acc = Vector512<float>.Zero;
        var smallest = Vector512<ushort>.AllBitsSet;
        for (int c = 0; c < n; c += 32)
        {
            Sse.Prefetch0(ahead + (2 * c));
            var pairs = Vector512.Load((uint*)(w + (2 * c)));
            smallest = Vector512.Min(smallest, NonzeroMagnitudeKey(pairs));
            acc = UnflushedStep(acc, (pairs & Vector512.Create(HighHalf)).AsSingle(), (pairs << 16).AsSingle(), x + c);
        }

        return Safe(SmallestWeightExponent(smallest), x, n) ? Reduce(acc) : Reduce(Chain512(w, x, n / 32, 1));
    }

    /// <summary>Per bfloat16, <c>2·|b| − 2</c> wrapping: zeros give 0xFFFE, subnormals less than 0xFE, normals at least 0xFE; ordered by magnitude.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<ushort> NonzeroMagnitudeKey(Vector512<uint> pairs) => (pairs.AsUInt16() << 1) - Vector512.Create((ushort)2);

    /// <summary>The biased exponent of the smallest nonzero weight (0 when one is subnormal, 255 when all are zero).</summary>
    private static int SmallestWeightExponent(Vector512<ushort> keys)
    {
        var m = Vector256.Min(keys.GetLower(), keys.GetUpper());
        ushort key = System.Runtime.Intrinsics.X86.Sse41.MinHorizontal(Vector128.Min(m.GetLower(), m.GetUpper())).ToScalar();
        return key == 0xFFFE ? 255 : ((key + 2) >> 1) >> 7;
    }

    /// <summary>Whether the flushes are identities for a row whose smallest weight exponent is <paramref name="weightExponent"/> against <paramref name="x"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool Safe(int weightExponent, float* x, int n) =>
        weightExponent != 0 && weightExponent + BitConverter.SingleToInt32Bits(x[n]) >= SafeExponentSum;

    /// <summary>One <c>vdpbf16ps</c> step without the flushes: the odd elements' FMA, then the even elements'.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> UnflushedStep(Vector512<float> acc, Vector512<float> odd, Vector512<float> even, float* x) =>
        Vector512.FusedMultiplyAdd(even, Vector512.Load(x + 16), Vector512.FusedMultiplyAdd(odd, Vector512.Load(x), acc));

    /// <summary><c>ggml_vec_dot_bf16</c>'s order for lengths that are not a multiple of 32.</summary>
    private static float VecDot(byte* w, float* x, int n, KernelWidth width)
    {
        int pairs = n / 64;
        double sum;
        if (width == KernelWidth.Vector512)
        {
            sum = Reduce(Chain512(w, x, pairs, 2));
            sum += Reduce(Chain512(w + 64, x + 32, pairs, 2));
        }
        else if (width == KernelWidth.Vector256)
        {
            sum = Reduce(Chain256(w, x, pairs, 2));
            sum += Reduce(Chain256(w + 64, x + 32, pairs, 2));
        }
        else if (width == KernelWidth.Vector128)
        {
            sum = Reduce(Chain128(w, x, pairs, 2));
            sum += Reduce(Chain128(w + 64, x + 32, pairs, 2));
        }
        else
        {
            sum = ChainScalar(w, x, pairs, 2);
            sum += ChainScalar(w + 64, x + 32, pairs, 2);
        }

        ushort* h = (ushort*)w;
        for (int i = pairs * 64; i < n; i++)
        {
            sum += Bf16.ToSingle(h[i]) * x[i];
        }

        return (float)sum;
    }

    /// <summary>16 lanes over <paramref name="chunks"/> chunks of 32, taking every <paramref name="step"/>-th chunk.</summary>
    private static Vector512<float> Chain512(byte* w, float* x, int chunks, int step)
    {
        var acc = Vector512<float>.Zero;
        for (int k = 0; k < chunks; k++)
        {
            int c = k * step * 32;
            var pairs = Vector512.Load((uint*)(w + (2 * c)));
            acc = Step(acc, Daz(pairs & Vector512.Create(HighHalf)), Daz(pairs << 16), x + c);
        }

        return acc;
    }

    /// <summary><see cref="Chain512"/> in two halves of 8 lanes.</summary>
    private static (Vector256<float> Lo, Vector256<float> Hi) Chain256(byte* w, float* x, int chunks, int step)
    {
        Vector256<float> lo = default, hi = default;
        var high = Vector256.Create(HighHalf);
        for (int k = 0; k < chunks; k++)
        {
            int c = k * step * 32;
            var p0 = Vector256.Load((uint*)(w + (2 * c)));
            var p1 = Vector256.Load((uint*)(w + (2 * c) + 32));
            lo = Step(lo, Daz(p0 & high), Daz(p0 << 16), x + c, x + c + 16);
            hi = Step(hi, Daz(p1 & high), Daz(p1 << 16), x + c + 8, x + c + 24);
        }

        return (lo, hi);
    }

    /// <summary><see cref="Chain512"/> in four quarters of 4 lanes.</summary>
    private static (Vector256<float> Lo, Vector256<float> Hi) Chain128(byte* w, float* x, int chunks, int step)
    {
        Vector128<float> q0 = default, q1 = default, q2 = default, q3 = default;
        var high = Vector128.Create(HighHalf);
        for (int k = 0; k < chunks; k++)
        {
            int c = k * step * 32;
            uint* p = (uint*)(w + (2 * c));
            var p0 = Vector128.Load(p);
            var p1 = Vector128.Load(p + 4);
            var p2 = Vector128.Load(p + 8);
            var p3 = Vector128.Load(p + 12);
            q0 = Step(q0, Daz(p0 & high), Daz(p0 << 16), x + c, x + c + 16);
            q1 = Step(q1, Daz(p1 & high), Daz(p1 << 16), x + c + 4, x + c + 20);
            q2 = Step(q2, Daz(p2 & high), Daz(p2 << 16), x + c + 8, x + c + 24);
            q3 = Step(q3, Daz(p3 & high), Daz(p3 << 16), x + c + 12, x + c + 28);
        }

        return (Vector256.Create(q0, q1), Vector256.Create(q2, q3));
    }

    /// <summary>The scalar emulation: the same lanes, one FMA at a time, reduced in the same tree.</summary>
    private static float ChainScalar(byte* w, float* x, int chunks, int step)
    {
        float* lanes = stackalloc float[16];
        new Span<float>(lanes, 16).Clear();
        ushort* h = (ushort*)w;
        for (int k = 0; k < chunks; k++)
        {
            int c = k * step * 32;
            for (int i = 0; i < 16; i++)
            {
                float odd = Bf16.ToSingle(DenormalsAsZero(h[c + (2 * i) + 1]));
                float even = Bf16.ToSingle(DenormalsAsZero(h[c + (2 * i)]));
                float acc = Flush(MathF.FusedMultiplyAdd(odd, x[c + i], lanes[i]));
                lanes[i] = Flush(MathF.FusedMultiplyAdd(even, x[c + 16 + i], acc));
            }
        }

        return Reduce((Vector256.Load(lanes), Vector256.Load(lanes + 8)));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Flush(float v)
    {
        uint bits = BitConverter.SingleToUInt32Bits(v);
        return (bits & ExponentMask) == 0 ? BitConverter.UInt32BitsToSingle(bits & SignMask) : v;
    }

    /// <summary>One <c>vdpbf16ps</c> step: the odd elements' FMA, flush, the even elements' FMA, flush.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Step(Vector512<float> acc, Vector512<float> odd, Vector512<float> even, float* x)
    {
        acc = Daz(Vector512.FusedMultiplyAdd(odd, Vector512.Load(x), acc).AsUInt32());
        return Daz(Vector512.FusedMultiplyAdd(even, Vector512.Load(x + 16), acc).AsUInt32());
    }

    /// <inheritdoc cref="Step(Vector512{float}, Vector512{float}, Vector512{float}, float*)"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Step(Vector256<float> acc, Vector256<float> odd, Vector256<float> even, float* xOdd, float* xEven)
    {
        acc = Daz(Vector256.FusedMultiplyAdd(odd, Vector256.Load(xOdd), acc).AsUInt32());
        return Daz(Vector256.FusedMultiplyAdd(even, Vector256.Load(xEven), acc).AsUInt32());
    }

    /// <inheritdoc cref="Step(Vector512{float}, Vector512{float}, Vector512{float}, float*)"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> Step(Vector128<float> acc, Vector128<float> odd, Vector128<float> even, float* xOdd, float* xEven)
    {
        acc = Daz(Vector128.FusedMultiplyAdd(odd, Vector128.Load(xOdd), acc).AsUInt32());
        return Daz(Vector128.FusedMultiplyAdd(even, Vector128.Load(xEven), acc).AsUInt32());
    }

    /// <summary>The lanes as floats, each subnormal one replaced by a zero of its sign.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Daz(Vector512<uint> bits) =>
        Vector512.ConditionalSelect(Vector512.Equals(bits & Vector512.Create(ExponentMask), Vector512<uint>.Zero), bits & Vector512.Create(SignMask), bits).AsSingle();

    /// <inheritdoc cref="Daz(Vector512{uint})"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Daz(Vector256<uint> bits) =>
        Vector256.ConditionalSelect(Vector256.Equals(bits & Vector256.Create(ExponentMask), Vector256<uint>.Zero), bits & Vector256.Create(SignMask), bits).AsSingle();

    /// <inheritdoc cref="Daz(Vector512{uint})"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> Daz(Vector128<uint> bits) =>
        Vector128.ConditionalSelect(Vector128.Equals(bits & Vector128.Create(ExponentMask), Vector128<uint>.Zero), bits & Vector128.Create(SignMask), bits).AsSingle();

    /// <summary>Σ of the 16 lanes in the reference's tree (<c>ReferenceMath.Reduce16</c>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Reduce(Vector512<float> acc) => MatVec.Sum(acc.GetLower() + acc.GetUpper());

    /// <inheritdoc cref="Reduce(Vector512{float})"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Reduce((Vector256<float> Lo, Vector256<float> Hi) acc) => MatVec.Sum(acc.Lo + acc.Hi);
}
