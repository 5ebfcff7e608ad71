using System.Text.Json;
using Microsoft.ML.Attribution.Methods;
using Microsoft.ML.Attribution.Oracles;
using Microsoft.ML.Attribution.Tensors;
using Microsoft.ML.Attribution.Tests.Support;

namespace Microsoft.ML.Attribution.Tests.Methods;

/// <summary>
/// Captum's layer and neuron methods recomputed on the exported ONNX models, for every case of every fixture manifest
/// whose method is one of the layer methods (Fixtures/mlp_layers from build/fixtures/generate_mlp_layer_methods.py;
/// Fixtures/deep, CNNs and transformers, when present). Params follow FIXTURES-DEEP-SCHEMA: <c>layer</c> is an ONNX
/// tensor name (or a key of the model's <c>layers</c> map); with <c>attribute_to_layer_input</c> it already names the
/// layer's input tensor.
/// </summary>
[TestClass]
public sealed class LayerCaptumParityTests
{
    private const double Tolerance = 2e-4;

    public static IEnumerable<object[]> GradCamCases => Fixtures.NamesOf("gradcam");
    public static IEnumerable<object[]> LayerIntegratedGradientsCases => Fixtures.NamesOf("layer-integrated-gradients");
    public static IEnumerable<object[]> LayerConductanceCases => Fixtures.NamesOf("layer-conductance");
    public static IEnumerable<object[]> LayerActivationCases => Fixtures.NamesOf("layer-activation");
    public static IEnumerable<object[]> LayerGradientXActivationCases => Fixtures.NamesOf("layer-gradient-x-activation");
    public static IEnumerable<object[]> InternalInfluenceCases => Fixtures.NamesOf("internal-influence");
    public static IEnumerable<object[]> NeuronConductanceCases => Fixtures.NamesOf("neuron-conductance");

    [TestMethod]
    [DynamicData(nameof(GradCamCases))]
    public void LayerGradCam_MatchesCaptum(string name)
    {
        var (c, oracle) = Open(name);
        bool relu = c.Bool("relu_attributions", false);
        var result = IsIds(oracle)
            ? new LayerGradCam(oracle).Attribute(Ids(c.InputPath), c.Target, reluAttributions: relu)
            : new LayerGradCam(oracle).Attribute(c.Input, c.Target, reluAttributions: relu);
        AssertArrays.Close(c.Expected, result.Attributions, Tolerance, name);
    }

    [TestMethod]
    [DynamicData(nameof(LayerIntegratedGradientsCases))]
    public void LayerIntegratedGradients_MatchesCaptum(string name)
    {
        var (c, oracle) = Open(name);
        var method = new LayerIntegratedGradients(oracle);
        int steps = c.Int("steps", 50);
        var rule = IntegrationRule.Parse(c.String("integration") ?? "gausslegendre");
        var result = IsIds(oracle)
            ? method.Attribute(Ids(c.InputPath), c.BaselinePath is { } b ? Ids(b) : null, c.Target, steps, rule)
            : method.Attribute(c.Input, c.Baseline, c.Target, steps, rule);
        AssertArrays.Close(c.Expected, result.Attributions, Tolerance, name);
        AssertDelta(c, result);
    }

    [TestMethod]
    [DynamicData(nameof(LayerConductanceCases))]
    public void LayerConductance_MatchesCaptum(string name)
    {
        var (c, oracle) = Open(name);
        var result = new LayerConductance(oracle).Attribute(c.Input, c.Baseline, c.Target, c.Int("steps", 50),
            IntegrationRule.Parse(c.String("integration") ?? "gausslegendre"));
        AssertArrays.Close(c.Expected, result.Attributions, Tolerance, name);
        AssertDelta(c, result);
    }

    [TestMethod]
    [DynamicData(nameof(LayerActivationCases))]
    public void LayerActivation_MatchesCaptum(string name)
    {
        var (c, oracle) = Open(name);
        var result = IsIds(oracle) ? new LayerActivation(oracle).Attribute(Ids(c.InputPath)) : new LayerActivation(oracle).Attribute(c.Input);
        AssertArrays.Close(c.Expected, result, Tolerance, name);
    }

    [TestMethod]
    [DynamicData(nameof(LayerGradientXActivationCases))]
    public void LayerGradientXActivation_MatchesCaptum(string name)
    {
        var (c, oracle) = Open(name);
        var method = new LayerGradientXActivation(oracle, c.Bool("multiply_by_inputs", true));
        var result = IsIds(oracle) ? method.Attribute(Ids(c.InputPath), c.Target) : method.Attribute(c.Input, c.Target);
        AssertArrays.Close(c.Expected, result.Attributions, Tolerance, name);
    }

    [TestMethod]
    [DynamicData(nameof(InternalInfluenceCases))]
    public void InternalInfluence_MatchesCaptum(string name)
    {
        var (c, oracle) = Open(name);
        var result = new InternalInfluence(oracle).Attribute(c.Input, c.Baseline, c.Target, c.Int("steps", 50),
            IntegrationRule.Parse(c.String("integration") ?? "gausslegendre"));
        AssertArrays.Close(c.Expected, result.Attributions, Tolerance, name);
    }

    [TestMethod]
    [DynamicData(nameof(NeuronConductanceCases))]
    public void NeuronConductance_MatchesCaptum(string name)
    {
        var (c, oracle) = Open(name);
        var neuron = c.Ints("neuron") ?? throw new InvalidDataException($"{name}: params.neuron is missing.");
        var result = new NeuronConductance(oracle, c.Bool("multiply_by_inputs", true)).Attribute(c.Input, neuron, c.Baseline, c.Target,
            c.Int("steps", 50), IntegrationRule.Parse(c.String("integration") ?? "riemann_trapezoid"));
        AssertArrays.Close(c.Expected, result.Attributions, Tolerance, name);
    }

    private static (FixtureCase Case, OnnxLayerOracle Oracle) Open(string name)
    {
        var c = Fixtures.Case(name);
        string layer = c.String("layer") ?? throw new InvalidDataException($"{name}: params.layer is missing.");
        var (bytes, input) = c.Model();
        return (c, new OnnxLayerOracle(bytes, LayerTensor(c, layer), input, c.OutputName));
    }

    /// <summary>The layer param is an ONNX tensor name, or a key of the model's "layers" map in the case's manifest.</summary>
    private static string LayerTensor(FixtureCase c, string layer)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(c.ManifestFolder, "manifest.json")));
        foreach (var model in doc.RootElement.GetProperty("models").EnumerateObject())
        {
            if (Path.GetFullPath(Path.Combine(c.ManifestFolder, model.Value.GetProperty("file").GetString()!)) != Path.GetFullPath(c.ModelPath)) continue;
            if (model.Value.TryGetProperty("layers", out var layers) && layers.TryGetProperty(layer, out var tensor)) return tensor.GetString()!;
        }
        return layer;
    }

    private static bool IsIds(OnnxLayerOracle oracle) => oracle.InputIsTokenIds;

    private static NdArray<long> Ids(string path) => Npy.ReadInt64(path);

    private static void AssertDelta(FixtureCase c, AttributionResult result)
    {
        if (c.DeltaPath is null) return;
        var expected = Npy.ReadFloat(c.DeltaPath);
        // Captum's delta is a small difference of large sums: compare on the scale of the attributions.
        double scale = Math.Max(1, c.Expected.Data.Max(v => Math.Abs((double)v)));
        for (int r = 0; r < expected.Length; r++)
        {
            Assert.AreEqual(expected.Data[r], result.ConvergenceDelta![r], Tolerance * scale, $"{c.Name} delta[{r}]");
        }
    }
}
