using MicroLlm.Guardrails.Text;

namespace MicroLlm.Guardrails.Tests;

/// <summary>NFC must hold even in invariant-globalization processes (these tests run in one), where string.Normalize is a no-op.</summary>
public class NfcTests
{
    /// <summary>An NFC check written from the Unicode tables for the Bengali block, independent of the code under test.</summary>
    public static bool IsBanglaNfc(string s)
    {
        for (int i = 0; i < s.Length; i++)
        {
            char c = s[i], next = i + 1 < s.Length ? s[i + 1] : '\0';
            if (c is '\u09DC' or '\u09DD' or '\u09DF')
            {
                return false; // composition exclusions: NFC keeps them decomposed
            }

            if (c == '\u09C7' && next is '\u09BE' or '\u09D7')
            {
                return false; // ো and ৌ compose
            }

            if (c == '\u09CD' && next == '\u09BC')
            {
                return false; // ccc 9 before ccc 7
            }
        }

        return true;
    }

    [TestCase("\u09DF", "\u09AF\u09BC")]
    [TestCase("\u09DC\u09BE", "\u09A1\u09BC\u09BE")]
    [TestCase("\u09A2\u09BC", "\u09A2\u09BC")]
    [TestCase("ক\u09C7\u09BE", "ক\u09CB")]
    [TestCase("ক\u09C7\u09D7", "ক\u09CC")]
    [TestCase("ক\u09CB", "ক\u09CB")]
    [TestCase("ক\u09CD\u09BC", "ক\u09BC\u09CD")]
    [TestCase("Gate 4, Building B", "Gate 4, Building B")]
    public void BanglaNormalisesToNfc(string input, string expected)
    {
        Assert.That(Nfc.Normalize(input), Is.EqualTo(expected));
        Assert.That(Nfc.IsNormalized(expected), Is.True);
        Assert.That(IsBanglaNfc(expected), Is.True);
    }

    [Test]
    public void EventTextIsNormalisedEvenWhenTheRuntimeCannot()
    {
        var ev = AlertEvent.Parse("""{"type": "smoke", "severity": "low", "location": "ব\u09C7\u09BEর্ড রুম, \u09DFাত্রী ছাউনি", "time": "2026-11-22T10:00:00+06:00", "sensor": "S1", "action": "check_area"}""");
        Assert.That(IsBanglaNfc(ev.Location), Is.True);
        Assert.That(ev.Location, Does.Contain("\u09AF\u09BC\u09BEত্রী"));
    }
}
