using Microsoft.ML.Attribution.Methods;
using Microsoft.ML.Attribution.Onnx;
using Microsoft.ML.Attribution.Oracles;
using Microsoft.ML.Attribution.Tensors;
using Microsoft.ML.Attribution.Tests.Support;

namespace Microsoft.ML.Attribution.Tests.Methods;

/// <summary>
/// Layer Integrated Gradients: completeness in layer space on an MLP, on a model whose cut graph still reads the original
/// input (a skip connection), and on text models with int64 token ids (the cut graph drops or keeps the ids).
/// </summary>
[TestClass]
public sealed class LayerIntegratedGradientsTests
{
    private static OnnxLayerOracle Oracle(OnnxModel model, string layer) => new(model.ToBytes(), layer);

    [TestMethod]
    public void LayerIntegratedGradients_IsComplete_OnWineMlp()
    {
        string path = Fixtures.PathOf("wine_mlp/model.onnx");
        var inputs = Npy.ReadFloat(Fixtures.PathOf("wine_mlp/input.npy"));
        var baselines = Npy.ReadFloat(Fixtures.PathOf("wine_mlp/baseline.npy"));
        var result = new LayerIntegratedGradients(new OnnxLayerOracle(path, "/Tanh_output_0")).Attribute(inputs, baselines);
        CollectionAssert.AreEqual(new[] { inputs.Rows, 16 }, result.Attributions.Shape);

        var outputs = new LayerActivation(new OnnxLayerOracle(path, "output"));
        var fx = outputs.Attribute(inputs);
        var fb = outputs.Attribute(baselines.Rows == 1 ? Repeat(baselines, inputs.Rows) : baselines);
        for (int r = 0; r < inputs.Rows; r++)
        {
            int t = result.Targets[r];
            double change = fx.Row(r)[t] - (double)fb.Row(r)[t];
            double total = result.Attributions.Row(r).ToArray().Sum(v => (double)v);
            Assert.AreEqual(change, total, 2e-3 * Math.Max(1, Math.Abs(change)), $"row {r}: Σ attributions vs f(x) − f(baseline)");
            Assert.AreEqual(total - change, result.ConvergenceDelta![r], 1e-4, $"row {r}: reported delta");
        }
    }

    [TestMethod]
    public void LayerIntegratedGradients_AtTheModelInput_EqualsIntegratedGradients()
    {
        string path = Fixtures.PathOf("wine_mlp/model.onnx");
        var inputs = Npy.ReadFloat(Fixtures.PathOf("wine_mlp/input.npy"));
        var layer = new LayerIntegratedGradients(new OnnxLayerOracle(path, "input")).Attribute(inputs, target: Target.Class(1), steps: 20);
        var plain = new IntegratedGradients(new OnnxGradientOracle(path)).Attribute(inputs, target: Target.Class(1), steps: 20);
        AssertArrays.Close(plain.Attributions, layer.Attributions, 1e-5, "LayerIG at the input");
        AssertArrays.Close(plain.ConvergenceDelta!, layer.ConvergenceDelta!, 1e-5, "delta");
    }

    [TestMethod]
    public void LayerIntegratedGradients_DoesNotDependOnTheChunkSize()
    {
        string path = Fixtures.PathOf("wine_mlp/model.onnx");
        var inputs = Npy.ReadFloat(Fixtures.PathOf("wine_mlp/input.npy"));
        var method = new LayerIntegratedGradients(new OnnxLayerOracle(path, "/fc2/Gemm_output_0"));
        var whole = method.Attribute(inputs, steps: 9, method: IntegrationMethod.RiemannMiddle);
        var chunked = method.Attribute(inputs, steps: 9, method: IntegrationMethod.RiemannMiddle, internalBatchSize: 7);
        AssertArrays.Close(whole.Attributions, chunked.Attributions, 1e-6, "chunked");
    }

