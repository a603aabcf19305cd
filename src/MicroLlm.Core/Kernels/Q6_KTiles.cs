using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace MicroLlm.Kernels;

/// <summary>
/// Q6_K · Q8_K decode at 512 bits in tiles of 4 rows: each row keeps <see cref="Q6_KDot"/>'s order (eight integer lanes
/// per super-block, elements 4k..4k+3 of each 32 in lane k, offset included, one 8-lane FMA per super-block, then the
/// same horizontal sum), so every output has the bits of <c>Numerics/ReferenceDot.Q6_K</c>; only the work across rows
/// is shared and interleaved.
/// </summary>
/// <remarks>
/// Per call, the activations' offset terms (32 · x summed in pairs, 16-bit, as the unsigned × signed multiply-add gives
/// them) are computed once, since they do not depend on the row. Per super-block and tile: the four rows' 16 signed
/// scales are read as one vector, widened once and spread by word permutes; each row's codes take four shifts and masks
/// per 64 bytes of low nibbles; two rows share a float vector (lanes 0-7 row r, 8-15 row r + 1, each half that row's own
/// chain), and the four rows' d are converted together.
/// </remarks>
internal static unsafe class Q6_KTiles
{
    private const int WBytes = 210, XBytes = 292, TileRows = 4;

    /// <summary>Bytes of a prepared super-block: the 128 offset words of 32 · x (pairs summed).</summary>
    private const int PreparedBytes = 256;

    [ThreadStatic]
    private static byte[]? t_prepared;

    /// <summary>Whether <paramref name="width"/> has the tiled path (otherwise callers use <see cref="Q6_KDot.Dot"/> per row).</summary>
    public static bool Supports(KernelWidth width) => width == KernelWidth.Vector512;

    /// <summary>
    /// <c>y[r] = Q6_KDot.Dot(row r, x)</c> for <paramref name="rowStart"/> ≤ r &lt; <paramref name="rowEnd"/>, bit for
    /// bit; whole tiles of 4 rows, the remaining rows one at a time. <paramref name="grouped"/>: the matrix is in
    /// <see cref="RowGroups"/> (the range then starts and ends on a group).
    /// </summary>
    public static void Compute(byte* weights, long rowBytes, int blocks, int rowStart, int rowEnd, byte* x, float* y, bool grouped = false)
    {
        if (rowEnd <= rowStart)
        {
            return;
        }

        int bytes = blocks * PreparedBytes;
        int tiledEnd = rowStart + ((rowEnd - rowStart) / TileRows * TileRows);
        byte* px = ThreadScratch.Bytes(ref t_prepared, bytes, 64 * PreparedBytes);
        var offset = Vector512.Create((byte)32);
        for (int b = 0; b < blocks; b++)
        {
            sbyte* xq = (sbyte*)(x + (b * XBytes) + 4);
            for (int i = 0; i < 4; i++)
            {
                MatVec.MulAdd(offset, Vector512.Load(xq + (64 * i))).Store((short*)(px + (b * PreparedBytes) + (64 * i)));
            }
        }

        var (rowStride, blockStride) = RowGroups.Strides(grouped, rowBytes, WBytes);
        long ahead = MatVec.PrefetchDistance(TileRows * rowBytes);
        for (int r = rowStart; r < tiledEnd; r += TileRows)
        {
            // A tile's rows start at the same place in either layout; the tiles ahead follow them.
            byte* w = weights + (r * rowBytes);
            Tile(w, rowStride, blockStride, w + ahead, blocks, x, px, y + r);
        }

        for (int r = tiledEnd; r < rowEnd; r++)
        {
            y[r] = Q6_KDot.Dot(weights + (r * rowBytes), x, blocks, KernelWidth.Vector512);
        }
    }

