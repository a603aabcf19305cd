using MicroLlm.Tests;

namespace MicroLlm.Training.Tests;

/// <summary>MicroLlm.Training stands on MicroLlm.Core's public surface alone (the package has no features yet).</summary>
public class PackageTests() : PackageRuleTests("MicroLlm.Training", "MicroLlm.Core");
