using Microsoft.ML.Attribution.Methods;
using Microsoft.ML.Attribution.Oracles;
using Microsoft.ML.Attribution.Tensors;
using Microsoft.ML.Attribution.Tests.Methods;
using Microsoft.ML.Attribution.Tests.Support;

namespace Microsoft.ML.Attribution.Tests.Oracles;

[TestClass]
public sealed class OnnxLayerOracleTests
{
    private static string MultiLayer => Fixtures.PathOf("multilayer/model.onnx");

    [TestMethod]
    public void UnknownLayer_IsRejected_ListingTheNearestNames()
    {
        var e = Assert.ThrowsExactly<ArgumentException>(() => new OnnxLayerOracle(MultiLayer, "/linear1/Gemm_outpt_0"));
        StringAssert.Contains(e.Message, "'/linear1/Gemm_outpt_0'");
        StringAssert.Contains(e.Message, "nearest names");
        StringAssert.Contains(e.Message, "/linear1/Gemm_output_0");
    }

    [TestMethod]
    public void AWeight_IsRejected_AsALayer()
    {
        var e = Assert.ThrowsExactly<ArgumentException>(() => new OnnxLayerOracle(MultiLayer, "linear1.weight"));
        StringAssert.Contains(e.Message, "initializer");
    }

    [TestMethod]
    public void LayerInput_IsTheFirstActivationInputOfTheProducingNode()
    {
        Assert.AreEqual(LayerConductanceTests.Lin1, new OnnxLayerOracle(MultiLayer, LayerConductanceTests.Relu).LayerInputName);
        Assert.AreEqual(LayerConductanceTests.Lin0, new OnnxLayerOracle(MultiLayer, LayerConductanceTests.Lin1).LayerInputName);
        var atInput = new OnnxLayerOracle(MultiLayer, "input");
        Assert.IsNull(atInput.LayerInputName);
        Assert.ThrowsExactly<ArgumentException>(() => new LayerActivation(atInput).Attribute(new NdArray<float>(1, 3), attributeToLayerInput: true));
    }

    [TestMethod]
    public void InputsOfTheWrongElementType_AreRejected_NamingTheInput()
    {
        var (model, embedding) = LayerIntegratedGradientsTests.TextModel(masked: false);
        var text = new OnnxLayerOracle(model.ToBytes(), embedding);
        var e = Assert.ThrowsExactly<ArgumentException>(() => new LayerActivation(text).Attribute(new NdArray<float>(2, 4)));
        StringAssert.Contains(e.Message, "'ids'");
        StringAssert.Contains(e.Message, "token ids");
        var numeric = new OnnxLayerOracle(MultiLayer, LayerConductanceTests.Relu);
        Assert.ThrowsExactly<ArgumentException>(() => new LayerActivation(numeric).Attribute(new NdArray<long>(1, 3)));
        Assert.ThrowsExactly<ArgumentException>(() => new LayerActivation(numeric).Attribute(new NdArray<float>(1, 4)));
    }

    [TestMethod]
    public void TokenIds_AreNotALayer_TheyHaveNoGradient()
    {
        var (model, _) = LayerIntegratedGradientsTests.TextModel(masked: false);
        var e = Assert.ThrowsExactly<ArgumentException>(() => new OnnxLayerOracle(model.ToBytes(), "ids"));
        StringAssert.Contains(e.Message, "'ids'");
        StringAssert.Contains(e.Message, "float32");
    }

    [TestMethod]
    public void Activations_AreBatchedAcrossChunks()
    {
        var oracle = new OnnxLayerOracle(MultiLayer, LayerConductanceTests.Lin1);
        var rows = new NdArray<float>(Enumerable.Range(0, 30).Select(i => (float)i).ToArray(), 10, 3);
        var whole = new LayerActivation(oracle).Attribute(rows);
        var chunked = new LayerActivation(oracle).Attribute(rows, internalBatchSize: 3);
        CollectionAssert.AreEqual(new[] { 10, 4 }, chunked.Shape);
        CollectionAssert.AreEqual(whole.Data, chunked.Data);
        // lin1 = ones(4, 3)·x + [−10, 1, 1, 1]
        Assert.AreEqual(9 + 10 + 11 - 10, whole.Data[3 * 4], 1e-5);
    }
}
