using Microsoft.ML.Attribution.Methods;
using Microsoft.ML.Attribution.Onnx;
using Microsoft.ML.Attribution.Oracles;
using Microsoft.ML.Attribution.Tensors;
using Microsoft.ML.Attribution.Tests.Support;

namespace Microsoft.ML.Attribution.Tests.Methods;

/// <summary>DeepLift's summation-to-delta, its rule on known cases, and the guided-backprop rule sets.</summary>
[TestClass]
public sealed class DeepLiftTests
{
    private static OnnxGradientOracle Build(Action<TestGraph> body)
    {
        var g = new TestGraph(elemType: OnnxDataType.Float).Input("x", "batch", 3);
        body(g);
        return new OnnxGradientOracle(g.Build(), "x", null, null);
    }

    [TestMethod]
    public void SingleRelu_MultiplierIsTheFiniteQuotient()
    {
        // y = relu(x·w): attribution_i = (x_i − b_i)·w_i·(relu(z) − relu(z₀))/(z − z₀).
        var oracle = Build(g => g.Output(g.Node("Relu", [g.Node("MatMul", ["x", g.Weight([1, -2, 0.5], 3, 1)])])));
        var x = new NdArray<float>([2f, 0.5f, 1f], 1, 3);
        var b = new NdArray<float>([-1f, 0f, 0f], 1, 3);
        var result = new DeepLift(oracle).Attribute(x, b, Target.Class(0));
        double z = 2 - 1 + 0.5, z0 = -1;
        double m = (Math.Max(z, 0) - Math.Max(z0, 0)) / (z - z0);
        AssertArrays.Close([(float)(3 * 1 * m), (float)(0.5 * -2 * m), (float)(1 * 0.5 * m)], result.Attributions.Data, 1e-6, "rescale");
    }

    [TestMethod]
    public void LinearModel_DeepLiftIsInputMinusBaselineTimesWeight()
    {
        var oracle = Build(g => g.Output(g.Node("MatMul", ["x", g.Weight([1, -2, 0.5, 3, 0, 1], 3, 2)])));
        var x = new NdArray<float>([2f, 0.5f, 1f, -1f, 4f, 2f], 2, 3);
        var result = new DeepLift(oracle).Attribute(x, null, Target.Class(1));
        // Column 1 of W is [−2, 3, 1].
        AssertArrays.Close([2 * -2f, 0.5f * 3, 1 * 1f, -1 * -2f, 4 * 3f, 2 * 1f], result.Attributions.Data, 1e-6, "linear");
    }

    [TestMethod]
    [DataRow("toy_ig_gausslegendre")]
    [DataRow("wine_mlp_ig_gausslegendre_50")]
    [DataRow("pixels_ig_gausslegendre")]
    [DataRow("gm_mlp_act_deeplift_baseline")]
    [DataRow("gm_resblock_deeplift_baseline")]
    // Summation-to-delta holds for linear ops and elementwise nonlinearities; products of two activations (attention's
    // q·kᵀ, SiLU's h·σ(h)) have no rescale rule in DeepLIFT, so the attention fixture is not in this list (nor is it in Captum).
    public void SummationToDelta_HoldsOnEveryFixtureModel(string name)
    {
        var c = Fixtures.Case(name);
        var oracle = new OnnxGradientOracle(c.ModelPath);
        var result = new DeepLift(oracle).Attribute(c.Input, c.Baseline, c.Target);
        var baseline = c.Baseline is { Length: > 1 } b ? b : new NdArray<float>(c.Input.Shape);
        if (c.Baseline is { Length: 1 } scalar) Array.Fill(baseline.Data, scalar.Data[0]);
        var fx = oracle.Forward(c.Input);
        var fb = oracle.Forward(baseline);
        for (int r = 0; r < c.Input.Rows; r++)
        {
            double change = fx.Row(r)[result.Targets[r]] - fb.Row(r)[result.Targets[r]];
            double sum = result.Attributions.Row(r).ToArray().Sum();
            Assert.AreEqual(change, sum, 1e-4 * Math.Max(1, Math.Abs(change)), $"row {r}");
            Assert.AreEqual(sum - change, result.ConvergenceDelta![r], 1e-4, $"row {r}: the delta reports the residual");
        }
    }

