using System.Reflection;
using MicroLlm.Core.Tests.Inference;
using MicroLlm.Kernels;

namespace MicroLlm.Core.Tests.Kernels;

/// <summary>
/// The runtime's correctness tests (logits against the reference runtime's) again at every kernel width other than
/// the default one, which those tests already run at: Scalar is the ReferenceDot oracle path, the vector widths the
/// SIMD kernels.
/// </summary>
public class ModelAtEveryWidthTests
{
    private static IEnumerable<object?[]> CasesOf(Type fixture) =>
        ((IEnumerable<TestCaseData>)fixture.GetMethod("Cases", BindingFlags.NonPublic | BindingFlags.Static)!.Invoke(null, null)!)
        .Select(c => c.Arguments!);

    private static IEnumerable<KernelWidth> OtherWidths() => Kernel.Supported.Where(w => w != Kernel.Best);

    private static IEnumerable<TestCaseData> Conformance() =>
        from width in OtherWidths()
        from args in CasesOf(typeof(ModelConformanceTests))
        select new TestCaseData((int)width, args[0], args[1]).SetName($"Logits_{args[0]}_{args[1]}_{width}");

    private static IEnumerable<TestCaseData> BitExact() =>
        from width in OtherWidths()
        from args in CasesOf(typeof(ReferenceBitExactTests))
        select new TestCaseData((int)width, args[0], args[1], args[2], args[3]).SetName($"BitExact_{args[0]}_{args[1]}_{width}");

    [TestCaseSource(nameof(Conformance))]
    public void ConformanceLogits(int width, string quant, string lang)
    {
        using (Kernel.Use((KernelWidth)width))
        {
            new ModelConformanceTests().MatchesReferenceLogitsAndGreedyTokens(quant, lang);
        }
    }

    [TestCaseSource(nameof(BitExact))]
    public async Task BitExactLogits(int width, string shape, MicroLlm.Models.SyntheticModelFileType fileType, bool phi3Vocabulary, string sha256)
    {
        using (Kernel.Use((KernelWidth)width))
        {
            await new ReferenceBitExactTests().LogitsEqualTheReferencesBitForBit(shape, fileType, phi3Vocabulary, sha256);
        }
    }
}
