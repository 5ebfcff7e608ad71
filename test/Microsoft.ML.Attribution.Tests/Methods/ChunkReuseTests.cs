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
}
