using MicroLlm.Tests;

namespace MicroLlm.Guardrails.Tests;

/// <summary>MicroLlm.Guardrails stands on MicroLlm.Core's public surface and Microsoft.Extensions.AI alone.</summary>
public class PackageTests
{
    [Test]
    public void ItReferencesCoreAndNoOtherPackage() =>
        Assert.That(PackageRules.ReferencedPackages("MicroLlm.Guardrails"), Is.EqualTo(new[] { "MicroLlm.Core" }));

    [Test]
    public void NoPackageSeesItsInternals() =>
        Assert.That(PackageRules.InternalsOpenedToPackages("MicroLlm.Guardrails"), Is.Empty);

    [Test]
    public void CoreOpensItsInternalsToNoPackage() =>
        Assert.That(PackageRules.InternalsOpenedToPackages("MicroLlm.Core"), Is.Empty);
}
