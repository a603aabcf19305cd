using System.Security.Cryptography;
using MicroLlm.Tokenization.Bpe;

namespace MicroLlm.Tests.Tokenization.Bpe;

/// <summary>The code point classes must be the reference runtime's, code point for code point.</summary>
[TestFixture]
public sealed class CodePointClassifierTests
{
    /// <summary>
    /// SHA-256 of the reference's table: for each code point 0..0x10FFFF, <c>unicode_cpt_flags_from_cpt(cp).as_uint() &amp; 0x1FF</c>
    /// (category bits and white space) as little-endian 16-bit values; llama.cpp c392e509, Unicode 15.1.
    /// </summary>
    private const string ReferenceDigest = "d1352c3154b23d37e6da01e7abdb5083eaee687c4bcb53e4fd068efeee9528fc";

    [Test]
    public void The_whole_table_matches_the_reference()
    {
        var table = new byte[CodePointClassifier.CodePointCount * 2];
        for (int cp = 0; cp < CodePointClassifier.CodePointCount; cp++)
        {
            BitConverter.TryWriteBytes(table.AsSpan(cp * 2), (ushort)CodePointClassifier.Classify(cp));
        }

        Assert.That(
            Convert.ToHexStringLower(SHA256.HashData(table)),
            Is.EqualTo(ReferenceDigest),
            "This runtime's Unicode data differs from the reference's (Unicode 15.1): code points assigned in a later Unicode " +
            "version must be added to CodePointClassifier.AssignedAfterReference.");
    }

    [TestCase(0x41, (int)(CodePointClass.Letter))]
    [TestCase(0x20, (int)(CodePointClass.Separator | CodePointClass.Whitespace))]
    [TestCase(0x0A, (int)(CodePointClass.Other | CodePointClass.Whitespace))]
    [TestCase(0x85, (int)(CodePointClass.Other | CodePointClass.Whitespace))]
    [TestCase(0x1C, (int)(CodePointClass.Other))]
    [TestCase(0x200B, (int)(CodePointClass.Other))]
    [TestCase(0x3000, (int)(CodePointClass.Separator | CodePointClass.Whitespace))]
    [TestCase(0x09E7, (int)(CodePointClass.Number))]
    [TestCase(0x09BE, (int)(CodePointClass.Mark))]
    [TestCase(0x7E, (int)(CodePointClass.Symbol))]
    [TestCase(0x1CC00, (int)(CodePointClass.Unassigned))]
    [TestCase(0x1F999, (int)(CodePointClass.Symbol))]
    public void Classifies_as_the_reference(int codePoint, int expected)
    {
        Assert.That(CodePointClassifier.Classify(codePoint), Is.EqualTo((CodePointClass)expected));
    }
}
