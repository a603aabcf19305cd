using MicroLlm.Tests;

namespace MicroLlm.Guardrails.Tests;

/// <summary>MicroLlm.Guardrails stands on MicroLlm.Core's public surface and Microsoft.Extensions.AI alone.</summary>
public class PackageTests() : PackageRuleTests("MicroLlm.Guardrails", "MicroLlm.Core")
{
    [Test]
    public void ItReferencesCore() =>
        Assert.That(PackageRules.ReferencedPackages("MicroLlm.Guardrails"), Is.EqualTo(new[] { "MicroLlm.Core" }));

    [Test]
    public void CoreOpensItsInternalsToNoPackage() =>
        Assert.That(PackageRules.InternalsOpenedToPackages("MicroLlm.Core"), Is.Empty);
}
