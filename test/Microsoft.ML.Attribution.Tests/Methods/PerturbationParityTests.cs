using Microsoft.ML.Attribution.Methods;
using Microsoft.ML.Attribution.Oracles;
using Microsoft.ML.Attribution.Tensors;
using Microsoft.ML.Attribution.Tests.Support;

namespace Microsoft.ML.Attribution.Tests.Methods;

/// <summary>
/// Captum parity of the perturbation family (Fixtures/perturbation, written by build/fixtures/generate_perturbation.py).
/// Captum's random draws (permutations, orderings, coalition samples) were recorded and are replayed here.
/// </summary>
[TestClass]
public sealed class PerturbationParityTests
{
    private const double Tolerance = 1e-4;

    public static IEnumerable<object[]> ShapleyValuesCases => Fixtures.NamesOf("shapley-values");
    public static IEnumerable<object[]> ShapleyValueSamplingCases => Fixtures.NamesOf("shapley-value-sampling");
    public static IEnumerable<object[]> KernelShapCases => Fixtures.NamesOf("kernel-shap");
    public static IEnumerable<object[]> LimeCases => Fixtures.NamesOf("lime");
    public static IEnumerable<object[]> FeaturePermutationCases => Fixtures.NamesOf("feature-permutation");

    private static Func<int, IReadOnlyList<bool[]>> Coalitions(FixtureCase c)
    {
        var drawn = c.LongArray("coalitions")!; // [N, S, M]
        int samples = drawn.Shape[1], features = drawn.Shape[2];
        return r => Enumerable.Range(0, samples)
            .Select(s => Enumerable.Range(0, features).Select(f => drawn.Data[(r * samples + s) * features + f] != 0).ToArray())
            .ToArray();
    }

    [TestMethod]
    [DynamicData(nameof(ShapleyValuesCases))]
    public void ShapleyValues_MatchCaptum(string name)
    {
        var c = Fixtures.Case(name);
        var result = new ShapleyValues(c.Oracle()).Attribute(c.Input, c.Baseline, c.Target, c.Mask);
        AssertArrays.Close(c.Expected, result.Attributions, Tolerance, name);
    }

    [TestMethod]
    [DynamicData(nameof(ShapleyValueSamplingCases))]
    public void ShapleyValueSampling_WithCaptumsOrderings_MatchesCaptum(string name)
    {
        var c = Fixtures.Case(name);
        var orderings = c.LongArray("orderings")!;
        int m = orderings.Shape[1];
        var perms = Enumerable.Range(0, orderings.Shape[0]).Select(k => orderings.Data.Skip(k * m).Take(m).Select(v => (int)v).ToArray()).ToArray();
        var result = new ShapleyValueSampling(c.Oracle()).Attribute(c.Input, perms, c.Baseline, c.Target, c.Mask, null);
        AssertArrays.Close(c.Expected, result.Attributions, Tolerance, name);
    }

    [TestMethod]
    [DynamicData(nameof(KernelShapCases))]
    public void KernelShap_WithCaptumsCoalitions_MatchesCaptum(string name)
    {
        var c = Fixtures.Case(name);
        var result = new KernelShap(c.Oracle()).Attribute(c.Input, Coalitions(c), c.Baseline, c.Target, c.Mask, null);
        // Weighted least squares with 10⁶ weights: scikit-learn solves it in float32, we in float64.
        AssertArrays.Close(c.Expected, result.Attributions, 1e-3, name);
    }

    [TestMethod]
    [DynamicData(nameof(LimeCases))]
    public void Lime_WithCaptumsSamples_MatchesCaptum(string name)
    {
        var c = Fixtures.Case(name);
        var result = new Lime(c.Oracle()).Attribute(c.Input, Coalitions(c), c.Baseline, c.Target, c.Mask, null);
        // scikit-learn's Lasso stops at its default tolerance (1e-4 on the duality gap); ours converges further.
        AssertArrays.Close(c.Expected, result.Attributions, 1e-3, name);
    }

    [TestMethod]
    [DynamicData(nameof(FeaturePermutationCases))]
    public void FeaturePermutation_WithCaptumsPermutations_MatchesCaptum(string name)
    {
        var c = Fixtures.Case(name);
        var drawn = c.LongArray("permutations")!;
        int rows = drawn.Shape[1];
        var perms = Enumerable.Range(0, drawn.Shape[0]).Select(f => drawn.Data.Skip(f * rows).Take(rows).Select(v => (int)v).ToArray()).ToArray();
        var result = new FeaturePermutation(c.Oracle()).Attribute(c.Input, perms, c.Target, c.Mask, null);
        AssertArrays.Close(c.Expected, result.Attributions, Tolerance, name);
    }

    [TestMethod]
    public void ShapleyValues_OnCaptumsMultiLayerModel_GiveCaptumsTestNumbers()
    {
        var c = Fixtures.Case("multilayer_shapley_values");
        var result = new ShapleyValues(c.Oracle()).Attribute(new NdArray<float>([20f, 50f, 30f], 1, 3), target: Target.Class(0));
        AssertArrays.Close([76.66666f, 196.66666f, 116.66666f], result.Attributions.Data, 1e-5, "Captum test values");
        var grouped = new ShapleyValues(c.Oracle()).Attribute(new NdArray<float>([20f, 50f, 30f], 1, 3), target: Target.Class(0),
            featureMask: new NdArray<long>([0, 0, 1], 1, 3));
        AssertArrays.Close([275f, 275f, 115f], grouped.Attributions.Data, 1e-5, "Captum test values, mask");
    }
}
