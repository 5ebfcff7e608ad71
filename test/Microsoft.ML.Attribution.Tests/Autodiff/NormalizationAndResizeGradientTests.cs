using Microsoft.ML.Attribution.Autodiff;
using Microsoft.ML.Attribution.Onnx;
using Microsoft.ML.Attribution.Tests.Support;
using static Microsoft.ML.Attribution.Onnx.TensorProtos;

namespace Microsoft.ML.Attribution.Tests.Autodiff;

[TestClass]
public sealed class NormalizationAndResizeGradientTests
{
    private static string Floats(TestGraph g, params double[] values) => g.Weight(values, values.Length);

    [TestMethod]
    [DataRow(7, 4)]
    [DataRow(9, 3)]
    [DataRow(15, 4)]
    public void BatchNormalization_Inference_MatchesFiniteDifferencesInFloat64(int opset, int rank)
    {
        int[] shape = rank == 4 ? [2, 3, 4, 5] : [2, 3, 6];
        var g = new TestGraph(opset).Input("x", shape.Cast<object>().ToArray());
        var y = g.Node("BatchNormalization", ["x", Floats(g, 1.5, -0.5, 2), Floats(g, 0.1, 0.2, -0.3), Floats(g, 0.3, -0.2, 0.1), Floats(g, 0.5, 2, 0.25)],
            FloatAttr("epsilon", 1e-3f));
        g.Output(g.Node("Mul", [y, y]));
        GradientCheck.AssertMatchesFiniteDifferences(g.Build(), new() { ["x"] = shape });
    }

    [TestMethod]
    public void BatchNormalization_InTrainingMode_IsRejectedNamingTheNode()
    {
        var g = new TestGraph(15).Input("x", 2, 3, 4);
        g.Output(g.Node("BatchNormalization", ["x", Floats(g, 1, 1, 1), Floats(g, 0, 0, 0), Floats(g, 0, 0, 0), Floats(g, 1, 1, 1)], IntAttr("training_mode", 1)));
        var model = g.Build();
        var e = Assert.ThrowsExactly<InvalidOperationException>(() => GradientGraphBuilder.Build(model, model.Outputs[0].Name, ["x"]));
        StringAssert.Contains(e.Message, "BatchNormalization_4");
        StringAssert.Contains(e.Message, "training mode");
    }

    [TestMethod]
    public void Pad_Opset7AttributeForm_MatchesFiniteDifferences()
    {
        var g = new TestGraph(7).Input("x", 2, 3, 4);
        var y = g.Node("Pad", ["x"], IntsAttr("pads", 0, 1, 2, 0, 2, 1), FloatAttr("value", 0.5f));
        g.Output(g.Node("Mul", [y, y]));
        var model = g.Build();
        Assert.AreEqual("[2, 6, 7]", model.Types[y].ShapeText);
        GradientCheck.AssertMatchesFiniteDifferences(model, new() { ["x"] = [2, 3, 4] });
    }

    [TestMethod]
    public void Pad_InputFormWithNegativePadsAndSymbolicBatch_MatchesFiniteDifferences()
    {
        var g = new TestGraph(13).Input("x", "n", 3, 5, 4);
        var y = g.Node("Pad", ["x", g.Int64s(0, 0, -1, 2, 0, 1, 1, -2), Floats(g, 0.25)]);
        g.Output(g.Node("Mul", [y, y]));
        var model = g.Build();
        Assert.AreEqual("[n, 4, 5, 4]", model.Types[y].ShapeText);
        GradientCheck.AssertMatchesFiniteDifferences(model, new() { ["x"] = [2, 3, 5, 4] });
    }

    [TestMethod]
    public void Pad_Opset18Axes_MatchesFiniteDifferences()
    {
        var g = new TestGraph(18).Input("x", 2, 3, 4);
        var y = g.Node("Pad", ["x", g.Int64s(1, 2, 0, 3), "", g.Int64s(-1, 1)]);
        g.Output(g.Node("Mul", [y, y]));
        var model = g.Build();
        Assert.AreEqual("[2, 8, 5]", model.Types[y].ShapeText);
        GradientCheck.AssertMatchesFiniteDifferences(model, new() { ["x"] = [2, 3, 4] });
    }

    [TestMethod]
    public void Pad_ReflectModeBeforeOpset11_IsRejectedNamingNodeAndMode()
    {
        // From opset 11 reflect and edge padding have a gradient (IndexingGradientTests); opset 2's attribute form does not.
        var g = new TestGraph(10).Input("x", 2, 3);
        g.Output(g.Node("Pad", ["x"], IntsAttr("pads", 0, 1, 0, 1), StringAttr("mode", "reflect")));
        var model = g.Build();
        var e = Assert.ThrowsExactly<InvalidOperationException>(() => GradientGraphBuilder.Build(model, model.Outputs[0].Name, ["x"]));
        StringAssert.Contains(e.Message, "Pad_0");
        StringAssert.Contains(e.Message, "reflect");
    }

