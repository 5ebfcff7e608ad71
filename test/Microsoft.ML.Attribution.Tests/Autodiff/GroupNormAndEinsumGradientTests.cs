using Microsoft.ML.Attribution.Onnx;
using Microsoft.ML.Attribution.Tests.Support;
using static Microsoft.ML.Attribution.Onnx.TensorProtos;

namespace Microsoft.ML.Attribution.Tests.Autodiff;

[TestClass]
public sealed class GroupNormAndEinsumGradientTests
{
    private static OnnxModel Build(TestGraph g, int irVersion)
    {
        var proto = g.Build().CloneProto();
        proto.IrVersion = irVersion;
        return new OnnxModel(proto);
    }

    [TestMethod]
    public void InstanceNormalization_DifferentiatesInputScaleAndBias()
    {
        // ONNX Runtime's CPU InstanceNormalization is float32 only.
        var g = new TestGraph(13, OnnxDataType.Float).Input("x", "batch", 3, 2, 3).Input("scale", 3).Input("bias", 3);
        g.Output(g.Node("InstanceNormalization", ["x", "scale", "bias"], FloatAttr("epsilon", 1e-3f)));
        GradientCheck.AssertMatchesFloat32(g.Build(), new() { ["x"] = [2, 3, 2, 3], ["scale"] = [3], ["bias"] = [3] }, seed: 1,
            output: null, seedValues: null);
    }

    [TestMethod]
    [DataRow(18, 2)]
    [DataRow(21, 3)]
    public void GroupNormalization_PerGroupAndPerChannelAffine_MatchFiniteDifferences(int opset, int groups)
    {
        // Opset 18: scale/bias per group; 21: per channel. 6 channels.
        int affine = opset < 21 ? groups : 6;
        var g = new TestGraph(opset, OnnxDataType.Float).Input("x", "batch", 6, 3).Input("scale", affine).Input("bias", affine);
        g.Output(g.Node("GroupNormalization", ["x", "scale", "bias"], IntAttr("num_groups", groups), FloatAttr("epsilon", 1e-3f)));
        GradientCheck.AssertMatchesFloat32(Build(g, opset >= 21 ? 10 : 9),
            new() { ["x"] = [2, 6, 3], ["scale"] = [affine], ["bias"] = [affine] }, seed: opset);
    }

    [TestMethod]
    [DataRow("bij,bjk->bik", new[] { 2, 3, 4 }, new[] { 2, 4, 5 })]
    [DataRow("bhqd,bhkd->bhqk", new[] { 1, 2, 3, 4 }, new[] { 1, 2, 5, 4 })]
    [DataRow("ij,j->i", new[] { 3, 4 }, new[] { 4 })]
    [DataRow("ij,kl->ik", new[] { 3, 4 }, new[] { 2, 5 })]
    public void Einsum_CommonEquations_MatchFiniteDifferences(string equation, int[] a, int[] b)
    {
        var g = new TestGraph(13).Input("a", a.Cast<object>().ToArray()).Input("b", b.Cast<object>().ToArray());
        g.Output(g.Node("Tanh", [g.Node("Einsum", ["a", "b"], StringAttr("equation", equation))]));
        GradientCheck.AssertMatchesFiniteDifferences(g.Build(), new() { ["a"] = a, ["b"] = b }, seed: 2);
    }

    [TestMethod]
    public void Einsum_WithEllipsis_IsRefusedNamingTheEquation()
    {
        var g = new TestGraph(13).Input("a", 2, 3).Input("b", 3, 4);
        g.Output(g.Node("Einsum", ["a", "b"], StringAttr("equation", "...j,jk->...k")));
        var model = g.Build();
        var e = Assert.ThrowsExactly<InvalidOperationException>(() =>
            Microsoft.ML.Attribution.Autodiff.GradientGraphBuilder.Build(model, model.Outputs[0].Name, ["a"]));
        StringAssert.Contains(e.Message, "...j,jk->...k");
    }
}
