namespace MicroLlm.Constraints;

/// <summary>How a JSON Schema is compiled to a grammar. Every property has a documented default.</summary>
public sealed class JsonSchemaGrammarOptions
{
    /// <summary>
    /// Whether whitespace is allowed between JSON tokens: after <c>{ [ , :</c> and after a value, one space or a line break
    /// with up to 20 spaces or tabs of indentation. False gives compact JSON only. Default true (models write pretty JSON).
    /// </summary>
    public bool AllowWhitespace { get; set; } = true;

    /// <summary>
    /// Whether an object whose schema does not mention <c>additionalProperties</c> may get properties beyond those listed.
    /// JSON Schema allows them, but generating them only adds noise, so by default they are not generated (the output still
    /// validates). Default false.
    /// </summary>
    public bool AdditionalPropertiesByDefault { get; set; }

    /// <summary>A copy of these options.</summary>
    /// <returns>The copy.</returns>
    public JsonSchemaGrammarOptions Clone() => (JsonSchemaGrammarOptions)MemberwiseClone();
}
