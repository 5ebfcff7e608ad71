using Microsoft.ML.Attribution.Autodiff;
using Microsoft.ML.Attribution.Onnx;
using Microsoft.ML.Attribution.Tests.Support;
using static Microsoft.ML.Attribution.Onnx.TensorProtos;

namespace Microsoft.ML.Attribution.Tests.Autodiff;

[TestClass]
public sealed class TensorOpGradientTests
{
    private static OnnxModel Build(TestGraph g) => ActivationGradientTests.Build(g);

    [TestMethod]
    [DataRow(11, 1)]
    [DataRow(13, 1)]
    [DataRow(13, -1)]
    [DataRow(18, 2)]
    public void Concat_AtStaticSizes_MatchesFiniteDifferences(int opset, int axis)
    {
        var g = new TestGraph(opset).Input("a", "batch", 2, 3).Input("b", "batch", 2, 3);
        var w = g.Random(new Random(1), 3);
        g.Output(g.Node("Tanh", [g.Node("Concat", ["a", g.Node("Mul", ["b", w]), "a"], IntAttr("axis", axis))]));
        GradientCheck.AssertMatchesFiniteDifferences(Build(g), new() { ["a"] = [2, 2, 3], ["b"] = [2, 2, 3] }, seed: opset);
    }

    [TestMethod]
    public void Concat_AlongSymbolicAxis_SlicesAtRunTimeOffsets()
    {
        var g = new TestGraph().Input("a", "n", 3).Input("b", "m", 3);
        g.Output(g.Node("Sigmoid", [g.Node("Concat", ["a", "b"], IntAttr("axis", 0))]));
        GradientCheck.AssertMatchesFiniteDifferences(g.Build(), new() { ["a"] = [2, 3], ["b"] = [4, 3] });
    }

    [TestMethod]
    [DataRow(11, "attribute")]
    [DataRow(13, "input")]
    [DataRow(13, "equal")]
    [DataRow(18, "input")]
    [DataRow(18, "num_outputs")]
    public void Split_InEveryForm_MatchesFiniteDifferences(int opset, string form)
    {
        int width = form == "num_outputs" ? 7 : 6;
        var g = new TestGraph(opset).Input("x", "batch", width);
        string[] parts = form switch
        {
            "attribute" => g.Nodes("Split", ["x"], 3, IntAttr("axis", 1), IntsAttr("split", 1, 3, 2)),
            "input" => g.Nodes("Split", ["x", g.Int64s(1, 3, 2)], 3, IntAttr("axis", -1)),
            "equal" => g.Nodes("Split", ["x"], 3, IntAttr("axis", 1)),
            // 7 into 4 parts: sizes 2, 2, 2, 1 (the last chunk is what is left).
            _ => g.Nodes("Split", ["x"], 4, IntAttr("axis", 1), IntAttr("num_outputs", 4)),
        };
        // The second output is unused: its gradient is zeros in the Concat.
        var sum = g.Node("Add", [g.Node("ReduceSum", form == "attribute" ? [g.Node("Tanh", [parts[0]])] : [g.Node("Tanh", [parts[0]]), g.Int64s(1)]),
            g.Node("ReduceSum", form == "attribute" ? [g.Node("Sigmoid", [parts[2]])] : [g.Node("Sigmoid", [parts[2]]), g.Int64s(1)])]);
        g.Output(sum);
        GradientCheck.AssertMatchesFiniteDifferences(Build(g), new() { ["x"] = [2, width] }, seed: opset);
    }

    [TestMethod]
    public void Split_Outputs_HaveInferredShapes()
    {
        var g = new TestGraph(18).Input("x", "batch", 7);
        var parts = g.Nodes("Split", ["x"], 3, IntAttr("axis", 1), IntAttr("num_outputs", 3));
        g.Output(parts[0]);
        var model = Build(g);
        Assert.AreEqual("[batch, 3]", model.Types[parts[0]].ShapeText);
        Assert.AreEqual("[batch, 1]", model.Types[parts[2]].ShapeText);
    }

