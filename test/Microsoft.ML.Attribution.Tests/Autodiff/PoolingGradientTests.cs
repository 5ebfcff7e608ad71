using Microsoft.ML.Attribution.Autodiff;
using Microsoft.ML.Attribution.Onnx;
using Microsoft.ML.Attribution.Onnx.Proto;
using Microsoft.ML.Attribution.Tests.Support;
using static Microsoft.ML.Attribution.Onnx.TensorProtos;

namespace Microsoft.ML.Attribution.Tests.Autodiff;

// MaxPool's gradient below opset 16 unfolds windows with Conv, AveragePool's folds with ConvTranspose, and ORT runs
// Conv, ConvTranspose, AveragePool and GlobalAveragePool in float32 only: pooling checks run in float32. Inputs are
// distinct values spaced ≥ 0.05 apart (a shuffled grid) so that no ±h step changes which element is a maximum.
[TestClass]
public sealed class PoolingGradientTests
{
    private const double Tolerance = 2e-3;

    private static Func<Random, int, double> Distinct(int count)
    {
        var order = Enumerable.Range(0, count).OrderBy(_ => Guid.NewGuid()).ToArray();
        return (_, i) => -1 + 0.05 * order[i];
    }

    private static void Check(int opset, string op, int[] shape, int elemType = OnnxDataType.Float, params AttributeProto[] attributes)
    {
        var g = new TestGraph(opset, elemType).Input("x", shape.Cast<object>().ToArray());
        var y = g.Node(op, ["x"], attributes);
        g.Output(g.Node("Mul", [y, y])); // a nonlinear head so that dY differs per position
        int count = shape.Aggregate(1, (a, b) => a * b);
        GradientCheck.AssertMatchesSpatial(g.Build(), "x", shape, tolerance: elemType == OnnxDataType.Float ? Tolerance : 1e-6,
            step: elemType == OnnxDataType.Float ? 1e-2 : 1e-5, values: Distinct(count));
    }

    [TestMethod]
    [DataRow(7, "non-overlapping 3×3/3 dropping a border row and column: one-hot Conv path")]
    [DataRow(10, "one-hot Conv path")]
    [DataRow(11, "non-overlapping: plain ScatterElements")]
    [DataRow(16, "ScatterElements with reduction=add")]
    public void MaxPool_NonOverlappingWithBorderDropped_MatchesFiniteDifferences(int opset, string path)
    {
        _ = path;
        Check(opset, "MaxPool", [2, 3, 8, 7], attributes: [IntsAttr("kernel_shape", 3, 3), IntsAttr("strides", 3, 3)]);
    }

    [TestMethod]
    [DataRow(7)]
    [DataRow(12)]
    [DataRow(16)]
    public void MaxPool_OverlappingWithPads_MatchesFiniteDifferences(int opset) =>
        Check(opset, "MaxPool", [2, 2, 7, 6], attributes: [IntsAttr("kernel_shape", 3, 3), IntsAttr("strides", 2, 1), IntsAttr("pads", 1, 0, 1, 1)]);

    [TestMethod]
    [DataRow(12)]
    [DataRow(16)]
    public void MaxPool_CeilModeAndDilations_MatchesFiniteDifferences(int opset)
    {
        // Along W ceil_mode adds a fifth, partial window (floor would give 4).
        Check(opset, "MaxPool", [1, 2, 8, 10], attributes: [IntsAttr("kernel_shape", 3, 3), IntsAttr("strides", 2, 2), IntAttr("ceil_mode", 1)]);
        Check(opset, "MaxPool", [1, 2, 8, 9], attributes: [IntsAttr("kernel_shape", 2, 2), IntsAttr("strides", 1, 2), IntsAttr("dilations", 2, 2), IntsAttr("pads", 1, 1, 0, 1)]);
    }

    [TestMethod]
    [DataRow(11)]
    [DataRow(16)]
    public void MaxPool_SameUpperAndStorageOrder_MatchesFiniteDifferences(int opset) =>
        Check(opset, "MaxPool", [1, 2, 7, 5], attributes: [IntsAttr("kernel_shape", 2, 2), IntsAttr("strides", 2, 2),
            StringAttr("auto_pad", "SAME_UPPER"), IntAttr("storage_order", 1)]);

