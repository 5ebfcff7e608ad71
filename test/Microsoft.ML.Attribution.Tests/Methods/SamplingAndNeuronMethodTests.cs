using Microsoft.ML.Attribution.Methods;
using Microsoft.ML.Attribution.Onnx;
using Microsoft.ML.Attribution.Oracles;
using Microsoft.ML.Attribution.Tensors;
using Microsoft.ML.Attribution.Tests.Support;

namespace Microsoft.ML.Attribution.Tests.Methods;

[TestClass]
public sealed class SamplingAndNeuronMethodTests
{
    /// <summary>f(x) = x·W with W [3, 2]: gradients are constant, so sampled methods have closed forms.</summary>
    private static OnnxGradientOracle Linear()
    {
        var g = new TestGraph(elemType: OnnxDataType.Float).Input("x", "batch", 3);
        g.Output(g.Node("MatMul", ["x", g.Weight([1, -2, 3, 0.5, -1, 4], 3, 2)]));
        return new OnnxGradientOracle(g.Build(), "x", null, null);
    }

    private static readonly NdArray<float> Rows = new([0.5f, -1f, 2f, 1.5f, 0.25f, -0.75f], 2, 3);

    [TestMethod]
    public void NoiseTunnel_WithoutNoise_EqualsTheBaseMethod_AndVarGradIsZero()
    {
        var oracle = Linear();
        var saliency = MethodRegistry.Get("saliency").Bind(oracle, new SaliencyOptions { Abs = false });
        var plain = new Saliency(oracle).Attribute(Rows, Target.Class(1), abs: false);
        var tunnel = new NoiseTunnel(saliency);
        var smooth = tunnel.Attribute(Rows, NoiseTunnelType.SmoothGrad, samples: 4, stdev: 0, target: Target.Class(1));
        var squared = tunnel.Attribute(Rows, NoiseTunnelType.SmoothGradSquared, samples: 4, stdev: 0, target: Target.Class(1));
        var variance = tunnel.Attribute(Rows, NoiseTunnelType.VarGrad, samples: 4, stdev: 0, target: Target.Class(1));
        CollectionAssert.AreEqual(plain.Attributions.Data, smooth.Attributions.Data);
        CollectionAssert.AreEqual(plain.Attributions.Data.Select(v => v * v).ToArray(), squared.Attributions.Data);
        Assert.IsTrue(variance.Attributions.Data.All(v => v == 0f));
    }

    [TestMethod]
    public void NoiseTunnel_OverInputXGradient_AveragesTheNoisyCopies_AndIsSeeded()
    {
        // On a linear model, InputXGradient of x + ε is (x + ε)·w: SmoothGrad is x·w + mean(ε)·w.
        var oracle = Linear();
        var ixg = MethodRegistry.Get("input-x-gradient").Bind(oracle);
        var tunnel = new NoiseTunnel(ixg);
        var a = tunnel.Attribute(Rows, samples: 3, stdev: 0.5, target: Target.Class(0), seed: 42);
        var b = tunnel.Attribute(Rows, samples: 3, stdev: 0.5, target: Target.Class(0), seed: 42);
        var c = tunnel.Attribute(Rows, samples: 3, stdev: 0.5, target: Target.Class(0), seed: 43);
        CollectionAssert.AreEqual(a.Attributions.Data, b.Attributions.Data, "same seed, same numbers");
        CollectionAssert.AreNotEqual(a.Attributions.Data, c.Attributions.Data, "another seed, other noise");

        var noise = new NdArray<float>(Enumerable.Range(0, 18).Select(i => (i % 5 - 2) * 0.1f).ToArray(), 6, 3);
        var given = tunnel.Attribute(Rows, NoiseTunnelType.SmoothGrad, 3, noise, null, Target.Class(0));
        float[] w = [1, 3, -1];
        for (int r = 0; r < 2; r++)
        {
            for (int j = 0; j < 3; j++)
            {
                double meanNoise = (noise.Data[(r * 3) * 3 + j] + noise.Data[(r * 3 + 1) * 3 + j] + noise.Data[(r * 3 + 2) * 3 + j]) / 3.0;
                Assert.AreEqual((Rows.Row(r)[j] + meanNoise) * w[j], given.Attributions.Row(r)[j], 1e-5);
            }
        }
    }

    [TestMethod]
    public void GradientShap_OnALinearModel_SumsToTheMeanOutputChangeOfItsSamples()
    {
        var oracle = Linear();
        var distribution = new NdArray<float>([0f, 0f, 0f, 1f, 1f, 1f, -2f, 0.5f, 3f], 3, 3);
        var result = new GradientShap(oracle).Attribute(Rows, distribution, Target.Class(1), samples: 50, stdev: 0.1, seed: 3);
        var again = new GradientShap(oracle).Attribute(Rows, distribution, Target.Class(1), samples: 50, stdev: 0.1, seed: 3);
        CollectionAssert.AreEqual(result.Attributions.Data, again.Attributions.Data);
        // Replay with explicit draws: Σ attr = mean over samples of f(x + ε) − f(b).
        var noise = new NdArray<float>(new float[2 * 2 * 3], 4, 3);
        noise.Data[0] = 0.5f;
        long[] indices = [0, 2, 1, 1];
        float[] alphas = [0.3f, 0.9f, 0.5f, 0.1f];
        var replay = new GradientShap(oracle).Attribute(Rows, distribution, Target.Class(1), 2, noise, indices, alphas, null);
        float[] w = [-2, 0.5f, 4];
        for (int r = 0; r < 2; r++)
        {
            double expected = 0;
            for (int s = 0; s < 2; s++)
            {
                int item = r * 2 + s;
                for (int j = 0; j < 3; j++)
                    expected += (Rows.Row(r)[j] + noise.Data[item * 3 + j] - distribution.Row((int)indices[item])[j]) * w[j] / 2;
            }
            Assert.AreEqual(expected, replay.Attributions.Row(r).ToArray().Sum(), 1e-5, $"row {r}");
        }
    }

