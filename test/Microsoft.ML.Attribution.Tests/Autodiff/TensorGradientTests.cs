using Microsoft.ML.Attribution.Onnx;
using Microsoft.ML.Attribution.Tests.Support;
using static Microsoft.ML.Attribution.Onnx.TensorProtos;

namespace Microsoft.ML.Attribution.Tests.Autodiff;

[TestClass]
public sealed class TensorGradientTests
{
    [TestMethod]
    public void Concat_AlongAnAxis_MatchesFiniteDifferences()
    {
        var g = new TestGraph().Input("a", "batch", 2, 3).Input("b", "batch", 1, 3);
        var joined = g.Node("Concat", ["a", "b"], IntAttr("axis", 1));
        g.Output(g.Node("Mul", [g.Node("Tanh", [joined]), g.Weight([1, 2, 3, 4, 5, 6, 7, 8, 9], 3, 3)]));
        GradientCheck.AssertMatchesFiniteDifferences(g.Build(), new() { ["a"] = [2, 2, 3], ["b"] = [2, 1, 3] });
    }

    [TestMethod]
    [DataRow(13)]
    [DataRow(11)]
    public void Split_WithAnUnusedPiece_MatchesFiniteDifferences(int opset)
    {
        var g = new TestGraph(opset).Input("x", "batch", 6);
        var pieces = opset >= 13 ? g.Nodes("Split", ["x", g.Int64s(1, 2, 3)], 3, IntAttr("axis", 1))
            : g.Nodes("Split", ["x"], 3, IntAttr("axis", 1), IntsAttr("split", 1, 2, 3));
        // The middle piece is unused: its gradient is zero.
        var total = opset >= 13 ? g.Node("ReduceSum", [pieces[2], g.Int64s(1)], IntAttr("keepdims", 1))
            : g.Node("ReduceSum", [pieces[2]], IntsAttr("axes", 1), IntAttr("keepdims", 1));
        g.Output(g.Node("Sum", [g.Node("Tanh", [pieces[0]]), total]));
        GradientCheck.AssertMatchesFiniteDifferences(g.Build(), new() { ["x"] = [2, 6] });
    }

    [TestMethod]
    [DataRow(new long[] { 1 }, new long[] { 4 }, new long[] { 1 }, new long[] { 1 })]
    [DataRow(new long[] { -3 }, new long[] { long.MaxValue }, new long[] { -1 }, new long[] { 1 })]
    [DataRow(new long[] { 0 }, new long[] { 6 }, new long[] { 1 }, new long[] { 2 })]
    [DataRow(new long[] { 5, 2 }, new long[] { 0, 0 }, new long[] { 1, 2 }, new long[] { -2, -1 })]
    public void Slice_WithStepsAndNegativeIndices_MatchesFiniteDifferences(long[] starts, long[] ends, long[] axes, long[] steps)
    {
        var g = new TestGraph().Input("x", "batch", 6, 3);
        var sliced = g.Node("Slice", ["x", g.Int64s(starts), g.Int64s(ends), g.Int64s(axes), g.Int64s(steps)]);
        g.Output(g.Node("Tanh", [sliced]));
        GradientCheck.AssertMatchesFiniteDifferences(g.Build(), new() { ["x"] = [2, 6, 3] });
    }

    [TestMethod]
    public void Expand_MatchesFiniteDifferences()
    {
        var g = new TestGraph().Input("x", "batch", 1, 3);
        g.Output(g.Node("Tanh", [g.Node("Expand", ["x", g.Int64s(1, 4, 3)])]));
        GradientCheck.AssertMatchesFiniteDifferences(g.Build(), new() { ["x"] = [2, 1, 3] });
    }

    [TestMethod]
    [DataRow(1, new long[] { 0 })]
    [DataRow(1, new long[] { 2, 0, 2 })]
    [DataRow(2, new long[] { -1, 1 })]
    public void Gather_OnAnActivation_WithConstantIndices_MatchesFiniteDifferences(int axis, long[] indices)
    {
        var g = new TestGraph().Input("x", "batch", 3, 4);
        var index = indices.Length == 1 ? g.Node("Constant", [], TensorAttr("value", FromInt64("", indices))) : g.Int64s(indices);
        g.Output(g.Node("Tanh", [g.Node("Gather", ["x", index], IntAttr("axis", axis))]));
        GradientCheck.AssertMatchesFiniteDifferences(g.Build(), new() { ["x"] = [2, 3, 4] });
    }

