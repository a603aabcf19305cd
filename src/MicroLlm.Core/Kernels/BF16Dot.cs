using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
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
/// <para>Rows of a multiple of 32 take tinyBLAS's order (<see cref="Dot"/>, <see cref="Dot4"/>); other lengths take
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
            KernelWidth.Vector512 => Unflushed512(w, x, n),
            KernelWidth.Vector256 => Reduce(Chain256(w, x, n / 32, 1)),
            KernelWidth.Vector128 => Reduce(Chain128(w, x, n / 32, 1)),
            _ => ChainScalar(w, x, n / 32, 1),
        };
    }

    /// <summary>
    /// Prefill, 512 bits: one row of a multiple of 32 against four activation vectors (<paramref name="xStride"/> floats
    /// apart), writing <c>y[t * yStride]</c>; each vector's chain is <see cref="Dot"/>'s, each weight vector split and
    /// flushed once for the four.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Dot4(byte* w, float* x, long xStride, int n, float* y, long yStride)
    {
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
        var smallest = Vector512<ushort>.AllBitsSet;
        float* x1 = x + xStride, x2 = x1 + xStride, x3 = x2 + xStride;
        for (int c = 0; c < n; c += 32)
        {
            var pairs = Vector512.Load((uint*)(w + (2 * c)));
            smallest = Vector512.Min(smallest, NonzeroMagnitudeKey(pairs));
            var odd = (pairs & Vector512.Create(HighHalf)).AsSingle();
            var even = (pairs << 16).AsSingle();
            a0 = UnflushedStep(a0, odd, even, x + c);
            a1 = UnflushedStep(a1, odd, even, x1 + c);
            a2 = UnflushedStep(a2, odd, even, x2 + c);
            a3 = UnflushedStep(a3, odd, even, x3 + c);
        }

        int weightExponent = SmallestWeightExponent(smallest);
        if (Safe(weightExponent, x, n) && Safe(weightExponent, x1, n) && Safe(weightExponent, x2, n) && Safe(weightExponent, x3, n))
        {
            y[0] = Reduce(a0);
            y[yStride] = Reduce(a1);
            y[2 * yStride] = Reduce(a2);
            y[3 * yStride] = Reduce(a3);
            return;
        }

        y[0] = Reduce(Chain512(w, x, n / 32, 1));
        y[yStride] = Reduce(Chain512(w, x1, n / 32, 1));
        y[2 * yStride] = Reduce(Chain512(w, x2, n / 32, 1));
        y[3 * yStride] = Reduce(Chain512(w, x3, n / 32, 1));
    }

    /// <summary>
    /// Prefill, 512 bits, rows of a multiple of 32: <c>y[t * yStride + r] = dot(row r, x_t)</c> for rows
    /// [<paramref name="rowStart"/>, <paramref name="rowEnd"/>) and <paramref name="count"/> vectors
    /// (<paramref name="xStride"/> floats apart) in tiles of 2 rows × 4 vectors: eight chains side by side, each
    /// <see cref="Dot"/>'s, every activation vector loaded once for two rows and every weight vector split once for four
    /// vectors; leftover rows take <see cref="Dot4"/>, leftover vectors <see cref="Dot"/>.
    /// </summary>
    public static void ComputeBatch(byte* weights, long rowBytes, int n, int rowStart, int rowEnd, float* x, long xStride, int count, float* y, long yStride)
    {
        int r = rowStart;
        for (; r + 2 <= rowEnd; r += 2)
        {
            byte* w0 = weights + (r * rowBytes);
            int t = 0;
            for (; t + 4 <= count; t += 4)
            {
                Tile2x4(w0, w0 + rowBytes, x + (t * xStride), xStride, n, y + (t * yStride) + r, yStride);
            }

            for (; t < count; t++)
            {
                y[(t * yStride) + r] = Unflushed512(w0, x + (t * xStride), n);
                y[(t * yStride) + r + 1] = Unflushed512(w0 + rowBytes, x + (t * xStride), n);
            }
        }

        for (; r < rowEnd; r++)
        {
            byte* w = weights + (r * rowBytes);
            int t = 0;
            for (; t + 4 <= count; t += 4)
            {
                Dot4(w, x + (t * xStride), xStride, n, y + (t * yStride) + r, yStride);
            }

            for (; t < count; t++)
            {
                y[(t * yStride) + r] = Unflushed512(w, x + (t * xStride), n);
            }
        }
    }

    /// <summary>
    /// Decode, 512 bits, rows of a multiple of 32: <c>y[r] = dot(row r, x)</c> in tiles of 4 rows per pass, four
    /// independent unflushed chains side by side (each <see cref="Dot"/>'s, each activation pair loaded once for the
    /// four), every row checked as <see cref="Dot"/> checks it and recomputed with the flushes where they could matter;
    /// leftover rows alone.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Rows4(byte* weights, long rowBytes, int n, int rowStart, int rowEnd, float* x, float* y)
    {
        int r = rowStart;
        for (; r + 4 <= rowEnd; r += 4)
        {
            byte* w0 = weights + (r * rowBytes);
            byte* w1 = w0 + rowBytes, w2 = w1 + rowBytes, w3 = w2 + rowBytes;
            Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
            var s0 = Vector512<ushort>.AllBitsSet;
            var s1 = s0;
            var s2 = s0;
            var s3 = s0;
            for (int c = 0; c < n; c += 32)
            {
                var xo = Vector512.Load(x + c);
                var xe = Vector512.Load(x + c + 16);
                var p0 = Vector512.Load((uint*)(w0 + (2 * c)));
                var p1 = Vector512.Load((uint*)(w1 + (2 * c)));
                var p2 = Vector512.Load((uint*)(w2 + (2 * c)));
                var p3 = Vector512.Load((uint*)(w3 + (2 * c)));
                s0 = Vector512.Min(s0, NonzeroMagnitudeKey(p0));
                s1 = Vector512.Min(s1, NonzeroMagnitudeKey(p1));
                s2 = Vector512.Min(s2, NonzeroMagnitudeKey(p2));
                s3 = Vector512.Min(s3, NonzeroMagnitudeKey(p3));
                a0 = Vector512.FusedMultiplyAdd((p0 << 16).AsSingle(), xe, Vector512.FusedMultiplyAdd((p0 & Vector512.Create(HighHalf)).AsSingle(), xo, a0));
                a1 = Vector512.FusedMultiplyAdd((p1 << 16).AsSingle(), xe, Vector512.FusedMultiplyAdd((p1 & Vector512.Create(HighHalf)).AsSingle(), xo, a1));
                a2 = Vector512.FusedMultiplyAdd((p2 << 16).AsSingle(), xe, Vector512.FusedMultiplyAdd((p2 & Vector512.Create(HighHalf)).AsSingle(), xo, a2));
                a3 = Vector512.FusedMultiplyAdd((p3 << 16).AsSingle(), xe, Vector512.FusedMultiplyAdd((p3 & Vector512.Create(HighHalf)).AsSingle(), xo, a3));
            }

            y[r] = Safe(SmallestWeightExponent(s0), x, n) ? Reduce(a0) : Flushed(w0, x, n);
            y[r + 1] = Safe(SmallestWeightExponent(s1), x, n) ? Reduce(a1) : Flushed(w1, x, n);
            y[r + 2] = Safe(SmallestWeightExponent(s2), x, n) ? Reduce(a2) : Flushed(w2, x, n);
            y[r + 3] = Safe(SmallestWeightExponent(s3), x, n) ? Reduce(a3) : Flushed(w3, x, n);
        }

        for (; r < rowEnd; r++)
        {
            y[r] = Unflushed512(weights + (r * rowBytes), x, n);
        }
    }

    /// <summary>Two rows (<paramref name="w0"/>, <paramref name="w1"/>) against four vectors; outputs of row 1 at <c>y + 1</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile2x4(byte* w0, byte* w1, float* x, long xStride, int n, float* y, long yStride)
    {
        Vector512<float> a00 = default, a01 = default, a02 = default, a03 = default;
        Vector512<float> a10 = default, a11 = default, a12 = default, a13 = default;
        var smallest0 = Vector512<ushort>.AllBitsSet;
        var smallest1 = Vector512<ushort>.AllBitsSet;
        float* x1 = x + xStride, x2 = x1 + xStride, x3 = x2 + xStride;
        for (int c = 0; c < n; c += 32)
        {
            var p0 = Vector512.Load((uint*)(w0 + (2 * c)));
            var p1 = Vector512.Load((uint*)(w1 + (2 * c)));
            smallest0 = Vector512.Min(smallest0, NonzeroMagnitudeKey(p0));
            smallest1 = Vector512.Min(smallest1, NonzeroMagnitudeKey(p1));
            var odd0 = (p0 & Vector512.Create(HighHalf)).AsSingle();
            var even0 = (p0 << 16).AsSingle();
            var odd1 = (p1 & Vector512.Create(HighHalf)).AsSingle();
            var even1 = (p1 << 16).AsSingle();
            TileStep(ref a00, ref a10, odd0, even0, odd1, even1, x + c);
            TileStep(ref a01, ref a11, odd0, even0, odd1, even1, x1 + c);
            TileStep(ref a02, ref a12, odd0, even0, odd1, even1, x2 + c);
            TileStep(ref a03, ref a13, odd0, even0, odd1, even1, x3 + c);
        }

        TileRow(SmallestWeightExponent(smallest0), w0, x, xStride, n, a00, a01, a02, a03, y, yStride);
        TileRow(SmallestWeightExponent(smallest1), w1, x, xStride, n, a10, a11, a12, a13, y + 1, yStride);
    }

    /// <summary>One chunk of one vector for both rows of a tile.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void TileStep(ref Vector512<float> a0, ref Vector512<float> a1, Vector512<float> odd0, Vector512<float> even0, Vector512<float> odd1, Vector512<float> even1, float* x)
    {
        var xo = Vector512.Load(x);
        var xe = Vector512.Load(x + 16);
        a0 = Vector512.FusedMultiplyAdd(even0, xe, Vector512.FusedMultiplyAdd(odd0, xo, a0));
        a1 = Vector512.FusedMultiplyAdd(even1, xe, Vector512.FusedMultiplyAdd(odd1, xo, a1));
    }

    /// <summary>Writes one tile row's four outputs: the unflushed sums where they are exact, else each recomputed with every flush.</summary>
    private static void TileRow(int weightExponent, byte* w, float* x, long xStride, int n, Vector512<float> a0, Vector512<float> a1, Vector512<float> a2, Vector512<float> a3, float* y, long yStride)
    {
        float* x1 = x + xStride, x2 = x1 + xStride, x3 = x2 + xStride;
        y[0] = Safe(weightExponent, x, n) ? Reduce(a0) : Reduce(Chain512(w, x, n / 32, 1));
        y[yStride] = Safe(weightExponent, x1, n) ? Reduce(a1) : Reduce(Chain512(w, x1, n / 32, 1));
        y[2 * yStride] = Safe(weightExponent, x2, n) ? Reduce(a2) : Reduce(Chain512(w, x2, n / 32, 1));
        y[3 * yStride] = Safe(weightExponent, x3, n) ? Reduce(a3) : Reduce(Chain512(w, x3, n / 32, 1));
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

    /// <summary>A row of a multiple of 32 at 512 bits: unflushed FMA chains where that gives the same bits, else <see cref="Chain512"/>.</summary>
    private static float Unflushed512(byte* w, float* x, int n)
    {
        var acc = Vector512<float>.Zero;
        var smallest = Vector512<ushort>.AllBitsSet;
        for (int c = 0; c < n; c += 32)
        {
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