    [TestMethod]
    public void LayerIntegratedGradients_ToLayerInput_IntegratesInThePreviousTensor()
    {
        var input = new NdArray<float>([0f, 100f, 0f, 3f, -2f, 5f], 2, 3);
        var toInput = new LayerIntegratedGradients(LayerConductanceTests.MultiLayer(LayerConductanceTests.Relu))
            .Attribute(input, target: Target.Class(0), attributeToLayerInput: true);
        var previous = new LayerIntegratedGradients(LayerConductanceTests.MultiLayer(LayerConductanceTests.Lin1))
            .Attribute(input, target: Target.Class(0));
        AssertArrays.Close(previous.Attributions, toInput.Attributions, 1e-6, "to layer input");
    }

    /// <summary>
    /// f = W2·relu(W1 x + b1) + V x: the cut graph at the relu still reads x through V. On the path the skip term stays
    /// V x, so Σ attributions = W2·(r(x) − r(b)) exactly (f is linear in r), and Captum's delta, which subtracts
    /// f(x) − f(b) of the whole model, is −(x − b)·V.
    /// </summary>
    [TestMethod]
    public void LayerIntegratedGradients_FeedsTheOriginalInput_ThroughASkipConnection()
    {
        var random = new Random(5);
        double[] w2 = Enumerable.Range(0, 8).Select(_ => random.NextDouble() * 2 - 1).ToArray();
        double[] v = Enumerable.Range(0, 6).Select(_ => random.NextDouble() * 2 - 1).ToArray();
        var g = new TestGraph(13, OnnxDataType.Float).Input("x", "batch", 3);
        string relu = g.Node("Relu", [g.Node("Gemm", ["x", g.Random(random, 3, 4), g.Random(random, 4)])]);
        string output = g.Node("Add", [g.Node("MatMul", [relu, g.Weight(w2, 4, 2)]), g.Node("MatMul", ["x", g.Weight(v, 3, 2)])]);
        var model = g.Output(output).Build();

        var x = new NdArray<float>([0.5f, -1f, 2f, 1.5f, 0.25f, -0.75f], 2, 3);
        var b = new NdArray<float>([0.1f, 0.2f, -0.3f], 1, 3);
        var oracle = Oracle(model, relu);
        var result = new LayerIntegratedGradients(oracle).Attribute(x, b, Target.PerRow(0, 1), steps: 8);
        var rx = new LayerActivation(oracle).Attribute(x);
        var rb = new LayerActivation(oracle).Attribute(Repeat(b, 2));
        for (int r = 0; r < 2; r++)
        {
            int t = r;
            double expectedTotal = 0, expectedDelta = 0;
            for (int j = 0; j < 4; j++) expectedTotal += w2[j * 2 + t] * (rx.Row(r)[j] - rb.Row(r)[j]);
            for (int i = 0; i < 3; i++) expectedDelta -= (x.Row(r)[i] - b.Data[i]) * v[i * 2 + t];
            for (int j = 0; j < 4; j++)
                Assert.AreEqual(w2[j * 2 + t] * (rx.Row(r)[j] - rb.Row(r)[j]), result.Attributions.Row(r)[j], 1e-5, $"row {r} unit {j}");
            Assert.AreEqual(expectedTotal, result.Attributions.Row(r).ToArray().Sum(a => (double)a), 1e-5, $"row {r} total");
            Assert.AreEqual(expectedDelta, result.ConvergenceDelta![r], 1e-5, $"row {r} delta");
        }
    }

    [TestMethod]
    public void LayerIntegratedGradients_OnTokenIds_IsCompleteAtTheEmbedding()
    {
        var (model, embedding) = TextModel(masked: false);
        var ids = new NdArray<long>([3, 1, 4, 1, 5, 9, 2, 6], 2, 4);
        var oracle = Oracle(model, embedding);
        Assert.IsTrue(oracle.InputIsTokenIds);
        var method = new LayerIntegratedGradients(oracle);
        var outputs = new LayerActivation(Oracle(model, model.Outputs[0].Name));
        foreach (var baseline in new NdArray<long>?[] { null, new([7], 1) })
        {
            var result = method.Attribute(ids, baseline, Target.Class(1));
            CollectionAssert.AreEqual(new[] { 2, 4, 3 }, result.Attributions.Shape);
            var fx = outputs.Attribute(ids);
            var fb = outputs.Attribute(new NdArray<long>(Enumerable.Repeat(baseline?.Data[0] ?? 0L, 8).ToArray(), 2, 4));
            for (int r = 0; r < 2; r++)
            {
                double change = fx.Row(r)[1] - (double)fb.Row(r)[1];
                Assert.AreEqual(change, result.Attributions.Row(r).ToArray().Sum(a => (double)a), 1e-4, $"row {r} Σ attributions");
                Assert.IsTrue(Math.Abs(result.ConvergenceDelta![r]) < 1e-4, $"row {r} delta {result.ConvergenceDelta[r]}");
            }
        }
    }

