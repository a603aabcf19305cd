namespace MicroLlm.Constraints;

/// <summary>
/// A JSON Schema could not be compiled to a grammar: it is malformed, or it uses a keyword or value this compiler does not
/// support. <see cref="JsonPointer"/> is the JSON pointer of the schema object at fault and <see cref="Keyword"/> the keyword,
/// when there is one; <see cref="GrammarException.Line"/> and <see cref="GrammarException.Column"/> locate it in the text.
/// </summary>
public sealed class JsonSchemaException : GrammarException
{
    /// <summary>Creates an exception for a problem with <paramref name="keyword"/> at <paramref name="jsonPointer"/>.</summary>
    /// <param name="detail">What is wrong and how to fix it.</param>
    /// <param name="jsonPointer">The JSON pointer of the schema (sub)object, such as <c>/properties/age</c>; empty for the root.</param>
    /// <param name="keyword">The keyword at fault, or null.</param>
    /// <param name="line">The 1-based line in the schema text.</param>
    /// <param name="column">The 1-based column in the schema text.</param>
    public JsonSchemaException(string detail, string jsonPointer, string? keyword, int line, int column)
        : base($"{detail} [at '{(jsonPointer.Length == 0 ? "#" : "#" + jsonPointer)}'{(keyword is null ? "" : $", keyword '{keyword}'")}]", line, column)
    {
        JsonPointer = jsonPointer;
        Keyword = keyword;
    }

    /// <summary>The JSON pointer of the schema (sub)object at fault, such as <c>/properties/age</c>; empty for the root.</summary>
    public string JsonPointer { get; }

    /// <summary>The keyword at fault, such as <c>allOf</c>, or null when the problem is not one keyword's.</summary>
    public string? Keyword { get; }
}
