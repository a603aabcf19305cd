namespace MicroLlm.Constraints;

/// <summary>
/// A grammar, JSON Schema or regular expression was rejected when it was compiled. The message says what is wrong and
/// what to write instead; <see cref="Line"/> and <see cref="Column"/> point at the place in the source text.
/// </summary>
public class GrammarException : FormatException
{
    /// <summary>Creates an exception for a problem at <paramref name="line"/>, <paramref name="column"/>.</summary>
    /// <param name="detail">What is wrong and how to fix it.</param>
    /// <param name="line">The 1-based line in the source text.</param>
    /// <param name="column">The 1-based column (in UTF-16 characters) in the source text.</param>
    public GrammarException(string detail, int line, int column)
        : base($"{detail} (line {line}, column {column})")
    {
        Detail = detail;
        Line = line;
        Column = column;
    }

    /// <summary>Creates an exception for a problem at <paramref name="line"/>, <paramref name="column"/> caused by <paramref name="inner"/>.</summary>
    /// <param name="detail">What is wrong and how to fix it.</param>
    /// <param name="line">The 1-based line in the source text.</param>
    /// <param name="column">The 1-based column (in UTF-16 characters) in the source text.</param>
    /// <param name="inner">The underlying error.</param>
    public GrammarException(string detail, int line, int column, Exception inner)
        : base($"{detail} (line {line}, column {column})", inner)
    {
        Detail = detail;
        Line = line;
        Column = column;
    }

    /// <summary>What is wrong and how to fix it, without the position.</summary>
    public string Detail { get; }

    /// <summary>The 1-based line in the source text where the problem is.</summary>
    public int Line { get; }

    /// <summary>The 1-based column (in UTF-16 characters) in the source text where the problem is.</summary>
    public int Column { get; }
}
