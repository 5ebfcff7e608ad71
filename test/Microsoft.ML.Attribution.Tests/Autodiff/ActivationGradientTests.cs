using Microsoft.ML.Attribution.Autodiff;
using Microsoft.ML.Attribution.Onnx;
using Microsoft.ML.Attribution.Tests.Support;
using static Microsoft.ML.Attribution.Onnx.TensorProtos;

namespace Microsoft.ML.Attribution.Tests.Autodiff;

[TestClass]
public sealed class ActivationGradientTests
{
    /// <summary>TestGraph writes IR 7; ONNX Runtime wants a newer IR for opsets past 15.</summary>
    internal static OnnxModel Build(TestGraph g)
    {
        var model = g.Build();
        if (model.Opset > 15)
        {
            var proto = model.CloneProto();
            proto.IrVersion = 9;
            return new OnnxModel(proto);
        }
        return model;
    }

    private static double[] Gradient(OnnxModel model, double[] x, int[] shape)
    {
        var graph = GradientGraphBuilder.Build(model, model.Outputs[0].Name, ["x"]);
        using var session = new GradientCheck.Session(graph.Model.ToBytes());
        return session.Run(new() { ["x"] = (x, shape), [graph.SeedInput] = (x.Select(_ => 1.0).ToArray(), shape) }, graph.GradientOutputs)[0].Data;
    }

    private static double[] Gradient32(OnnxModel model, double[] x, int[] shape)
    {
        var graph = GradientGraphBuilder.Build(model, model.Outputs[0].Name, ["x"]);
        using var session = new GradientCheck.Session(graph.Model.ToBytes());
        return session.Run(new() { ["x"] = (x, shape), [graph.SeedInput] = (x.Select(_ => 1.0).ToArray(), shape) }, graph.GradientOutputs)[0].Data;
    }

    [TestMethod]
    [DataRow("Sqrt", 0.2, 3.0)]
    [DataRow("Reciprocal", 0.5, 2.0)]
    [DataRow("Abs", -2.0, 2.0)]
    public void Unary_MatchesFiniteDifferences(string op, double lo, double hi)
    {
        var g = new TestGraph().Input("x", "batch", 5);
        g.Output(g.Node(op, ["x"]));
        GradientCheck.AssertMatchesFiniteDifferences(g.Build(), new() { ["x"] = [3, 5] }, lo: lo, hi: hi, seed: 3);
    }

    [TestMethod]
    public void Reciprocal_OfNegativeValues_MatchesFiniteDifferences()
    {
        var g = new TestGraph().Input("x", "batch", 5);
        g.Output(g.Node("Reciprocal", ["x"]));
        GradientCheck.AssertMatchesFiniteDifferences(g.Build(), new() { ["x"] = [3, 5] }, lo: -2, hi: -0.5);
    }

    [TestMethod]
    public void Erf_MatchesFiniteDifferences()
    {
        // ONNX Runtime's CPU Erf kernel is float32 only: float32 check, step 1e-2, tolerance 1e-3 + 1%.
        var g = new TestGraph(elemType: OnnxDataType.Float).Input("x", "batch", 5);
        g.Output(g.Node("Erf", ["x"]));
        GradientCheck.AssertMatchesFloat32(g.Build(), new() { ["x"] = [3, 5] }, lo: -2, hi: 2);
    }

    [TestMethod]
    public void Abs_HasZeroGradientAtZero_AsPyTorch()
    {
        var g = new TestGraph().Input("x", "batch", 3);
        g.Output(g.Node("Abs", ["x"]));
        CollectionAssert.AreEqual(new[] { -1.0, 0.0, 1.0 }, Gradient(g.Build(), [-2, 0, 3], [1, 3]));
    }

    [TestMethod]
    [DataRow(2.0)]
    [DataRow(3.0)]
    [DataRow(1.0)]
    [DataRow(0.5)]
    [DataRow(-1.5)]
    public void Pow_WithConstantExponent_MatchesFiniteDifferences(double p)
    {
        var g = new TestGraph().Input("x", "batch", 4);
        g.Output(g.Node("Pow", ["x", g.Weight([p])]));
        GradientCheck.AssertMatchesFiniteDifferences(g.Build(), new() { ["x"] = [2, 4] }, lo: 0.3, hi: 2);
    }

    [TestMethod]
    public void Pow_WithAFloatExponentOfTwo_OnNegativeInputs_AsLayerNormExports_MatchesFiniteDifferences()
    {
        // Exporters write the variance's square as Pow(x − mean, 2.0): a float exponent on inputs of either sign.
        var g = new TestGraph().Input("x", "batch", 4);
        g.Output(g.Node("Pow", ["x", g.Weight([2.0])]));
        GradientCheck.AssertMatchesFiniteDifferences(g.Build(), new() { ["x"] = [3, 4] }, lo: -2, hi: 2);
    }

