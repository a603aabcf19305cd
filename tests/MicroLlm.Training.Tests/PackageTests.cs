using MicroLlm.Tests;

namespace MicroLlm.Training.Tests;

/// <summary>MicroLlm.Training stands on MicroLlm.Core's public surface alone (the package has no features yet).</summary>
public class PackageTests
{
    [Test]
    public void ItReferencesCoreAndNoOtherPackage() =>
        Assert.That(PackageRules.ReferencedPackages("MicroLlm.Training"), Is.SubsetOf(new[] { "MicroLlm.Core" }));

    [Test]
    public void NoPackageSeesItsInternals() =>
        Assert.That(PackageRules.InternalsOpenedToPackages("MicroLlm.Training"), Is.Empty);
}