    /// <summary>
    /// A mask computed from the ids (id &gt; 0) multiplies the embedding. The cut graph still reads the ids, and must read
    /// the ORIGINAL ones: with every id non-zero the mask is all ones along the path, so the attributions sum to the
    /// unmasked model's f(x) − f(baseline), while Captum's delta (which runs the masked model on the all-pad baseline,
    /// mask all zeros) does not vanish.
    /// </summary>
    [TestMethod]
    public void LayerIntegratedGradients_FeedsTheOriginalIds_ToAMaskBehindTheCut()
    {
        var (masked, embedding) = TextModel(masked: true);
        var (plain, _) = TextModel(masked: false);
        var ids = new NdArray<long>([3, 1, 4, 1, 5, 9, 2, 6], 2, 4);
        var result = new LayerIntegratedGradients(Oracle(masked, embedding)).Attribute(ids, target: Target.Class(0));
        var plainOutputs = new LayerActivation(Oracle(plain, plain.Outputs[0].Name));
        var fx = plainOutputs.Attribute(ids);
        var fb = plainOutputs.Attribute(new NdArray<long>(2, 4));
        var maskedAtBaseline = new LayerActivation(Oracle(masked, masked.Outputs[0].Name)).Attribute(new NdArray<long>(2, 4));
        for (int r = 0; r < 2; r++)
        {
            double total = result.Attributions.Row(r).ToArray().Sum(a => (double)a);
            Assert.AreEqual(fx.Row(r)[0] - (double)fb.Row(r)[0], total, 1e-4, $"row {r} Σ attributions");
            double expectedDelta = total - (fx.Row(r)[0] - (double)maskedAtBaseline.Row(r)[0]);
            Assert.AreEqual(expectedDelta, result.ConvergenceDelta![r], 1e-4, $"row {r} delta");
            Assert.IsTrue(Math.Abs(expectedDelta) > 1e-2, "the test needs a mask that changes f(baseline)");
        }
    }

    /// <summary>ids [N, 4] → Gather(E[10, 3]) + P[4, 3] (the layer) → (× mask(ids)) → Flatten → Gemm(12→5) → Tanh → Gemm(5→2).</summary>
    internal static (OnnxModel Model, string Embedding) TextModel(bool masked)
    {
        var random = new Random(11);
        var g = new TestGraph(13, OnnxDataType.Float).TypedInput("ids", OnnxDataType.Int64, "batch", 4);
        string tokens = g.Node("Gather", [g.Random(random, 10, 3), "ids"]);
        string embedding = g.Node("Add", [tokens, g.Random(random, 4, 3)]);
        string h = embedding;
        var w1 = g.Random(random, 12, 5);
        var b1 = g.Random(random, 5);
        var w2 = g.Random(random, 5, 2);
        var b2 = g.Random(random, 2);
        if (masked)
        {
            string mask = g.Node("Cast", [g.Node("Greater", ["ids", g.Int64s(0)])], TensorProtos.IntAttr("to", OnnxDataType.Float));
            h = g.Node("Mul", [h, g.Node("Unsqueeze", [mask, g.Int64s(2)])]);
        }
        string hidden = g.Node("Tanh", [g.Node("Gemm", [g.Node("Flatten", [h]), w1, b1])]);
        string output = g.Node("Gemm", [hidden, w2, b2]);
        return (g.Output(output).Build(), embedding);
    }

    internal static NdArray<float> Repeat(NdArray<float> row, int rows)
    {
        var result = new NdArray<float>([rows, .. row.RowShape]);
        for (int r = 0; r < rows; r++) row.Data.CopyTo(result.Row(r));
        return result;
    }
}
