using System.Text.RegularExpressions;

namespace MicroLlm.Guardrails.Policy;

/// <summary>Replaces personal data in free text: e-mail addresses, Bangladesh mobile numbers and national ID numbers (10, 13 or 17 digits), in either digit system.</summary>
internal static partial class PiiRedactor
{
    public const string EmailMark = "[e-mail removed]";
    public const string PhoneMark = "[phone removed]";
    public const string NidMark = "[ID number removed]";

    [GeneratedRegex(@"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}", RegexOptions.CultureInvariant)]
    private static partial Regex Email();

    // +880 1XXXXXXXXX, 8801XXXXXXXXX, 01XXXXXXXXX (operator digit 3-9), with optional spaces or dashes, ASCII or Bangla digits.
    [GeneratedRegex(@"(?<![0-9০-৯])(?:(?:\+|00)?(?:88|৮৮)[\s-]?)?[0০][\s-]?[1১][3-9৩-৯](?:[\s-]?[0-9০-৯]){8}(?![0-9০-৯])", RegexOptions.CultureInvariant)]
    private static partial Regex Phone();

    [GeneratedRegex(@"(?<![0-9০-৯])(?:[0-9০-৯]{17}|[0-9০-৯]{13}|[0-9০-৯]{10})(?![0-9০-৯])", RegexOptions.CultureInvariant)]
    private static partial Regex NationalId();

    /// <summary>The text with personal data replaced, and what kinds were found.</summary>
    public static string Redact(string text, List<string> found)
    {
        string result = Email().Replace(text, m =>
        {
            found.Add("e-mail");
            return EmailMark;
        });
        result = Phone().Replace(result, m =>
        {
            found.Add("phone");
            return PhoneMark;
        });
        result = NationalId().Replace(result, m =>
        {
            found.Add("national ID");
            return NidMark;
        });
        return result;
    }
}
