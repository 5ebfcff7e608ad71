using Microsoft.ML.Attribution.Methods;
using Microsoft.ML.Attribution.Onnx;
using Microsoft.ML.Attribution.Oracles;
using Microsoft.ML.Attribution.Tensors;
using Microsoft.ML.Attribution.Tests.Methods;
using Microsoft.ML.Attribution.Tests.Support;

namespace Microsoft.ML.Attribution.Tests.Oracles;

/// <summary>What models accept is checked (or adapted to) before any work: fixed batches, empty inputs, int32 token ids.</summary>
[TestClass]
public sealed class InputContractTests
{
    /// <summary>x [batch, 3] → Gemm(3→4) → Tanh → Gemm(4→2); <paramref name="batch"/> is a fixed size or a symbolic name.</summary>
    private static OnnxGradientOracle Mlp(object batch)
    {
        var random = new Random(5);
        var g = new TestGraph(13, OnnxDataType.Float).Input("x", batch, 3);
        string hidden = g.Node("Tanh", [g.Node("Gemm", ["x", g.Random(random, 3, 4), g.Random(random, 4)])]);
        g.Output(g.Node("Gemm", [hidden, g.Random(random, 4, 2), g.Random(random, 2)]));
        return new OnnxGradientOracle(g.Build().ToBytes(), "x");
    }

    private static NdArray<float> Rows(int n) =>
        new(Enumerable.Range(0, n * 3).Select(i => (float)Math.Sin(i + 1)).ToArray(), n, 3);

    private static void AssertClose(NdArray<float> expected, NdArray<float> actual, string what)
    {
        CollectionAssert.AreEqual(expected.Shape, actual.Shape, what);
        for (int i = 0; i < expected.Length; i++) Assert.AreEqual(expected.Data[i], actual.Data[i], 1e-6, $"{what} at {i}");
    }

    [TestMethod]
    public void FixedBatchModel_FedOtherRowCounts_RunsInPaddedChunksOfItsBatch()
    {
        var fixedBatch = Mlp(2);
        var dynamic = Mlp("batch");
        Assert.AreEqual(2, fixedBatch.MaxRowsPerCall);
        foreach (int n in new[] { 1, 3, 5 })
        {
            var x = Rows(n);
            AssertClose(dynamic.Forward(x), fixedBatch.Forward(x), $"forward of {n} rows");
            AssertClose(new IntegratedGradients(dynamic).Attribute(x, target: Target.Class(1), steps: 7).Attributions,
                new IntegratedGradients(fixedBatch).Attribute(x, target: Target.Class(1), steps: 7).Attributions, $"IG of {n} rows");
            AssertClose(new Saliency(dynamic).Attribute(x, target: Target.Class(0)).Attributions,
                new Saliency(fixedBatch).Attribute(x, target: Target.Class(0)).Attributions, $"saliency of {n} rows");
            AssertClose(new FeatureAblation(dynamic).Attribute(x, target: Target.Class(0)).Attributions,
                new FeatureAblation(fixedBatch).Attribute(x, target: Target.Class(0)).Attributions, $"ablation of {n} rows");
        }
        // An explicit internal batch size other than the model's is fed through the same padded chunks.
        var three = Rows(3);
        AssertClose(new IntegratedGradients(dynamic).Attribute(three, steps: 5, internalBatchSize: 3).Attributions,
            new IntegratedGradients(fixedBatch).Attribute(three, steps: 5, internalBatchSize: 3).Attributions, "IG with internalBatchSize 3");
    }

    [TestMethod]
    public void ZeroRows_FailBeforeWork_NamingTheInput()
    {
        var oracle = Mlp("batch");
        var empty = new NdArray<float>(0, 3);
        foreach (var call in new Action[]
        {
            () => new IntegratedGradients(oracle).Attribute(empty),
            () => new Saliency(oracle).Attribute(empty),
            () => new FeatureAblation(oracle).Attribute(empty),
            () => new ShapleyValueSampling(oracle).Attribute(empty),
        })
        {
            var e = Assert.ThrowsExactly<ArgumentException>(call);
            StringAssert.Contains(e.Message, "'x'");
            StringAssert.Contains(e.Message, "0 rows");
        }
        var (model, embedding) = LayerIntegratedGradientsTests.TextModel(masked: false);
        var layerError = Assert.ThrowsExactly<ArgumentException>(() =>
            new LayerIntegratedGradients(new OnnxLayerOracle(model.ToBytes(), embedding)).Attribute(new NdArray<long>(0, 4)));
        StringAssert.Contains(layerError.Message, "'ids'");
        StringAssert.Contains(layerError.Message, "0 rows");
    }

    /// <summary>The text model of the layer tests, its ids declared int32.</summary>
    private static (OnnxModel Model, string Embedding) Int32TextModel()
    {
        var random = new Random(11);
        var g = new TestGraph(13, OnnxDataType.Float).TypedInput("ids", OnnxDataType.Int32, "batch", 4);
        string tokens = g.Node("Gather", [g.Random(random, 10, 3), "ids"]);
        string embedding = g.Node("Add", [tokens, g.Random(random, 4, 3)]);
        var w1 = g.Random(random, 12, 5);
        var b1 = g.Random(random, 5);
        var w2 = g.Random(random, 5, 2);
        var b2 = g.Random(random, 2);
        string hidden = g.Node("Tanh", [g.Node("Gemm", [g.Node("Flatten", [embedding]), w1, b1])]);
        return (g.Output(g.Node("Gemm", [hidden, w2, b2])).Build(), embedding);
    }

    [TestMethod]
    public void Int32TokenIds_AreFedAsInt32_AndDescribedAsInt32()
    {
        var (model32, embedding32) = Int32TextModel();
        var (model64, embedding64) = LayerIntegratedGradientsTests.TextModel(masked: false);
        var ids = new NdArray<long>([3, 1, 4, 1, 5, 9, 2, 6], 2, 4);
        var oracle32 = new OnnxLayerOracle(model32.ToBytes(), embedding32);
        Assert.IsTrue(oracle32.InputIsTokenIds);
        var expected = new LayerIntegratedGradients(new OnnxLayerOracle(model64.ToBytes(), embedding64)).Attribute(ids, target: Target.Class(1));
        var actual = new LayerIntegratedGradients(oracle32).Attribute(ids, target: Target.Class(1));
        AssertClose(expected.Attributions, actual.Attributions, "int32 ids");

        var wrongKind = Assert.ThrowsExactly<ArgumentException>(() =>
            new LayerIntegratedGradients(oracle32).Attribute(new NdArray<float>(2, 4)));
        StringAssert.Contains(wrongKind.Message, "int32 token ids");
        Assert.IsFalse(wrongKind.Message.Contains("int64", StringComparison.Ordinal), wrongKind.Message);
        var outOfRange = Assert.ThrowsExactly<ArgumentException>(() =>
            new LayerIntegratedGradients(oracle32).Attribute(new NdArray<long>([3, 1, 4, 1L << 40, 5, 9, 2, 6], 2, 4)));
        StringAssert.Contains(outOfRange.Message, "int32");
    }
}
