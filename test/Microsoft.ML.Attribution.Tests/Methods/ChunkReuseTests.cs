using Microsoft.ML.Attribution.Methods;
using Microsoft.ML.Attribution.Oracles;
using Microsoft.ML.Attribution.Tensors;
using Microsoft.ML.Attribution.Tests.Support;

namespace Microsoft.ML.Attribution.Tests.Methods;

/// <summary>
/// The chunk loops reuse one set of pooled buffers for every chunk when the oracle writes into caller memory (ONNX
/// models); results must equal the allocate-per-chunk path other oracles take, whatever the chunk size.
/// </summary>
[TestClass]
public sealed class ChunkReuseTests
{
    /// <summary>The same ONNX oracle seen only through the public interface: the per-chunk allocating path.</summary>
    private sealed class Plain(IGradientOracle inner) : IGradientOracle
    {
        public string InputName => inner.InputName;

        public string OutputName => inner.OutputName;

        public int? MaxRowsPerCall => inner.MaxRowsPerCall;

        public void ValidateInput(NdArray<float> inputs) => inner.ValidateInput(inputs);

        public NdArray<float> Forward(NdArray<float> inputs) => inner.Forward(inputs);

        public (NdArray<float> Outputs, NdArray<float> Gradients) ForwardBackward(NdArray<float> inputs, NdArray<float> seed) =>
            inner.ForwardBackward(inputs, seed);
    }

    [TestMethod]
    [DataRow(1)]
    [DataRow(7)]
    [DataRow(64)]
    public void IntegratedGradients_PooledChunks_EqualPerChunkAllocation(int chunk)
    {
        var c = Fixtures.Case("zoo_resnet_gradcam");
        var oracle = new OnnxGradientOracle(c.ModelPath);
        var pooled = new IntegratedGradients(oracle).Attribute(c.Input, target: c.Target, steps: 9, internalBatchSize: chunk);
        var plain = new IntegratedGradients(new Plain(oracle)).Attribute(c.Input, target: c.Target, steps: 9, internalBatchSize: chunk);
        CollectionAssert.AreEqual(plain.Attributions.Data, pooled.Attributions.Data);
        CollectionAssert.AreEqual(plain.ConvergenceDelta, pooled.ConvergenceDelta);
    }

    [TestMethod]
    [DataRow(1)]
    [DataRow(5)]
    public void Occlusion_PooledChunks_EqualPerChunkAllocation(int chunk)
    {
        var c = Fixtures.Case("zoo_mnist_gradcam");
        var oracle = new OnnxGradientOracle(c.ModelPath);
        var pooled = new Occlusion(oracle).Attribute(c.Input, [1, 6, 6], [1, 4, 4], target: c.Target, internalBatchSize: chunk);
        var plain = new Occlusion(new Plain(oracle)).Attribute(c.Input, [1, 6, 6], [1, 4, 4], target: c.Target, internalBatchSize: chunk);
        CollectionAssert.AreEqual(plain.Attributions.Data, pooled.Attributions.Data);
    }

    [TestMethod]
    public void GradCam_KnownAndPredictedTargets_TakeDifferentPaths_ButAgree()
    {
        var c = Fixtures.Case("zoo_resnet_gradcam");
        var oracle = new OnnxLayerOracle(c.ModelPath, c.String("layer")!);
        var predicted = new LayerGradCam(oracle).Attribute(c.Input, Target.Predicted, reluAttributions: true, internalBatchSize: 1);
        var known = new LayerGradCam(oracle).Attribute(c.Input, Target.PerRow(predicted.Targets!), reluAttributions: true, internalBatchSize: 2);
        CollectionAssert.AreEqual(predicted.Attributions.Data, known.Attributions.Data);
        CollectionAssert.AreEqual(predicted.Attributions.Shape, known.Attributions.Shape);
    }

    /// <summary>x [batch, seq] (seq symbolic) → h = 2x (the layer) → y = tanh(h), per position, and s = Σ_seq y.</summary>
    private static Onnx.OnnxModel VariableLength()
    {
        var g = new TestGraph(elemType: Onnx.OnnxDataType.Float).Input("x", "batch", "seq");
        var h = g.Node("Mul", ["x", g.Weight([2], 1)]);
        var y = g.Node("Tanh", [h]);
        g.Output(y);
        g.Output(g.Node("ReduceSum", [y, g.Int64s(1)]));
        return g.Build();
    }

    [TestMethod]
    public void GradientOracle_InputsOfAnotherLength_UseTheirOwnOutputShape()
    {
        var model = VariableLength();
        var oracle = new OnnxGradientOracle(model.ToBytes());
        var longer = new NdArray<float>([0.1f, -0.2f, 0.3f, 0.4f, 0.5f, -0.6f, 0.7f, 0.8f], 2, 4);
        var shorter = new NdArray<float>([0.1f, -0.2f, 0.5f, -0.6f], 2, 2);

        var first = new Saliency(oracle).Attribute(longer, Target.Class(3), abs: false);
        var second = new Saliency(oracle).Attribute(shorter, Target.Class(1), abs: false);

        CollectionAssert.AreEqual(new[] { 2, 4 }, oracle.Forward(longer).Shape);
        CollectionAssert.AreEqual(new[] { 2, 2 }, oracle.Forward(shorter).Shape);
        // d tanh(2x_j)/dx_j = 2(1 − tanh²(2x_j)) at the targeted position only.
        for (int r = 0; r < 2; r++)
        {
            Assert.AreEqual(2 * (1 - Math.Pow(Math.Tanh(2 * longer.Data[r * 4 + 3]), 2)), first.Attributions.Data[r * 4 + 3], 1e-5);
            Assert.AreEqual(2 * (1 - Math.Pow(Math.Tanh(2 * shorter.Data[r * 2 + 1]), 2)), second.Attributions.Data[r * 2 + 1], 1e-5);
            Assert.AreEqual(0f, second.Attributions.Data[r * 2]);
        }
    }

    [TestMethod]
    public void LayerOracle_InputsOfAnotherLength_UseTheirOwnShapes()
    {
        var model = VariableLength();
        var sum = model.Outputs[1].Name;
        var layer = model.Producer(model.Outputs[0].Name)!.Input[0];
        var oracle = new OnnxLayerOracle(model.ToBytes(), layer, outputName: sum);
        var longer = new NdArray<float>([0.1f, -0.2f, 0.3f, 0.4f, 0.5f, -0.6f, 0.7f, 0.8f], 2, 4);
        var shorter = new NdArray<float>([0.1f, -0.2f, 0.5f, -0.6f], 2, 2);

        var first = new LayerGradientXActivation(oracle).Attribute(longer, Target.Class(0), internalBatchSize: 1);
        var second = new LayerGradientXActivation(oracle).Attribute(shorter, Target.Class(0), internalBatchSize: 1);

        CollectionAssert.AreEqual(new[] { 2, 4 }, first.Attributions.Shape);
        CollectionAssert.AreEqual(new[] { 2, 2 }, second.Attributions.Shape);
        // h_j · ds/dh_j = 2x_j · (1 − tanh²(2x_j)).
        for (int i = 0; i < shorter.Length; i++)
        {
            double h = 2 * shorter.Data[i];
            Assert.AreEqual(h * (1 - Math.Pow(Math.Tanh(h), 2)), second.Attributions.Data[i], 1e-5);
        }
    }
}