    // ORT's Resize and Upsample have no float64 kernel: checked in float32.
    [TestMethod]
    [DataRow(13, "linear", "half_pixel", "round_prefer_floor", 2.0, 2.0)]
    [DataRow(13, "linear", "align_corners", "round_prefer_floor", 1.5, 3.0)]
    [DataRow(13, "linear", "pytorch_half_pixel", "round_prefer_floor", 0.5, 1.0)]
    [DataRow(13, "linear", "asymmetric", "round_prefer_floor", 1.75, 0.6)]
    [DataRow(13, "nearest", "asymmetric", "floor", 2.0, 3.0)]
    [DataRow(13, "nearest", "half_pixel", "round_prefer_ceil", 1.5, 0.5)]
    [DataRow(13, "nearest", "half_pixel", "round_prefer_floor", 2.5, 1.0)]
    [DataRow(11, "nearest", "tf_half_pixel_for_nn", "ceil", 1.5, 2.0)]
    [DataRow(19, "linear", "half_pixel", "round_prefer_floor", 2.0, 0.75)]
    public void Resize_Scales_MatchesFiniteDifferences(int opset, string mode, string transform, string nearest, double sh, double sw)
    {
        var g = new TestGraph(opset, OnnxDataType.Float).Input("x", "n", 2, 4, 5);
        var scales = g.Weight([1, 1, sh, sw], 4);
        var roi = opset < 13 ? g.Weight([], 0) : ""; // roi is optional from opset 13
        var y = g.Node("Resize", ["x", roi, scales], StringAttr("mode", mode),
            StringAttr("coordinate_transformation_mode", transform), StringAttr("nearest_mode", nearest));
        g.Output(g.Node("Mul", [y, y]));
        var model = g.Build();
        Assert.AreEqual($"[n, 2, {(long)Math.Floor(4 * sh)}, {(long)Math.Floor(5 * sw)}]", model.Types[y].ShapeText);
        GradientCheck.AssertMatchesSpatial(model, "x", [2, 2, 4, 5], tolerance: 2e-3);
    }

    [TestMethod]
    public void Resize_Sizes_MatchesFiniteDifferences()
    {
        var g = new TestGraph(13, OnnxDataType.Float).Input("x", 1, 2, 5, 4);
        var y = g.Node("Resize", ["x", "", "", g.Int64s(1, 2, 7, 9)], StringAttr("mode", "linear"));
        g.Output(g.Node("Mul", [y, y]));
        var model = g.Build();
        Assert.AreEqual("[1, 2, 7, 9]", model.Types[y].ShapeText);
        GradientCheck.AssertMatchesSpatial(model, "x", [1, 2, 5, 4], tolerance: 2e-3);
    }

    [TestMethod]
    [DataRow(10, "nearest")]
    [DataRow(10, "linear")]
    public void Resize_Opset10_MatchesFiniteDifferences(int opset, string mode)
    {
        var g = new TestGraph(opset, OnnxDataType.Float).Input("x", 1, 2, 4, 6);
        var y = g.Node("Resize", ["x", g.Weight([1, 1, 2, 0.5], 4)], StringAttr("mode", mode));
        g.Output(g.Node("Mul", [y, y]));
        GradientCheck.AssertMatchesSpatial(g.Build(), "x", [1, 2, 4, 6], tolerance: 2e-3);
    }

    [TestMethod]
    [DataRow(7)]
    [DataRow(9)]
    public void Upsample_MatchesFiniteDifferences(int opset)
    {
        var g = new TestGraph(opset, OnnxDataType.Float).Input("x", 1, 2, 3, 4);
        var y = opset < 9
            ? g.Node("Upsample", ["x"], FloatsAttr("scales", 1, 1, 2, 3), StringAttr("mode", "nearest"))
            : g.Node("Upsample", ["x", g.Weight([1, 1, 2, 1.5], 4)], StringAttr("mode", "linear"));
        g.Output(g.Node("Mul", [y, y]));
        var model = g.Build();
        Assert.AreEqual(opset < 9 ? "[1, 2, 6, 12]" : "[1, 2, 6, 6]", model.Types[y].ShapeText);
        GradientCheck.AssertMatchesSpatial(model, "x", [1, 2, 3, 4], tolerance: 2e-3);
    }

    [TestMethod]
    [DataRow("cubic", "half_pixel")]
    [DataRow("linear", "tf_crop_and_resize")]
    public void Resize_UnsupportedModes_AreRejectedNamingNodeAndMode(string mode, string transform)
    {
        var g = new TestGraph(13, OnnxDataType.Float).Input("x", 1, 1, 4, 4);
        g.Output(g.Node("Resize", ["x", "", g.Weight([1, 1, 2, 2], 4)], StringAttr("mode", mode),
            StringAttr("coordinate_transformation_mode", transform)));
        var model = g.Build();
        var e = Assert.ThrowsExactly<InvalidOperationException>(() => GradientGraphBuilder.Build(model, model.Outputs[0].Name, ["x"]));
        StringAssert.Contains(e.Message, "Resize_1");
        StringAssert.Contains(e.Message, mode == "cubic" ? mode : transform);
    }

    private static Onnx.Proto.AttributeProto FloatsAttr(string name, params float[] values)
    {
        var a = new Onnx.Proto.AttributeProto { Name = name, Type = Onnx.Proto.AttributeProto.Types.AttributeType.Floats };
        a.Floats.AddRange(values);
        return a;
    }
}
