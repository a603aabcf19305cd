using MicroLlm.Tests;

namespace MicroLlm.Agents.Tests;

/// <summary>MicroLlm.Agents stands on MicroLlm.Core's public surface alone (the package has no features yet).</summary>
public class PackageTests
{
    [Test]
    public void ItReferencesCoreAndNoOtherPackage() =>
        Assert.That(PackageRules.ReferencedPackages("MicroLlm.Agents"), Is.SubsetOf(new[] { "MicroLlm.Core" }));

    [Test]
    public void NoPackageSeesItsInternals() =>
        Assert.That(PackageRules.InternalsOpenedToPackages("MicroLlm.Agents"), Is.Empty);
}
