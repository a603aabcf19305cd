namespace MicroLlm.Guardrails;

/// <summary>One check the verifier ran on an alert text.</summary>
/// <param name="Name">The check: <c>characters</c>, <c>bangla_sequences</c>, <c>facts</c>, <c>required_action</c>, <c>required_phrases</c>, <c>severity</c>, <c>time</c>, <c>numbers</c>, <c>invented_numbers</c>, <c>script</c>, <c>names</c>, <c>banned_terms</c>, <c>length</c>.</param>
/// <param name="Passed">Whether the text passed it.</param>
/// <param name="Detail">What failed (null when passed).</param>
public sealed record VerificationCheck(string Name, bool Passed, string? Detail = null)
{
    /// <summary>The check as one line.</summary>
    /// <returns><c>name: passed</c> or <c>name: detail</c>.</returns>
    public override string ToString() => Passed ? $"{Name}: passed" : $"{Name}: {Detail}";
}

/// <summary>The verdict on one alert text: every check and whether all passed.</summary>
public sealed class VerificationReport
{
    internal VerificationReport(IReadOnlyList<VerificationCheck> checks) => Checks = checks;

    /// <summary>Whether every check passed: the text states every fact of the event, unchanged, and nothing else.</summary>
    public bool Passed => Checks.All(c => c.Passed);

    /// <summary>Every check run, in order.</summary>
    public IReadOnlyList<VerificationCheck> Checks { get; }

    /// <summary>The checks that failed.</summary>
    public IEnumerable<VerificationCheck> Failures => Checks.Where(c => !c.Passed);
}
