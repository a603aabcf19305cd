using System.Text;

namespace MicroLlm.Guardrails.Text;

/// <summary>
/// Unicode NFC that works in invariant-globalization processes too (where <see cref="string.Normalize()"/> does nothing):
/// the Bengali rules are applied here (ড় ঢ় য় decompose to consonant + nukta, ো ৌ compose from their two parts,
/// nukta is ordered before hasanta), then the runtime's NFC when it has one. Alert text allows no other combining
/// marks, so this is exact NFC for every text the guardrails accept.
/// </summary>
internal static class Nfc
{
    private static readonly bool RuntimeNormalizes = string.Equals("e\u0301".Normalize(NormalizationForm.FormC), "\u00E9", StringComparison.Ordinal);

    public static string Normalize(string s)
    {
        string bengali = NeedsBengali(s) ? Bengali(s) : s;
        return RuntimeNormalizes && !bengali.IsNormalized(NormalizationForm.FormC) ? bengali.Normalize(NormalizationForm.FormC) : bengali;
    }

    public static bool IsNormalized(string s) => string.Equals(Normalize(s), s, StringComparison.Ordinal);

    private static bool NeedsBengali(string s)
    {
        foreach (char c in s)
        {
            if (c is '\u09DC' or '\u09DD' or '\u09DF' or '\u09C7' or '\u09BC' or '\u09CD')
            {
                return true;
            }
        }

        return false;
    }

    private static string Bengali(string s)
    {
        // 1. canonical decomposition of the composition exclusions (and the two-part vowels, recomposed below)
        var sb = new StringBuilder(s.Length + 8);
        foreach (char c in s)
        {
            switch (c)
            {
                case '\u09DC': sb.Append('\u09A1').Append('\u09BC'); break;
                case '\u09DD': sb.Append('\u09A2').Append('\u09BC'); break;
                case '\u09DF': sb.Append('\u09AF').Append('\u09BC'); break;
                case '\u09CB': sb.Append('\u09C7').Append('\u09BE'); break;
                case '\u09CC': sb.Append('\u09C7').Append('\u09D7'); break;
                default: sb.Append(c); break;
            }
        }

        // 2. canonical ordering: nukta (ccc 7) before hasanta (ccc 9) within a run of marks
        for (int i = 1; i < sb.Length; i++)
        {
            if (sb[i] == '\u09BC' && sb[i - 1] == '\u09CD')
            {
                (sb[i - 1], sb[i]) = (sb[i], sb[i - 1]);
                i = Math.Max(0, i - 2);
            }
        }

        // 3. canonical composition: ে + া = ো, ে + ৗ = ৌ
        var result = new StringBuilder(sb.Length);
        for (int i = 0; i < sb.Length; i++)
        {
            if (sb[i] == '\u09C7' && i + 1 < sb.Length && sb[i + 1] is '\u09BE' or '\u09D7')
            {
                result.Append(sb[i + 1] == '\u09BE' ? '\u09CB' : '\u09CC');
                i++;
            }
            else
            {
                result.Append(sb[i]);
            }
        }

        return result.ToString();
    }
}
