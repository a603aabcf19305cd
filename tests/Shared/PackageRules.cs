using System.Reflection;

namespace MicroLlm.Tests;

/// <summary>
/// The layout's dependency rule, checked on the built assemblies: a package uses MicroLlm.Core's public surface and
/// never another package, and no package opens its internals to another package.
/// </summary>
internal static class PackageRules
{
    private static readonly string[] Packages = ["MicroLlm.Core", "MicroLlm.Guardrails", "MicroLlm.Rag", "MicroLlm.Agents", "MicroLlm.Training"];

    /// <summary>The MicroLlm packages <paramref name="package"/> references, read from its built assembly.</summary>
    public static IReadOnlyList<string> ReferencedPackages(string package) =>
        [.. Load(package).GetReferencedAssemblies().Select(a => a.Name!).Where(n => n.StartsWith("MicroLlm.", StringComparison.Ordinal)).Order(StringComparer.Ordinal)];

    /// <summary>The assemblies <paramref name="package"/> lets see its internals, other than test and benchmark projects.</summary>
    public static IReadOnlyList<string> InternalsOpenedToPackages(string package) =>
        [.. Load(package).GetCustomAttributes<System.Runtime.CompilerServices.InternalsVisibleToAttribute>()
            .Select(a => a.AssemblyName.Split(',')[0])
            .Where(n => Packages.Contains(n) || n == "microllm")];

    private static Assembly Load(string package)
    {
        string path = Path.Combine(AppContext.BaseDirectory, package + ".dll");
        Assert.That(File.Exists(path), Is.True, $"{package}.dll is not beside the tests: reference the project");
        return Assembly.LoadFrom(path);
    }
}

/// <summary>The dependency rule as tests: each package's test project derives one fixture naming its package.</summary>
/// <param name="package">The package's assembly name.</param>
/// <param name="allowed">The MicroLlm packages it may reference.</param>
public abstract class PackageRuleTests(string package, params string[] allowed)
{
    [Test]
    public void ItReferencesOnlyTheAllowedPackages() =>
        Assert.That(PackageRules.ReferencedPackages(package), Is.SubsetOf(allowed));

    [Test]
    public void NoPackageSeesItsInternals() =>
        Assert.That(PackageRules.InternalsOpenedToPackages(package), Is.Empty);
}
