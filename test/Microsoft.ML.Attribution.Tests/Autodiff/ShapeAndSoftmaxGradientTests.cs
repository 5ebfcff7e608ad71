using Microsoft.ML.Attribution.Tests.Support;
using static Microsoft.ML.Attribution.Onnx.TensorProtos;

namespace Microsoft.ML.Attribution.Tests.Autodiff;

[TestClass]
public sealed class ShapeAndSoftmaxGradientTests
{
    [TestMethod]
    [DataRow("Softmax", 13, -1)]
    [DataRow("Softmax", 13, 1)]
    [DataRow("Softmax", 11, 1)]
    [DataRow("Softmax", 11, 2)]
    [DataRow("LogSoftmax", 13, -1)]
    [DataRow("LogSoftmax", 13, 1)]
    [DataRow("LogSoftmax", 11, 1)]
    public void Softmaxes_AcrossOpsetSemantics_MatchFiniteDifferences(string op, int opset, int axis)
    {
        // Before opset 13 the op flattens to 2-D at axis; from 13 it normalises one axis.
        var g = new TestGraph(opset).Input("x", "batch", 3, 4);
        g.Output(g.Node(op, ["x"], IntAttr("axis", axis)));
        GradientCheck.AssertMatchesFiniteDifferences(g.Build(), new() { ["x"] = [2, 3, 4] }, lo: -2, hi: 2);
    }

    [TestMethod]
    public void Flatten_Reshape_Transpose_MatchFiniteDifferences()
    {
        var random = new Random(9);
        var g = new TestGraph().Input("x", "batch", 2, 3, 2);
        var flat = g.Node("Flatten", ["x"], IntAttr("axis", 2)); // [batch*2, 6]
        var back = g.Node("Reshape", [flat, g.Int64s(-1, 3, 4)]);
        var t = g.Node("Transpose", [back], IntsAttr("perm", 2, 0, 1));
        g.Output(g.Node("Mul", [t, g.Random(random, 4, 1, 1)]));
        GradientCheck.AssertMatchesFiniteDifferences(g.Build(), new() { ["x"] = [2, 2, 3, 2] });
    }

    [TestMethod]
    [DataRow(13)]
    [DataRow(11)]
    public void SqueezeUnsqueeze_InBothOpsetForms_MatchFiniteDifferences(int opset)
    {
        var g = new TestGraph(opset).Input("x", "batch", 1, 3);
        string squeezed = opset >= 13 ? g.Node("Squeeze", ["x", g.Int64s(1)]) : g.Node("Squeeze", ["x"], IntsAttr("axes", 1));
        string unsqueezed = opset >= 13 ? g.Node("Unsqueeze", [squeezed, g.Int64s(2)]) : g.Node("Unsqueeze", [squeezed], IntsAttr("axes", 2));
        g.Output(g.Node("Tanh", [unsqueezed]));
        GradientCheck.AssertMatchesFiniteDifferences(g.Build(), new() { ["x"] = [2, 1, 3] });
    }

    [TestMethod]
    public void ShapeArithmetic_IsConstant_AndReshapeStillDifferentiates()
    {
        // The dynamic-batch pattern exporters emit: Reshape(x, Concat(Gather(Shape(x), 0), [-1])).
        var random = new Random(11);
        var g = new TestGraph().Input("x", "batch", 2, 3);
        var shape = g.Node("Shape", ["x"]);
        var batch = g.Node("Gather", [shape, g.Int64s(0)], IntAttr("axis", 0));
        var target = g.Node("Concat", [batch, g.Int64s(-1)], IntAttr("axis", 0));
        var flat = g.Node("Reshape", ["x", target]);
        g.Output(g.Node("MatMul", [flat, g.Random(random, 6, 2)]));
        var model = g.Build();
        var inferred = model.Types[flat];
        Assert.AreEqual("[batch, 6]", inferred.ShapeText, "shape inference keeps the symbolic batch through the shape chain");
        GradientCheck.AssertMatchesFiniteDifferences(model, new() { ["x"] = [3, 2, 3] });
    }

    [TestMethod]
    public void Dropout_AndConstant_MatchFiniteDifferences()
    {
        var g = new TestGraph().Input("x", "batch", 3);
        var c = g.Node("Constant", [], TensorAttr("value", FromDouble("", 11, [2.0, -1.0, 0.5], 3)));
        var d = g.Nodes("Dropout", [g.Node("Mul", ["x", c])], 2);
        g.Output(g.Node("Sigmoid", [d[0]]));
        GradientCheck.AssertMatchesFiniteDifferences(g.Build(), new() { ["x"] = [2, 3] });
    }

    [TestMethod]
    public void GradientWithRespectToAnIntermediateTensor_MatchesFiniteDifferencesOfTheCutGraph()
    {
        var random = new Random(13);
        var g = new TestGraph().Input("x", "batch", 3);
        var hidden = g.Node("Tanh", [g.Node("MatMul", ["x", g.Random(random, 3, 4)])]);
        g.Output(g.Node("MatMul", [g.Node("Sigmoid", [hidden]), g.Random(random, 4, 2)]));
        var model = g.Build();
        var cut = model.CutAt(hidden);
        Assert.IsTrue(cut.IsInput(hidden));
        Assert.IsFalse(cut.IsInput("x"), "x is no longer needed once the graph is cut at the hidden layer");
        GradientCheck.AssertMatchesFiniteDifferences(cut, new() { [hidden] = [2, 4] });
    }

    [TestMethod]
    public void InputThatDoesNotReachTheOutput_GetsZeroGradient()
    {
        var g = new TestGraph().Input("x", "batch", 3).Input("unused", "batch", 3);
        g.Output(g.Node("Tanh", ["x"]));
        var model = g.Build();
        var graph = Microsoft.ML.Attribution.Autodiff.GradientGraphBuilder.Build(model, model.Outputs[0].Name, ["x", "unused"]);
        using var session = new GradientCheck.Session(graph.Model.ToBytes());
        var result = session.Run(new()
        {
            ["x"] = ([0.1, 0.2, 0.3], [1, 3]),
            ["unused"] = ([5.0, 6.0, 7.0], [1, 3]),
            [graph.SeedInput] = ([1.0, 1.0, 1.0], [1, 3]),
        }, graph.GradientOutputs);
        CollectionAssert.AreEqual(new[] { 0.0, 0.0, 0.0 }, result[1].Data);
        Assert.AreNotEqual(0.0, result[0].Data[0]);
    }
}