    [TestMethod]
    [DataRow(9, new long[] { 1 }, new long[] { 3 }, new long[] { 2 }, null)]
    [DataRow(10, new long[] { 1, 0 }, new long[] { -1, 1000 }, new long[] { 1, 2 }, null)]
    [DataRow(13, new long[] { 0 }, new long[] { 2 }, null, null)]
    [DataRow(13, new long[] { -3 }, new long[] { long.MaxValue }, new long[] { -1 }, null)]
    [DataRow(13, new long[] { 0, 1 }, new long[] { 5, 4 }, new long[] { 2, 1 }, new long[] { 2, 2 })]
    [DataRow(13, new long[] { -1 }, new long[] { long.MinValue }, new long[] { 2 }, new long[] { -1 })]
    [DataRow(13, new long[] { 4, 3 }, new long[] { 0, -100 }, new long[] { 2, 1 }, new long[] { -2, -3 })]
    [DataRow(18, new long[] { 1 }, new long[] { 4 }, new long[] { 2 }, new long[] { 3 })]
    public void Slice_StepsAndNegativeIndices_MatchFiniteDifferences(int opset, long[] starts, long[] ends, long[]? axes, long[]? steps)
    {
        // x is [batch, 4, 5].
        var g = new TestGraph(opset).Input("x", "batch", 4, 5);
        string sliced;
        if (opset < 10)
        {
            var attrs = new List<Onnx.Proto.AttributeProto> { IntsAttr("starts", starts), IntsAttr("ends", ends) };
            if (axes is not null) attrs.Add(IntsAttr("axes", axes));
            sliced = g.Node("Slice", ["x"], attrs.ToArray());
        }
        else
        {
            var inputs = new List<string> { "x", g.Int64s(starts), g.Int64s(ends) };
            if (axes is not null || steps is not null) inputs.Add(axes is null ? "" : g.Int64s(axes));
            if (steps is not null) inputs.Add(g.Int64s(steps));
            sliced = g.Node("Slice", inputs.ToArray());
        }
        g.Output(g.Node("Tanh", [sliced]));
        GradientCheck.AssertMatchesFiniteDifferences(Build(g), new() { ["x"] = [2, 4, 5] });
    }

    [TestMethod]
    public void Slice_WithBoundsComputedAtRunTime_MatchesFiniteDifferences()
    {
        // The pattern PyTorch exports for q, k, v = in_proj(x).chunk(3): ends from Shape arithmetic.
        var g = new TestGraph(17).Input("x", "batch", 6);
        var width = g.Node("Gather", [g.Node("Shape", ["x"]), g.Int64s(1)], IntAttr("axis", 0));
        var third = g.Node("Div", [width, g.Int64s(3)]);
        var twoThirds = g.Node("Mul", [third, g.Int64s(2)]);
        var middle = g.Node("Slice", ["x", third, twoThirds, g.Int64s(1)]);
        var last = g.Node("Slice", ["x", twoThirds, g.Int64s(long.MaxValue), g.Int64s(1)]);
        g.Output(g.Node("Mul", [g.Node("Tanh", [middle]), last]));
        GradientCheck.AssertMatchesFiniteDifferences(Build(g), new() { ["x"] = [3, 6] });
    }

    [TestMethod]
    public void Expand_ReducesLikeBroadcasting()
    {
        var g = new TestGraph().Input("x", 3, 1);
        g.Output(g.Node("Tanh", [g.Node("Expand", ["x", g.Int64s(2, 3, 4)])]));
        GradientCheck.AssertMatchesFiniteDifferences(g.Build(), new() { ["x"] = [3, 1] });
    }

    [TestMethod]
    public void Expand_WithASymbolicBatch_AndAOneInTheTargetShape_MatchesFiniteDifferences()
    {
        // A 1 in the target shape keeps the input's own size on that axis (the symbolic batch here).
        var g = new TestGraph().Input("x", "batch", 1, 3);
        g.Output(g.Node("Tanh", [g.Node("Expand", ["x", g.Int64s(1, 4, 3)])]));
        GradientCheck.AssertMatchesFiniteDifferences(g.Build(), new() { ["x"] = [2, 1, 3] });
    }

