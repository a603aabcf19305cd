namespace MicroLlm.Gguf;

/// <summary>
/// A GGUF file is malformed, truncated or uses something this reader does not support.
/// The message names the field and the byte offset where the problem was found.
/// </summary>
public sealed class GgufFormatException : FormatException
{
    /// <summary>Creates an exception for a problem in <paramref name="field"/> at <paramref name="offset"/>.</summary>
    /// <param name="field">The field that is wrong, such as <c>tensor_count</c> or <c>tensor 'output.weight' offset</c>.</param>
    /// <param name="offset">The byte offset in the file where the field starts.</param>
    /// <param name="detail">What is wrong.</param>
    public GgufFormatException(string field, long offset, string detail)
        : base($"Invalid GGUF file: {detail} (field {field} at byte offset {offset}).")
    {
        Field = field;
        Offset = offset;
    }

    /// <summary>Creates an exception that wraps <paramref name="inner"/>.</summary>
    /// <param name="field">The field that is wrong.</param>
    /// <param name="offset">The byte offset in the file where the field starts.</param>
    /// <param name="detail">What is wrong.</param>
    /// <param name="inner">The underlying error.</param>
    public GgufFormatException(string field, long offset, string detail, Exception inner)
        : base($"Invalid GGUF file: {detail} (field {field} at byte offset {offset}).", inner)
    {
        Field = field;
        Offset = offset;
    }

    /// <summary>The field that is wrong, such as <c>tensor_count</c>.</summary>
    public string Field { get; }

    /// <summary>The byte offset in the file where the field starts.</summary>
    public long Offset { get; }
}
