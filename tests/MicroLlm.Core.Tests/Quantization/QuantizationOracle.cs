using System.Buffers.Binary;
using System.Globalization;
using MicroLlm.Gguf;

namespace MicroLlm.Core.Tests.Quantization;

/// <summary>
/// Reference numbers from the reference runtime (ggml, llama.cpp c392e509, portable x86-64 build of libggml-base),
/// kept in <c>TestData/quant</c>, and the generators that rebuild the inputs the reference was given.
/// </summary>
/// <remarks>
/// <para><c>dequant-TYPE.bin</c>: some blocks with realistic scales (block 1's scale is zero, block 2's subnormal), then
/// the reference's floats for them, little-endian.</para>
/// <para><c>quant-input.bin</c>: 72 groups of 32 floats: 56 from <see cref="GenerateFloats"/> (seed 4000), then
/// hand-made ones: a scale that overflows a half, exact .5 ties, a max and -max tie, a NaN, infinities, a scale that
/// is subnormal as a half, a constant, a lone non-zero, and a whole Q8_K block of float subnormals (1/d overflows);
/// <c>quant-TYPE.bin</c>: the reference quantizer's blocks for it.</para>
/// <para><c>oracle-hashes.txt</c>: FNV-1a 64 hashes (over little-endian bytes) of large sweeps: conversions of every
/// half and of a pattern set of floats (<see cref="ConversionPatterns"/>), dequantization of random bytes
/// (<see cref="FillBytes"/>, seed 1000 + type id; NaNs hashed as <c>0x7FC00000</c>), quantization of
/// <see cref="GenerateFloats"/> (seed 3000, 8192 groups).</para>
/// </remarks>
internal static class QuantizationOracle
{
    public const ulong FnvOffset = 14695981039346656037UL;

    private const ulong FnvPrime = 1099511628211UL;

    private static readonly Lazy<Dictionary<string, (long Count, ulong Hash)>> Hashes = new(ReadHashes);

    /// <summary>Every type <see cref="Dequantizer"/> supports.</summary>
    public static readonly GgmlType[] DequantizedTypes =
    [
        GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q4_0, GgmlType.Q4_1, GgmlType.Q5_0, GgmlType.Q5_1, GgmlType.Q8_0,
        GgmlType.Q2_K, GgmlType.Q3_K, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K, GgmlType.Q8_K,
    ];

    /// <summary>Every type <see cref="Quantizer"/> supports.</summary>
    public static readonly GgmlType[] QuantizedTypes =
    [
        GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q4_0, GgmlType.Q4_1, GgmlType.Q5_0, GgmlType.Q5_1, GgmlType.Q8_0, GgmlType.Q8_K,
        GgmlType.Q2_K, GgmlType.Q3_K, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K,
    ];

    /// <summary>Low halves combined with every high half of a float to make the conversion pattern set: they put
    /// ties, near-ties and carries at each rounding position a half or bfloat16 can have.</summary>
    public static readonly ushort[] ConversionPatterns =
        [0x0000, 0x0001, 0x0FFF, 0x1000, 0x1001, 0x1FFF, 0x2000, 0x3000, 0x5555, 0x7FFF, 0x8000, 0x8001, 0xAAAA, 0xC000, 0xF000, 0xFFFF];

    public static string Folder { get; } = FindFolder();

    public static string Name(GgmlType type) => GgmlTypeInfo.Get(type).Name;

    public static byte[] ReadFile(string name) => File.ReadAllBytes(Path.Combine(Folder, name));

    /// <summary>The count and hash the reference produced for sweep <paramref name="name"/>.</summary>
    public static (long Count, ulong Hash) Hash(string name) =>
        Hashes.Value.TryGetValue(name, out var entry) ? entry : throw new InvalidOperationException($"oracle-hashes.txt has no line '{name}'.");

    public static bool HasHash(string name) => Hashes.Value.ContainsKey(name);

    public static float[] ReadFloats(ReadOnlySpan<byte> bytes)
    {
        var floats = new float[bytes.Length / 4];
        for (int i = 0; i < floats.Length; i++)
        {
            floats[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes[(4 * i)..]);
        }

        return floats;
    }

    /// <summary>The bits a float is compared and hashed by: its own, with every NaN made one NaN (payloads are not compared).</summary>
    public static uint CanonicalBits(float value) => float.IsNaN(value) ? 0x7FC00000u : BitConverter.SingleToUInt32Bits(value);

