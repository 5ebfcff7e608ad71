using Microsoft.ML.Attribution.Onnx;
using Microsoft.ML.Attribution.Tests.Support;
using static Microsoft.ML.Attribution.Onnx.TensorProtos;

namespace Microsoft.ML.Attribution.Tests.Autodiff;

[TestClass]
public sealed class ActivationAndReductionGradientTests
{
    [TestMethod]
    [DataRow("Sqrt", 0.2, 3.0)]
    [DataRow("Reciprocal", 0.5, 3.0)]
    [DataRow("Abs", -2.0, 2.0)]
    public void Unary_MatchFiniteDifferences(string op, double lo, double hi)
    {
        var g = new TestGraph().Input("x", "batch", 5);
        g.Output(g.Node(op, ["x"]));
        GradientCheck.AssertMatchesFiniteDifferences(g.Build(), new() { ["x"] = [3, 5] }, lo: lo, hi: hi);
    }

    [TestMethod]
    public void Pow_BaseAndExponent_WithBroadcasting_MatchFiniteDifferences()
    {
        var g = new TestGraph().Input("x", "batch", 4).Input("p", 4);
        g.Output(g.Node("Pow", ["x", "p"]));
        GradientCheck.AssertMatchesFiniteDifferences(g.Build(), new() { ["x"] = [3, 4], ["p"] = [4] }, lo: 0.5, hi: 2);
    }

    [TestMethod]
    public void Pow_WithAConstantExponent_AsLayerNormExports_MatchesFiniteDifferences()
    {
        var g = new TestGraph().Input("x", "batch", 4);
        g.Output(g.Node("Pow", ["x", g.Weight([2.0])]));
        GradientCheck.AssertMatchesFiniteDifferences(g.Build(), new() { ["x"] = [3, 4] });
    }

    // ORT's CPU kernels for these run float32 only: checked in float32 with a step of 1e-2 (smooth ops: O(h²) error).
    [TestMethod]
    [DataRow("Erf", "", -2.0, 2.0)]
    [DataRow("LeakyRelu", "alpha=0.1", -1.0, 1.0)]
    [DataRow("Elu", "alpha=0.7", -2.0, 2.0)]
    [DataRow("HardSigmoid", "alpha=0.3", -4.0, 4.0)]
    [DataRow("Gelu", "", -3.0, 3.0)]
    [DataRow("Gelu", "approximate=tanh", -3.0, 3.0)]
    [DataRow("Softplus", "", -3.0, 3.0)]
    public void FloatOnlyActivations_MatchFiniteDifferences(string op, string attribute, double lo, double hi)
    {
        var g = new TestGraph(opset: op == "Gelu" ? 20 : 13, elemType: OnnxDataType.Float).Input("x", "batch", 6);
        var attributes = attribute.Length == 0 ? [] : attribute.Split('=') is [var name, var value]
            ? new[] { name == "approximate" ? StringAttr(name, value) : FloatAttr(name, float.Parse(value, System.Globalization.CultureInfo.InvariantCulture)) }
            : [];
        g.Output(g.Node(op, ["x"], attributes));
        GradientCheck.AssertMatchesSpatial(g.Build(), "x", [3, 6], tolerance: 3e-3, piecewiseLinear: op is "LeakyRelu" or "HardSigmoid",
            values: (r, _) => lo + (hi - lo) * r.NextDouble());
    }

    [TestMethod]
    [DataRow(13)]
    [DataRow(9)]
    public void Clip_PassesTheGradientInsideItsBounds(int opset)
    {
        // ORT implements the attribute form (Clip-6) in float32 only.
        var g = new TestGraph(opset, opset >= 11 ? OnnxDataType.Double : OnnxDataType.Float).Input("x", "batch", 6);
        var clipped = opset >= 11 ? g.Node("Clip", ["x", g.Weight([-0.5]), g.Weight([0.5])])
            : g.Node("Clip", ["x"], FloatAttr("min", -0.5f), FloatAttr("max", 0.5f));
        g.Output(g.Node("Mul", [clipped, g.Weight([1, 2, 3, 4, 5, 6], 6)]));
        if (opset >= 11) GradientCheck.AssertMatchesFiniteDifferences(g.Build(), new() { ["x"] = [3, 6] }, lo: -1, hi: 1);
        else GradientCheck.AssertMatchesSpatial(g.Build(), "x", [3, 6], tolerance: 1e-3, piecewiseLinear: true, values: (r, _) => r.NextDouble() * 2 - 1);
    }

