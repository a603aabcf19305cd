using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using MicroLlm.Gguf;

namespace MicroLlm.Kernels;

/// <summary>
/// Prefill of Q4_K weights at 512 bits in register tiles of 2 rows × 8 activation vectors: each zmm accumulator holds
/// two outputs (a row against two vectors, lanes 0-7 and 8-15), and each row's super-block is unpacked once (nibbles,
/// scales) for the 8 vectors.
/// </summary>
/// <remarks>
/// <para>Each output keeps <see cref="Q4_KDot"/>'s order (the reference's <c>ggml_vec_dot_q4_K_q8_K</c>,
/// <c>Numerics/ReferenceDot.Q4_K</c>): per super-block, 8 exact integer lanes (lane k: elements 4k..4k+3 of each
/// group of 32, weighted by the group's 6-bit scale), converted exactly, then <c>acc = fma(d_x · d, lane, acc)</c> in
/// the output's own 8 float lanes; the minimums in their own 4 lanes, <c>fma(−d_x · dmin, prod, lane)</c> with the same
/// exact integer <c>prod</c>; then <c>Sum(acc) + Sum(minimums)</c>. The minimums are an independent chain, so they are
/// computed in a pass of their own (4 vectors per zmm), before the main one; tiles only reorder work across outputs.</para>
/// <para>Per call, the batch's activations are laid out once: in pairs of vectors (per block: for each group of 32 the
/// two vectors' codes side by side, then their scales as 8 + 8 floats) and in quads (per block: each vector's 8 sums of
/// 32 codes as 16-bit integers, then its negated scale as 4 floats).</para>
/// </remarks>
internal static unsafe class Q4_KPrefillTiles
{
    /// <summary>Rows per tile.</summary>
    public const int TileRows = 2;

    private const int WBytes = Q4_KDot.WBytes, XBytes = Q4_KDot.XBytes, PairBlockBytes = 576, QuadBlockBytes = 128;

    [ThreadStatic]
    private static byte[]? t_buffer;

    /// <summary>Whether a batch of <paramref name="count"/> vectors takes this path at <paramref name="width"/>.</summary>
    public static bool Supports(GgmlType weightType, int count, KernelWidth width) =>
        width == KernelWidth.Vector512 && weightType == GgmlType.Q4_K && count >= 4;