    public static ulong Fold8(ulong hash, byte value) => (hash ^ value) * FnvPrime;

    public static ulong Fold16(ulong hash, ushort value) => Fold8(Fold8(hash, (byte)value), (byte)(value >> 8));

    public static ulong Fold32(ulong hash, uint value) => Fold16(Fold16(hash, (ushort)value), (ushort)(value >> 16));

    public static ulong HashBytes(ReadOnlySpan<byte> bytes)
    {
        ulong h = FnvOffset;
        foreach (byte b in bytes)
        {
            h = Fold8(h, b);
        }

        return h;
    }

    public static ulong HashFloats(ReadOnlySpan<float> values)
    {
        ulong h = FnvOffset;
        foreach (float v in values)
        {
            h = Fold32(h, CanonicalBits(v));
        }

        return h;
    }

    /// <summary>The reference sweep's random bytes: splitmix64 outputs, little-endian, from <paramref name="seed"/>.</summary>
    public static void FillBytes(ulong seed, Span<byte> bytes)
    {
        var rng = new SplitMix64(seed);
        for (int i = 0; i < bytes.Length; i += 8)
        {
            ulong v = rng.Next();
            for (int b = 0; b < 8 && i + b < bytes.Length; b++)
            {
                bytes[i + b] = (byte)(v >> (8 * b));
            }
        }
    }

    /// <summary>
    /// The reference sweep's test floats, in groups of 32, every value exact: each group draws a mode and a
    /// power-of-two scale 2^e (e = -20..10). Modes 0-3: 24-bit random values, one in 64 multiplied by 64; mode 4:
    /// half-integers up to 127 in units of 2^e, the first exactly ±127 * 2^e (so 8-bit codes land on .5 ties);
    /// mode 5: three quarters zeros; mode 6: all zeros; mode 7: one value repeated.
    /// </summary>
    public static void GenerateFloats(ulong seed, Span<float> values)
    {
        var rng = new SplitMix64(seed);
        for (int g = 0; g < values.Length / 32; g++)
        {
            ulong gv = rng.Next();
            int mode = (int)(gv & 7);
            int e = (int)((gv >> 8) % 31) - 20;
            Span<float> y = values.Slice(32 * g, 32);
            float constant = Signed24(rng.Next()) * Pow2(e - 23);
            for (int j = 0; j < 32; j++)
            {
                ulong r = rng.Next();
                y[j] = mode switch
                {
                    4 => j == 0 ? ((r & 1) != 0 ? -127f : 127f) * Pow2(e) : ((int)(r % 509) - 254) * Pow2(e - 1),
                    5 => (r & 3) == 0 ? Signed24(r) * Pow2(e - 23) : 0f,
                    6 => 0f,
                    7 => constant,
                    _ => Signed24(r) * Pow2(e - 23) * ((r >> 8 & 63) == 0 ? 64f : 1f),
                };
            }
        }
    }

    private static float Signed24(ulong r) => (int)(r >> 40) - (1 << 23);

    private static float Pow2(int e) => BitConverter.Int32BitsToSingle((127 + e) << 23);

    private static Dictionary<string, (long, ulong)> ReadHashes()
    {
        var result = new Dictionary<string, (long, ulong)>(StringComparer.Ordinal);
        foreach (string line in File.ReadLines(Path.Combine(Folder, "oracle-hashes.txt")))
        {
            if (line.StartsWith('#') || line.Length == 0)
            {
                continue;
            }

            string[] parts = line.Split(' ');
            result[parts[0]] = (long.Parse(parts[1], CultureInfo.InvariantCulture), ulong.Parse(parts[2], NumberStyles.HexNumber, CultureInfo.InvariantCulture));
        }

        return result;
    }

    private static string FindFolder()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "MicroLlm.sln")))
            {
                return Path.Combine(dir.FullName, "tests", "MicroLlm.Core.Tests", "TestData", "quant");
            }
        }

        throw new DirectoryNotFoundException("TestData/quant: no MicroLlm.sln above " + AppContext.BaseDirectory);
    }

    /// <summary>splitmix64, as the reference sweep generated its inputs.</summary>
    private struct SplitMix64(ulong state)
    {
        public ulong Next()
        {
            ulong z = state += 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }
    }
}
