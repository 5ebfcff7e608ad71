using Microsoft.ML.Attribution.Methods;
using Microsoft.ML.Attribution.Tensors;
using Microsoft.ML.Attribution.Tests.Support;

namespace Microsoft.ML.Attribution.Tests.Methods;

/// <summary>
/// Captum parity of the layer and neuron classes of issue 17 (Fixtures/attr_classes, written by
/// build/fixtures/generate_attr_classes.py on the MNIST CNN and a tabular ReLU MLP; GradientShap's draws and
/// FeaturePermutation's permutations were recorded and are replayed).
/// </summary>
[TestClass]
public sealed class AttrClassesParityTests
{
    private const double Tolerance = 1e-4;

    public static IEnumerable<object[]> LayerDeepLiftCases => Fixtures.NamesOf("layer-deeplift");
    public static IEnumerable<object[]> LayerDeepLiftShapCases => Fixtures.NamesOf("layer-deeplift-shap");
    public static IEnumerable<object[]> LayerGradientShapCases => Fixtures.NamesOf("layer-gradient-shap");
    public static IEnumerable<object[]> LayerFeatureAblationCases => Fixtures.NamesOf("layer-feature-ablation");
    public static IEnumerable<object[]> LayerFeaturePermutationCases => Fixtures.NamesOf("layer-feature-permutation");
    public static IEnumerable<object[]> NeuronDeepLiftCases => Fixtures.NamesOf("neuron-deeplift");
    public static IEnumerable<object[]> NeuronDeepLiftShapCases => Fixtures.NamesOf("neuron-deeplift-shap");
    public static IEnumerable<object[]> NeuronGradientShapCases => Fixtures.NamesOf("neuron-gradient-shap");
    public static IEnumerable<object[]> NeuronGuidedBackpropCases => Fixtures.NamesOf("neuron-guided-backprop");
    public static IEnumerable<object[]> NeuronDeconvolutionCases => Fixtures.NamesOf("neuron-deconvolution");
    public static IEnumerable<object[]> NeuronFeatureAblationCases => Fixtures.NamesOf("neuron-feature-ablation");

    [TestMethod]
    [DynamicData(nameof(LayerDeepLiftCases))]
    public void LayerDeepLift_MatchesCaptum(string name)
    {
        var c = Fixtures.Case(name);
        var result = new LayerDeepLift(c.LayerOracle()).Attribute(c.Input, c.Baseline, c.Target);
        AssertArrays.Close(c.Expected, result.Attributions, Tolerance, name);
        AssertArrays.Close(Npy.ReadFloat(c.DeltaPath!).Data, result.ConvergenceDelta!, Tolerance, name + " delta");
    }

    [TestMethod]
    [DynamicData(nameof(LayerDeepLiftShapCases))]
    public void LayerDeepLiftShap_MatchesCaptum(string name)
    {
        var c = Fixtures.Case(name);
        var result = new LayerDeepLiftShap(c.LayerOracle()).Attribute(c.Input, c.FloatArray("baselines")!, c.Target);
        AssertArrays.Close(c.Expected, result.Attributions, Tolerance, name);
        AssertArrays.Close(Npy.ReadFloat(c.DeltaPath!).Data, result.ConvergenceDelta!, Tolerance, name + " delta (one per pair)");
    }

    [TestMethod]
    [DynamicData(nameof(LayerGradientShapCases))]
    public void LayerGradientShap_WithCaptumsDraws_MatchesCaptum(string name)
    {
        var c = Fixtures.Case(name);
        int samples = c.Int("n_samples", 5);
        var result = new LayerGradientShap(c.LayerOracle()).Attribute(c.Input, c.FloatArray("baselines")!, c.Target, samples,
            Noise(c, samples), c.LongArray("baseline_indices")!.Data, c.FloatArray("alphas")!.Data, null, false);
        AssertArrays.Close(c.Expected, result.Attributions, Tolerance, name);
    }

    [TestMethod]
    [DynamicData(nameof(LayerFeatureAblationCases))]
    public void LayerFeatureAblation_MatchesCaptum(string name)
    {
        var c = Fixtures.Case(name);
        NdArray<float>? layerBaseline = c.Params.TryGetProperty("layer_baseline_scalar", out var s) ? new NdArray<float>([s.GetSingle()], 1) : null;
        var result = new LayerFeatureAblation(c.LayerOracle()).Attribute(c.Input, layerBaseline, c.Target, c.Mask);
        AssertArrays.Close(c.Expected, result.Attributions, Tolerance, name);
    }

