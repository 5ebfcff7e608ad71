using Microsoft.ML.Attribution.Methods;
using Microsoft.ML.Attribution.Oracles;
using Microsoft.ML.Attribution.Tensors;
using Microsoft.ML.Attribution.Tests.Support;

namespace Microsoft.ML.Attribution.Tests.Methods;

/// <summary>Shapley axioms (efficiency, symmetry, dummy) and convergence of the sampling estimators.</summary>
[TestClass]
public sealed class ShapleyAxiomTests
{
    private static OnnxGradientOracle Tabular() => new(Fixtures.Case("tabular6_shapley_values").ModelPath);

    private static NdArray<float> Rows => Fixtures.Case("tabular6_shapley_values").Input;

    [TestMethod]
    public void ShapleyValues_Efficiency_SumIsOutputChangeFromBaseline()
    {
        var oracle = Tabular();
        var baseline = new NdArray<float>([0.5f, -0.5f, 0.25f, 0f, 1f, -1f], 1, 6);
        var result = new ShapleyValues(oracle).Attribute(Rows, baseline, Target.Class(2));
        var fx = oracle.Forward(Rows);
        var fb = oracle.Forward(baseline);
        for (int r = 0; r < Rows.Rows; r++)
            Assert.AreEqual(fx.Row(r)[2] - fb.Row(0)[2], result.Attributions.Row(r).ToArray().Sum(), 1e-5, $"row {r}");
    }

    /// <summary>y = tanh(x0 + x1) + 0·x2 (+ x3 alone): x0, x1 symmetric; x2 a dummy.</summary>
    private static OnnxGradientOracle SymmetricModel()
    {
        var g = new TestGraph(elemType: Microsoft.ML.Attribution.Onnx.OnnxDataType.Float).Input("x", "batch", 4);
        var s = g.Node("MatMul", ["x", g.Weight([1, 1, 0, 0], 4, 1)]);
        var t = g.Node("MatMul", ["x", g.Weight([0, 0, 0, 1], 4, 1)]);
        g.Output(g.Node("Mul", [g.Node("Tanh", [s]), g.Node("Sigmoid", [t])]));
        return new OnnxGradientOracle(g.Build(), "x", null, null);
    }

    [TestMethod]
    public void AllShapleyEstimators_Symmetry_And_Dummy()
    {
        var oracle = SymmetricModel();
        var x = new NdArray<float>([0.7f, 0.7f, 3f, -0.4f, -1.2f, -1.2f, 5f, 2f], 2, 4);
        // Exact values are symmetric exactly; the estimators only in expectation (tolerance relative to the value).
        var results = new (string Method, AttributionResult Result, double SymmetryTolerance)[]
        {
            ("shapley-values", new ShapleyValues(oracle).Attribute(x, target: Target.Class(0)), 1e-6),
            ("shapley-value-sampling", new ShapleyValueSampling(oracle).Attribute(x, target: Target.Class(0), samples: 200, seed: 1), 0.1),
            ("kernel-shap", new KernelShap(oracle).Attribute(x, target: Target.Class(0), samples: 400, seed: 1), 0.1),
        };
        foreach (var (method, result, symmetry) in results)
        {
            for (int r = 0; r < 2; r++)
            {
                var row = result.Attributions.Row(r);
                Assert.AreEqual(0f, row[2], method == "kernel-shap" ? 0.02 : 0, $"{method}: dummy, row {r}");
                Assert.AreEqual(row[0], row[1], symmetry * Math.Max(1e-3, Math.Abs(row[0])), $"{method}: symmetry, row {r}");
                Assert.AreNotEqual(0f, row[3], $"{method}: x3 matters, row {r}");
            }
        }
    }

