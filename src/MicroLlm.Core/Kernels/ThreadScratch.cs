using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace MicroLlm.Kernels;

/// <summary>
/// Per-thread scratch for the tiled kernels (packed activations, weight panels): a pinned array kept in the caller's
/// <c>[ThreadStatic]</c> field, grown only when a call needs more (so nothing is allocated per token once warm), and
/// handed out 64-byte aligned.
/// </summary>
internal static unsafe class ThreadScratch
{
    /// <summary>
    /// At least <paramref name="bytes"/> bytes, 64-byte aligned, from <paramref name="buffer"/> (replaced by a larger
    /// pinned array, of at least <paramref name="minimumBytes"/>, when too small). Valid until the next call on this
    /// thread with the same field.
    /// </summary>
    public static byte* Bytes(ref byte[]? buffer, long bytes, int minimumBytes = 64 * 1024)
    {
        long needed = bytes + 64;
        if (buffer is null || buffer.Length < needed)
        {
            buffer = GC.AllocateUninitializedArray<byte>((int)Math.Max(needed, minimumBytes), pinned: true);
        }

        return (byte*)(((nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(buffer)) + 63) & ~(nint)63);
    }
}
