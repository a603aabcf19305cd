using System.Runtime.Intrinsics;
using MicroLlm.Kernels;

namespace MicroLlm.Core.Tests.Kernels;

/// <summary>
/// <see cref="HalfBits"/> against .NET's own conversion for all 65,536 halves, in every form the kernels use (scalar,
/// 128/256/512-bit lanes, the sign-extending 8- and 16-half loads): the same bits for every finite half, zeros, both
/// signs and every subnormal included; infinities and NaNs as the documented large finite values 2^16 · 1.m.
/// </summary>
public unsafe class HalfBitsTests
{
    [Test]
    public void EveryHalfConvertsExactly()
    {
        var halves = new ushort[65536];
        for (int i = 0; i < halves.Length; i++)
        {
            halves[i] = (ushort)i;
        }

        var scalar = new float[halves.Length];
        var lanes128 = new float[halves.Length];
        var lanes256 = new float[halves.Length];
        var lanes512 = new float[halves.Length];
        var load8 = new float[halves.Length];
        var load16 = new float[halves.Length];
        fixed (ushort* h = halves)
        {
            for (int i = 0; i < halves.Length; i += 16)
            {
                for (int k = 0; k < 16; k++)
                {
                    scalar[i + k] = HalfBits.ToSingle(h[i + k]);
                }

                var wide = Vector512.WidenLower(Vector512.Load(h + i).AsUInt16());
                HalfBits.ToSingle(wide).CopyTo(lanes512, i);
                HalfBits.ToSingle(wide.GetLower()).CopyTo(lanes256, i);
                HalfBits.ToSingle(wide.GetUpper()).CopyTo(lanes256, i + 8);
                for (int q = 0; q < 4; q++)
                {
                    HalfBits.ToSingle(Vector128.Create(h[i + (4 * q)], h[i + (4 * q) + 1], h[i + (4 * q) + 2], h[i + (4 * q) + 3]).AsUInt32() & Vector128.Create(0xFFFFu)).CopyTo(lanes128, i + (4 * q));
                }

                HalfBits.Load16((short*)(h + i)).CopyTo(load16, i);
                HalfBits.Load8((short*)(h + i)).CopyTo(load8, i);
                HalfBits.Load8((short*)(h + i + 8)).CopyTo(load8, i + 8);
            }
        }

        for (int i = 0; i < halves.Length; i++)
        {
            float expected = (float)BitConverter.UInt16BitsToHalf((ushort)i);
            if ((i & 0x7C00) == 0x7C00)
            {
                // Infinity or NaN: 2^16 · 1.m with the half's sign.
                expected = ((i & 0x8000) != 0 ? -1f : 1f) * 65536f * (1f + ((i & 0x3FF) / 1024f));
            }

            uint want = BitConverter.SingleToUInt32Bits(expected);
            foreach (var (form, got) in new[] { ("scalar", scalar[i]), ("128", lanes128[i]), ("256", lanes256[i]), ("512", lanes512[i]), ("Load8", load8[i]), ("Load16", load16[i]) })
            {
                if (BitConverter.SingleToUInt32Bits(got) != want)
                {
                    Assert.Fail($"half 0x{i:X4} ({form}): {got} (0x{BitConverter.SingleToUInt32Bits(got):X8}), expected {expected} (0x{want:X8})");
                }
            }
        }
    }
}
