using System.Globalization;
using System.Text;

namespace MicroLlm.Constraints;

/// <summary>Writes GBNF literals and classes: the escapes the parser reads back.</summary>
internal static class GbnfText
{
    /// <summary>A GBNF string literal for <paramref name="text"/>, such as <c>"a\"b"</c>.</summary>
    public static string Literal(string text)
    {
        var sb = new StringBuilder(text.Length + 2).Append('"');
        foreach (var rune in text.EnumerateRunes())
        {
            int c = rune.Value;
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                default: AppendEscaped(sb, c); break;
            }
        }

        return sb.Append('"').ToString();
    }

    /// <summary>One member of a class, escaped where <c>[</c> <c>]</c> <c>-</c> <c>^</c> <c>\</c> would mislead.</summary>
    public static void AppendClassChar(StringBuilder sb, int c)
    {
        switch (c)
        {
            case '\\': sb.Append("\\\\"); break;
            case ']': sb.Append("\\]"); break;
            case '[': sb.Append("\\["); break;
            case '-': sb.Append("\\x2D"); break;
            case '^': sb.Append("\\x5E"); break;
            default: AppendEscaped(sb, c); break;
        }
    }

    private static void AppendEscaped(StringBuilder sb, int c)
    {
        if (c == '\n')
        {
            sb.Append("\\n");
        }
        else if (c == '\r')
        {
            sb.Append("\\r");
        }
        else if (c == '\t')
        {
            sb.Append("\\t");
        }
        else if (c < 0x20 || c == 0x7F)
        {
            sb.Append("\\x").Append(c.ToString("X2", CultureInfo.InvariantCulture));
        }
        else if (c > 0xFFFF)
        {
            sb.Append("\\U").Append(c.ToString("X8", CultureInfo.InvariantCulture));
        }
        else if (c >= 0x80 && (char.IsControl((char)c) || char.IsWhiteSpace((char)c) || char.IsSurrogate((char)c)))
        {
            sb.Append("\\u").Append(c.ToString("X4", CultureInfo.InvariantCulture));
        }
        else
        {
            sb.Append(char.ConvertFromUtf32(c));
        }
    }
}
