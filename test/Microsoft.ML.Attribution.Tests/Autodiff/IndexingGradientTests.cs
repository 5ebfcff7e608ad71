using Microsoft.ML.Attribution.Onnx;
using Microsoft.ML.Attribution.Tests.Support;
using static Microsoft.ML.Attribution.Onnx.TensorProtos;

namespace Microsoft.ML.Attribution.Tests.Autodiff;

[TestClass]
public sealed class IndexingGradientTests
{
    private static string Indices(TestGraph g, long[] values, params long[] dims) =>
        g.Node("Constant", [], TensorAttr("value", FromInt64("", values, dims)));

    private static OnnxModel Build(TestGraph g) => ActivationGradientTests.Build(g);

    [TestMethod]
    [DataRow(13)]
    [DataRow(18)]
    public void GatherElements_WithRepeatedIndices_MatchesFiniteDifferences(int opset)
    {
        // Below opset 16 the repeats add up through the one-hot product, from 16 through ScatterElements "add".
        var g = new TestGraph(opset).Input("x", "batch", 4);
        var picked = g.Node("GatherElements", ["x", Indices(g, [0, 0, 3, 1, 2, 2, 0, 3, 3], 3, 3)], IntAttr("axis", 1));
        g.Output(g.Node("Tanh", [picked]));
        GradientCheck.AssertMatchesFiniteDifferences(Build(g), new() { ["x"] = [3, 4] }, seed: opset);
    }

    [TestMethod]
    [DataRow(13, 0)]
    [DataRow(13, 1)]
    [DataRow(17, 1)]
    public void GatherNd_WithBatchDims_MatchesFiniteDifferences(int opset, int batchDims)
    {
        var g = new TestGraph(opset).Input("x", 2, 3, 4);
        // batch_dims 0: rows (i, j) of x; batch_dims 1: per batch, rows j (repeated).
        var indices = batchDims == 0 ? Indices(g, [0, 1, 1, 2, 0, 1], 3, 2) : Indices(g, [2, 2, 0, 1], 2, 2, 1);
        g.Output(g.Node("Sigmoid", [g.Node("GatherND", ["x", indices], IntAttr("batch_dims", batchDims))]));
        GradientCheck.AssertMatchesFiniteDifferences(Build(g), new() { ["x"] = [2, 3, 4] }, seed: 3);
    }

    [TestMethod]
    [DataRow(13, "none")]
    [DataRow(16, "add")]
    [DataRow(18, "none")]
    public void ScatterNd_DifferentiatesDataAndUpdates(int opset, string reduction)
    {
        var g = new TestGraph(opset).Input("data", 4, 3).Input("updates", 2, 3);
        var attrs = opset >= 16 ? new[] { StringAttr("reduction", reduction) } : [];
        var y = g.Node("ScatterND", ["data", Indices(g, [3, 1], 2, 1), "updates"], attrs);
        g.Output(g.Node("Tanh", [y]));
        GradientCheck.AssertMatchesFiniteDifferences(Build(g), new() { ["data"] = [4, 3], ["updates"] = [2, 3] }, seed: 4);
    }

    [TestMethod]
    [DataRow(13, "none")]
    [DataRow(18, "add")]
    public void ScatterElements_DifferentiatesDataAndUpdates(int opset, string reduction)
    {
        var g = new TestGraph(opset).Input("data", 3, 4).Input("updates", 3, 2);
        var attrs = opset >= 16 ? new[] { IntAttr("axis", 1), StringAttr("reduction", reduction) } : [IntAttr("axis", 1)];
        var y = g.Node("ScatterElements", ["data", Indices(g, [0, 2, 3, 1, 1, 2], 3, 2), "updates"], attrs);
        g.Output(g.Node("Tanh", [y]));
        GradientCheck.AssertMatchesFiniteDifferences(Build(g), new() { ["data"] = [3, 4], ["updates"] = [3, 2] }, seed: 5);
    }