    [TestMethod]
    public void KernelShap_WithManySamples_ConvergesToExactShapleyValues_OnEightFeatures()
    {
        // 13 wine features grouped into 8 (the fixture wine MLP), real rows.
        var c = Fixtures.Case("wine_mlp_ig_gausslegendre_50");
        var oracle = new OnnxGradientOracle(c.ModelPath);
        var rows = new NdArray<float>(c.Input.Data[..(4 * 13)], 4, 13);
        var mask = new NdArray<long>([0, 0, 1, 1, 2, 3, 3, 4, 5, 6, 6, 7, 7], 1, 13);
        var exact = new ShapleyValues(oracle).Attribute(rows, c.Baseline is { } b ? new NdArray<float>(b.Data[..13], 1, 13) : null,
            Target.Class(0), mask);
        var kernel = new KernelShap(oracle).Attribute(rows, c.Baseline is { } b2 ? new NdArray<float>(b2.Data[..13], 1, 13) : null,
            Target.Class(0), mask, samples: 3000, seed: 5);
        double scale = exact.Attributions.Data.Max(Math.Abs);
        AssertArrays.Close(exact.Attributions.Data.Select(v => (float)(v / scale)).ToArray(),
            kernel.Attributions.Data.Select(v => (float)(v / scale)).ToArray(), 0.05, "kernel SHAP vs exact (relative to the largest value)");
    }

    [TestMethod]
    public void ShapleyValueSampling_IsSeeded_AndEfficientForEveryOrdering()
    {
        var oracle = Tabular();
        var a = new ShapleyValueSampling(oracle).Attribute(Rows, target: Target.Class(1), samples: 7, seed: 9);
        var b = new ShapleyValueSampling(oracle).Attribute(Rows, target: Target.Class(1), samples: 7, seed: 9);
        CollectionAssert.AreEqual(a.Attributions.Data, b.Attributions.Data);
        var fx = oracle.Forward(Rows);
        var f0 = oracle.Forward(new NdArray<float>(new float[6], 1, 6));
        for (int r = 0; r < Rows.Rows; r++)
            Assert.AreEqual(fx.Row(r)[1] - f0.Row(0)[1], a.Attributions.Row(r).ToArray().Sum(), 1e-5, $"row {r}");
    }

    [TestMethod]
    public void BadInputs_GetClearErrors()
    {
        var oracle = Tabular();
        var e = Assert.ThrowsExactly<ArgumentException>(() => new ShapleyValues(oracle).Attribute(Rows, featureMask: new NdArray<long>(new long[5], 1, 5)));
        StringAssert.Contains(e.Message, "Feature mask shaped [1, 5]");
        var wide = new NdArray<float>(new float[2 * 21], 2, 21);
        var g = new TestGraph(elemType: Microsoft.ML.Attribution.Onnx.OnnxDataType.Float).Input("x", "batch", 21);
        g.Output(g.Node("Tanh", ["x"]));
        var e2 = Assert.ThrowsExactly<ArgumentException>(() => new ShapleyValues(new OnnxGradientOracle(g.Build(), "x", null, null)).Attribute(wide, target: Target.Class(0)));
        StringAssert.Contains(e2.Message, "ShapleyValueSampling");
        var e3 = Assert.ThrowsExactly<ArgumentException>(() => new FeaturePermutation(oracle).Attribute(new NdArray<float>(new float[6], 1, 6)));
        StringAssert.Contains(e3.Message, "at least 2 rows");
    }

