using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace MicroLlm.Kernels;

/// <summary>
/// Q4_K and Q5_K · Q8_K decode at 512 bits in tiles of 4 rows: each row keeps <see cref="Q4_KDot"/>'s order (eight
/// integer lanes per super-block, element 4k..4k+3 of each group of 32 in lane k, one 8-lane FMA per super-block, the
/// minimums in four FMA lanes for Q4_K and in one for Q5_K, then the same horizontal sums), so every output has the bits
/// of <c>Numerics/ReferenceDot.Q4_K</c> (<c>Q5_K</c>); only the work across rows is shared and interleaved.
/// </summary>
/// <remarks>
/// <para>Per call, the activations are rearranged once (<see cref="Prepare"/>): each super-block's 256 bytes as
/// [groups 0, 2 | 1, 3 | 4, 6 | 5, 7], the order in which 64 bytes of nibbles hold them (low nibbles of bytes 0-31 are
/// group 0, of bytes 32-63 group 2, high nibbles groups 1 and 3), and the eight 32-element sums the minimums need.</para>
/// <para>Per super-block and tile: the four rows' 16-byte headers (d, dmin, packed scales) are read as one vector and
/// unpacked together; each row's scales become 16-bit vectors by lane permutes; its integer sums are two unsigned ×
/// signed byte multiply-adds and two 16-bit multiply-adds per 64 bytes. Two rows share a float vector (lanes 0-7 row r,
/// 8-15 row r + 1: each half is that row's own 8-lane chain), the four rows' minimums share another (4 lanes each),
/// so the tile runs three FMAs per super-block where one row at a time runs two per row.</para>
/// </remarks>
internal static unsafe class Q4_KTiles
{
    private const int XBytes = Q4_KDot.XBytes, TileRows = 4;

    /// <summary>Bytes of a prepared super-block: 256 rearranged activations, 8 sums of 32 as 16-bit integers.</summary>
    private const int PreparedBytes = 272;

    [ThreadStatic]
    private static byte[]? t_prepared;

    /// <summary>Whether <paramref name="width"/> has the tiled path (otherwise callers use <see cref="Q4_KDot.Dot"/> per row).</summary>
    public static bool Supports(KernelWidth width) => width == KernelWidth.Vector512;

    /// <summary>
    /// <c>y[r] = Q4_KDot.Dot(row r, x)</c> (<see cref="Q5_KDot.Dot"/> when <paramref name="fifthBits"/>) for
    /// <paramref name="rowStart"/> ≤ r &lt; <paramref name="rowEnd"/>, bit for bit; whole tiles of 4 rows, the
    /// remaining rows one at a time. <paramref name="grouped"/>: the matrix is in <see cref="RowGroups"/> (the range then
    /// starts and ends on a group).
    /// </summary>
    public static void Compute(byte* weights, long rowBytes, int blocks, int rowStart, int rowEnd, byte* x, float* y, bool fifthBits = false, bool grouped = false)
    {
        if (rowEnd <= rowStart)
        {
            return;
        }

        int bytes = blocks * PreparedBytes;
        int tiledEnd = rowStart + ((rowEnd - rowStart) / TileRows * TileRows);
        byte* px = ThreadScratch.Bytes(ref t_prepared, bytes, 64 * PreparedBytes);
        Prepare(x, blocks, px);
        var (rowStride, blockStride) = RowGroups.Strides(grouped, rowBytes, fifthBits ? Q5_KDot.WBytes : Q4_KDot.WBytes);
        long ahead = MatVec.PrefetchDistance(TileRows * rowBytes);
        for (int r = rowStart; r < tiledEnd; r += TileRows)
        {
            // A tile's rows start at the same place in either layout; the tiles ahead follow them.
            byte* w = weights + (r * rowBytes), next = w + ahead;
            if (fifthBits)
            {
                Tile<FifthBits>(w, rowStride, blockStride, next, blocks, x, px, y + r);
            }
            else
            {
                Tile<FourBits>(w, rowStride, blockStride, next, blocks, x, px, y + r);
            }
        }

        for (int r = tiledEnd; r < rowEnd; r++)
        {
            y[r] = Q4_KDot.Dot512(weights + (r * rowBytes), x, blocks, fifthBits);
        }
    }