    [TestMethod]
    public void Gather_FromATableWithRuntimeIndices_ScatterAddsRepeatedRows()
    {
        var g = new TestGraph(16).Input("table", 5, 3).TypedInput("ids", OnnxDataType.Int64, "batch", 4);
        g.Output(g.Node("Tanh", [g.Node("Gather", ["table", "ids"])]));
        var model = g.Build();
        var graph = Microsoft.ML.Attribution.Autodiff.GradientGraphBuilder.Build(model, model.Outputs[0].Name, ["table"]);
        Assert.IsTrue(graph.Model.TopologicalOrder.Any(n => n.OpType == "ScatterND"));
        // Checked against differences of the forward pass, with the ids fed as int64.
        var table = Enumerable.Range(0, 15).Select(i => 0.1 * i - 0.7).ToArray();
        long[] ids = [1, 4, 1, -1];
        double Objective(double[] t)
        {
            double s = 0;
            for (int k = 0; k < 4; k++)
            {
                long row = ids[k] < 0 ? ids[k] + 5 : ids[k];
                for (int j = 0; j < 3; j++) s += Math.Tanh(t[row * 3 + j]) * (k + 1);
            }
            return s;
        }
        var options = new Microsoft.ML.OnnxRuntime.SessionOptions();
        using var session = new Microsoft.ML.OnnxRuntime.InferenceSession(graph.Model.ToBytes(), options);
        var seed = Enumerable.Range(0, 12).Select(i => (double)(i / 3 + 1)).ToArray();
        using var tableValue = Microsoft.ML.OnnxRuntime.OrtValue.CreateTensorValueFromMemory(table, [5, 3]);
        using var idsValue = Microsoft.ML.OnnxRuntime.OrtValue.CreateTensorValueFromMemory(ids, [1, 4]);
        using var seedValue = Microsoft.ML.OnnxRuntime.OrtValue.CreateTensorValueFromMemory(seed, [1, 4, 3]);
        using var runOptions = new Microsoft.ML.OnnxRuntime.RunOptions();
        using var results = session.Run(runOptions, ["table", "ids", graph.SeedInput], [tableValue, idsValue, seedValue], graph.GradientOutputs.ToList());
        var analytic = results[0].GetTensorDataAsSpan<double>().ToArray();
        for (int i = 0; i < 15; i++)
        {
            var plus = (double[])table.Clone();
            var minus = (double[])table.Clone();
            plus[i] += 1e-6;
            minus[i] -= 1e-6;
            Assert.AreEqual((Objective(plus) - Objective(minus)) / 2e-6, analytic[i], 1e-6, $"table[{i}]");
        }
    }

    [TestMethod]
    public void Where_RoutesTheGradientByTheCondition()
    {
        var g = new TestGraph().Input("a", "batch", 4).Input("b", 4);
        var condition = g.Node("Greater", ["a", "b"]);
        g.Output(g.Node("Tanh", [g.Node("Where", [condition, "a", "b"])]));
        GradientCheck.AssertMatchesFiniteDifferences(g.Build(), new() { ["a"] = [3, 4], ["b"] = [4] });
    }

    [TestMethod]
    public void Attention_4D_MatMuls_WithBroadcastMask_MatchFiniteDifferences()
    {
        // [N,h,L,d] @ [N,h,d,L] scores, softmax, @ [N,h,L,d]; plus a [1,1,L,L] additive mask broadcast over N and h.
        var g = new TestGraph().Input("q", "batch", 2, 3, 4).Input("k", "batch", 2, 4, 3).Input("v", "batch", 2, 3, 4);
        var mask = g.Weight([0, -1, -2, 0.5, 0, -1, 0, 0.25, 0], 1, 1, 3, 3);
        var scores = g.Node("Add", [g.Node("Div", [g.Node("MatMul", ["q", "k"]), g.Weight([2.0])]), mask]);
        g.Output(g.Node("MatMul", [g.Node("Softmax", [scores], IntAttr("axis", -1)), "v"]));
        GradientCheck.AssertMatchesFiniteDifferences(g.Build(), new() { ["q"] = [2, 2, 3, 4], ["k"] = [2, 2, 4, 3], ["v"] = [2, 2, 3, 4] });
    }
}
