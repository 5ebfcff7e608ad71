using Microsoft.ML.Attribution.Methods;
using Microsoft.ML.Attribution.Oracles;
using Microsoft.ML.Attribution.Tensors;
using Microsoft.ML.Attribution.Tests.Support;

namespace Microsoft.ML.Attribution.Tests.Methods;

/// <summary>The axioms the methods promise: completeness, dummy, symmetry.</summary>
[TestClass]
public sealed class AxiomTests
{
    [TestMethod]
    [DataRow("toy_ig_gausslegendre")]
    [DataRow("wine_mlp_ig_gausslegendre_50")]
    [DataRow("attention_ig_gausslegendre")]
    [DataRow("attention_opset11_ig_gausslegendre")]
    [DataRow("pixels_ig_gausslegendre")]
    [DataRow("zoo_resnet_ig")]
    [DataRow("zoo_mnist_ig")]
    [DataRow("gm_resblock_deeplift_zero")]
    public void IntegratedGradients_Completeness_SumEqualsOutputChangeWithinDelta(string name)
    {
        var c = Fixtures.Case(name);
        var oracle = new OnnxGradientOracle(c.ModelPath);
        var result = new IntegratedGradients(oracle).Attribute(c.Input, c.Baseline, c.Target, steps: 300);
        var baseline = c.Baseline is { } b && b.Length == c.Input.Length ? b : new NdArray<float>(c.Input.Shape);
        if (c.Baseline is { Length: 1 } scalar) Array.Fill(baseline.Data, scalar.Data[0]);
        var fx = oracle.Forward(c.Input);
        var fb = oracle.Forward(baseline);
        for (int r = 0; r < c.Input.Rows; r++)
        {
            double sum = 0;
            foreach (var a in result.Attributions.Row(r)) sum += a;
            double change = fx.Row(r)[result.Targets[r]] - fb.Row(r)[result.Targets[r]];
            Assert.AreEqual(change, sum - result.ConvergenceDelta![r], 1e-4 * Math.Max(1, Math.Abs(change)), $"row {r}: delta is the residual");
            Assert.IsLessThan(1e-2 * Math.Max(1, Math.Abs(change)), Math.Abs(result.ConvergenceDelta[r]), $"row {r}: 300 steps converge");
        }
    }

    /// <summary>y = 3·x0 + 3·x1 + 0·x2 (x2 is a dummy; x0 and x1 are symmetric).</summary>
    private static OnnxGradientOracle SymmetricModel()
    {
        var g = new TestGraph(elemType: Microsoft.ML.Attribution.Onnx.OnnxDataType.Float).Input("x", "batch", 3);
        var w = g.Weight([3, 3, 0], 3, 1);
        var hidden = g.Node("MatMul", ["x", w]);
        g.Output(g.Node("Tanh", [hidden]));
        return new OnnxGradientOracle(g.Build(), "x", null, null);
    }

    [TestMethod]
    public void AllMethods_Dummy_FeatureWithoutEffectGetsZero_AndSymmetry_EqualFeaturesGetEqualShares()
    {
        var oracle = SymmetricModel();
        var inputs = new NdArray<float>([0.3f, 0.3f, 0.9f, -0.2f, -0.2f, 5f], 2, 3);
        var target = Target.Class(0);
        var results = new Dictionary<string, NdArray<float>>
        {
            ["integrated-gradients"] = new IntegratedGradients(oracle).Attribute(inputs, target: target).Attributions,
            ["saliency"] = new Saliency(oracle).Attribute(inputs, target).Attributions,
            ["input-x-gradient"] = new InputXGradient(oracle).Attribute(inputs, target).Attributions,
            ["feature-ablation"] = new FeatureAblation(oracle).Attribute(inputs, target: target).Attributions,
            ["occlusion"] = new Occlusion(oracle).Attribute(inputs, [1], target: target).Attributions,
        };
        foreach (var (method, a) in results)
        {
            for (int r = 0; r < 2; r++)
            {
                var row = a.Row(r);
                Assert.AreEqual(0f, row[2], $"{method}: dummy feature, row {r}");
                Assert.AreEqual(row[0], row[1], 1e-6, $"{method}: symmetric features, row {r}");
                Assert.AreNotEqual(0f, row[0], $"{method}: a feature with effect gets a share, row {r}");
            }
        }
    }
}
