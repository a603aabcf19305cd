namespace MicroLlm.Tokenization;

/// <summary>The kind of a vocabulary entry, as <c>tokenizer.ggml.token_type</c> stores it.</summary>
public enum GgufTokenType
{
    /// <summary>Not set.</summary>
    Undefined = 0,
    /// <summary>An ordinary text piece.</summary>
    Normal = 1,
    /// <summary>The unknown-token placeholder.</summary>
    Unknown = 2,
    /// <summary>A control token (BOS, EOS, chat markers): matched in text only when special tokens are parsed.</summary>
    Control = 3,
    /// <summary>A token added by the model's authors: always matched in text as a whole.</summary>
    UserDefined = 4,
    /// <summary>A reserved, unused slot.</summary>
    Unused = 5,
    /// <summary>A raw byte, written <c>&lt;0xAB&gt;</c> (SentencePiece byte fallback).</summary>
    Byte = 6,
}
