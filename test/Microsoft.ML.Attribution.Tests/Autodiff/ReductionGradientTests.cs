using Microsoft.ML.Attribution.Autodiff;
using Microsoft.ML.Attribution.Tests.Support;
using static Microsoft.ML.Attribution.Onnx.TensorProtos;

namespace Microsoft.ML.Attribution.Tests.Autodiff;

[TestClass]
public sealed class ReductionGradientTests
{
    /// <summary>A reduction node in the opset's form: axes as an attribute, or as an input from opset 13/18.</summary>
    private static string Reduce(TestGraph g, string op, int opset, string x, long[]? axes, int keepDims, int noop = -1)
    {
        bool axesInput = opset >= (op == "ReduceSum" ? 13 : 18);
        var attrs = new List<Onnx.Proto.AttributeProto> { IntAttr("keepdims", keepDims) };
        if (noop >= 0) attrs.Add(IntAttr("noop_with_empty_axes", noop));
        if (axesInput) return g.Node(op, axes is null ? [x] : [x, g.Int64s(axes)], attrs.ToArray());
        if (axes is not null) attrs.Add(IntsAttr("axes", axes));
        return g.Node(op, [x], attrs.ToArray());
    }

    [TestMethod]
    [DataRow("ReduceSum", 11, new long[] { 1 }, 1)]
    [DataRow("ReduceSum", 11, new long[] { -1, 1 }, 0)]
    [DataRow("ReduceSum", 13, new long[] { 2 }, 0)]
    [DataRow("ReduceSum", 13, new long[] { 0, 2 }, 1)]
    [DataRow("ReduceSum", 13, null, 0)]
    [DataRow("ReduceMean", 13, new long[] { 1 }, 0)]
    [DataRow("ReduceMean", 17, new long[] { -1 }, 1)]
    [DataRow("ReduceMean", 17, null, 0)]
    [DataRow("ReduceMean", 18, new long[] { 1, 2 }, 0)]
    [DataRow("ReduceMean", 18, new long[] { -2 }, 1)]
    [DataRow("ReduceMax", 13, new long[] { 1 }, 0)]
    [DataRow("ReduceMax", 17, null, 1)]
    [DataRow("ReduceMax", 18, new long[] { 2 }, 1)]
    [DataRow("ReduceMax", 18, new long[] { 0, -1 }, 0)]
    [DataRow("ReduceMin", 13, new long[] { 2 }, 0)]
    [DataRow("ReduceMin", 18, new long[] { 1 }, 1)]
    public void Reductions_InEveryAxesForm_MatchFiniteDifferences(string op, int opset, long[]? axes, int keepDims)
    {
        var g = new TestGraph(opset).Input("x", "batch", 3, 4);
        var reduced = Reduce(g, op, opset, "x", axes, keepDims);
        g.Output(g.Node("Tanh", [reduced]));
        GradientCheck.AssertMatchesFiniteDifferences(ActivationGradientTests.Build(g), new() { ["x"] = [2, 3, 4] }, seed: opset);
    }

    [TestMethod]
    [DataRow("ReduceSum", 13)]
    [DataRow("ReduceMean", 18)]
    [DataRow("ReduceMax", 18)]
    public void NoopWithEmptyAxes_IsTheIdentity(string op, int opset)
    {
        var g = new TestGraph(opset).Input("x", "batch", 3);
        g.Output(g.Node("Tanh", [Reduce(g, op, opset, "x", null, 1, noop: 1)]));
        GradientCheck.AssertMatchesFiniteDifferences(ActivationGradientTests.Build(g), new() { ["x"] = [2, 3] });
    }

    [TestMethod]
    [DataRow(13)]
    [DataRow(18)]
    public void ReduceMax_SplitsTheGradientEquallyAmongTies_AsPyTorchAmax(int opset)
    {
        // torch.amax(x, 1).backward() on [1, 3, 3, 2] gives [0, ½, ½, 0]; a unique maximum takes all of it.
        var g = new TestGraph(opset).Input("x", 2, 4);
        g.Output(Reduce(g, "ReduceMax", opset, "x", [1], 0));
        var model = ActivationGradientTests.Build(g);
        var graph = GradientGraphBuilder.Build(model, model.Outputs[0].Name, ["x"]);
        using var session = new GradientCheck.Session(graph.Model.ToBytes());
        var dx = session.Run(new() { ["x"] = ([1, 3, 3, 2, 5, 0, 1, 2], [2, 4]), [graph.SeedInput] = ([1, 2], [2]) }, graph.GradientOutputs)[0];
        CollectionAssert.AreEqual(new[] { 0, 0.5, 0.5, 0, 2, 0, 0, 0 }, dx.Data);
    }

