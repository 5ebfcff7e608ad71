using Microsoft.ML.Attribution.Tests.Support;
using static Microsoft.ML.Attribution.Onnx.TensorProtos;

namespace Microsoft.ML.Attribution.Tests.Autodiff;

[TestClass]
public sealed class LinearAlgebraGradientTests
{
    [TestMethod]
    [DataRow(new[] { 3, 4 }, new[] { 4, 5 })]
    [DataRow(new[] { 2, 3, 4 }, new[] { 4, 5 })]
    [DataRow(new[] { 2, 3, 4 }, new[] { 2, 4, 5 })]
    [DataRow(new[] { 2, 1, 3, 4 }, new[] { 3, 4, 2 })]
    [DataRow(new[] { 4 }, new[] { 2, 4, 3 })]
    [DataRow(new[] { 2, 3, 4 }, new[] { 4 })]
    [DataRow(new[] { 4 }, new[] { 4 })]
    public void MatMul_BatchedAndBroadcasting_MatchesFiniteDifferences(int[] a, int[] b)
    {
        var g = new TestGraph().Input("a", a.Cast<object>().ToArray()).Input("b", b.Cast<object>().ToArray());
        g.Output(g.Node("MatMul", ["a", "b"]));
        GradientCheck.AssertMatchesFiniteDifferences(g.Build(), new() { ["a"] = a, ["b"] = b });
    }

    [TestMethod]
    public void MatMul_SymbolicBatchTimesWeight_MatchesFiniteDifferences()
    {
        var g = new TestGraph().Input("x", "batch", "seq", 4);
        var w = g.Random(new Random(3), 4, 2);
        g.Output(g.Node("MatMul", ["x", w]));
        var model = g.Build();
        GradientCheck.AssertMatchesFiniteDifferences(model, new() { ["x"] = [3, 2, 4] });
    }

    [TestMethod]
    [DataRow(0, 0, new[] { 5 })]
    [DataRow(1, 0, new[] { 1, 5 })]
    [DataRow(0, 1, new[] { 3, 5 })]
    [DataRow(1, 1, new[] { 3, 1 })]
    public void Gemm_AllTransposes_WithAlphaBetaAndBroadcastBias_MatchesFiniteDifferences(int transA, int transB, int[] c)
    {
        int[] a = transA == 1 ? [4, 3] : [3, 4];
        int[] b = transB == 1 ? [5, 4] : [4, 5];
        var g = new TestGraph().Input("a", a.Cast<object>().ToArray()).Input("b", b.Cast<object>().ToArray()).Input("c", c.Cast<object>().ToArray());
        g.Output(g.Node("Gemm", ["a", "b", "c"], IntAttr("transA", transA), IntAttr("transB", transB),
            FloatAttr("alpha", 0.75f), FloatAttr("beta", 1.5f)));
        GradientCheck.AssertMatchesFiniteDifferences(g.Build(), new() { ["a"] = a, ["b"] = b, ["c"] = c });
    }

    [TestMethod]
    public void Gemm_AsExportedLinearLayer_MatchesFiniteDifferences()
    {
        // torch.nn.Linear exports Gemm(x, W, b, transB=1) with W, b initializers.
        var random = new Random(5);
        var g = new TestGraph(opset: 9).Input("x", "batch", 4);
        g.Output(g.Node("Gemm", ["x", g.Random(random, 3, 4), g.Random(random, 3)], IntAttr("transB", 1)));
        GradientCheck.AssertMatchesFiniteDifferences(g.Build(), new() { ["x"] = [2, 4] });
    }
}
