using Microsoft.ML.Attribution.Tests.Support;
using static Microsoft.ML.Attribution.Onnx.TensorProtos;

namespace Microsoft.ML.Attribution.Tests.Autodiff;

[TestClass]
public sealed class ElementwiseGradientTests
{
    [TestMethod]
    [DataRow("Add")]
    [DataRow("Sub")]
    [DataRow("Mul")]
    [DataRow("Div")]
    public void Binary_WithBroadcasting_MatchesFiniteDifferences(string op)
    {
        // [2,3,4] ∘ [3,1]: a leading axis and a size-1 axis are broadcast.
        var g = new TestGraph().Input("a", "batch", 3, 4).Input("b", 3, 1);
        g.Output(g.Node(op, ["a", "b"]));
        GradientCheck.AssertMatchesFiniteDifferences(g.Build(), new() { ["a"] = [2, 3, 4], ["b"] = [3, 1] }, lo: 0.5, hi: 1.5);
    }

    [TestMethod]
    [DataRow("Add")]
    [DataRow("Mul")]
    [DataRow("Div")]
    public void Binary_BroadcastingTheFirstOperand_MatchesFiniteDifferences(string op)
    {
        var g = new TestGraph().Input("a", 4).Input("b", "batch", 3, 4);
        g.Output(g.Node(op, ["a", "b"]));
        GradientCheck.AssertMatchesFiniteDifferences(g.Build(), new() { ["a"] = [4], ["b"] = [2, 3, 4] }, lo: 0.5, hi: 1.5);
    }

    [TestMethod]
    public void Binary_WithAWeight_DifferentiatesOnlyTheInput()
    {
        var g = new TestGraph().Input("x", "batch", 3);
        var w = g.Weight([1.5, -2, 0.25], 3);
        g.Output(g.Node("Div", [g.Node("Mul", ["x", w]), w]));
        GradientCheck.AssertMatchesFiniteDifferences(g.Build(), new() { ["x"] = [4, 3] });
    }

    [TestMethod]
    [DataRow("Relu", -1.0, 1.0)]
    [DataRow("Sigmoid", -3.0, 3.0)]
    [DataRow("Tanh", -2.0, 2.0)]
    [DataRow("Exp", -2.0, 2.0)]
    [DataRow("Log", 0.2, 3.0)]
    [DataRow("Neg", -1.0, 1.0)]
    [DataRow("Identity", -1.0, 1.0)]
    public void Unary_MatchesFiniteDifferences(string op, double lo, double hi)
    {
        var g = new TestGraph().Input("x", "batch", 5);
        g.Output(g.Node(op, ["x"]));
        GradientCheck.AssertMatchesFiniteDifferences(g.Build(), new() { ["x"] = [3, 5] }, lo: lo, hi: hi, seed: 7);
    }

    [TestMethod]
    public void Relu_HasZeroGradientAtZero_AsPyTorch()
    {
        var g = new TestGraph().Input("x", "batch", 2);
        g.Output(g.Node("Relu", ["x"]));
        var graph = Microsoft.ML.Attribution.Autodiff.GradientGraphBuilder.Build(g.Build(), g.Build().Outputs[0].Name, ["x"]);
        using var session = new GradientCheck.Session(graph.Model.ToBytes());
        var result = session.Run(new() { ["x"] = ([0.0, 2.0], [1, 2]), [graph.SeedInput] = ([1.0, 1.0], [1, 2]) }, graph.GradientOutputs);
        CollectionAssert.AreEqual(new[] { 0.0, 1.0 }, result[0].Data);
    }

    [TestMethod]
    public void Sum_OfThreeBroadcastInputs_MatchesFiniteDifferences()
    {
        var g = new TestGraph().Input("a", "batch", 3).Input("b", 1, 3).Input("c", "batch", 1);
        g.Output(g.Node("Sum", ["a", "b", "c"]));
        GradientCheck.AssertMatchesFiniteDifferences(g.Build(), new() { ["a"] = [2, 3], ["b"] = [1, 3], ["c"] = [2, 1] });
    }

    [TestMethod]
    public void TensorUsedTwice_AccumulatesBothPaths()
    {
        // y = x·x + tanh(x): x feeds three consumers.
        var g = new TestGraph().Input("x", "batch", 4);
        g.Output(g.Node("Add", [g.Node("Mul", ["x", "x"]), g.Node("Tanh", ["x"])]));
        GradientCheck.AssertMatchesFiniteDifferences(g.Build(), new() { ["x"] = [3, 4] });
    }

    [TestMethod]
    public void ActivationReusedTwice_AccumulatesBothUses()
    {
        // The same Relu output consumed by two branches (Captum's DeepLift breaks on reused modules; ops have no such limit).
        var g = new TestGraph().Input("x", "batch", 4);
        var r = g.Node("Relu", ["x"]);
        var w = g.Weight([1, 2, 3, 4], 4);
        g.Output(g.Node("Sub", [g.Node("Mul", [r, w]), g.Node("Sigmoid", [r])]));
        GradientCheck.AssertMatchesFiniteDifferences(g.Build(), new() { ["x"] = [3, 4] });
    }

    [TestMethod]
    public void Cast_BetweenFloatTypes_MatchesFiniteDifferences()
    {
        // double → double Cast keeps the check exact; the rule casts the gradient back to the input type.
        var g = new TestGraph().Input("x", "batch", 3);
        g.Output(g.Node("Tanh", [g.Node("Cast", ["x"], IntAttr("to", 11))]));
        GradientCheck.AssertMatchesFiniteDifferences(g.Build(), new() { ["x"] = [2, 3] });
    }
}
