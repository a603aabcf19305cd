using System.Runtime.InteropServices;

namespace MicroLlm.Gguf;

/// <summary>
/// Memory advice to the operating system (<c>madvise</c> on Linux); a no-op on other systems or where the C library does
/// not have it, since every piece of advice here only changes speed or residency, never contents.
/// </summary>
internal static unsafe partial class MemoryAdvice
{
    private const int DontNeed = 4, HugePage = 14;
    private const long Page = 4096;
    private static int s_unavailable;

    /// <summary>Asks for transparent huge pages over <c>[p, p + length)</c>, memory of the process's own (anonymous).</summary>
    public static void UseHugePages(void* p, long length) => Advise(p, length, HugePage);

    /// <summary>
    /// Drops the whole pages inside <c>[p, p + length)</c> of a read-only <b>file</b> mapping from the resident set; they
    /// are read again from the page cache if touched. Never for anonymous memory, whose pages would lose their contents:
    /// callers go through <see cref="GgufFile.ReleasePages"/>, which knows what its memory is.
    /// </summary>
    public static void ReleaseFilePages(void* p, long length)
    {
        long start = ((long)p + Page - 1) & ~(Page - 1), end = ((long)p + length) & ~(Page - 1);
        if (end > start)
        {
            Advise((void*)start, end - start, DontNeed);
        }
    }

    private static void Advise(void* p, long length, int advice)
    {
        if (!OperatingSystem.IsLinux() || Volatile.Read(ref s_unavailable) != 0)
        {
            return;
        }

        try
        {
            _ = Madvise(p, (nuint)length, advice);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            Volatile.Write(ref s_unavailable, 1);
        }
    }

    [LibraryImport("libc", EntryPoint = "madvise")]
    private static partial int Madvise(void* address, nuint length, int advice);
}
