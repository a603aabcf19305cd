using System.Globalization;
using System.Text;
using MicroLlm.Generation;

namespace MicroLlm.Core.Tests.Generation;

public class IncrementalTextDecoderTests
{
    private static readonly string[] Texts =
    [
        "নদীর পানি বিপদসীমার ১২ সেমি উপরে। দ্রুত নিরাপদ স্থানে যান।",
        "ক্ষতিগ্রস্ত এলাকা: ভবন বি, তলা ৩ — স্মোক ডিটেক্টর S-104",
        "Fire alert: smoke in Building B 👩‍🚒🔥, café, naïve",
        "র‍্যাব, জ্ঞান, শ্রমিক, স্ত্রী, ক্‌ষ",
    ];

    [Test]
    public void EveryByteSplitGivesWholeClustersAndTheSameText([Values(0, 1, 2, 3)] int which)
    {
        string text = Texts[which];
        byte[] bytes = Encoding.UTF8.GetBytes(text);
        var rng = new Random(which);
        for (int trial = 0; trial < 200; trial++)
        {
            var decoder = new IncrementalTextDecoder();
            var output = new StringBuilder();
            var pieces = new List<string>();
            for (int i = 0; i < bytes.Length;)
            {
                int n = Math.Min(bytes.Length - i, trial == 0 ? 1 : rng.Next(1, 6));
                string piece = decoder.Append(bytes.AsSpan(i, n));
                pieces.Add(piece);
                output.Append(piece);
                i += n;
            }

            string last = decoder.Flush();
            pieces.Add(last);
            output.Append(last);
            Assert.That(output.ToString(), Is.EqualTo(text));
            foreach (string piece in pieces.Where(p => p.Length > 0))
            {
                Assert.That(char.IsLowSurrogate(piece[0]), Is.False, "a piece starts inside a surrogate pair");
                Assert.That(IsClusterBoundary(text, output.ToString(), piece), Is.True, $"'{piece}' splits a cluster");
            }
        }
    }

    [Test]
    public void AConjunctArrivingInThreeTokensIsHeldUntilComplete()
    {
        var d = new IncrementalTextDecoder();
        Assert.That(d.Append("ক"u8), Is.Empty);
        Assert.That(d.Append("্"u8), Is.Empty);
        Assert.That(d.Append("ষ"u8), Is.Empty, "ক্ষ may still take a vowel sign");
        Assert.That(d.Append("ি"u8), Is.Empty);
        Assert.That(d.Append(" "u8), Is.EqualTo("ক্ষি"));
        Assert.That(d.Flush(), Is.EqualTo(" "));
    }

    [Test]
    public void InvalidBytesBecomeReplacementCharacters()
    {
        var d = new IncrementalTextDecoder();
        string s = d.Append([0x41, 0xFF, 0x42]) + d.Append([0xE0, 0xA6]) + d.Flush();
        Assert.That(s, Is.EqualTo("A\uFFFDB\uFFFD"));
    }

    private static bool IsClusterBoundary(string full, string emittedSoFar, string piece)
    {
        // The end of every emitted piece must be a grapheme boundary of the full text.
        int end = emittedSoFar.Length;
        if (end == full.Length)
        {
            return true;
        }

        int[] boundaries = StringInfo.ParseCombiningCharacters(full);
        return boundaries.Contains(end) && piece.Length > 0;
    }
}
