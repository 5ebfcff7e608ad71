using Microsoft.ML.Attribution.Methods;
using Microsoft.ML.Attribution.Onnx;
using Microsoft.ML.Attribution.Oracles;
using Microsoft.ML.Attribution.Tensors;
using Microsoft.ML.Attribution.Tests.Support;

namespace Microsoft.ML.Attribution.Tests.Methods;

/// <summary>Grad-CAM, Layer Gradient × Activation and Layer Activation against values worked out by hand.</summary>
[TestClass]
public sealed class LayerGradientMethodsTests
{
    /// <summary>x [N, 2, 3] → relu(x · s) with s [2, 1] per channel (the layer, C = 2, 3 positions) → Flatten → MatMul W [6, 2].</summary>
    private static (OnnxLayerOracle Oracle, double[] W, double[] S) ChannelModel()
    {
        double[] s = [1.5, -0.5];
        double[] w = [0.2, -1, 0.7, 0.4, -0.3, -0.9, 1.1, 0.05, -0.6, 0.8, 0.25, -0.45];
        var g = new TestGraph(13, OnnxDataType.Float).Input("x", "batch", 2, 3);
        string layer = g.Node("Relu", [g.Node("Mul", ["x", g.Weight(s, 2, 1)])]);
        string output = g.Node("MatMul", [g.Node("Flatten", [layer]), g.Weight(w, 6, 2)]);
        return (new OnnxLayerOracle(g.Output(output).Build().ToBytes(), layer), w, s);
    }

    private static readonly NdArray<float> Input = new([1f, -2f, 3f, 0.5f, -1f, -4f, -1f, 2f, 0.5f, 2f, 1f, -3f], 2, 2, 3);

    private static double Activation(int r, int c, int p, double[] s) => Math.Max(0, Input.Data[r * 6 + c * 3 + p] * s[c]);

    [TestMethod]
    [DataRow(false)]
    [DataRow(true)]
    public void LayerGradCam_WeighsChannelsByTheirMeanGradient(bool relu)
    {
        var (oracle, w, s) = ChannelModel();
        var result = new LayerGradCam(oracle).Attribute(Input, Target.PerRow(0, 1), reluAttributions: relu);
        CollectionAssert.AreEqual(new[] { 2, 1, 3 }, result.Attributions.Shape);
        bool sawNegative = false;
        for (int r = 0; r < 2; r++)
        {
            int t = r;
            for (int p = 0; p < 3; p++)
            {
                double cam = 0;
                for (int c = 0; c < 2; c++)
                {
                    // ∂f_t/∂a[c, q] = W[c·3 + q, t]; Grad-CAM's channel weight is its mean over q.
                    double weight = (w[(c * 3) * 2 + t] + w[(c * 3 + 1) * 2 + t] + w[(c * 3 + 2) * 2 + t]) / 3;
                    cam += weight * Activation(r, c, p, s);
                }
                sawNegative |= cam < -1e-3;
                Assert.AreEqual(relu ? Math.Max(0, cam) : cam, result.Attributions.Data[r * 3 + p], 1e-5, $"row {r} position {p}");
            }
        }
        Assert.IsTrue(sawNegative, "the test needs a negative map value to tell the ReLU apart");
    }

    [TestMethod]
    public void LayerGradCam_WithoutChannelSummation_KeepsOneMapPerChannel()
    {
        var (oracle, _, _) = ChannelModel();
        var method = new LayerGradCam(oracle);
        var summed = method.Attribute(Input, Target.Class(1));
        var perChannel = method.Attribute(Input, Target.Class(1), attrDimSummation: false);
        CollectionAssert.AreEqual(new[] { 2, 2, 3 }, perChannel.Attributions.Shape);
        for (int r = 0; r < 2; r++)
        {
            for (int p = 0; p < 3; p++)
            {
                float sum = perChannel.Attributions.Data[r * 6 + p] + perChannel.Attributions.Data[r * 6 + 3 + p];
                Assert.AreEqual(summed.Attributions.Data[r * 3 + p], sum, 1e-6);
            }
        }
    }

    [TestMethod]
    public void LayerGradCam_OnATwoDimensionalLayer_IsGradientTimesActivationSummed()
    {
        // No spatial axes: Captum keeps the gradient as the weight and sums over the units, giving [N, 1].
        var input = new NdArray<float>([0f, 100f, 0f], 1, 3);
        var result = new LayerGradCam(LayerConductanceTests.MultiLayer(LayerConductanceTests.Relu)).Attribute(input, Target.Class(0));
        CollectionAssert.AreEqual(new[] { 1, 1 }, result.Attributions.Shape);
        Assert.AreEqual(90 + 101 + 101 + 101, result.Attributions.Data[0], 1e-3); // relu = [90, 101, 101, 101], gradient ones
    }

    [TestMethod]
    [DataRow(true)]
    [DataRow(false)]
    public void LayerGradientXActivation_IsActivationTimesLayerGradient(bool multiply)
    {
        var (oracle, w, s) = ChannelModel();
        var result = new LayerGradientXActivation(oracle, multiply).Attribute(Input, Target.Class(1));
        CollectionAssert.AreEqual(new[] { 2, 2, 3 }, result.Attributions.Shape);
        for (int r = 0; r < 2; r++)
        {
            for (int c = 0; c < 2; c++)
            {
                for (int p = 0; p < 3; p++)
                {
                    double gradient = w[(c * 3 + p) * 2 + 1];
                    double expected = multiply ? gradient * Activation(r, c, p, s) : gradient;
                    Assert.AreEqual(expected, result.Attributions.Data[r * 6 + c * 3 + p], 1e-5, $"row {r} channel {c} position {p}");
                }
            }
        }
    }

    [TestMethod]
    public void LayerActivation_ReturnsTheLayerOrItsInput()
    {
        var (oracle, _, s) = ChannelModel();
        var method = new LayerActivation(oracle);
        var output = method.Attribute(Input, internalBatchSize: 1);
        var input = method.Attribute(Input, attributeToLayerInput: true);
        CollectionAssert.AreEqual(new[] { 2, 2, 3 }, output.Shape);
        for (int i = 0; i < 12; i++)
        {
            int c = i / 3 % 2;
            Assert.AreEqual(Math.Max(0, Input.Data[i] * s[c]), output.Data[i], 1e-6);
            Assert.AreEqual(Input.Data[i] * s[c], input.Data[i], 1e-6); // the Relu's input: the Mul's output
        }
    }

    [TestMethod]
    public void LayerMethods_TakeTokenIds_AtTheEmbedding()
    {
        var (model, embedding) = LayerIntegratedGradientsTests.TextModel(masked: false);
        var oracle = new OnnxLayerOracle(model.ToBytes(), embedding);
        var ids = new NdArray<long>([3, 1, 4, 1, 5, 9, 2, 6], 2, 4);
        var activations = new LayerActivation(oracle).Attribute(ids);
        CollectionAssert.AreEqual(new[] { 2, 4, 3 }, activations.Shape);
        var gxa = new LayerGradientXActivation(oracle).Attribute(ids, Target.Class(0));
        var gradients = new LayerGradientXActivation(oracle, multiplyByInputs: false).Attribute(ids, Target.Class(0));
        for (int i = 0; i < gxa.Attributions.Length; i++)
            Assert.AreEqual(gradients.Attributions.Data[i] * activations.Data[i], gxa.Attributions.Data[i], 1e-6);
        var cam = new LayerGradCam(oracle).Attribute(ids, Target.Class(0));
        CollectionAssert.AreEqual(new[] { 2, 1, 3 }, cam.Attributions.Shape);
    }
}
