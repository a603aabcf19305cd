using MicroLlm.Tests;

namespace MicroLlm.Rag.Tests;

/// <summary>MicroLlm.Rag stands on MicroLlm.Core's public surface alone (the package has no features yet).</summary>
public class PackageTests
{
    [Test]
    public void ItReferencesCoreAndNoOtherPackage() =>
        Assert.That(PackageRules.ReferencedPackages("MicroLlm.Rag"), Is.SubsetOf(new[] { "MicroLlm.Core" }));

    [Test]
    public void NoPackageSeesItsInternals() =>
        Assert.That(PackageRules.InternalsOpenedToPackages("MicroLlm.Rag"), Is.Empty);
}
