using MicroLlm.Gguf;

namespace MicroLlm.Kernels;

/// <summary>
/// The layout a model's store gives Q4_K, Q5_K, Q6_K and Q8_0 matrices (<see cref="WeightLayout.RowGroups"/>): groups of
/// 4 rows, each taking the same <c>4 · rowBytes</c> bytes as in the file, holding per block the 4 rows' blocks (the
/// file's bytes) one after the other. The decode tiles, which read 4 rows side by side block after block, then read one
/// contiguous stream where the file's layout makes them read four streams a row apart (four pages, four prefetcher
/// streams); the prefill tiles read a row's blocks a group's block step apart. Nothing in a block changes, so every
/// kernel's arithmetic, and every output's bits, are those of the file's layout.
/// </summary>
internal static unsafe class RowGroups
{
    /// <summary>Rows per group.</summary>
    public const int Size = 4;

    /// <summary>Whether matrices of <paramref name="type"/> take this layout in a store.</summary>
    public static bool Supports(GgmlType type) => type is GgmlType.Q4_K or GgmlType.Q5_K or GgmlType.Q6_K or GgmlType.Q8_0;

    /// <summary>Bytes of one block of a <see cref="Supports"/> type.</summary>
    public static int BlockBytes(GgmlType type) => type switch
    {
        GgmlType.Q4_K => Q4_KDot.WBytes,
        GgmlType.Q5_K => Q5_KDot.WBytes,
        GgmlType.Q6_K => 210,
        GgmlType.Q8_0 => 34,
        _ => throw new NotSupportedException($"{type} matrices have no row-group layout."),
    };

    /// <summary>
    /// Where row <paramref name="r"/>'s first block is, and how far apart its blocks are, in a matrix of
    /// <paramref name="rowBytes"/>-byte rows of <paramref name="blockBytes"/>-byte blocks at <paramref name="weights"/>,
    /// in groups (<paramref name="grouped"/>) or in the file's layout.
    /// </summary>
    public static byte* Row(byte* weights, long rowBytes, int blockBytes, int r, bool grouped, out long blockStride)
    {
        if (!grouped)
        {
            blockStride = blockBytes;
            return weights + (r * rowBytes);
        }

        blockStride = Size * blockBytes;
        return weights + ((r - (r % Size)) * rowBytes) + (r % Size * blockBytes);
    }

    /// <summary>
    /// The distance between the rows of a tile of up to 4 rows starting at a multiple of 4 (<paramref name="grouped"/>) or
    /// anywhere (the file's layout), and between a row's blocks.
    /// </summary>
    public static (long RowStride, long BlockStride) Strides(bool grouped, long rowBytes, int blockBytes) =>
        grouped ? (blockBytes, Size * blockBytes) : (rowBytes, blockBytes);

    /// <summary>
    /// Rows r..r+3 (the file's layout, <paramref name="rowBytes"/> apart from <paramref name="rows"/>) into a group at
    /// <paramref name="group"/> (<c>4 · rowBytes</c> bytes; must not overlap the rows).
    /// </summary>
    public static void Pack(byte* rows, long rowBytes, int blockBytes, byte* group)
    {
        long blocks = rowBytes / blockBytes;
        for (long b = 0; b < blocks; b++)
        {
            for (int k = 0; k < Size; k++, group += blockBytes)
            {
                Buffer.MemoryCopy(rows + (k * rowBytes) + (b * blockBytes), group, blockBytes, blockBytes);
            }
        }
    }

    /// <summary>The inverse of <see cref="Pack"/>: the group at <paramref name="group"/> back into 4 rows at <paramref name="rows"/>.</summary>
    public static void Unpack(byte* group, long rowBytes, int blockBytes, byte* rows)
    {
        long blocks = rowBytes / blockBytes;
        for (long b = 0; b < blocks; b++)
        {
            for (int k = 0; k < Size; k++, group += blockBytes)
            {
                Buffer.MemoryCopy(group, rows + (k * rowBytes) + (b * blockBytes), blockBytes, blockBytes);
            }
        }
    }
}
