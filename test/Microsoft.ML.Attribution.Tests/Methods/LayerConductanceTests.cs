using Microsoft.ML.Attribution.Methods;
using Microsoft.ML.Attribution.Oracles;
using Microsoft.ML.Attribution.Tensors;
using Microsoft.ML.Attribution.Tests.Support;

namespace Microsoft.ML.Attribution.Tests.Methods;

/// <summary>
/// Exact values from Captum's own tests on BasicModel_MultiLayer (Fixtures/multilayer, exported by torch 1.13) and the
/// README ToyModel, for the path methods that work through a layer: LayerConductance, NeuronConductance, InternalInfluence.
/// </summary>
[TestClass]
public sealed class LayerConductanceTests
{
    internal const string Lin0 = "/linear0/Gemm_output_0";
    internal const string Lin1 = "/linear1/Gemm_output_0";
    internal const string Relu = "/relu/Relu_output_0";
    internal const string Lin2 = "output";

    internal static OnnxLayerOracle MultiLayer(string layer) => new(Fixtures.PathOf("multilayer/model.onnx"), layer);

    private static readonly NdArray<float> Input = new([0f, 100f, 0f], 1, 3);

    [TestMethod]
    [DataRow(Lin0, new[] { 0f, 390f, 0f })]
    [DataRow(Lin1, new[] { 90f, 100f, 100f, 100f })]
    [DataRow(Relu, new[] { 90f, 100f, 100f, 100f })]
    [DataRow(Lin2, new[] { 390f, 0f })]
    public void LayerConductance_MatchesCaptumTests_OnMultiLayer(string layer, float[] expected)
    {
        foreach (int? batch in new int?[] { null, 4, 20 })
        {
            var result = new LayerConductance(MultiLayer(layer)).Attribute(Input, target: Target.Class(0), steps: 500, internalBatchSize: batch);
            AssertAbsolute(expected, result.Attributions.Data, 0.1, $"{layer} batch {batch}");
            Assert.AreEqual(1, result.Attributions.Rows);
            Assert.IsTrue(Math.Abs(result.ConvergenceDelta![0]) < 0.01, $"delta {result.ConvergenceDelta[0]}");
        }
    }

    [TestMethod]
    public void LayerConductance_MatchesCaptumHead_OnReadmeToyModel()
    {
        // torch.manual_seed(123); torch.rand(2, 3) — the README's input; target 0, default 50 Gauss–Legendre steps.
        var input = new NdArray<float>([0.29611194f, 0.51656228f, 0.25167072f, 0.68855679f, 0.07397246f, 0.86652195f], 2, 3);
        var oracle = new OnnxLayerOracle(Fixtures.PathOf("toy/model.onnx"), "/lin1/Gemm_output_0");
        var result = new LayerConductance(oracle).Attribute(input, target: Target.Class(0));
        AssertArrays.Close([0f, 0f, -3.1452f, 0f, -0.3555f, -5.0596f], result.Attributions.Data, 2e-4, "conductance");
        CollectionAssert.AreEqual(new[] { 2, 3 }, result.Attributions.Shape);
    }

    [TestMethod]
    public void LayerConductance_ToLayerInput_EqualsConductanceOfThePreviousTensor()
    {
        var toInput = new LayerConductance(MultiLayer(Relu)).Attribute(Input, target: Target.Class(0), steps: 20, attributeToLayerInput: true);
        var previous = new LayerConductance(MultiLayer(Lin1)).Attribute(Input, target: Target.Class(0), steps: 20);
        AssertArrays.Close(previous.Attributions, toInput.Attributions, 1e-6, "to layer input");
    }

    [TestMethod]
    [DataRow(Lin2, new[] { 0 }, 0f, 100f, 0f, 0f, 390f, 0f)]
    [DataRow(Lin1, new[] { 0 }, 0f, 100f, 0f, 0f, 90f, 0f)]
    [DataRow(Relu, new[] { 3 }, 0f, 70f, 30f, 0f, 70f, 30f)]
    public void NeuronConductance_MatchesCaptumTests_OnMultiLayer(string layer, int[] neuron, float x0, float x1, float x2, float e0, float e1, float e2)
    {
        foreach (int? batch in new int?[] { null, 5, 20 })
        {
            var result = new NeuronConductance(MultiLayer(layer)).Attribute(new NdArray<float>([x0, x1, x2], 1, 3), neuron,
                target: Target.Class(0), steps: 500, method: IntegrationMethod.GaussLegendre, internalBatchSize: batch);
            AssertAbsolute([e0, e1, e2], result.Attributions.Data, 0.1, $"{layer} batch {batch}");
        }
    }

    [TestMethod]
    public void NeuronConductance_WithoutMultiplyingByInputs_MatchesCaptumTests()
    {
        var result = new NeuronConductance(MultiLayer(Lin2), multiplyByInputs: false).Attribute(new NdArray<float>([100f, 100f, 100f], 1, 3), [0],
            target: Target.Class(0), steps: 500, method: IntegrationMethod.GaussLegendre);
        AssertAbsolute([3.96f, 3.96f, 3.96f], result.Attributions.Data, 0.1, "without inputs");
    }

    [TestMethod]
    public void NeuronConductance_RejectsANeuronOutsideTheLayer()
    {
        var method = new NeuronConductance(MultiLayer(Lin1));
        var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => method.Attribute(Input, [4]));
        StringAssert.Contains(e.Message, Lin1);
        Assert.ThrowsExactly<ArgumentException>(() => method.Attribute(Input, [0, 1]));
    }

    [TestMethod]
    [DataRow(Lin0, false, new[] { 3.9f, 3.9f, 3.9f })]
    [DataRow(Lin1, false, new[] { 0.9f, 1f, 1f, 1f })]
    [DataRow(Relu, true, new[] { 0.9f, 1f, 1f, 1f })]
    public void InternalInfluence_MatchesCaptumTests_OnMultiLayer(string layer, bool toLayerInput, float[] expected)
    {
        foreach (int? batch in new int?[] { null, 5, 20 })
        {
            var result = new InternalInfluence(MultiLayer(layer)).Attribute(Input, target: Target.Class(0), steps: 500,
                method: IntegrationMethod.RiemannTrapezoid, internalBatchSize: batch, attributeToLayerInput: toLayerInput);
            AssertAbsolute(expected, result.Attributions.Data, 0.01, $"{layer} batch {batch}");
        }
    }

    /// <summary>Captum's assertTensorAlmostEqual(mode="max"): every |actual − expected| ≤ delta.</summary>
    internal static void AssertAbsolute(float[] expected, float[] actual, double delta, string what)
    {
        Assert.AreEqual(expected.Length, actual.Length, $"{what}: length");
        for (int i = 0; i < expected.Length; i++)
            Assert.IsTrue(Math.Abs(expected[i] - (double)actual[i]) <= delta, $"{what}[{i}]: {actual[i]:G9}, expected {expected[i]} ± {delta}");
    }
}
