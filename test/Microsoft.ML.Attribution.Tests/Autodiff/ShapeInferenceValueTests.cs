using Microsoft.ML.Attribution.Onnx;
using Microsoft.ML.Attribution.Tests.Support;
using static Microsoft.ML.Attribution.Onnx.TensorProtos;

namespace Microsoft.ML.Attribution.Tests.Autodiff;

[TestClass]
public sealed class ShapeInferenceValueTests
{
    [TestMethod]
    public void Expand_OfTorchMinusOnePattern_KeepsTheSymbolicBatch()
    {
        // torch exports class_token.expand(n, -1, -1) as Where(Equal(shape, −1), ConstantOfShape(1), shape); ViT's
        // token sequence took an unknown shape before Equal, Where and ConstantOfShape values were tracked.
        var g = new TestGraph(13).Input("x", "batch", 4, 8);
        var token = g.Weight(new double[8], 1, 1, 8);
        var batch = g.Node("Gather", [g.Node("Shape", ["x"]), g.Int64s(0)], IntAttr("axis", 0));
        var shape = g.Node("Concat", [batch, g.Int64s(-1, -1)], IntAttr("axis", 0));
        var minusOnes = g.Node("Mul", [g.Node("ConstantOfShape", [g.Int64s(3)], TensorAttr("value", FromInt64("", [1], 1))), g.Int64s(-1)]);
        var ones = g.Node("ConstantOfShape", [g.Int64s(3)], TensorAttr("value", FromInt64("", [1], 1)));
        var target = g.Node("Where", [g.Node("Equal", [shape, minusOnes]), ones, shape]);
        var expanded = g.Node("Expand", [token, target]);
        g.Output(g.Node("Concat", [expanded, "x"], IntAttr("axis", 1)));
        var model = g.Build();
        Assert.AreEqual("[batch, 1, 8]", model.Types[expanded].ShapeText);
        Assert.AreEqual("[batch, 5, 8]", model.Types[model.Outputs[0].Name].ShapeText);
    }

    [TestMethod]
    public void TopK_GatherNd_AndEinsum_HaveInferredShapes()
    {
        var g = new TestGraph(13).Input("x", "batch", 6).Input("a", "batch", 3, 4).Input("b", 4, 5);
        var top = g.Nodes("TopK", ["x", g.Int64s(2)], 2, IntAttr("axis", 1));
        var nd = g.Node("GatherND", ["a", g.Node("Constant", [], TensorAttr("value", FromInt64("", [0, 2], 1, 2)))], IntAttr("batch_dims", 0));
        var e = g.Node("Einsum", ["a", "b"], StringAttr("equation", "nij,jk->nik"));
        g.Output(e);
        var model = g.Build();
        Assert.AreEqual("[batch, 2]", model.Types[top[0]].ShapeText);
        Assert.AreEqual("[batch, 2]", model.Types[top[1]].ShapeText);
        Assert.AreEqual("[1, 4]", model.Types[nd].ShapeText);
        Assert.AreEqual("[batch, 3, 5]", model.Types[e].ShapeText);
    }
}