    [TestMethod]
    public void GradientShap_BaselineDistributionOfWrongShape_IsRejected()
    {
        var e = Assert.ThrowsExactly<ArgumentException>(() =>
            new GradientShap(Linear()).Attribute(Rows, new NdArray<float>(new float[8], 2, 4)));
        StringAssert.Contains(e.Message, "[2, 4]");
    }

    private static (OnnxLayerOracle Oracle, string Relu) Toy()
    {
        var path = Fixtures.Case("toy_ig_gausslegendre").ModelPath;
        var relu = OnnxModel.Load(path).TopologicalOrder.First(n => n.OpType == "Relu").Output[0];
        return (new OnnxLayerOracle(path, relu), relu);
    }

    [TestMethod]
    public void NeuronGradient_IsTheGradientOfTheChosenUnit()
    {
        var (oracle, relu) = Toy();
        var inputs = new NdArray<float>([1f, 2f, 3f, 0.5f, -1f, 2f], 2, 3);
        var result = new NeuronGradient(oracle).Attribute(inputs, [2]);
        // Toy lin1 weights: arange(-4, 5).view(3, 3); unit 2 = relu(2·x0 + 3·x1 + 4·x2).
        CollectionAssert.AreEqual(new[] { 2f, 3f, 4f, 2f, 3f, 4f }, result.Attributions.Data);
    }

    [TestMethod]
    public void NeuronIntegratedGradients_IsComplete_ForTheUnit()
    {
        var (oracle, relu) = Toy();
        var inputs = new NdArray<float>([1f, 2f, 3f, 0.5f, -1f, 2f], 2, 3);
        var result = new NeuronIntegratedGradients(oracle).Attribute(inputs, [1], steps: 100);
        // Unit 1 = relu(−x0 + 0·x1 + x2), baseline 0 → relu(0) = 0.
        Assert.AreEqual(2f, result.Attributions.Row(0).ToArray().Sum(), 1e-4);
        Assert.AreEqual(1.5f, result.Attributions.Row(1).ToArray().Sum(), 1e-4);
    }

    [TestMethod]
    public void NeuronMethods_RejectUnknownLayersAndBadNeurons()
    {
        var (oracle, relu) = Toy();
        var e = Assert.ThrowsExactly<ArgumentException>(() => new NeuronGradient(new OnnxLayerOracle(Fixtures.Case("toy_ig_gausslegendre").ModelPath, relu + "_typo")));
        StringAssert.Contains(e.Message, relu);
        var inputs = new NdArray<float>(new float[3], 1, 3);
        var outside = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new NeuronGradient(oracle).Attribute(inputs, [3]));
        StringAssert.Contains(outside.Message, $"layer '{relu}'");
        var rank = Assert.ThrowsExactly<ArgumentException>(() => new NeuronGradient(oracle).Attribute(inputs, [0, 0]));
        StringAssert.Contains(rank.Message, "[0, 0]");
    }

    [TestMethod]
    public void NeuronGradient_OnATokenIdModel_SaysIdsHaveNoGradient()
    {
        var c = Fixtures.Case("zoo_text_layer_gxa");
        var oracle = new OnnxLayerOracle(c.ModelPath, c.String("layer")!);
        var e = Assert.ThrowsExactly<ArgumentException>(() => new NeuronGradient(oracle).Attribute(new NdArray<float>(1, 16), [0, 0]));
        StringAssert.Contains(e.Message, "token ids");
        StringAssert.Contains(e.Message, $"'{oracle.InputName}'");
    }

    [TestMethod]
    public void NeuronMethods_ShareOneGradientOraclePerLayerTensor()
    {
        // Method objects are cheap to make per call; the layer's gradient graph must not be rebuilt each time.
        var (oracle, relu) = Toy();
        Assert.AreSame(oracle.AsGradientOracle(relu), oracle.AsGradientOracle(relu));
        Assert.AreNotSame(oracle.AsGradientOracle(relu), oracle.AsGradientOracle(oracle.Resolve(true)));
    }

    [TestMethod]
    public void NeuronGradient_AtTheLayerInput_IsTheGradientOfThePreActivation()
    {
        var (oracle, _) = Toy();
        // The Relu's input is unit 2's pre-activation 2·x0 + 3·x1 + 4·x2, linear even where the Relu is off.
        var inputs = new NdArray<float>([-1f, -2f, -3f], 1, 3);
        var atOutput = new NeuronGradient(oracle).Attribute(inputs, [2]);
        var atInput = new NeuronGradient(oracle).Attribute(inputs, [2], attributeToNeuronInput: true);
        CollectionAssert.AreEqual(new[] { 0f, 0f, 0f }, atOutput.Attributions.Data);
        CollectionAssert.AreEqual(new[] { 2f, 3f, 4f }, atInput.Attributions.Data);
    }
}