    [TestMethod]
    public void BackgroundSet_GivesTheMeanOfSingleBaselineShapleyValues_AndEfficiencyAgainstTheMeanOutput()
    {
        var oracle = Tabular();
        var background = new NdArray<float>([0.5f, -0.5f, 0.25f, 0f, 1f, -1f, -1f, 0.2f, 0.3f, 0.9f, -0.4f, 0f, 0f, 0f, 0f, 0f, 0f, 0f], 3, 6);
        var withBackground = new ShapleyValues(oracle).Attribute(Rows, target: Target.Class(2), background: background);
        var mean = new double[withBackground.Attributions.Length];
        for (int b = 0; b < 3; b++)
        {
            var single = new ShapleyValues(oracle).Attribute(Rows, new NdArray<float>(background.Row(b).ToArray(), 1, 6), Target.Class(2));
            for (int i = 0; i < mean.Length; i++) mean[i] += single.Attributions.Data[i] / 3.0;
        }
        AssertArrays.Close(mean.Select(v => (float)v).ToArray(), withBackground.Attributions.Data, 1e-5, "linearity in the value function");
        var fx = oracle.Forward(Rows);
        var fb = oracle.Forward(background);
        double expected = (fb.Row(0)[2] + fb.Row(1)[2] + (double)fb.Row(2)[2]) / 3;
        for (int r = 0; r < Rows.Rows; r++)
            Assert.AreEqual(fx.Row(r)[2] - expected, withBackground.Attributions.Row(r).ToArray().Sum(), 1e-5, $"row {r}");
        var kernel = new KernelShap(oracle).Attribute(Rows, target: Target.Class(2), samples: 64, seed: 2, background: background);
        for (int r = 0; r < Rows.Rows; r++)
            Assert.AreEqual(fx.Row(r)[2] - expected, kernel.Attributions.Row(r).ToArray().Sum(), 1e-3, $"kernel SHAP efficiency, row {r}");
        var e = Assert.ThrowsExactly<ArgumentException>(() => new ShapleyValues(oracle).Attribute(Rows, background: new NdArray<float>(new float[5], 1, 5)));
        StringAssert.Contains(e.Message, "Background set shaped [1, 5]");
    }

    /// <summary>f(x) = x0·x1 + sin(x2) + x0·x2², counting the rows it is fed (not linear: every coalition's value matters).</summary>
    private sealed class CountingProductOracle : IForwardOracle
    {
        public string InputName => "x";
        public string OutputName => "y";
        public int? MaxRowsPerCall => null;
        public int RowsFed { get; private set; }

        public void ValidateInput(NdArray<float> inputs) { }

        public NdArray<float> Forward(NdArray<float> inputs)
        {
            RowsFed += inputs.Rows;
            var result = new NdArray<float>(inputs.Rows, 1);
            for (int r = 0; r < inputs.Rows; r++)
            {
                var x = inputs.Row(r);
                result.Data[r] = x[0] * x[1] + MathF.Sin(x[2]) + x[0] * x[2] * x[2];
            }
            return result;
        }
    }

    [TestMethod]
    public void ShapleyValueSampling_OverAllOrderings_EvaluatesEachCoalitionOnce_AndEqualsExactValues()
    {
        // The 6 orderings of 3 features have 6 × 4 prefixes but only the 2³ = 8 distinct coalitions; averaging over all
        // orderings is the exact Shapley value.
        int[][] orderings = [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]];
        var x = new NdArray<float>([0.5f, -1.5f, 2f, 1.25f, 0.75f, -0.5f], 2, 3);
        var baseline = new NdArray<float>([0.1f, 0.2f, -0.3f], 1, 3);
        var sampling = new CountingProductOracle();
        var sampled = new ShapleyValueSampling(sampling).Attribute(x, orderings, baseline, Target.Class(0), null, null);
        var exactOracle = new CountingProductOracle();
        var exact = new ShapleyValues(exactOracle).Attribute(x, baseline, Target.Class(0));
        // Both may run one row to learn the output's size; beyond it, the 2 rows × 8 coalitions.
        Assert.AreEqual(exactOracle.RowsFed, sampling.RowsFed, "as many rows as the exact method");
        Assert.IsLessThanOrEqualTo(2 * 8 + 1, sampling.RowsFed, "8 coalitions per row");
        for (int i = 0; i < x.Length; i++) Assert.AreEqual(exact.Attributions.Data[i], sampled.Attributions.Data[i], 1e-5, $"element {i}");
        // Rows with an empty feature in a per-row mask still credit it nothing.
        var mask = new NdArray<long>([0, 1, 2, 0, 0, 2], 2, 3);
        var masked = new ShapleyValueSampling(new CountingProductOracle()).Attribute(x, orderings, baseline, Target.Class(0), mask, null);
        var maskedExact = new ShapleyValues(new CountingProductOracle()).Attribute(x, baseline, Target.Class(0), mask);
        for (int i = 0; i < x.Length; i++) Assert.AreEqual(maskedExact.Attributions.Data[i], masked.Attributions.Data[i], 1e-5, $"masked element {i}");
    }
}
