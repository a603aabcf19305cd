using MicroLlm.Gguf;
using MicroLlm.Tokenization;

namespace MicroLlm.Models;

/// <summary>
/// The built-in vocabulary of synthetic models: a SentencePiece (<c>llama</c>) vocabulary with <c>&lt;unk&gt;</c>,
/// <c>&lt;s&gt;</c> (BOS, added), <c>&lt;/s&gt;</c>, the 256 byte tokens <c>&lt;0x00&gt;</c>..<c>&lt;0xFF&gt;</c>, the
/// word-boundary piece <c>▁</c> (a space) and unused tokens after them. With no merges every text is spelled as spaces
/// and bytes, by MicroLlm and the reference runtime alike.
/// </summary>
internal static class SyntheticVocabulary
{
    /// <summary>Three special tokens, 256 bytes and the space.</summary>
    public const int MinimumSize = 260;

    /// <summary>Writes the <c>tokenizer.*</c> metadata of a vocabulary of <paramref name="size"/> tokens.</summary>
    public static void AddTo(GgufWriter writer, int size)
    {
        var tokens = new string[size];
        var scores = new float[size];
        var types = new int[size];
        tokens[0] = "<unk>";
        types[0] = (int)GgufTokenType.Unknown;
        tokens[1] = "<s>";
        types[1] = (int)GgufTokenType.Control;
        tokens[2] = "</s>";
        types[2] = (int)GgufTokenType.Control;
        for (int b = 0; b < 256; b++)
        {
            tokens[3 + b] = $"<0x{b:X2}>";
            types[3 + b] = (int)GgufTokenType.Byte;
        }

        tokens[259] = "\u2581";
        types[259] = (int)GgufTokenType.Normal;
        for (int i = MinimumSize; i < size; i++)
        {
            tokens[i] = $"<unused{i - MinimumSize}>";
            types[i] = (int)GgufTokenType.Unused;
        }

        writer.SetMetadata("tokenizer.ggml.model", GgufValue.From("llama"));
        writer.SetMetadata("tokenizer.ggml.tokens", GgufValue.FromArray<string>(tokens));
        writer.SetMetadata("tokenizer.ggml.scores", GgufValue.FromArray<float>(scores));
        writer.SetMetadata("tokenizer.ggml.token_type", GgufValue.FromArray<int>(types));
        writer.SetMetadata("tokenizer.ggml.unknown_token_id", GgufValue.From(0u));
        writer.SetMetadata("tokenizer.ggml.bos_token_id", GgufValue.From(1u));
        writer.SetMetadata("tokenizer.ggml.eos_token_id", GgufValue.From(2u));
        writer.SetMetadata("tokenizer.ggml.add_bos_token", GgufValue.From(true));
        writer.SetMetadata("tokenizer.ggml.add_eos_token", GgufValue.From(false));
    }
}
