using Microsoft.ML.Attribution.Autodiff;
using Microsoft.ML.Attribution.Onnx;
using Microsoft.ML.Attribution.Tests.Support;
using static Microsoft.ML.Attribution.Onnx.TensorProtos;

namespace Microsoft.ML.Attribution.Tests.Autodiff;

[TestClass]
public sealed class GatedActivationGradientTests
{
    private static double[] Gradient(OnnxModel model, string wrt, Dictionary<string, (double[], int[])> feeds, int[] outputShape)
    {
        var graph = GradientGraphBuilder.Build(model, model.Outputs[0].Name, [wrt]);
        using var session = new GradientCheck.Session(graph.Model.ToBytes());
        var seed = Enumerable.Repeat(1.0, outputShape.Aggregate(1, (a, b) => a * b)).ToArray();
        return session.Run(new(feeds) { [graph.SeedInput] = (seed, outputShape) }, graph.GradientOutputs)[0].Data;
    }

    [TestMethod]
    [DataRow("HardSwish", double.NaN)]
    [DataRow("Mish", double.NaN)]
    [DataRow("Selu", double.NaN)]
    [DataRow("Celu", double.NaN)]
    [DataRow("Celu", 0.6)]
    [DataRow("ThresholdedRelu", 0.4)]
    public void Activations_MatchFiniteDifferences(string op, double alpha)
    {
        // ONNX Runtime's CPU kernels for these are float32 only: float32 check, step 1e-2, 3e-3·max(1, |d|) (smooth
        // away from the kinks, which random inputs in [−5, 5] miss by more than the step).
        var g = new TestGraph(opset: 18, elemType: OnnxDataType.Float).Input("x", "batch", 10);
        g.Output(double.IsNaN(alpha) ? g.Node(op, ["x"]) : g.Node(op, ["x"], FloatAttr("alpha", (float)alpha)));
        GradientCheck.AssertMatchesSpatial(ActivationGradientTests.Build(g), "x", [3, 10], seed: 5, tolerance: 3e-3,
            values: (r, _) => -5 + 10 * r.NextDouble());
    }

    [TestMethod]
    public void HardSwish_Kinks_FollowPyTorch()
    {
        // ATen: 0 below −3, x/3 + ½ on [−3, 3] (both ends included), 1 above 3.
        var g = new TestGraph(opset: 14, elemType: OnnxDataType.Float).Input("x", "batch", 5);
        g.Output(g.Node("HardSwish", ["x"]));
        var d = Gradient(g.Build(), "x", new() { ["x"] = ([-4, -3, 0, 3, 4], [1, 5]) }, [1, 5]);
        CollectionAssert.AreEqual(new[] { 0.0, -0.5, 0.5, 1.5, 1.0 }, d.Select(v => Math.Round(v, 6)).ToArray());
    }

    [TestMethod]
    public void Selu_AndCelu_TakeTheLowerBranchAtZero_AsPyTorch()
    {
        var selu = new TestGraph(opset: 13, elemType: OnnxDataType.Float).Input("x", "batch", 2);
        selu.Output(selu.Node("Selu", ["x"]));
        var d = Gradient(selu.Build(), "x", new() { ["x"] = ([0, 1], [1, 2]) }, [1, 2]);
        Assert.AreEqual(1.0507009873554805 * 1.6732632423543772, d[0], 1e-5);
        Assert.AreEqual(1.0507009873554805, d[1], 1e-6);
        var celu = new TestGraph(opset: 13, elemType: OnnxDataType.Float).Input("x", "batch", 2);
        celu.Output(celu.Node("Celu", ["x"], FloatAttr("alpha", 2f)));
        CollectionAssert.AreEqual(new[] { 1.0, 1.0 }, Gradient(celu.Build(), "x", new() { ["x"] = ([0, 1], [1, 2]) }, [1, 2]));
    }

    [TestMethod]
    [DataRow(OnnxDataType.Double)]
    [DataRow(OnnxDataType.Float)]
    public void PRelu_PerChannelSlope_DifferentiatesInputAndSlope(int elemType)
    {
        var g = new TestGraph(opset: 16, elemType: elemType).Input("x", "batch", 3, 4).Input("slope", 3, 1);
        g.Output(g.Node("PRelu", ["x", "slope"]));
        if (elemType == OnnxDataType.Double)
            GradientCheck.AssertMatchesFiniteDifferences(g.Build(), new() { ["x"] = [2, 3, 4], ["slope"] = [3, 1] }, seed: 2);
        else
            GradientCheck.AssertMatchesFloat32(g.Build(), new() { ["x"] = [2, 3, 4], ["slope"] = [3, 1] }, seed: 2);
    }

    [TestMethod]
    [DataRow("Max")]
    [DataRow("Min")]
    public void VariadicMaxMin_WithBroadcasting_MatchFiniteDifferences(string op)
    {
        var g = new TestGraph(opset: 13).Input("a", "batch", 4).Input("b", 4).Input("c", "batch", 1);
        g.Output(g.Node("Tanh", [g.Node(op, ["a", "b", "c"])]));
        GradientCheck.AssertMatchesFiniteDifferences(g.Build(), new() { ["a"] = [3, 4], ["b"] = [4], ["c"] = [3, 1] }, seed: 7);
    }

    [TestMethod]
    public void Max_SplitsTiesEqually_AsTorchMaximum()
    {
        var g = new TestGraph(opset: 13).Input("a", 3).Input("b", 3);
        g.Output(g.Node("Max", ["a", "b"]));
        var d = Gradient(g.Build(), "a", new() { ["a"] = ([1, 2, 3], [3]), ["b"] = ([1, 5, 0], [3]) }, [3]);
        CollectionAssert.AreEqual(new[] { 0.5, 0.0, 1.0 }, d);
    }
}
