using Microsoft.ML.Attribution.Autodiff;
using Microsoft.ML.Attribution.Onnx;
using Microsoft.ML.Attribution.Tests.Support;
using static Microsoft.ML.Attribution.Onnx.TensorProtos;

namespace Microsoft.ML.Attribution.Tests.Autodiff;

/// <summary>The stride-1 Conv input gradient built as a Conv with flipped, channel-swapped constant weights.</summary>
[TestClass]
public sealed class ConvStrideOneGradientTests
{
    [TestMethod]
    [DataRow(1, 1, new long[] { 1, 1, 1, 1 })]
    [DataRow(2, 1, new long[] { 1, 0, 2, 1 })]
    [DataRow(4, 2, new long[] { 2, 2, 2, 2 })]
    [DataRow(2, 2, new long[] { 0, 1, 1, 0 })]
    public void WeightsAsInitializer_UseTheConvPath_AndMatchFiniteDifferences(int group, int dilation, long[] pads)
    {
        // x [N, 4, 7, 6]; W [8, 4/group, 3, 3] initializer; ORT runs Conv in float32 only.
        var random = new Random(group * 10 + dilation);
        var g = new TestGraph(elemType: OnnxDataType.Float).Input("x", "batch", 4, 7, 6);
        var w = g.Random(random, 8, 4 / group, 3, 3);
        g.Output(g.Node("Conv", ["x", w], IntAttr("group", group), IntsAttr("dilations", dilation, dilation), IntsAttr("pads", pads),
            IntsAttr("kernel_shape", 3, 3)));
        var model = g.Build();
        var graph = GradientGraphBuilder.Build(model, model.Outputs[0].Name, ["x"]);
        Assert.IsFalse(graph.Model.Graph.Node.Any(n => n.OpType == "ConvTranspose"), "the stride-1 path builds a Conv");
        GradientCheck.AssertMatchesSpatial(model, "x", [2, 4, 7, 6], tolerance: 2e-3, piecewiseLinear: true);
    }

    [TestMethod]
    public void Strided_OrWeightsAsInput_KeepTheConvTransposePath()
    {
        var g = new TestGraph(elemType: OnnxDataType.Float).Input("x", "batch", 2, 6, 6);
        g.Output(g.Node("Conv", ["x", g.Random(new Random(3), 3, 2, 3, 3)], IntsAttr("strides", 2, 2), IntsAttr("kernel_shape", 3, 3)));
        var model = g.Build();
        var graph = GradientGraphBuilder.Build(model, model.Outputs[0].Name, ["x"]);
        Assert.IsTrue(graph.Model.Graph.Node.Any(n => n.OpType == "ConvTranspose"));
    }
}