    /// <summary>
    /// Rows r..r+3 (from <paramref name="w"/>, <paramref name="rowStride"/> apart, their blocks <paramref name="blockStride"/>
    /// apart) against one vector, while a tile ahead (its contiguous bytes at <paramref name="next"/>) is fetched; stores 4 outputs.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile(byte* w, long rowStride, long blockStride, byte* next, int blocks, byte* x, byte* px, float* y)
    {
        var low = Vector512.Create((byte)0x0F);
        var bits45 = Vector512.Create((byte)0x30);

        // Scale words for the four stripes of 16 of one 64-byte step: half h, low (p = 0) or high (p = 1) nibbles, of
        // the even row of a pair (word j of the pair's widened scales is scale j of the even row, 16 + j of the odd).
        var q0 = Quads(0);
        var q1 = Quads(4);
        var q2 = Quads(8);
        var q3 = Quads(12);
        var odd = Vector512.Create((short)16);

        // d_r: word 7 of the 16 bytes read at 194 (bytes 208-209) of row r, to dword r zero-extended (word 32: zero).
        var halves = Vector512.Create((short)7, 32, 15, 32, 23, 32, 31, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32);
        var scales01 = Vector512.Create(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1);
        var scales23 = Vector512.Create(2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);

        Vector512<float> acc01 = default, acc23 = default;
        long rb = rowStride;

        // A tile ahead (contiguous) fetched in order, 4 · 210 = 840 bytes of it per super-block step.
        for (int b = 0; b < blocks; b++)
        {
            byte* w0 = w + (b * blockStride);
            byte* nb = next + (b * TileRows * WBytes);
            MatVec.PrefetchLines(nb, TileRows * WBytes);

            var signed = Vector512.Create(
                Vector256.Create(Vector128.Load(w0 + 192), Vector128.Load(w0 + rb + 192)),
                Vector256.Create(Vector128.Load(w0 + (2 * rb) + 192), Vector128.Load(w0 + (3 * rb) + 192))).AsSByte();
            var words01 = Avx512BW.ConvertToVector512Int16(signed.GetLower());
            var words23 = Avx512BW.ConvertToVector512Int16(signed.GetUpper());

            var tail = Vector512.Create(
                Vector256.Create(Vector128.Load(w0 + 194), Vector128.Load(w0 + rb + 194)),
                Vector256.Create(Vector128.Load(w0 + (2 * rb) + 194), Vector128.Load(w0 + (3 * rb) + 194))).AsInt16();
            var h = Avx512BW.PermuteVar32x16x2(tail, halves, Vector512<short>.Zero).AsUInt32();
            var d = HalfBits.ToSingle(h) * Vector512.Create(*(float*)(x + (b * XBytes)));
            var d01 = Avx512F.PermuteVar16x32(d, scales01);
            var d23 = Avx512F.PermuteVar16x32(d, scales23);

            sbyte* xq = (sbyte*)(x + (b * XBytes) + 4);
            short* pb = (short*)(px + (b * PreparedBytes));
            var x0 = Vector512.Load(xq);
            var x1 = Vector512.Load(xq + 64);
            var x2 = Vector512.Load(xq + 128);
            var x3 = Vector512.Load(xq + 192);
            var o0 = Vector512.Load(pb);
            var o1 = Vector512.Load(pb + 32);
            var o2 = Vector512.Load(pb + 64);
            var o3 = Vector512.Load(pb + 96);

            var sum0 = RowSums(w0, words01, q0, q1, q2, q3, x0, x1, x2, x3, o0, o1, o2, o3, low, bits45);
            var sum1 = RowSums(w0 + rb, words01, q0 + odd, q1 + odd, q2 + odd, q3 + odd, x0, x1, x2, x3, o0, o1, o2, o3, low, bits45);
            var sum2 = RowSums(w0 + (2 * rb), words23, q0, q1, q2, q3, x0, x1, x2, x3, o0, o1, o2, o3, low, bits45);
            var sum3 = RowSums(w0 + (3 * rb), words23, q0 + odd, q1 + odd, q2 + odd, q3 + odd, x0, x1, x2, x3, o0, o1, o2, o3, low, bits45);

            // Each row's halves hold lanes 0-7 of different stripes: fold them (exact integers), two rows per vector.
            var pair01 = Avx512F.Shuffle4x128(sum0, sum1, 0x44) + Avx512F.Shuffle4x128(sum0, sum1, 0xEE);
            var pair23 = Avx512F.Shuffle4x128(sum2, sum3, 0x44) + Avx512F.Shuffle4x128(sum2, sum3, 0xEE);
            acc01 = Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(pair01), d01, acc01);
            acc23 = Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(pair23), d23, acc23);
        }

        y[0] = MatVec.Sum(acc01.GetLower());
        y[1] = MatVec.Sum(acc01.GetUpper());
        y[2] = MatVec.Sum(acc23.GetLower());
        y[3] = MatVec.Sum(acc23.GetUpper());
    }

    /// <summary>Word permute indices: 8 words each of <paramref name="first"/> .. <paramref name="first"/> + 3.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<short> Quads(short first) => Vector512.Create(
        Vector256.Create(Vector128.Create(first), Vector128.Create((short)(first + 1))),
        Vector256.Create(Vector128.Create((short)(first + 2)), Vector128.Create((short)(first + 3))));

    /// <summary>
    /// One row's super-block: 16 integer lanes, lane k and lane 8 + k both element 4k..4k+3 sums (of different stripes),
    /// Σ scale · (code − 32) · x as <see cref="Q6_KDot"/> forms them (16-bit products minus offsets, then widened by scale).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> RowSums(
        byte* wb, Vector512<short> words, Vector512<short> q0, Vector512<short> q1, Vector512<short> q2, Vector512<short> q3,
        Vector512<sbyte> x0, Vector512<sbyte> x1, Vector512<sbyte> x2, Vector512<sbyte> x3,
        Vector512<short> o0, Vector512<short> o1, Vector512<short> o2, Vector512<short> o3,
        Vector512<byte> low, Vector512<byte> bits45)
    {
        // Half 0: low nibbles of bytes 0-63 are elements 0-63, high nibbles 64-127; the high parts in bits 0-1 (and
        // 4-5) of qh bytes 128-159 for elements 0-31 (64-95), bits 2-3 (6-7) for 32-63 (96-127).
        var ql = Vector512.Load(wb);
        var h = Vector256.Load(wb + 128);
        var qh = Vector512.Create(h, Avx2.ShiftRightLogical(h.AsUInt16(), 2).AsByte());
        var c0 = (ql & low) | (Avx512BW.ShiftLeftLogical(qh.AsUInt16(), 4).AsByte() & bits45);
        var c1 = (Avx512BW.ShiftRightLogical(ql.AsUInt16(), 4).AsByte() & low) | (qh & bits45);
        var sum = MatVec.Widen(MatVec.MulAdd(c0, x0) - o0, Avx512BW.PermuteVar32x16(words, q0))
            + MatVec.Widen(MatVec.MulAdd(c1, x1) - o1, Avx512BW.PermuteVar32x16(words, q1));

        ql = Vector512.Load(wb + 64);
        h = Vector256.Load(wb + 160);
        qh = Vector512.Create(h, Avx2.ShiftRightLogical(h.AsUInt16(), 2).AsByte());
        var c2 = (ql & low) | (Avx512BW.ShiftLeftLogical(qh.AsUInt16(), 4).AsByte() & bits45);
        var c3 = (Avx512BW.ShiftRightLogical(ql.AsUInt16(), 4).AsByte() & low) | (qh & bits45);
        return sum + (MatVec.Widen(MatVec.MulAdd(c2, x2) - o2, Avx512BW.PermuteVar32x16(words, q2))
            + MatVec.Widen(MatVec.MulAdd(c3, x3) - o3, Avx512BW.PermuteVar32x16(words, q3)));
    }
}