    [TestMethod]
    public void Gather_FromATableWithRuntimeIds_ScatterAddsRepeatedRows()
    {
        // Ids fed at run time (an int64 graph input with a symbolic batch), repeated and negative: the table's gradient
        // is a ScatterND-style scatter-add of the rows the ids pick.
        var g = new TestGraph(16).Input("table", 5, 3).TypedInput("ids", Onnx.OnnxDataType.Int64, "batch", 4);
        g.Output(g.Node("Tanh", [g.Node("Gather", ["table", "ids"])]));
        var model = g.Build();
        var graph = GradientGraphBuilder.Build(model, model.Outputs[0].Name, ["table"]);
        Assert.IsTrue(graph.Model.TopologicalOrder.Any(n => n.OpType == "ScatterND"), "the table's gradient is scattered");
        GradientCheck.AssertMatchesFiniteDifferences(model, new() { ["table"] = [5, 3] },
            int64Inputs: new() { ["ids"] = ([1, 4, 1, -1, 0, 2, 2, 3], [2, 4]) });
    }

    [TestMethod]
    [DataRow(13, 0)]
    [DataRow(13, 1)]
    [DataRow(16, 0)]
    [DataRow(16, 1)]
    [DataRow(18, -1)]
    public void Gather_IntoTheData_AddsRepeatedAndNegativeIndices(int opset, int axis)
    {
        // An embedding-like table [5, 4] as the differentiated input; indices repeat and count from the end.
        var g = new TestGraph(opset).Input("table", 5, 4);
        var ids = g.Node("Constant", [], TensorAttr("value", FromInt64("", [0, 3, 3, -1, 1, 0], 2, 3)));
        var gathered = g.Node("Gather", ["table", ids], IntAttr("axis", axis));
        g.Output(g.Node("Tanh", [gathered]));
        GradientCheck.AssertMatchesFiniteDifferences(Build(g), new() { ["table"] = [5, 4] }, seed: opset + axis);
    }

    [TestMethod]
    [DataRow(13)]
    [DataRow(17)]
    public void Gather_OfOneToken_SendsTheGradientBackIntoTheActivation(int opset)
    {
        // The [CLS] pattern: Gather(h, 0, axis=1) with a scalar index on a [batch, seq, width] activation.
        var random = new Random(4);
        var g = new TestGraph(opset).Input("x", "batch", 3, 4);
        var h = g.Node("Tanh", ["x"]);
        var first = g.Node("Gather", [h, g.Node("Constant", [], TensorAttr("value", FromInt64("", [0])))], IntAttr("axis", 1));
        g.Output(g.Node("MatMul", [first, g.Random(random, 4, 2)]));
        var model = Build(g);
        Assert.AreEqual("[batch, 4]", model.Types[first].ShapeText);
        GradientCheck.AssertMatchesFiniteDifferences(model, new() { ["x"] = [2, 3, 4] });
    }

    [TestMethod]
    public void Where_WithBroadcastBranches_DifferentiatesOnlyTheBranches()
    {
        var g = new TestGraph().Input("a", "batch", 4).Input("b", 1, 4);
        var condition = g.Node("Greater", ["a", g.Weight([0.1, -0.2, 0.3, 0.0], 4)]);
        g.Output(g.Node("Tanh", [g.Node("Where", [condition, g.Node("Mul", ["a", "a"]), "b"])]));
        GradientCheck.AssertMatchesFiniteDifferences(g.Build(), new() { ["a"] = [3, 4], ["b"] = [1, 4] });
    }

    [TestMethod]
    public void TileAndScatter_HaveInferredShapes()
    {
        var g = new TestGraph(16).Input("x", "batch", 3);
        var tiled = g.Node("Tile", ["x", g.Int64s(1, 2)]);
        var scattered = g.Node("ScatterND", [tiled, g.Node("Constant", [], TensorAttr("value", FromInt64("", [0], 1, 1))), g.Weight([1, 2, 3, 4, 5, 6], 1, 6)]);
        g.Output(scattered);
        var model = Build(g);
        Assert.AreEqual("[batch, 6]", model.Types[tiled].ShapeText);
        Assert.AreEqual("[batch, 6]", model.Types[scattered].ShapeText);
    }
}
