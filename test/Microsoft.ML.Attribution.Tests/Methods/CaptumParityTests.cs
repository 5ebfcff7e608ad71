using Microsoft.ML.Attribution.Methods;
using Microsoft.ML.Attribution.Oracles;
using Microsoft.ML.Attribution.Tensors;
using Microsoft.ML.Attribution.Tests.Support;

namespace Microsoft.ML.Attribution.Tests.Methods;

/// <summary>
/// Every case Captum computed in build/fixtures/generate.py, recomputed here on the exported ONNX model.
/// Tolerance 1e-4 (relative above magnitude 1).
/// </summary>
[TestClass]
public sealed class CaptumParityTests
{
    private const double Tolerance = 1e-4;

    public static IEnumerable<object[]> IntegratedGradientsCases => Fixtures.NamesOf("integrated-gradients");
    public static IEnumerable<object[]> SaliencyCases => Fixtures.NamesOf("saliency");
    public static IEnumerable<object[]> InputXGradientCases => Fixtures.NamesOf("input-x-gradient");
    public static IEnumerable<object[]> FeatureAblationCases => Fixtures.NamesOf("feature-ablation");
    public static IEnumerable<object[]> OcclusionCases => Fixtures.NamesOf("occlusion");

    [TestMethod]
    [DynamicData(nameof(IntegratedGradientsCases))]
    public void IntegratedGradients_MatchesCaptum(string name)
    {
        var c = Fixtures.Case(name);
        var result = new IntegratedGradients(c.Oracle()).Attribute(c.Input, c.Baseline, c.Target,
            steps: c.Int("steps", 50), method: IntegrationRule.Parse(c.String("integration") ?? "gausslegendre"));
        AssertArrays.Close(c.Expected, result.Attributions, Tolerance, name);
        if (c.DeltaPath is not null)
            AssertArrays.Close(Npy.ReadFloat(c.DeltaPath).Data, result.ConvergenceDelta!, Tolerance, name + " delta");
    }

    [TestMethod]
    [DynamicData(nameof(SaliencyCases))]
    public void Saliency_MatchesCaptum(string name)
    {
        var c = Fixtures.Case(name);
        var result = new Saliency(c.Oracle()).Attribute(c.Input, c.Target, abs: c.Bool("abs", true));
        AssertArrays.Close(c.Expected, result.Attributions, Tolerance, name);
    }

    [TestMethod]
    [DynamicData(nameof(InputXGradientCases))]
    public void InputXGradient_MatchesCaptum(string name)
    {
        var c = Fixtures.Case(name);
        var result = new InputXGradient(c.Oracle()).Attribute(c.Input, c.Target);
        AssertArrays.Close(c.Expected, result.Attributions, Tolerance, name);
    }

    [TestMethod]
    [DynamicData(nameof(FeatureAblationCases))]
    public void FeatureAblation_MatchesCaptum(string name)
    {
        var c = Fixtures.Case(name);
        var result = new FeatureAblation(c.Oracle()).Attribute(c.Input, c.Baseline, c.Target, c.Mask,
            internalBatchSize: c.Int("perturbations_per_eval", 1));
        AssertArrays.Close(c.Expected, result.Attributions, Tolerance, name);
    }

    [TestMethod]
    [DynamicData(nameof(OcclusionCases))]
    public void Occlusion_MatchesCaptum(string name)
    {
        var c = Fixtures.Case(name);
        var result = new Occlusion(c.Oracle()).Attribute(c.Input, c.Ints("window")!, c.Ints("stride"), c.Baseline, c.Target);
        AssertArrays.Close(c.Expected, result.Attributions, Tolerance, name);
    }

    [TestMethod]
    public void ToyModel_IntegratedGradients_PrintsCaptumReadmeNumbers()
    {
        var c = Fixtures.Case("toy_ig_gausslegendre");
        var result = new IntegratedGradients(c.Oracle()).Attribute(c.Input, target: Target.Class(0));
        float[] readme = [-0.5922f, -1.5497f, -1.0067f, 0.0000f, -0.2219f, -5.1991f];
        AssertArrays.Close(readme, result.Attributions.Data.Select(v => MathF.Round(v, 4)).ToArray(), 1e-6, "README");
    }
}