    /// <summary>
    /// <c>y[t * yStride + r] = row r · x_t</c> for <paramref name="rowStart"/> ≤ r &lt; <paramref name="rowEnd"/> and
    /// t &lt; <paramref name="count"/>; activation vector t (Q8_K super-blocks) at <c>x + t * xStride</c> bytes.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ComputeBatch(
        byte* weights, long rowBytes, int blocks, int rowStart, int rowEnd, byte* x, long xStride, int count, float* y, long yStride)
    {
        int pairs = (count + 1) / 2, quads = (count + 3) / 4;
        long pairStride = (long)blocks * PairBlockBytes, quadStride = (long)blocks * QuadBlockBytes;
        long pairBytes = pairs * pairStride, quadBytes = quads * quadStride;
        long minimumBytes = (long)TileRows * quads * 4 * sizeof(float);
        byte* xPairs = ThreadScratch.Bytes(ref t_buffer, pairBytes + quadBytes + minimumBytes + 64);
        byte* xQuads = xPairs + pairBytes;
        float* minimums = (float*)(xQuads + quadBytes);
        PackActivations(x, xStride, count, blocks, xPairs, xQuads);
        for (int r = rowStart; r < rowEnd; r += TileRows)
        {
            int rows = Math.Min(TileRows, rowEnd - r);
            byte* w = weights + (r * rowBytes);
            for (int i = 0; i < rows; i++)
            {
                for (int q = 0; q < quads; q++)
                {
                    Minimums(w + (i * rowBytes), blocks, xQuads + (q * quadStride), minimums + (((i * quads) + q) * 4));
                }
            }

            for (int t = 0; t < count; t += 8)
            {
                int columns = Math.Min(8, count - t);
                byte* xt = xPairs + ((t / 2) * pairStride);
                float* yt = y + (t * yStride) + r;
                float* mt = minimums + t;
                if (rows == 2)
                {
                    Columns<Extent2>(w, rowBytes, blocks, xt, pairStride, columns, mt, quads * 4, yt, yStride);
                }
                else
                {
                    Columns<Extent1>(w, rowBytes, blocks, xt, pairStride, columns, mt, quads * 4, yt, yStride);
                }
            }
        }
    }

    /// <summary>
    /// The batch in pairs and quads of vectors; the last pair or quad of a batch that does not fill it has zeros (codes,
    /// sums and scales) beside its vectors.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackActivations(byte* x, long xStride, int count, int blocks, byte* xPairs, byte* xQuads)
    {
        int pairs = (count + 1) / 2, quads = (count + 3) / 4;
        for (int p = 0; p < pairs; p++)
        {
            byte* o = xPairs + ((long)p * blocks * PairBlockBytes);
            for (int b = 0; b < blocks; b++, o += PairBlockBytes)
            {
                for (int h = 0; h < 2; h++)
                {
                    int t = (2 * p) + h;
                    byte* xb = x + (t * xStride) + ((long)b * XBytes);
                    for (int g = 0; g < 8; g++)
                    {
                        var codes = t < count ? Vector256.Load(xb + 4 + (32 * g)) : Vector256<byte>.Zero;
                        Vector256.Store(codes, o + (64 * g) + (32 * h));
                    }

                    Vector256.Store(Vector256.Create(t < count ? *(float*)xb : 0f), (float*)(o + 512 + (32 * h)));
                }
            }
        }

        for (int q = 0; q < quads; q++)
        {
            byte* o = xQuads + ((long)q * blocks * QuadBlockBytes);
            for (int b = 0; b < blocks; b++, o += QuadBlockBytes)
            {
                for (int v = 0; v < 4; v++)
                {
                    int t = (4 * q) + v;
                    byte* xb = x + (t * xStride) + ((long)b * XBytes);
                    short* sums = (short*)(o + (16 * v));
                    float* scale = (float*)(o + 64 + (16 * v));
                    short* bsums = (short*)(xb + 260);
                    for (int k = 0; k < 8; k++)
                    {
                        // |sum of 32 codes| ≤ 4096: exact in 16 bits.
                        sums[k] = t < count ? (short)(bsums[2 * k] + bsums[(2 * k) + 1]) : (short)0;
                    }

                    float negative = t < count ? -*(float*)xb : 0f;
                    for (int l = 0; l < 4; l++)
                    {
                        scale[l] = negative;
                    }
                }
            }
        }
    }

    /// <summary>
    /// One row's minimums against a quad of vectors: lane 4v + m is vector v's lane m of
    /// <see cref="Q4_KDot.Minimums128"/> (<c>min_2m · bsum(2m) + min_2m+1 · bsum(2m+1)</c>, one 16-bit multiply-add on
    /// the 32-element sums), accumulated by the same FMA; each vector's four lanes summed into <paramref name="sums"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Minimums(byte* w, int blocks, byte* quad, float* sums)
    {
        byte* sm = stackalloc byte[16];
        Vector512<float> acc = default;
        for (int b = 0; b < blocks; b++, w += WBytes, quad += QuadBlockBytes)
        {
            Q4_KDot.Unpack(w + 4, sm);
            var mins = Avx512BW.ConvertToVector512Int16(Vector256.Create(*(ulong*)(sm + 8)).AsByte()); // 4 × min0..min7
            var products = MatVec.Widen(Vector512.Load((short*)quad), mins);
            var dmin = Vector512.Create(HalfBits.ToSingle(*(ushort*)(w + 2)));
            acc = Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(products), Vector512.Load((float*)(quad + 64)) * dmin, acc);
        }

        sums[0] = MatVec.Sum(acc.GetLower().GetLower());
        sums[1] = MatVec.Sum(acc.GetLower().GetUpper());
        sums[2] = MatVec.Sum(acc.GetUpper().GetLower());
        sums[3] = MatVec.Sum(acc.GetUpper().GetUpper());
    }

    private static void Columns<TRows>(byte* w, long rowBytes, int blocks, byte* xPairs, long pairStride, int columns, float* minimums, int minimumStride, float* y, long yStride)
        where TRows : struct, ITileExtent
    {
        switch ((columns + 1) / 2)
        {
            case 4: Tile<TRows, Extent4>(w, rowBytes, blocks, xPairs, pairStride, columns, minimums, minimumStride, y, yStride); break;
            case 3: Tile<TRows, Extent3>(w, rowBytes, blocks, xPairs, pairStride, columns, minimums, minimumStride, y, yStride); break;
            case 2: Tile<TRows, Extent2>(w, rowBytes, blocks, xPairs, pairStride, columns, minimums, minimumStride, y, yStride); break;
            default: Tile<TRows, Extent1>(w, rowBytes, blocks, xPairs, pairStride, columns, minimums, minimumStride, y, yStride); break;
        }
    }

    /// <summary>
    /// One tile: <typeparamref name="TRows"/> rows × <typeparamref name="TPairs"/> pairs of vectors (the last pair's
    /// second vector only when <paramref name="columns"/> reaches it), every accumulator a local.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile<TRows, TPairs>(byte* w, long rowBytes, int blocks, byte* xPairs, long pairStride, int columns, float* minimums, int minimumStride, float* y, long yStride)
        where TRows : struct, ITileExtent
        where TPairs : struct, ITileExtent
    {
        Vector512<float> a00 = default, a01 = default, a02 = default, a03 = default, a10 = default, a11 = default, a12 = default, a13 = default;
        byte* sm = stackalloc byte[16];
        for (int b = 0; b < blocks; b++)
        {
            byte* x0 = xPairs + ((long)b * PairBlockBytes), x1 = x0 + pairStride, x2 = x1 + pairStride, x3 = x2 + pairStride;
            for (int i = 0; i < TRows.Count; i++)
            {
                byte* block = w + (i * rowBytes) + ((long)b * WBytes);
                Q4_KDot.Unpack(block + 4, sm);
                var low = Vector512.Create((byte)0x0F);
                var q0 = Broadcast(block + 16);
                var q1 = Broadcast(block + 48);
                var q2 = Broadcast(block + 80);
                var q3 = Broadcast(block + 112);
                var c0 = q0 & low;
                var c1 = (q0 >>> 4) & low;
                var c2 = q1 & low;
                var c3 = (q1 >>> 4) & low;
                var c4 = q2 & low;
                var c5 = (q2 >>> 4) & low;
                var c6 = q3 & low;
                var c7 = (q3 >>> 4) & low;
                var s0 = Vector512.Create((short)sm[0]);
                var s1 = Vector512.Create((short)sm[1]);
                var s2 = Vector512.Create((short)sm[2]);
                var s3 = Vector512.Create((short)sm[3]);
                var s4 = Vector512.Create((short)sm[4]);
                var s5 = Vector512.Create((short)sm[5]);
                var s6 = Vector512.Create((short)sm[6]);
                var s7 = Vector512.Create((short)sm[7]);
                var d = Vector512.Create(HalfBits.ToSingle(*(ushort*)block));
                if (i == 0)
                {
                    a00 = Pair(x0, c0, c1, c2, c3, c4, c5, c6, c7, s0, s1, s2, s3, s4, s5, s6, s7, d, a00);
                    if (TPairs.Count > 1) a01 = Pair(x1, c0, c1, c2, c3, c4, c5, c6, c7, s0, s1, s2, s3, s4, s5, s6, s7, d, a01);
                    if (TPairs.Count > 2) a02 = Pair(x2, c0, c1, c2, c3, c4, c5, c6, c7, s0, s1, s2, s3, s4, s5, s6, s7, d, a02);
                    if (TPairs.Count > 3) a03 = Pair(x3, c0, c1, c2, c3, c4, c5, c6, c7, s0, s1, s2, s3, s4, s5, s6, s7, d, a03);
                }
                else
                {
                    a10 = Pair(x0, c0, c1, c2, c3, c4, c5, c6, c7, s0, s1, s2, s3, s4, s5, s6, s7, d, a10);
                    if (TPairs.Count > 1) a11 = Pair(x1, c0, c1, c2, c3, c4, c5, c6, c7, s0, s1, s2, s3, s4, s5, s6, s7, d, a11);
                    if (TPairs.Count > 2) a12 = Pair(x2, c0, c1, c2, c3, c4, c5, c6, c7, s0, s1, s2, s3, s4, s5, s6, s7, d, a12);
                    if (TPairs.Count > 3) a13 = Pair(x3, c0, c1, c2, c3, c4, c5, c6, c7, s0, s1, s2, s3, s4, s5, s6, s7, d, a13);
                }
            }
        }

        Store(a00, minimums, y, yStride, 0, columns);
        if (TPairs.Count > 1) Store(a01, minimums, y, yStride, 2, columns);
        if (TPairs.Count > 2) Store(a02, minimums, y, yStride, 4, columns);
        if (TPairs.Count > 3) Store(a03, minimums, y, yStride, 6, columns);
        if (TRows.Count > 1)
        {
            Store(a10, minimums + minimumStride, y + 1, yStride, 0, columns);
            if (TPairs.Count > 1) Store(a11, minimums + minimumStride, y + 1, yStride, 2, columns);
            if (TPairs.Count > 2) Store(a12, minimums + minimumStride, y + 1, yStride, 4, columns);
            if (TPairs.Count > 3) Store(a13, minimums + minimumStride, y + 1, yStride, 6, columns);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<byte> Broadcast(byte* p)
    {
        var v = Vector256.Load(p);
        return Vector512.Create(v, v);
    }

    /// <summary>
    /// One super-block for two outputs: each group's nibbles (the same in both halves) against the pair's codes, exact
    /// 4-element lanes weighted by the group's scale and summed over the 8 groups, then one FMA per lane with
    /// <c>d_x · d</c> (the pair's scales sit 512 bytes after its codes).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Pair(
        byte* pair,
        Vector512<byte> c0, Vector512<byte> c1, Vector512<byte> c2, Vector512<byte> c3,
        Vector512<byte> c4, Vector512<byte> c5, Vector512<byte> c6, Vector512<byte> c7,
        Vector512<short> s0, Vector512<short> s1, Vector512<short> s2, Vector512<short> s3,
        Vector512<short> s4, Vector512<short> s5, Vector512<short> s6, Vector512<short> s7,
        Vector512<float> d, Vector512<float> acc)
    {
        sbyte* xq = (sbyte*)pair;
        var sumi = (MatVec.Widen(MatVec.MulAdd(c0, Vector512.Load(xq)), s0) + MatVec.Widen(MatVec.MulAdd(c1, Vector512.Load(xq + 64)), s1))
            + (MatVec.Widen(MatVec.MulAdd(c2, Vector512.Load(xq + 128)), s2) + MatVec.Widen(MatVec.MulAdd(c3, Vector512.Load(xq + 192)), s3))
            + (MatVec.Widen(MatVec.MulAdd(c4, Vector512.Load(xq + 256)), s4) + MatVec.Widen(MatVec.MulAdd(c5, Vector512.Load(xq + 320)), s5))
            + (MatVec.Widen(MatVec.MulAdd(c6, Vector512.Load(xq + 384)), s6) + MatVec.Widen(MatVec.MulAdd(c7, Vector512.Load(xq + 448)), s7));
        return Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(sumi), Vector512.Load((float*)(pair + 512)) * d, acc);
    }

    /// <summary>
    /// Vectors <paramref name="t"/> and t + 1 (when below <paramref name="columns"/>): each one's 8-lane tree plus its
    /// minimums (<paramref name="minimums"/>[t]).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(Vector512<float> acc, float* minimums, float* y, long yStride, int t, int columns)
    {
        y[t * yStride] = MatVec.Sum(acc.GetLower()) + minimums[t];
        if (t + 1 < columns)
        {
            y[(t + 1) * yStride] = MatVec.Sum(acc.GetUpper()) + minimums[t + 1];
        }
    }
}