    [TestMethod]
    [DataRow(12)]
    [DataRow(16)]
    public void MaxPool_Float64And1D_MatchesFiniteDifferences(int opset)
    {
        // The scatter path (opset 16) runs in float64; the one-hot path needs Conv, float32 only in ORT.
        Check(opset, "MaxPool", [2, 3, 10], elemType: opset >= 16 ? OnnxDataType.Double : OnnxDataType.Float,
            attributes: [IntsAttr("kernel_shape", 3), IntsAttr("strides", 2), IntsAttr("pads", 1, 1)]);
    }

    [TestMethod]
    public void MaxPool_WithIndicesOutputUsed_GivesGradientThroughValuesOnly()
    {
        var g = new TestGraph(12, OnnxDataType.Float).Input("x", 1, 1, 4, 4);
        var outputs = g.Nodes("MaxPool", ["x"], 2, IntsAttr("kernel_shape", 2, 2), IntsAttr("strides", 2, 2));
        g.Output(g.Node("Mul", [outputs[0], outputs[0]]));
        var model = g.Build();
        Assert.AreEqual("[1, 1, 2, 2]", model.Types[outputs[1]].ShapeText);
        Assert.AreEqual(OnnxDataType.Int64, model.Types[outputs[1]].ElemType);
        GradientCheck.AssertMatchesSpatial(model, "x", [1, 1, 4, 4], tolerance: Tolerance, step: 1e-2, values: Distinct(16));
    }

    [TestMethod]
    [DataRow(7)]
    [DataRow(11)]
    [DataRow(16)]
    public void MaxPool_Ties_GoToTheFirstMaximumOnEveryPath(int opset)
    {
        // After a Relu whole windows are 0. Every path gives dY to the first maximal tap in row-major order, as
        // ORT's Indices and PyTorch do; the window (0,1) has its maximum 2 twice, with pads 1 at the top-left.
        var g = new TestGraph(opset, OnnxDataType.Float).Input("x", 1, 1, 3, 4);
        g.Output(g.Node("MaxPool", ["x"], IntsAttr("kernel_shape", 2, 2), IntsAttr("strides", 2, 2), IntsAttr("pads", 1, 0, 0, 0)));
        var model = g.Build();
        var graph = GradientGraphBuilder.Build(model, model.Outputs[0].Name, ["x"]);
        using var session = new GradientCheck.Session(graph.Model.ToBytes());
        double[] x = [0, 0, 2, 2, 0, 0, 1, 1, 0, 0, 2, 1];
        var dx = session.Run(new() { ["x"] = (x, [1, 1, 3, 4]), [graph.SeedInput] = ([1, 2, 3, 4], [1, 1, 2, 2]) }, graph.GradientOutputs)[0].Data;
        CollectionAssert.AreEqual(new double[] { 1, 0, 2, 0, 3, 0, 0, 0, 0, 0, 4, 0 }, dx);
    }

    [TestMethod]
    [DataRow(7, 0, 0)]
    [DataRow(11, 1, 0)]
    [DataRow(11, 0, 0)]
    [DataRow(13, 1, 1)]
    [DataRow(13, 0, 1)]
    public void AveragePool_PadsCountIncludePadCeilMode_MatchesFiniteDifferences(int opset, int includePad, int ceil)
    {
        var attributes = new List<AttributeProto> { IntsAttr("kernel_shape", 3, 2), IntsAttr("strides", 2, 2), IntsAttr("pads", 1, 1, 1, 0), IntAttr("count_include_pad", includePad) };
        if (opset >= 10) attributes.Add(IntAttr("ceil_mode", ceil));
        Check(opset, "AveragePool", [2, 2, 7, 6], attributes: attributes.ToArray());
    }