    /// <summary>Each super-block's activations in nibble order and its eight 32-element sums (see the remarks).</summary>
    private static void Prepare(byte* x, int blocks, byte* prepared)
    {
        var ones = Vector256.Create((short)1);
        for (int b = 0; b < blocks; b++, x += XBytes, prepared += PreparedBytes)
        {
            sbyte* xq = (sbyte*)(x + 4);
            for (int c = 0; c < 4; c += 2)
            {
                var x0 = Vector512.Load(xq + (64 * c));      // groups 2c, 2c + 1
                var x1 = Vector512.Load(xq + (64 * c) + 64); // groups 2c + 2, 2c + 3
                Vector512.Create(x0.GetLower(), x1.GetLower()).Store((sbyte*)prepared + (64 * c));
                Vector512.Create(x0.GetUpper(), x1.GetUpper()).Store((sbyte*)prepared + (64 * c) + 64);
            }

            // Sums of 16 paired into sums of 32 (|Σ| ≤ 32 · 128 fits 16 bits).
            var pairs = MatVec.Widen(Vector256.Load((short*)(x + 260)), ones);
            Avx512F.VL.ConvertToVector128Int16(pairs).Store((short*)(prepared + 256));
        }
    }

    /// <summary>
    /// Rows r..r+3 (from <paramref name="w"/>, <paramref name="rowStride"/> apart, their blocks <paramref name="blockStride"/>
    /// apart) against one vector, while a tile ahead (its contiguous bytes at <paramref name="next"/>) is fetched; stores 4 outputs.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile<TCodes>(byte* w, long rowStride, long blockStride, byte* next, int blocks, byte* x, byte* px, float* y)
        where TCodes : struct, ICodes
    {
        var low = Vector512.Create((byte)0x0F);
        var headerShifts = Vector512.Create(0u, 0, 0, 4, 0, 0, 0, 4, 0, 0, 0, 4, 0, 0, 0, 4);
        var keepLow = Vector512.Create(0x3F3F3F3Fu, 0x0F0F0F0F, 0x3F3F3F3F, 0x0F0F0F0F, 0x3F3F3F3F, 0x0F0F0F0F, 0x3F3F3F3F, 0x0F0F0F0F, 0x3F3F3F3F, 0x0F0F0F0F, 0x3F3F3F3F, 0x0F0F0F0F, 0x3F3F3F3F, 0x0F0F0F0F, 0x3F3F3F3F, 0x0F0F0F0F);
        var keepHigh = Vector512.Create(0u, 0x30303030, 0, 0x30303030, 0, 0x30303030, 0, 0x30303030, 0, 0x30303030, 0, 0x30303030, 0, 0x30303030, 0, 0x30303030);

        // Scale words for [groups 0, 2], [1, 3], [4, 6], [5, 7] of the even row of a pair (word j of the pair's
        // zero-extended header bytes is scale j of the even row, 16 + j of the odd row).
        var s02 = Halves(0, 2);
        var s13 = Halves(1, 3);
        var s46 = Halves(4, 6);
        var s57 = Halves(5, 7);
        var odd = Vector512.Create((short)16);

        // Minimum words of rows 0-3 (bytes 8-15 of each header), from the two pairs' zero-extended headers.
        var minimums = Vector512.Create((short)8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31, 40, 41, 42, 43, 44, 45, 46, 47, 56, 57, 58, 59, 60, 61, 62, 63);

        // d_r (word 8r of the raw headers) to dword r, dmin_r (word 8r + 1) to dword 4 + r, zero-extended (word 32: zero).
        var halves = Vector512.Create((short)0, 32, 8, 32, 16, 32, 24, 32, 1, 32, 9, 32, 17, 32, 25, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32);
        var negateMinimums = Vector512.Create(0u, 0, 0, 0, 0x80000000, 0x80000000, 0x80000000, 0x80000000, 0, 0, 0, 0, 0, 0, 0, 0).AsSingle();
        var scales01 = Vector512.Create(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1);
        var scales23 = Vector512.Create(2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
        var scalesMin = Vector512.Create(4, 4, 4, 4, 5, 5, 5, 5, 6, 6, 6, 6, 7, 7, 7, 7);

        Vector512<float> acc01 = default, acc23 = default, accMin = default;
        long rb = rowStride;

        // Four rows read side by side from the file's layout are four slow streams; a tile ahead (contiguous) is fetched
        // in order, 4 · 144 (176) bytes of it per super-block step.
        for (int b = 0; b < blocks; b++)
        {
            byte* w0 = w + (b * blockStride);
            byte* nb = next + (b * TileRows * TCodes.BlockBytes);
            MatVec.PrefetchLines(nb, TileRows * TCodes.BlockBytes);

            // Headers: [d | dmin, u0, u1, u2] per 128-bit lane, rows 0-3; unpacked to [scales 0-7, minimums 0-7] as
            // Q4_KDot.Unpack does per row: lanes [u0, u2, u1, u2 >> 4] & [3F, 0F, 3F, 0F] | [-, u0 >> 2, -, u1 >> 2] & 30.
            var header = Vector512.Create(
                Vector256.Create(Vector128.Load(w0), Vector128.Load(w0 + rb)),
                Vector256.Create(Vector128.Load(w0 + (2 * rb)), Vector128.Load(w0 + (3 * rb)))).AsUInt32();
            var lowBits = Avx512F.ShiftRightLogicalVariable(Avx512F.Shuffle(header, 0xED), headerShifts) & keepLow;
            var highBits = Avx512F.ShiftRightLogical(Avx512F.Shuffle(header, 0xA5), 2) & keepHigh;
            var unpacked = (lowBits | highBits).AsByte();
            var words01 = Avx512BW.ConvertToVector512Int16(unpacked.GetLower());
            var words23 = Avx512BW.ConvertToVector512Int16(unpacked.GetUpper());

            // d · d_x per row (two rows per vector, 8 lanes each) and −dmin · d_x (4 lanes per row), as Q4_KDot rounds them.
            var h = Avx512BW.PermuteVar32x16x2(header.AsInt16(), halves, Vector512<short>.Zero).AsUInt32();
            var scaled = HalfBits.ToSingle(h) * (Vector512.Create(*(float*)(x + (b * XBytes))) ^ negateMinimums);
            var d01 = Avx512F.PermuteVar16x32(scaled, scales01);
            var d23 = Avx512F.PermuteVar16x32(scaled, scales23);
            var dMin = Avx512F.PermuteVar16x32(scaled, scalesMin);

            byte* pb = px + (b * PreparedBytes);
            var xlo0 = Vector512.Load((sbyte*)pb);
            var xhi0 = Vector512.Load((sbyte*)pb + 64);
            var xlo1 = Vector512.Load((sbyte*)pb + 128);
            var xhi1 = Vector512.Load((sbyte*)pb + 192);

            var sum0 = RowSums<TCodes>(w0, words01, s02, s13, s46, s57, xlo0, xhi0, xlo1, xhi1, low);
            var sum1 = RowSums<TCodes>(w0 + rb, words01, s02 + odd, s13 + odd, s46 + odd, s57 + odd, xlo0, xhi0, xlo1, xhi1, low);
            var sum2 = RowSums<TCodes>(w0 + (2 * rb), words23, s02, s13, s46, s57, xlo0, xhi0, xlo1, xhi1, low);
            var sum3 = RowSums<TCodes>(w0 + (3 * rb), words23, s02 + odd, s13 + odd, s46 + odd, s57 + odd, xlo0, xhi0, xlo1, xhi1, low);

            // Each row's halves hold lanes 0-7 of different groups: fold them (exact integers), two rows per vector.
            var pair01 = Avx512F.Shuffle4x128(sum0, sum1, 0x44) + Avx512F.Shuffle4x128(sum0, sum1, 0xEE);
            var pair23 = Avx512F.Shuffle4x128(sum2, sum3, 0x44) + Avx512F.Shuffle4x128(sum2, sum3, 0xEE);
            acc01 = Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(pair01), d01, acc01);
            acc23 = Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(pair23), d23, acc23);

            // Minimums: lane 4r + m = min_2m · bsum(2m) + min_2m+1 · bsum(2m+1) of row r; Q5_K's one FMA per row
            // takes the four lanes' sum (exact integers), in every lane of the row.
            var mins = Avx512BW.PermuteVar32x16x2(words01, minimums, words23);
            var sums = Avx512F.BroadcastVector128ToVector512((int*)(pb + 256)).AsInt16();
            var products = MatVec.Widen(mins, sums);
            if (TCodes.FifthBit)
            {
                products += Avx512F.Shuffle(products, 0xB1);
                products += Avx512F.Shuffle(products, 0x4E);
            }

            accMin = Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(products), dMin, accMin);
        }

        if (TCodes.FifthBit)
        {
            y[0] = MatVec.Sum(acc01.GetLower()) + accMin[0];
            y[1] = MatVec.Sum(acc01.GetUpper()) + accMin[4];
            y[2] = MatVec.Sum(acc23.GetLower()) + accMin[8];
            y[3] = MatVec.Sum(acc23.GetUpper()) + accMin[12];
            return;
        }

        y[0] = MatVec.Sum(acc01.GetLower()) + MatVec.Sum(accMin.GetLower().GetLower());
        y[1] = MatVec.Sum(acc01.GetUpper()) + MatVec.Sum(accMin.GetLower().GetUpper());
        y[2] = MatVec.Sum(acc23.GetLower()) + MatVec.Sum(accMin.GetUpper().GetLower());
        y[3] = MatVec.Sum(acc23.GetUpper()) + MatVec.Sum(accMin.GetUpper().GetUpper());
    }

    /// <summary>Word permute indices: 16 words of index <paramref name="first"/>, then 16 of <paramref name="second"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<short> Halves(short first, short second) =>
        Vector512.Create(Vector256.Create(first), Vector256.Create(second));

    /// <summary>
    /// One row's super-block: 16 integer lanes, lane k and lane 8 + k both element 4k..4k+3 sums (of groups 0, 1, 4, 5
    /// and 2, 3, 6, 7), each group's times its scale. Q5_K's codes gain bit 4 from <c>qh</c>: bit g of byte i for
    /// element 32g + i, taken from [qh, qh >> 2] (bits 0 and 2 for groups 0 and 2, 1 and 3, 4 and 6, 5 and 7).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> RowSums<TCodes>(
        byte* wb, Vector512<short> words, Vector512<short> s02, Vector512<short> s13, Vector512<short> s46, Vector512<short> s57,
        Vector512<sbyte> xlo0, Vector512<sbyte> xhi0, Vector512<sbyte> xlo1, Vector512<sbyte> xhi1, Vector512<byte> low)
        where TCodes : struct, ICodes
    {
        var q0 = Vector512.Load(wb + TCodes.NibbleOffset);
        var q1 = Vector512.Load(wb + TCodes.NibbleOffset + 64);
        var lo0 = q0 & low;
        var hi0 = Avx512BW.ShiftRightLogical(q0.AsUInt16(), 4).AsByte() & low;
        var lo1 = q1 & low;
        var hi1 = Avx512BW.ShiftRightLogical(q1.AsUInt16(), 4).AsByte() & low;
        if (TCodes.FifthBit)
        {
            var h = Vector256.Load(wb + 16);
            var qh = Vector512.Create(h, Avx2.ShiftRightLogical(h.AsUInt16(), 2).AsByte()).AsUInt16();
            var bit4 = Vector512.Create((byte)0x10);
            lo0 |= Avx512BW.ShiftLeftLogical(qh, 4).AsByte() & bit4;
            hi0 |= Avx512BW.ShiftLeftLogical(qh, 3).AsByte() & bit4;
            lo1 |= qh.AsByte() & bit4;
            hi1 |= Avx512BW.ShiftRightLogical(qh, 1).AsByte() & bit4;
        }

        return (MatVec.Widen(MatVec.MulAdd(lo0, xlo0), Avx512BW.PermuteVar32x16(words, s02))
                + MatVec.Widen(MatVec.MulAdd(hi0, xhi0), Avx512BW.PermuteVar32x16(words, s13)))
            + (MatVec.Widen(MatVec.MulAdd(lo1, xlo1), Avx512BW.PermuteVar32x16(words, s46))
                + MatVec.Widen(MatVec.MulAdd(hi1, xhi1), Avx512BW.PermuteVar32x16(words, s57)));
    }

    /// <summary>The stored format of a tile's rows, as a type, so the JIT compiles one body per format.</summary>
    private interface ICodes
    {
        /// <summary>Bytes per super-block.</summary>
        static abstract int BlockBytes { get; }

        /// <summary>Where the nibbles start in a super-block.</summary>
        static abstract int NibbleOffset { get; }

        /// <summary>Whether codes have a fifth bit in <c>qh</c> (Q5_K) and the minimums one FMA lane.</summary>
        static abstract bool FifthBit { get; }
    }

    /// <summary>Q4_K: 144-byte super-blocks, nibbles at 16.</summary>
    private struct FourBits : ICodes
    {
        public static int BlockBytes => Q4_KDot.WBytes;
        public static int NibbleOffset => 16;
        public static bool FifthBit => false;
    }

    /// <summary>Q5_K: 176-byte super-blocks, fifth bits at 16, nibbles at 48.</summary>
    private struct FifthBits : ICodes
    {
        public static int BlockBytes => Q5_KDot.WBytes;
        public static int NibbleOffset => 48;
        public static bool FifthBit => true;
    }
}
