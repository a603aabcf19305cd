using System.Text;

namespace MicroLlm.Tests.Tokenization.Bpe;

/// <summary>The reference runtime's tokenizer test files: <c>NAME.inp</c> holds texts, <c>NAME.out</c> one line of ids per text.</summary>
internal static class ReferenceTokenizerTests
{
    private const string Separator = "\n__ggml_vocab_test__\n";

    /// <summary>Reads the texts and expected ids of an <c>.inp</c>/<c>.out</c> pair, split as the reference's test-tokenizer-0 splits them.</summary>
    /// <param name="inputPath">The <c>.inp</c> file.</param>
    /// <returns>The texts, in file order, with their ids.</returns>
    /// <exception cref="InvalidDataException">The two files hold different numbers of tests.</exception>
    public static List<(string Text, int[] Ids)> Read(string inputPath)
    {
        // Each text is followed by the separator line; a text may be empty or be made of newlines only.
        string raw = Encoding.UTF8.GetString(File.ReadAllBytes(inputPath));
        var texts = new List<string>();
        int pos = 0;
        while (pos < raw.Length)
        {
            int next = raw.IndexOf(Separator, pos, StringComparison.Ordinal);
            if (next < 0)
            {
                texts.Add(raw[pos..]);
                break;
            }

            texts.Add(raw[pos..next]);
            pos = next + Separator.Length;
        }

        string[] lines = File.ReadAllLines(Path.ChangeExtension(inputPath, ".out"));
        if (lines.Length != texts.Count)
        {
            throw new InvalidDataException($"{inputPath} has {texts.Count} texts but its .out file has {lines.Length} lines.");
        }

        return texts.Select((t, i) => (t, lines[i].Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(int.Parse).ToArray())).ToList();
    }

    /// <summary>A short, printable preview of a text for a test name.</summary>
    /// <param name="text">The text.</param>
    /// <returns>At most about 32 characters, control and non-ASCII characters escaped.</returns>
    public static string Preview(string text)
    {
        var sb = new StringBuilder();
        foreach (Rune r in text.EnumerateRunes())
        {
            if (sb.Length >= 32)
            {
                sb.Append('…');
                break;
            }

            sb.Append(r.Value switch
            {
                '\n' => "\\n",
                '\t' => "\\t",
                '\r' => "\\r",
                >= 0x20 and < 0x7F and not '"' and not '\\' => r.ToString(),
                _ => $"\\u{r.Value:X4}",
            });
        }

        return sb.ToString();
    }
}
