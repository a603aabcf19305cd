using MicroLlm.Tests;

namespace MicroLlm.Rag.Tests;

/// <summary>MicroLlm.Rag stands on MicroLlm.Core's public surface alone (the package has no features yet).</summary>
public class PackageTests() : PackageRuleTests("MicroLlm.Rag", "MicroLlm.Core");