    [TestMethod]
    public void Pow_WithIntegerConstantExponent_OnNegativeBase_MatchesFiniteDifferences()
    {
        // The exponent may have another type than the base (int64 here, as a Constant node).
        var g = new TestGraph().Input("x", "batch", 4);
        var p = g.Node("Constant", [], TensorAttr("value", FromInt64("", [3])));
        g.Output(g.Node("Pow", ["x", p]));
        GradientCheck.AssertMatchesFiniteDifferences(g.Build(), new() { ["x"] = [2, 4] }, lo: -2, hi: 2);
    }

    [TestMethod]
    public void Pow_WithBroadcastTensorExponent_DifferentiatesBaseAndExponent()
    {
        var g = new TestGraph().Input("x", "batch", 3).Input("p", 3);
        g.Output(g.Node("Pow", ["x", "p"]));
        GradientCheck.AssertMatchesFiniteDifferences(g.Build(), new() { ["x"] = [2, 3], ["p"] = [3] }, lo: 0.3, hi: 2);
    }

    [TestMethod]
    public void Pow_ExponentGradient_IsZeroWhereTheBaseIsNotPositive()
    {
        var g = new TestGraph().Input("x", 3).Input("p", 3);
        g.Output(g.Node("Pow", ["x", "p"]));
        var model = g.Build();
        var graph = GradientGraphBuilder.Build(model, model.Outputs[0].Name, ["p"]);
        using var session = new GradientCheck.Session(graph.Model.ToBytes());
        var dp = session.Run(new() { ["x"] = ([-2, 0, 2], [3]), ["p"] = ([2, 2, 2], [3]), [graph.SeedInput] = ([1, 1, 1], [3]) },
            graph.GradientOutputs)[0].Data;
        Assert.AreEqual(0.0, dp[0]);
        Assert.AreEqual(0.0, dp[1]);
        Assert.AreEqual(4 * Math.Log(2), dp[2], 1e-12);
    }

    [TestMethod]
    [DataRow("none")]
    [DataRow("tanh")]
    [DataRow(null)]
    public void Gelu_Opset20_BothApproximations_MatchFiniteDifferences(string? approximate)
    {
        // Gelu (opset 20) runs only in float32 on ONNX Runtime's CPU provider: float32 check, step 1e-2; smooth, so the
        // step's O(h²) error allows 3e-3·max(1, |d|). No attribute means "none".
        var g = new TestGraph(opset: 20, elemType: OnnxDataType.Float).Input("x", "batch", 6);
        g.Output(approximate is null ? g.Node("Gelu", ["x"]) : g.Node("Gelu", ["x"], StringAttr("approximate", approximate)));
        GradientCheck.AssertMatchesSpatial(Build(g), "x", [3, 6], tolerance: 3e-3, values: (r, _) => -3 + 6 * r.NextDouble());
    }

    [TestMethod]
    public void Gelu_TanhAndExactDerivatives_Differ()
    {
        // Guards against both branches emitting the same formula: the rule must use the form the node asks for.
        double Derivative(string approximate, double x)
        {
            var g = new TestGraph(opset: 20, elemType: OnnxDataType.Float).Input("x", 1);
            g.Output(g.Node("Gelu", ["x"], StringAttr("approximate", approximate)));
            var model = Build(g);
            var graph = GradientGraphBuilder.Build(model, model.Outputs[0].Name, ["x"]);
            using var session = new GradientCheck.Session(graph.Model.ToBytes());
            return session.Run(new() { ["x"] = ([x], [1]), [graph.SeedInput] = ([1.0], [1]) }, graph.GradientOutputs)[0].Data[0];
        }
        double exact = Derivative("none", -2), tanh = Derivative("tanh", -2);
        // Φ(−2) − 2φ(−2) = 0.02275 − 0.10798 = −0.08523.
        Assert.AreEqual(-0.0852318, exact, 1e-5);
        Assert.AreNotEqual(exact, tanh, 1e-5);
    }

    [TestMethod]
    [DataRow("LeakyRelu", 0.01, double.NaN)]
    [DataRow("LeakyRelu", 0.3, double.NaN)]
    [DataRow("Elu", 1.0, double.NaN)]
    [DataRow("Elu", 0.5, double.NaN)]
    [DataRow("HardSigmoid", 0.2, 0.5)]
    [DataRow("HardSigmoid", 1.0 / 6, 0.5)]
    public void PiecewiseActivations_WithAttributes_MatchFiniteDifferences(string op, double alpha, double beta)
    {
        // ONNX Runtime's CPU LeakyRelu, Elu and HardSigmoid are float32 only: float32 check, step 1e-2, 1e-3 + 1%.
        var g = new TestGraph(elemType: OnnxDataType.Float).Input("x", "batch", 8);
        var attrs = new List<Onnx.Proto.AttributeProto> { FloatAttr("alpha", (float)alpha) };
        if (!double.IsNaN(beta)) attrs.Add(FloatAttr("beta", (float)beta));
        g.Output(g.Node(op, ["x"], attrs.ToArray()));
        GradientCheck.AssertMatchesFloat32(g.Build(), new() { ["x"] = [3, 8] }, lo: -5, hi: 5, seed: 4);
    }