    [TestMethod]
    public void ReduceMean_OverASymbolicAxis_CountsAtRunTime()
    {
        // The mean over the sequence axis, of unknown length when the graph is built.
        var g = new TestGraph(17).Input("x", "batch", "seq", 3);
        g.Output(g.Node("Tanh", [Reduce(g, "ReduceMean", 17, "x", [1], 0)]));
        GradientCheck.AssertMatchesFiniteDifferences(ActivationGradientTests.Build(g), new() { ["x"] = [2, 5, 3] });
    }

    [TestMethod]
    [DataRow(17)]
    [DataRow(7)]
    public void ReductionGradients_JoinOtherContributions_WithoutLosingTheirShape(int opset)
    {
        // x reaches y three ways: directly (full shape), through its mean and through its sum over axis 1 (broadcast
        // gradients). From opset 8 the broadcast ones are summed unexpanded; opset 7's Sum cannot broadcast.
        var g = new TestGraph(opset).Input("x", "batch", 4);
        var mean = Reduce(g, "ReduceMean", opset, "x", [1], 1);
        var sum = Reduce(g, "ReduceSum", opset, "x", [1], 1);
        g.Output(g.Node("Tanh", [g.Node("Mul", [g.Node("Add", ["x", mean]), sum])]));
        GradientCheck.AssertMatchesFiniteDifferences(ActivationGradientTests.Build(g), new() { ["x"] = [3, 4] });
    }

    [TestMethod]
    [DataRow(7, "Tile")]
    [DataRow(17, "Expand")]
    public void OnlyBroadcastContributions_AreExpandedOnce(int opset, string expandOp)
    {
        // dy/dx comes only from reductions: their sum broadcasts, and one Expand gives it x's shape.
        var g = new TestGraph(opset).Input("x", "batch", 4);
        var mean = Reduce(g, "ReduceMean", opset, "x", [1], 1);
        var sum = Reduce(g, "ReduceSum", opset, "x", [1], 1);
        g.Output(g.Node("Tanh", [g.Node("Add", [mean, sum])]));
        var model = ActivationGradientTests.Build(g);
        var graph = GradientGraphBuilder.Build(model, model.Outputs[0].Name, ["x"]);
        Assert.AreEqual(opset >= 8 ? 1 : 2, graph.Model.Graph.Node.Count(n => n.OpType == expandOp),
            "one Expand for the broadcast sum; opset 7's Sum cannot broadcast, so each term is tiled");
        GradientCheck.AssertMatchesFiniteDifferences(model, new() { ["x"] = [3, 4] });
    }

    [TestMethod]
    [DataRow("ReduceMean", 17, 0)]
    [DataRow("ReduceSum", 13, 0)]
    [DataRow("ReduceMean", 17, -1)]
    [DataRow("ReduceSum", 7, -1)]
    public void BroadcastGradients_WithoutKeepdimsOrOverAllAxes_JoinFullShapeOnes(string op, int opset, int axis)
    {
        // axis −1 here means every axis (no axes given): the reduced gradient is [1, 1] before it broadcasts.
        var g = new TestGraph(opset).Input("x", "batch", 4);
        var reduced = Reduce(g, op, opset, "x", axis >= 0 ? [1] : null, keepDims: 0);
        var back = axis >= 0 ? g.Node("Unsqueeze", opset >= 13 ? [reduced, g.Int64s(1)] : [reduced], opset >= 13 ? [] : [IntsAttr("axes", 1)]) : reduced;
        g.Output(g.Node("Tanh", [g.Node("Mul", ["x", back])]));
        GradientCheck.AssertMatchesFiniteDifferences(ActivationGradientTests.Build(g), new() { ["x"] = [3, 4] }, seed: opset);
    }

    [TestMethod]
    public void Opset7Tiling_OfAnEmptyBatch_GivesAnEmptyGradient()
    {
        var g = new TestGraph(7).Input("x", "batch", 4);
        g.Output(g.Node("Tanh", [Reduce(g, "ReduceSum", 7, "x", [1], 1)]));
        var model = ActivationGradientTests.Build(g);
        var graph = GradientGraphBuilder.Build(model, model.Outputs[0].Name, ["x"]);
        using var session = new GradientCheck.Session(graph.Model.ToBytes());
        var result = session.Run(new() { ["x"] = ([], [0, 4]), [graph.SeedInput] = ([], [0, 1]) }, graph.GradientOutputs);
        CollectionAssert.AreEqual(new[] { 0, 4 }, result[0].Shape);
    }
}
