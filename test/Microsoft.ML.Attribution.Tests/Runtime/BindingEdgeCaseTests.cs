using Microsoft.ML.Attribution.Methods;
using Microsoft.ML.Attribution.Onnx;
using Microsoft.ML.Attribution.Oracles;
using Microsoft.ML.Attribution.Runtime;
using Microsoft.ML.Attribution.Tensors;
using Microsoft.ML.Attribution.Tests.Support;

namespace Microsoft.ML.Attribution.Tests.Runtime;

/// <summary>Edge cases of bound runs and graph pruning found in review: each failed before its fix.</summary>
[TestClass]
public sealed class BindingEdgeCaseTests
{
    /// <summary>x [batch, 3] → h = Relu(x) → y = −h.</summary>
    private static OnnxModel ReluNeg()
    {
        var g = new TestGraph(elemType: OnnxDataType.Float).Input("x", "batch", 3);
        g.Output(g.Node("Neg", [g.Node("Relu", ["x"])]));
        return g.Build();
    }

    private static NdArray<float> Rows(int n) =>
        new(Enumerable.Range(0, n * 3).Select(i => (i % 5) - 2f + 0.5f * (i % 2)).ToArray(), n, 3);

    [TestMethod]
    public void Staging_ManyDistinctBatchSizes_EvictsOnlyBetweenRuns()
    {
        var model = ReluNeg();
        var layer = model.Producer(model.Outputs[0].Name)!.Input[0];
        var staged = new OnnxLayerOracle(model.ToBytes(), layer, options: new RuntimeOptions { Stage = true });
        var plain = new OnnxLayerOracle(model.ToBytes(), layer);
        // Every batch size adds staged tensors for the layer graph's inputs and outputs; 40 sizes pass the cap many times.
        for (int n = 1; n <= 40; n++)
        {
            var x = Rows(n);
            var expected = new LayerGradientXActivation(plain).Attribute(x, Target.Class(0));
            var actual = new LayerGradientXActivation(staged).Attribute(x, Target.Class(0));
            CollectionAssert.AreEqual(expected.Attributions.Data, actual.Attributions.Data, $"{n} rows");
        }
    }

    [TestMethod]
    [DataRow(false)]
    [DataRow(true)]
    public void LayerThatIsTheModelInput_IsReadBackFromTheFeed(bool stage)
    {
        var oracle = new OnnxLayerOracle(ReluNeg().ToBytes(), "x", options: new RuntimeOptions { Stage = stage });
        var x = Rows(4);
        // Chunks of one row: the first learns the shapes, the rest run bound.
        var result = new LayerGradientXActivation(oracle).Attribute(x, Target.Class(1), internalBatchSize: 1);
        for (int r = 0; r < 4; r++)
        {
            float v = x.Data[r * 3 + 1];
            // x · ∂(−relu(x₁))/∂x: only element 1, −x₁ where x₁ > 0.
            CollectionAssert.AreEqual(new[] { 0f, v > 0 ? -v : 0f, 0f }, result.Attributions.Row(r).ToArray(), $"row {r}");
        }
    }

    [TestMethod]
    public void GradientGraph_OfAModelWhoseNodesAreNotSorted_IsRight()
    {
        // x → h = −x → y = Relu(h), stored as [Relu, Neg]: ONNX Runtime accepts nodes out of order. The backward pass
        // reads y, not h, so a pruning walk that trusted the stored order dropped the Neg.
        var g = new TestGraph(elemType: OnnxDataType.Float).Input("x", "batch", 3);
        g.Output(g.Node("Relu", [g.Node("Neg", ["x"])]));
        var proto = g.Build().CloneProto();
        var nodes = proto.Graph.Node.Reverse().ToList();
        proto.Graph.Node.Clear();
        proto.Graph.Node.AddRange(nodes);
        var oracle = new OnnxGradientOracle(new OnnxModel(proto).ToBytes());
        var x = new NdArray<float>([1f, -2f, 3f], 1, 3);
        var result = new Saliency(oracle).Attribute(x, Target.Class(1), abs: false);
        CollectionAssert.AreEqual(new[] { 0f, -1f, 0f }, result.Attributions.Data);
    }
}
