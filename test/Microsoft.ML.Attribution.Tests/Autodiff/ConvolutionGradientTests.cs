using Microsoft.ML.Attribution.Autodiff;
using Microsoft.ML.Attribution.Onnx;
using Microsoft.ML.Attribution.Tests.Support;
using static Microsoft.ML.Attribution.Onnx.TensorProtos;

namespace Microsoft.ML.Attribution.Tests.Autodiff;

// ORT's CPU provider has Conv and ConvTranspose for float32 only: these checks run in float32 (see GradientCheck.AssertMatchesSpatial).
[TestClass]
public sealed class ConvolutionGradientTests
{
    private const double Tolerance = 2e-3;

    private static OnnxModel ConvModel(int opset, object[] input, long[] weight, params Onnx.Proto.AttributeProto[] attributes)
    {
        var random = new Random(7);
        var g = new TestGraph(opset, OnnxDataType.Float).Input("x", input);
        g.Output(g.Node("Conv", ["x", g.Random(random, weight), g.Random(random, weight[0])], attributes));
        return g.Build();
    }

    [TestMethod]
    [DataRow(13, new long[] { 1, 1, 1, 1 }, new long[] { 1, 1 }, new long[] { 1, 1 })]
    [DataRow(13, new long[] { 0, 1, 2, 0 }, new long[] { 2, 2 }, new long[] { 1, 1 })]
    [DataRow(13, new long[] { 1, 0, 0, 1 }, new long[] { 2, 3 }, new long[] { 2, 1 })]
    [DataRow(11, new long[] { 2, 2, 2, 2 }, new long[] { 3, 2 }, new long[] { 2, 2 })]
    [DataRow(7, new long[] { 0, 0, 0, 0 }, new long[] { 3, 3 }, new long[] { 1, 1 })]
    public void Conv2D_PadsStridesDilations_MatchesFiniteDifferences(int opset, long[] pads, long[] strides, long[] dilations)
    {
        // 7×8 inputs make the floor in the output size drop trailing rows/columns for several strides.
        var model = ConvModel(opset, [2, 3, 7, 8], [4, 3, 3, 2],
            IntsAttr("pads", pads), IntsAttr("strides", strides), IntsAttr("dilations", dilations));
        GradientCheck.AssertMatchesSpatial(model, "x", [2, 3, 7, 8], tolerance: Tolerance);
    }

    [TestMethod]
    [DataRow("SAME_UPPER", 1)]
    [DataRow("SAME_UPPER", 2)]
    [DataRow("SAME_LOWER", 2)]
    [DataRow("SAME_LOWER", 3)]
    [DataRow("VALID", 2)]
    public void Conv2D_AutoPad_MatchesFiniteDifferences(string autoPad, long stride)
    {
        var model = ConvModel(11, [1, 2, 7, 6], [3, 2, 4, 3],
            StringAttr("auto_pad", autoPad), IntsAttr("strides", stride, stride));
        GradientCheck.AssertMatchesSpatial(model, "x", [1, 2, 7, 6], tolerance: Tolerance);
    }

    [TestMethod]
    public void Conv2D_Opset7SameUpperAsCntkExports_MatchesFiniteDifferences()
    {
        var model = ConvModel(7, [1, 1, 9, 9], [2, 1, 5, 5],
            StringAttr("auto_pad", "SAME_UPPER"), IntsAttr("strides", 1, 1), IntAttr("group", 1));
        GradientCheck.AssertMatchesSpatial(model, "x", [1, 1, 9, 9], tolerance: Tolerance);
    }

    [TestMethod]
    [DataRow(2)]
    [DataRow(4)]
    public void Conv2D_Groups_IncludingDepthwise_MatchesFiniteDifferences(int group)
    {
        var model = ConvModel(13, [2, 4, 6, 5], [4, 4 / group, 3, 3], IntAttr("group", group), IntsAttr("pads", 1, 1, 1, 1), IntsAttr("strides", 2, 1));
        GradientCheck.AssertMatchesSpatial(model, "x", [2, 4, 6, 5], tolerance: Tolerance);
    }

    [TestMethod]
    [DataRow(1L, 0L)]
    [DataRow(2L, 1L)]
    [DataRow(3L, 2L)]
    public void Conv1D_MatchesFiniteDifferences(long stride, long pad)
    {
        var model = ConvModel(13, [2, 3, 11], [2, 3, 3], IntsAttr("strides", stride), IntsAttr("pads", pad, pad), IntsAttr("dilations", 2));
        GradientCheck.AssertMatchesSpatial(model, "x", [2, 3, 11], tolerance: Tolerance);
    }

    [TestMethod]
    public void Conv_SymbolicBatch_KeepsBatchInShapeInference_AndMatchesFiniteDifferences()
    {
        var model = ConvModel(13, ["batch", 3, 6, 6], [2, 3, 3, 3], IntsAttr("pads", 1, 1, 1, 1), IntsAttr("strides", 2, 2));
        Assert.AreEqual("[batch, 2, 3, 3]", model.Types[model.Outputs[0].Name].ShapeText);
        GradientCheck.AssertMatchesSpatial(model, "x", [3, 3, 6, 6], tolerance: Tolerance);
    }

    [TestMethod]
    public void Conv_BiasGradient_SumsOverBatchAndSpace()
    {
        var random = new Random(3);
        var g = new TestGraph(13, OnnxDataType.Float).Input("b", 4);
        g.Output(g.Node("Conv", [g.Random(random, 2, 3, 5, 5), g.Random(random, 4, 3, 3, 3), "b"], IntsAttr("pads", 1, 1, 1, 1)));
        GradientCheck.AssertMatchesSpatial(g.Build(), "b", [4], tolerance: Tolerance);
    }

    [TestMethod]
    public void ConvTranspose_ShapeInference_FollowsTheSpec()
    {
        var random = new Random(3);
        var g = new TestGraph(13, OnnxDataType.Float).Input("x", "n", 4, 5, 6);
        var y = g.Node("ConvTranspose", ["x", g.Random(random, 4, 3, 3, 3)], IntsAttr("strides", 2, 2), IntsAttr("pads", 1, 0, 1, 0),
            IntsAttr("output_padding", 1, 0), IntAttr("group", 2));
        g.Output(y);
        // (5−1)·2 + 1 + 3 − 2 = 10; (6−1)·2 + 0 + 3 − 0 = 13; channels 3·group.
        Assert.AreEqual("[n, 6, 10, 13]", g.Build().Types[y].ShapeText);
    }

    [TestMethod]
    public void Conv_SymbolicSpatialDims_IsRejectedNamingTheNode()
    {
        var model = ConvModel(13, ["n", 3, "h", "w"], [2, 3, 3, 3], IntsAttr("pads", 1, 1, 1, 1));
        var e = Assert.ThrowsExactly<InvalidOperationException>(() => GradientGraphBuilder.Build(model, model.Outputs[0].Name, ["x"]));
        StringAssert.Contains(e.Message, "Conv node 'Conv_2'");
        StringAssert.Contains(e.Message, "static");
    }
}