    [TestMethod]
    [DynamicData(nameof(LayerFeaturePermutationCases))]
    public void LayerFeaturePermutation_WithCaptumsPermutations_MatchesCaptum(string name)
    {
        var c = Fixtures.Case(name);
        var permutations = c.LongArray("permutations")!;
        var perms = Enumerable.Range(0, permutations.Rows).Select(f => permutations.Row(f).ToArray().Select(v => (int)v).ToArray()).ToArray();
        var result = new LayerFeaturePermutation(c.LayerOracle()).Attribute(c.Input, perms, c.Target, c.Mask, null);
        AssertArrays.Close(c.Expected, result.Attributions, Tolerance, name);
    }

    [TestMethod]
    [DynamicData(nameof(NeuronDeepLiftCases))]
    public void NeuronDeepLift_MatchesCaptum(string name)
    {
        var c = Fixtures.Case(name);
        var result = new NeuronDeepLift(c.LayerOracle()).Attribute(c.Input, c.Ints("neuron")!, c.Baseline);
        AssertArrays.Close(c.Expected, result.Attributions, Tolerance, name);
    }

    [TestMethod]
    [DynamicData(nameof(NeuronDeepLiftShapCases))]
    public void NeuronDeepLiftShap_MatchesCaptum(string name)
    {
        var c = Fixtures.Case(name);
        var result = new NeuronDeepLiftShap(c.LayerOracle()).Attribute(c.Input, c.Ints("neuron")!, c.FloatArray("baselines")!);
        AssertArrays.Close(c.Expected, result.Attributions, Tolerance, name);
    }

    [TestMethod]
    [DynamicData(nameof(NeuronGradientShapCases))]
    public void NeuronGradientShap_WithCaptumsDraws_MatchesCaptum(string name)
    {
        var c = Fixtures.Case(name);
        int samples = c.Int("n_samples", 5);
        var result = new NeuronGradientShap(c.LayerOracle()).Attribute(c.Input, c.Ints("neuron")!, c.FloatArray("baselines")!, samples,
            Noise(c, samples), c.LongArray("baseline_indices")!.Data, c.FloatArray("alphas")!.Data, null);
        AssertArrays.Close(c.Expected, result.Attributions, Tolerance, name);
    }

    [TestMethod]
    [DynamicData(nameof(NeuronGuidedBackpropCases))]
    public void NeuronGuidedBackprop_MatchesCaptum(string name)
    {
        var c = Fixtures.Case(name);
        AssertArrays.Close(c.Expected, new NeuronGuidedBackprop(c.LayerOracle()).Attribute(c.Input, c.Ints("neuron")!).Attributions, Tolerance, name);
    }

    [TestMethod]
    [DynamicData(nameof(NeuronDeconvolutionCases))]
    public void NeuronDeconvolution_MatchesCaptum(string name)
    {
        var c = Fixtures.Case(name);
        AssertArrays.Close(c.Expected, new NeuronDeconvolution(c.LayerOracle()).Attribute(c.Input, c.Ints("neuron")!).Attributions, Tolerance, name);
    }

    [TestMethod]
    [DynamicData(nameof(NeuronFeatureAblationCases))]
    public void NeuronFeatureAblation_MatchesCaptum(string name)
    {
        var c = Fixtures.Case(name);
        AssertArrays.Close(c.Expected, new NeuronFeatureAblation(c.LayerOracle()).Attribute(c.Input, c.Ints("neuron")!, c.Baseline).Attributions, Tolerance, name);
    }

    [TestMethod]
    public void LayerFeaturePermutation_OneRow_IsRefused()
    {
        var c = Fixtures.Cases.First(k => k.Method == "layer-feature-permutation");
        var one = new NdArray<float>(c.Input.Data[..c.Input.RowSize], [1, .. c.Input.RowShape]);
        var error = Assert.ThrowsExactly<ArgumentException>(() => new LayerFeaturePermutation(c.LayerOracle()).Attribute(one));
        StringAssert.Contains(error.Message, "at least 2 rows");
    }

    private static NdArray<float> Noise(FixtureCase c, int samples) =>
        c.FloatArray("noise")!.Reshape([c.Input.Rows * samples, .. c.Input.RowShape]);
}
