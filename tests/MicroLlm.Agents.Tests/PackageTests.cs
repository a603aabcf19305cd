using MicroLlm.Tests;

namespace MicroLlm.Agents.Tests;

/// <summary>MicroLlm.Agents stands on MicroLlm.Core's public surface alone (the package has no features yet).</summary>
public class PackageTests() : PackageRuleTests("MicroLlm.Agents", "MicroLlm.Core");