    [TestMethod]
    [DataRow("ReduceSum", 13, 1)]
    [DataRow("ReduceSum", 13, 0)]
    [DataRow("ReduceSum", 11, 0)]
    [DataRow("ReduceMean", 13, 1)]
    [DataRow("ReduceMean", 18, 0)]
    [DataRow("ReduceMax", 13, 1)]
    [DataRow("ReduceMax", 13, 0)]
    public void Reductions_OverSeveralAxes_InEveryOpsetForm_MatchFiniteDifferences(string op, int opset, int keepdims)
    {
        var g = new TestGraph(opset).Input("x", "batch", 3, 4);
        bool axesAsInput = op == "ReduceSum" ? opset >= 13 : opset >= 18;
        var reduced = axesAsInput
            ? g.Node(op, ["x", g.Int64s(1, -1)], IntAttr("keepdims", keepdims))
            : g.Node(op, ["x"], IntsAttr("axes", 1, -1), IntAttr("keepdims", keepdims));
        g.Output(g.Node("Tanh", [reduced]));
        GradientCheck.AssertMatchesFiniteDifferences(g.Build(), new() { ["x"] = [2, 3, 4] });
    }

    [TestMethod]
    public void ReduceMean_OverTheSymbolicBatchAxis_MatchesFiniteDifferences()
    {
        var g = new TestGraph().Input("x", "batch", 3);
        g.Output(g.Node("Mul", [g.Node("ReduceMean", ["x"], IntsAttr("axes", 0)), "x"]));
        GradientCheck.AssertMatchesFiniteDifferences(g.Build(), new() { ["x"] = [4, 3] });
    }

    [TestMethod]
    public void ReduceMax_SplitsTheGradientEquallyAmongTies()
    {
        var g = new TestGraph().Input("x", "batch", 4);
        g.Output(g.Node("ReduceMax", ["x"], IntsAttr("axes", 1)));
        var model = g.Build();
        var graph = Microsoft.ML.Attribution.Autodiff.GradientGraphBuilder.Build(model, model.Outputs[0].Name, ["x"]);
        using var session = new GradientCheck.Session(graph.Model.ToBytes());
        var result = session.Run(new() { ["x"] = ([1.0, 3.0, 3.0, 0.0], [1, 4]), [graph.SeedInput] = ([1.0], [1, 1]) }, graph.GradientOutputs);
        CollectionAssert.AreEqual(new[] { 0.0, 0.5, 0.5, 0.0 }, result[0].Data);
    }

    [TestMethod]
    [DataRow(17, -1)]
    [DataRow(17, 1)]
    public void LayerNormalization_ToInputScaleAndBias_MatchesFiniteDifferences(int opset, int axis)
    {
        // ORT runs LayerNormalization in float32 and float64; float64 keeps the check tight.
        var g = new TestGraph(opset).Input("x", "batch", 3, 4).Input("scale", axis == -1 ? new object[] { 4 } : [3, 4]).Input("bias", axis == -1 ? new object[] { 4 } : [3, 4]);
        g.Output(g.Node("LayerNormalization", ["x", "scale", "bias"], IntAttr("axis", axis), FloatAttr("epsilon", 1e-5f)));
        int[] p = axis == -1 ? [4] : [3, 4];
        GradientCheck.AssertMatchesFiniteDifferences(g.Build(), new() { ["x"] = [2, 3, 4], ["scale"] = p, ["bias"] = p }, tolerance: 1e-5);
    }
}
