namespace MicroLlm.Constraints;

/// <summary>Tuning for a <see cref="TokenConstraint"/>. Every property has a documented default.</summary>
public sealed class TokenConstraintOptions
{
    /// <summary>
    /// The most grammar states kept in the transition cache before it is emptied (keeping only the current state).
    /// Each state costs about (4 × byte classes + 40) bytes plus its stacks. Default 50,000.
    /// </summary>
    public int MaxCachedStates { get; set; } = 50_000;

    /// <summary>A copy of these options.</summary>
    /// <returns>The copy.</returns>
    public TokenConstraintOptions Clone() => (TokenConstraintOptions)MemberwiseClone();

    internal void Validate()
    {
        if (MaxCachedStates < 16)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxCachedStates), MaxCachedStates, "MaxCachedStates must be at least 16.");
        }
    }
}