    [TestMethod]
    [DataRow(11, 1, -1)]
    [DataRow(13, 0, 1)]
    [DataRow(13, 1, 0)]
    public void TopK_Values_MatchFiniteDifferences(int opset, int largest, int axis)
    {
        var g = new TestGraph(opset).Input("x", 3, 5);
        var outputs = g.Nodes("TopK", ["x", g.Int64s(2)], 2, IntAttr("axis", axis), IntAttr("largest", largest));
        g.Output(g.Node("Tanh", [outputs[0]]));
        GradientCheck.AssertMatchesFiniteDifferences(Build(g), new() { ["x"] = [3, 5] }, seed: 6);
    }

    [TestMethod]
    [DataRow(13)]
    [DataRow(16)]
    public void Tile_MatchesFiniteDifferences(int opset)
    {
        var g = new TestGraph(opset).Input("x", "batch", 3);
        g.Output(g.Node("Tanh", [g.Node("Tile", ["x", g.Int64s(2, 3)])]));
        GradientCheck.AssertMatchesFiniteDifferences(Build(g), new() { ["x"] = [2, 3] }, seed: 7);
    }

    [TestMethod]
    [DataRow(0, 0)]
    [DataRow(1, 0)]
    [DataRow(0, 1)]
    [DataRow(1, 1)]
    public void CumSum_ExclusiveAndReverse_MatchFiniteDifferences(int exclusive, int reverse)
    {
        var g = new TestGraph(14).Input("x", "batch", 5);
        var axis = g.Node("Constant", [], TensorAttr("value", FromInt64("", [1])));
        g.Output(g.Node("Tanh", [g.Node("CumSum", ["x", axis], IntAttr("exclusive", exclusive), IntAttr("reverse", reverse))]));
        GradientCheck.AssertMatchesFiniteDifferences(Build(g), new() { ["x"] = [2, 5] }, seed: 8);
    }

    [TestMethod]
    public void Gather_WithSymbolicGatheredAxisBelowOpset16_AddsRepeatsUp()
    {
        // The table's gathered axis is symbolic: no static one-hot width, so the flat-position path runs.
        var g = new TestGraph(13).Input("table", "rows", 3);
        g.Output(g.Node("Tanh", [g.Node("Gather", ["table", Indices(g, [2, 0, 2, 1], 2, 2)], IntAttr("axis", 0))]));
        GradientCheck.AssertMatchesFiniteDifferences(Build(g), new() { ["table"] = [4, 3] }, seed: 9);
    }

    [TestMethod]
    [DataRow(13)]
    [DataRow(18)]
    public void Pad_WithRunTimePads_MatchesFiniteDifferences(int opset)
    {
        // Pads computed in the graph (Swin pads windows this way): a graph input here, fed at run time.
        var g = new TestGraph(opset).Input("x", "batch", 3, 4).TypedInput("pads", OnnxDataType.Int64, 6);
        g.Output(g.Node("Tanh", [g.Node("Pad", ["x", "pads", g.Weight([0.5])], StringAttr("mode", "constant"))]));
        var pads = (new double[] { 0, 1, -1, 0, 2, 1 }, new[] { 6 });
        GradientCheck.AssertMatchesFiniteDifferences(Build(g), new() { ["x"] = [2, 3, 4] }, seed: 10, wrt: ["x"],
            int64Inputs: new() { ["pads"] = pads });
    }

    [TestMethod]
    [DataRow("reflect")]
    [DataRow("edge")]
    public void Pad_ReflectAndEdge_MatchFiniteDifferences(string mode)
    {
        var g = new TestGraph(13).Input("x", "batch", 2, 5);
        g.Output(g.Node("Tanh", [g.Node("Pad", ["x", g.Int64s(0, 1, 2, 0, 1, 3)], StringAttr("mode", mode))]));
        GradientCheck.AssertMatchesFiniteDifferences(Build(g), new() { ["x"] = [2, 2, 5] }, seed: 11);
    }
}
