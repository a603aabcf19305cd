using System.Globalization;
using System.Text;
using MicroLlm.Constraints;
using MicroLlm.Gguf;
using MicroLlm.Tokenization;

namespace MicroLlm.Tests.Constraints;

/// <summary>Vocabularies for constraint tests: the reference's llama-spm vocabulary (32,000 tokens) as bytes, and tiny hand-made ones.</summary>
internal static class TestVocabularies
{
    private static readonly Lazy<ConstraintVocabulary> LlamaSpm = new(LoadLlamaSpm);

    /// <summary>The llama-spm vocabulary; marks the test ignored when the conformance folder is absent.</summary>
    public static ConstraintVocabulary Llama()
    {
        Conformance.Require();
        return LlamaSpm.Value;
    }

    /// <summary>A vocabulary of the given texts; the last id is the end-of-generation token (no bytes).</summary>
    public static ConstraintVocabulary Of(params string[] texts) =>
        ConstraintVocabulary.Create([.. texts.Select(Encoding.UTF8.GetBytes), []], [texts.Length]);

    /// <summary>SentencePiece pieces to the bytes they print: '▁' is a space, &lt;0xAB&gt; byte tokens are the byte, control tokens print nothing.</summary>
    public static byte[] SentencePieceBytes(string piece, GgufTokenType type)
    {
        switch (type)
        {
            case GgufTokenType.Byte:
                return [byte.Parse(piece.AsSpan(3, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture)];
            case GgufTokenType.Control:
            case GgufTokenType.Unknown:
            case GgufTokenType.Unused:
                return [];
            default:
                return Encoding.UTF8.GetBytes(piece.Replace('\u2581', ' '));
        }
    }

    private static ConstraintVocabulary LoadLlamaSpm()
    {
        using var file = GgufFile.Open(Conformance.RequireFile("tokenizer", "ggml-vocab-llama-spm.gguf"));
        var vocabulary = GgufVocabulary.FromMetadata(file.Metadata);
        var bytes = new byte[vocabulary.Count][];
        for (int i = 0; i < bytes.Length; i++)
        {
            bytes[i] = SentencePieceBytes(vocabulary.Tokens[i], vocabulary.GetTokenType(i));
        }

        int[] end = [.. new[] { vocabulary.EosId, vocabulary.EotId, vocabulary.EomId }.Where(id => id is not null).Select(id => id!.Value)];
        return ConstraintVocabulary.Create(bytes, end);
    }
}
