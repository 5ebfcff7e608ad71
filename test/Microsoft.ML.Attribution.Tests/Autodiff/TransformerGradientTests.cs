using Microsoft.ML.Attribution.Onnx;
using Microsoft.ML.Attribution.Tests.Support;
using static Microsoft.ML.Attribution.Onnx.TensorProtos;

namespace Microsoft.ML.Attribution.Tests.Autodiff;

/// <summary>
/// Attention-shaped MatMuls, LayerNormalization, and whole encoder layers built the way PyTorch exports them.
/// </summary>
[TestClass]
public sealed class TransformerGradientTests
{
    private const int Length = 4, Width = 8, Heads = 2, HeadWidth = 4;

    [TestMethod]
    [DataRow(new[] { 2, 2, 3, 4 }, new[] { 2, 2, 4, 3 })] // scores: [N,h,L,d] @ [N,h,d,L]
    [DataRow(new[] { 2, 2, 3, 3 }, new[] { 2, 2, 3, 4 })] // context: [N,h,L,L] @ [N,h,L,d]
    [DataRow(new[] { 2, 2, 3, 4 }, new[] { 4, 3 })] // a shared weight
    [DataRow(new[] { 2, 1, 3, 4 }, new[] { 2, 2, 4, 3 })] // one head broadcast over two
    [DataRow(new[] { 2, 2, 3, 4 }, new[] { 1, 2, 4, 3 })] // one batch row broadcast
    [DataRow(new[] { 2, 3, 4 }, new[] { 2, 2, 4, 3 })] // rank broadcast
    public void MatMul_AttentionShapes_MatchFiniteDifferences(int[] a, int[] b)
    {
        var g = new TestGraph().Input("a", a.Cast<object>().ToArray()).Input("b", b.Cast<object>().ToArray());
        g.Output(g.Node("MatMul", ["a", "b"]));
        GradientCheck.AssertMatchesFiniteDifferences(g.Build(), new() { ["a"] = a, ["b"] = b });
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

    [TestMethod]
    public void MatMul_AttentionWithSymbolicBatch_MatchesFiniteDifferences()
    {
        var g = new TestGraph().Input("q", "batch", 2, 3, 4).Input("k", "batch", 2, 4, 3);
        g.Output(g.Node("Softmax", [g.Node("MatMul", ["q", "k"])], IntAttr("axis", -1)));
        GradientCheck.AssertMatchesFiniteDifferences(g.Build(), new() { ["q"] = [2, 2, 3, 4], ["k"] = [2, 2, 4, 3] });
    }

    [TestMethod]
    [DataRow(-1, true)]
    [DataRow(-1, false)]
    [DataRow(1, true)]
    [DataRow(2, true)]
    public void LayerNormalization_ToInputScaleAndBias_MatchesFiniteDifferences(int axis, bool withBias)
    {
        // x is [batch, 3, 4]; scale and bias are shaped like the normalised axes.
        int[] normalized = axis == 1 ? [3, 4] : [4];
        var g = new TestGraph(17).Input("x", "batch", 3, 4).Input("scale", normalized.Cast<object>().ToArray());
        if (withBias) g.Input("bias", normalized.Cast<object>().ToArray());
        g.Output(g.Node("LayerNormalization", withBias ? ["x", "scale", "bias"] : ["x", "scale"],
            IntAttr("axis", axis), FloatAttr("epsilon", 1e-3f)));
        var shapes = new Dictionary<string, int[]> { ["x"] = [2, 3, 4], ["scale"] = normalized };
        if (withBias) shapes["bias"] = normalized;
        GradientCheck.AssertMatchesFiniteDifferences(ActivationGradientTests.Build(g), shapes, seed: axis + 5, lo: -2, hi: 2);
    }

    [TestMethod]
    public void LayerNormalization_WithWeights_DifferentiatesOnlyTheInput()
    {
        var random = new Random(2);
        var g = new TestGraph(17).Input("x", "batch", "seq", 4);
        g.Output(g.Node("LayerNormalization", ["x", g.Random(random, 4), g.Random(random, 4)]));
        GradientCheck.AssertMatchesFiniteDifferences(ActivationGradientTests.Build(g), new() { ["x"] = [2, 3, 4] });
    }

    /// <summary>
    /// A post-norm encoder layer as torch.onnx exports nn.TransformerEncoderLayer(batch_first=True, activation="gelu")
    /// followed by a [CLS] classifier: Shape/Gather/Concat reshapes to [N,h,L,d], scaled dot-product attention,
    /// Erf-form GELU, LayerNorm decomposed below opset 17 and as the op from 17.
    /// </summary>
    internal static string EncoderLayer(TestGraph g, string x, int opset, Random random)
    {
        string Constant(double v) => g.Weight([v]);
        string Linear(string input, int inWidth, int outWidth) =>
            g.Node("Add", [g.Node("MatMul", [input, Scaled(g, random, 0.6, inWidth, outWidth)]), Scaled(g, random, 0.2, outWidth)]);
        string Unsqueeze0(string scalar) => opset >= 13
            ? g.Node("Unsqueeze", [scalar, g.Int64s(0)])
            : g.Node("Unsqueeze", [scalar], IntsAttr("axes", 0));
        string ReduceMean(string input) => opset >= 18
            ? g.Node("ReduceMean", [input, g.Int64s(-1)])
            : g.Node("ReduceMean", [input], IntsAttr("axes", -1));
        string LayerNorm(string input)
        {
            var gamma = Scaled(g, random, 1, Width);
            var beta = Scaled(g, random, 0.2, Width);
            if (opset >= 17) return g.Node("LayerNormalization", [input, gamma, beta], IntAttr("axis", -1), FloatAttr("epsilon", 1e-5f));
            var centered = g.Node("Sub", [input, ReduceMean(input)]);
            var variance = ReduceMean(g.Node("Pow", [centered, Constant(2)]));
            var std = g.Node("Sqrt", [g.Node("Add", [variance, Constant(1e-5)])]);
            return g.Node("Add", [g.Node("Mul", [g.Node("Div", [centered, std]), gamma]), beta]);
        }

        var batch = Unsqueeze0(g.Node("Gather", [g.Node("Shape", [x]), g.Node("Constant", [], TensorAttr("value", FromInt64("", [0])))], IntAttr("axis", 0)));
        var headsShape = g.Node("Concat", [batch, g.Int64s(Length, Heads, HeadWidth)], IntAttr("axis", 0));
        var mergedShape = g.Node("Concat", [batch, g.Int64s(-1, Width)], IntAttr("axis", 0));
        string SplitHeads(string t, long[] perm) => g.Node("Transpose", [g.Node("Reshape", [t, headsShape])], IntsAttr("perm", perm));
        var q = SplitHeads(Linear(x, Width, Width), [0, 2, 1, 3]); // [N,h,L,d]
        var k = SplitHeads(Linear(x, Width, Width), [0, 2, 3, 1]); // [N,h,d,L]
        var v = SplitHeads(Linear(x, Width, Width), [0, 2, 1, 3]);
        var scores = g.Node("Div", [g.Node("MatMul", [q, k]), Constant(Math.Sqrt(HeadWidth))]);
        var weights = g.Node("Softmax", [scores], IntAttr("axis", -1));
        var context = g.Node("Transpose", [g.Node("MatMul", [weights, v])], IntsAttr("perm", 0, 2, 1, 3));
        var attention = Linear(g.Node("Reshape", [context, mergedShape]), Width, Width);
        var h1 = LayerNorm(g.Node("Add", [x, attention]));

        var hidden = Linear(h1, Width, 2 * Width);
        var erf = g.Node("Erf", [g.Node("Div", [hidden, Constant(Math.Sqrt(2))])]);
        var gelu = g.Node("Mul", [g.Node("Mul", [hidden, g.Node("Add", [erf, Constant(1)])]), Constant(0.5)]);
        return LayerNorm(g.Node("Add", [h1, Linear(gelu, 2 * Width, Width)]));
    }

    private static string Scaled(TestGraph g, Random random, double scale, params long[] dims) =>
        g.Weight(Enumerable.Range(0, (int)dims.Aggregate(1L, (a, b) => a * b)).Select(_ => scale * (random.NextDouble() * 2 - 1)).ToArray(), dims);

    private static string Classifier(TestGraph g, string encoded, Random random)
    {
        var cls = g.Node("Gather", [encoded, g.Node("Constant", [], TensorAttr("value", FromInt64("", [0])))], IntAttr("axis", 1));
        return g.Node("Add", [g.Node("MatMul", [cls, Scaled(g, random, 0.8, Width, 2)]), Scaled(g, random, 0.1, 2)]);
    }

    [TestMethod]
    [DataRow(14)]
    [DataRow(17)]
    [DataRow(18)]
    public void EncoderLayer_AsPyTorchExportsIt_MatchesFiniteDifferences(int opset)
    {
        // Erf is float32-only on ONNX Runtime's CPU provider, so the whole layer is checked in float32
        // (step 1e-2, tolerance 1e-3 + 1%).
        var random = new Random(opset);
        var g = new TestGraph(opset, OnnxDataType.Float).Input("x", "batch", Length, Width);
        g.Output(Classifier(g, EncoderLayer(g, "x", opset, random), random));
        var model = ActivationGradientTests.Build(g);
        GradientCheck.AssertMatchesFloat32(model, new() { ["x"] = [2, Length, Width] }, lo: -1.5, hi: 1.5);
    }

    [TestMethod]
    [DataRow(14)]
    [DataRow(17)]
    public void BertEmbedding_CutAtTheGatherOutput_MatchesFiniteDifferences(int opset)
    {
        // int64 ids → Gather(word table) + position table → encoder. Layer methods integrate in the embedding space:
        // the graph is cut at the Gather output, which becomes a float input, and the ids drop out.
        var random = new Random(40 + opset);
        var g = new TestGraph(opset, OnnxDataType.Float).TypedInput("ids", OnnxDataType.Int64, "batch", Length);
        var words = g.Node("Gather", [Scaled(g, random, 1, 11, Width), "ids"], IntAttr("axis", 0));
        var embedded = g.Node("Add", [words, Scaled(g, random, 0.3, Length, Width)]);
        g.Output(Classifier(g, EncoderLayer(g, embedded, opset, random), random));
        var model = ActivationGradientTests.Build(g);
        Assert.AreEqual($"[batch, {Length}, {Width}]", model.Types[words].ShapeText);

        var cut = model.CutAt(words);
        Assert.IsTrue(cut.IsInput(words));
        Assert.IsFalse(cut.IsInput("ids"), "the ids only fed the embedding lookup");
        GradientCheck.AssertMatchesFloat32(cut, new() { [words] = [2, Length, Width] }, lo: -1.5, hi: 1.5);
    }

    [TestMethod]
    public void BertEmbedding_GradientToTheTable_MatchesFiniteDifferences()
    {
        // The rarely wanted but still exact gradient into the embedding table (ScatterND add over repeated ids).
        var random = new Random(7);
        var g = new TestGraph(17, OnnxDataType.Float).Input("table", 6, Width);
        var ids = g.Node("Constant", [], TensorAttr("value", FromInt64("", [1, 4, 4, 0, 2, 2, 2, 5], 2, Length)));
        var embedded = g.Node("Add", [g.Node("Gather", ["table", ids]), Scaled(g, random, 0.3, Length, Width)]);
        g.Output(Classifier(g, EncoderLayer(g, embedded, 17, random), random));
        GradientCheck.AssertMatchesFloat32(ActivationGradientTests.Build(g), new() { ["table"] = [6, Width] }, lo: -1.5, hi: 1.5);
    }
}