    [TestMethod]
    public void ActivationReusedTwice_StillSumsToDelta()
    {
        // The same Tanh output feeds two branches — Captum's module hooks break on reused modules; op rules do not.
        var oracle = Build(g =>
        {
            var h = g.Node("Tanh", [g.Node("MatMul", ["x", g.Weight([1, -1, 0.5, 2, 1, -0.5], 3, 2)])]);
            var left = g.Node("MatMul", [h, g.Weight([1, 2], 2, 1)]);
            var right = g.Node("Sigmoid", [g.Node("MatMul", [h, g.Weight([-1, 1], 2, 1)])]);
            g.Output(g.Node("Add", [left, right]));
        });
        var x = new NdArray<float>([0.3f, -1f, 2f, 1f, 1f, -0.5f], 2, 3);
        var result = new DeepLift(oracle).Attribute(x, null, Target.Class(0));
        foreach (var delta in result.ConvergenceDelta!) Assert.IsLessThan(1e-5, Math.Abs(delta));
    }

    [TestMethod]
    [DataRow("zoo_mnist_deeplift")]
    [DataRow("gm_cnn_deeplift_zero")]
    public void MaxPoolRule_SumsToDelta_OnTheMaxPoolCnns(string name)
    {
        var c = Fixtures.Case(name);
        var result = new DeepLift(new OnnxGradientOracle(c.ModelPath), maxPoolRule: true).Attribute(c.Input, c.Baseline, c.Target);
        foreach (var delta in result.ConvergenceDelta!) Assert.IsLessThan(1e-4, Math.Abs(delta));
    }

    [TestMethod]
    public void MaxPoolRule_RestoresSummationToDelta_WhereCaptumsBehaviourDoesNot()
    {
        var c = Fixtures.Case("gm_cnn_deeplift_baseline");
        var oracle = new OnnxGradientOracle(c.ModelPath);
        var captumLike = new DeepLift(oracle).Attribute(c.Input, c.Baseline, c.Target);
        var exact = new DeepLift(oracle, maxPoolRule: true).Attribute(c.Input, c.Baseline, c.Target);
        Assert.IsTrue(captumLike.ConvergenceDelta!.Any(d => Math.Abs(d) > 1e-3), "the ordinary MaxPool gradient leaves a residual (as Captum)");
        foreach (var delta in exact.ConvergenceDelta!) Assert.IsLessThan(1e-5, Math.Abs(delta));
        var shap = new DeepLiftShap(oracle, maxPoolRule: true).Attribute(c.Input, c.FloatArray("baselines") ?? Fixtures.Case("gm_cnn_deeplift_shap").FloatArray("baselines")!, c.Target);
        foreach (var delta in shap.ConvergenceDelta!) Assert.IsLessThan(1e-5, Math.Abs(delta));
    }

    [TestMethod]
    public void GuidedBackprop_And_Deconvolution_ClipNegativeGradientsAtRelu()
    {
        // y = relu(x)·w with w = [1, −1, 2]: gradient [1, −1, 2]·[x > 0].
        var oracle = Build(g => g.Output(g.Node("MatMul", [g.Node("Relu", ["x"]), g.Weight([1, -1, 2], 3, 1)])));
        var x = new NdArray<float>([0.5f, 0.5f, -0.5f], 1, 3);
        CollectionAssert.AreEqual(new[] { 1f, -1f, 0f }, new Saliency(oracle).Attribute(x, Target.Class(0), abs: false).Attributions.Data);
        CollectionAssert.AreEqual(new[] { 1f, 0f, 0f }, new GuidedBackprop(oracle).Attribute(x, Target.Class(0)).Attributions.Data);
        CollectionAssert.AreEqual(new[] { 1f, 0f, 2f }, new Deconvolution(oracle).Attribute(x, Target.Class(0)).Attributions.Data);
    }

    [TestMethod]
    public void DeepLiftShap_RejectsADistributionOfTheWrongShape()
    {
        var oracle = Build(g => g.Output(g.Node("Tanh", ["x"])));
        var e = Assert.ThrowsExactly<ArgumentException>(() =>
            new DeepLiftShap(oracle).Attribute(new NdArray<float>(new float[3], 1, 3), new NdArray<float>(new float[4], 2, 2)));
        StringAssert.Contains(e.Message, "[2, 2]");
    }
}