    [TestMethod]
    [DataRow("LeakyRelu")]
    [DataRow("Elu")]
    [DataRow("HardSigmoid")]
    public void PiecewiseActivations_WithDefaultAttributes_MatchFiniteDifferences(string op)
    {
        // float32 only on ONNX Runtime's CPU provider, as above.
        var g = new TestGraph(elemType: OnnxDataType.Float).Input("x", "batch", 8);
        g.Output(g.Node(op, ["x"]));
        GradientCheck.AssertMatchesFloat32(g.Build(), new() { ["x"] = [3, 8] }, lo: -5, hi: 5, seed: 6);
    }

    [TestMethod]
    public void Softplus_MatchesFiniteDifferences()
    {
        // float32 only on ONNX Runtime's CPU provider; smooth, so the float32 step adds O(h²) error only: 3e-3·max(1, |d|).
        var g = new TestGraph(elemType: OnnxDataType.Float).Input("x", "batch", 6);
        g.Output(g.Node("Softplus", ["x"]));
        GradientCheck.AssertMatchesSpatial(g.Build(), "x", [3, 6], tolerance: 3e-3, values: (r, _) => -3 + 6 * r.NextDouble());
    }

    [TestMethod]
    public void Kinks_FollowPyTorch()
    {
        // leaky_relu and elu take the negative branch at 0; hardsigmoid's slope is 0 at the saturation points.
        var leaky = new TestGraph(elemType: OnnxDataType.Float).Input("x", "batch", 2);
        leaky.Output(leaky.Node("LeakyRelu", ["x"], FloatAttr("alpha", 0.25f)));
        CollectionAssert.AreEqual(new[] { 0.25, 1.0 }, Gradient32(leaky.Build(), [0, 1], [1, 2]));
        var elu = new TestGraph(elemType: OnnxDataType.Float).Input("x", "batch", 2);
        elu.Output(elu.Node("Elu", ["x"], FloatAttr("alpha", 0.5f)));
        CollectionAssert.AreEqual(new[] { 0.5, 1.0 }, Gradient32(elu.Build(), [0, 1], [1, 2]));
        var hard = new TestGraph(elemType: OnnxDataType.Float).Input("x", "batch", 3);
        hard.Output(hard.Node("HardSigmoid", ["x"], FloatAttr("alpha", 0.25f), FloatAttr("beta", 0.5f)));
        CollectionAssert.AreEqual(new[] { 0.0, 0.25, 0.0 }, Gradient32(hard.Build(), [-2, 0, 2], [1, 3]));
    }

    [TestMethod]
    [DataRow(10, true, true)]
    [DataRow(10, true, false)]
    [DataRow(10, false, false)]
    [DataRow(11, true, true)]
    [DataRow(11, true, false)]
    [DataRow(11, false, true)]
    [DataRow(11, false, false)]
    [DataRow(13, true, true)]
    [DataRow(13, false, true)]
    public void Clip_BoundsAsAttributesOrOptionalInputs_MatchFiniteDifferences(int opset, bool hasMin, bool hasMax)
    {
        // ONNX Runtime runs Clip in float64 only from opset 12: float32 check (step 1e-2, 1e-3 + 1%) before that.
        bool float32 = opset < 12;
        var g = new TestGraph(opset, float32 ? OnnxDataType.Float : OnnxDataType.Double).Input("x", "batch", 10);
        string clipped;
        if (opset < 11)
        {
            var attrs = new List<Onnx.Proto.AttributeProto>();
            if (hasMin) attrs.Add(FloatAttr("min", -0.5f));
            if (hasMax) attrs.Add(FloatAttr("max", 0.7f));
            clipped = g.Node("Clip", ["x"], attrs.ToArray());
        }
        else
        {
            var inputs = new List<string> { "x", hasMin ? g.Weight([-0.5]) : "" };
            if (hasMax) inputs.Add(g.Weight([0.7]));
            clipped = g.Node("Clip", inputs.ToArray());
        }
        // The Mul makes a passed-through gradient distinguishable from a dropped one.
        g.Output(g.Node("Mul", [clipped, g.Weight([3.0])]));
        if (float32) GradientCheck.AssertMatchesFloat32(g.Build(), new() { ["x"] = [3, 10] }, lo: -1.5, hi: 1.5, seed: 8);
        else GradientCheck.AssertMatchesFiniteDifferences(g.Build(), new() { ["x"] = [3, 10] }, lo: -1.5, hi: 1.5, seed: 8);
    }

    [TestMethod]
    public void Clip_PassesTheGradientAtTheBounds_AsPyTorchClamp()
    {
        var g = new TestGraph(opset: 13).Input("x", "batch", 4);
        g.Output(g.Node("Clip", ["x", g.Weight([-1.0]), g.Weight([1.0])]));
        CollectionAssert.AreEqual(new[] { 0.0, 1.0, 1.0, 0.0 }, Gradient(g.Build(), [-2, -1, 1, 2], [1, 4]));
    }
}