    [TestMethod]
    public void AveragePool_Dilations1DAndSameLower_MatchFiniteDifferences()
    {
        Check(19, "AveragePool", [1, 2, 7, 8], attributes: [IntsAttr("kernel_shape", 2, 2), IntsAttr("dilations", 2, 1), IntsAttr("pads", 1, 0, 0, 1)]);
        Check(13, "AveragePool", [2, 2, 9], attributes: [IntsAttr("kernel_shape", 4), IntsAttr("strides", 3)]);
        Check(13, "AveragePool", [1, 1, 5, 6], attributes: [IntsAttr("kernel_shape", 2, 3), IntsAttr("strides", 2, 2), StringAttr("auto_pad", "SAME_LOWER")]);
    }

    [TestMethod]
    [DataRow(7)]
    [DataRow(13)]
    public void GlobalPools_MatchFiniteDifferences(int opset)
    {
        Check(opset, "GlobalAveragePool", [2, 3, 4, 5]);
        Check(opset, "GlobalMaxPool", [2, 3, 4, 5]);
        Check(opset, "GlobalMaxPool", [2, 3, 6]); // ORT has GlobalMaxPool for float32 only
    }

    [TestMethod]
    public void GlobalAveragePool_SymbolicSpatialDims_MatchesFiniteDifferences()
    {
        var g = new TestGraph(13, OnnxDataType.Float).Input("x", "n", 3, "h", "w");
        var y = g.Node("GlobalAveragePool", ["x"]);
        g.Output(g.Node("Mul", [y, y]));
        var model = g.Build();
        Assert.AreEqual("[n, 3, 1, 1]", model.Types[y].ShapeText);
        GradientCheck.AssertMatchesSpatial(model, "x", [2, 3, 3, 4], tolerance: Tolerance);
    }

    [TestMethod]
    public void PoolingShapes_KeepSymbolicBatch()
    {
        var g = new TestGraph(13, OnnxDataType.Float).Input("x", "batch", 3, 14, 14);
        var m = g.Nodes("MaxPool", ["x"], 2, IntsAttr("kernel_shape", 3, 3), IntsAttr("strides", 3, 3));
        var a = g.Node("AveragePool", ["x"], IntsAttr("kernel_shape", 2, 2), IntsAttr("strides", 2, 2), IntAttr("ceil_mode", 1), IntsAttr("pads", 0, 0, 1, 1));
        var gm = g.Node("GlobalMaxPool", ["x"]);
        g.Output(m[0]);
        var model = g.Build();
        Assert.AreEqual("[batch, 3, 4, 4]", model.Types[m[0]].ShapeText);
        Assert.AreEqual("[batch, 3, 4, 4]", model.Types[m[1]].ShapeText);
        // ceil(13/2)+1 = 8 windows, but the 8th would start in the end padding, which ONNX drops.
        Assert.AreEqual("[batch, 3, 7, 7]", model.Types[a].ShapeText);
        Assert.AreEqual("[batch, 3, 1, 1]", model.Types[gm].ShapeText);
    }

    [TestMethod]
    [DataRow(7, 2, "Conv")]
    [DataRow(12, 2, "ScatterElements")]
    [DataRow(12, 1, "Conv")]
    [DataRow(16, 1, "ScatterElements")]
    public void MaxPool_PathPerOpsetAndOverlap_IsTheDocumentedOne(int opset, int stride, string op)
    {
        var g = new TestGraph(opset, OnnxDataType.Float).Input("x", 1, 1, 6, 6);
        g.Output(g.Node("MaxPool", ["x"], IntsAttr("kernel_shape", 2, 2), IntsAttr("strides", stride, stride)));
        var model = g.Build();
        var nodes = GradientGraphBuilder.Build(model, model.Outputs[0].Name, ["x"]).Model.Graph.Node.Skip(1).ToList();
        Assert.IsTrue(nodes.Any(n => n.OpType == op), $"opset {opset}, stride {stride}: the backward pass uses {op}");
        var scatter = nodes.FirstOrDefault(n => n.OpType == "ScatterElements");
        if (scatter is not null)
            Assert.AreEqual(stride < 2 ? "add" : null, Attribute(scatter, "reduction")?.S.ToStringUtf8(), "reduction=add only where windows overlap");
    }
}
