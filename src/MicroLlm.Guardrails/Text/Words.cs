namespace MicroLlm.Guardrails.Text;

/// <summary>Splits text into words: maximal runs of letters, digits and combining marks.</summary>
internal static class Words
{
    public static IEnumerable<string> Split(string text)
    {
        int i = 0;
        while (i < text.Length)
        {
            while (i < text.Length && !Scripts.IsWordChar(text[i]))
            {
                i++;
            }

            int start = i;
            while (i < text.Length && Scripts.IsWordChar(text[i]))
            {
                i++;
            }

            if (i > start)
            {
                yield return text[start..i];
            }
        }
    }

    /// <summary>Words with their start index.</summary>
    public static IEnumerable<(int Start, string Word)> SplitWithIndex(string text)
    {
        int i = 0;
        while (i < text.Length)
        {
            while (i < text.Length && !Scripts.IsWordChar(text[i]))
            {
                i++;
            }

            int start = i;
            while (i < text.Length && Scripts.IsWordChar(text[i]))
            {
                i++;
            }

            if (i > start)
            {
                yield return (start, text[start..i]);
            }
        }
    }
}
