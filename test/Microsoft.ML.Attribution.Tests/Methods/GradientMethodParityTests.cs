using Microsoft.ML.Attribution.Methods;
using Microsoft.ML.Attribution.Oracles;
using Microsoft.ML.Attribution.Tensors;
using Microsoft.ML.Attribution.Tests.Support;

namespace Microsoft.ML.Attribution.Tests.Methods;

/// <summary>
/// Captum parity of DeepLift, DeepLiftShap, GuidedBackprop, Deconvolution, GradientShap, NoiseTunnel and GuidedGradCam
/// (Fixtures/gradient_methods, written by build/fixtures/generate_gradient_methods.py; the random draws of GradientShap
/// and NoiseTunnel were recorded and are replayed).
/// </summary>
[TestClass]
public sealed class GradientMethodParityTests
{
    private const double Tolerance = 1e-4;

    public static IEnumerable<object[]> DeepLiftCases => Fixtures.NamesOf("deeplift");
    public static IEnumerable<object[]> DeepLiftShapCases => Fixtures.NamesOf("deeplift-shap");
    public static IEnumerable<object[]> GuidedBackpropCases => Fixtures.NamesOf("guided-backprop");
    public static IEnumerable<object[]> DeconvolutionCases => Fixtures.NamesOf("deconvolution");
    public static IEnumerable<object[]> GradientShapCases => Fixtures.NamesOf("gradient-shap");
    public static IEnumerable<object[]> NoiseTunnelCases => Fixtures.NamesOf("noise-tunnel");
    public static IEnumerable<object[]> GuidedGradCamCases => Fixtures.NamesOf("guided-gradcam");
    public static IEnumerable<object[]> NeuronGradientCases => Fixtures.NamesOf("neuron-gradient");
    public static IEnumerable<object[]> NeuronIntegratedGradientsCases => Fixtures.NamesOf("neuron-integrated-gradients");

    [TestMethod]
    [DynamicData(nameof(DeepLiftCases))]
    public void DeepLift_MatchesCaptum(string name)
    {
        var c = Fixtures.Case(name);
        var result = new DeepLift(c.Oracle()).Attribute(c.Input, c.Baseline, c.Target);
        AssertArrays.Close(c.Expected, result.Attributions, Tolerance, name);
        AssertArrays.Close(Npy.ReadFloat(c.DeltaPath!).Data, result.ConvergenceDelta!, Tolerance, name + " delta");
    }

    [TestMethod]
    [DynamicData(nameof(DeepLiftShapCases))]
    public void DeepLiftShap_MatchesCaptum(string name)
    {
        var c = Fixtures.Case(name);
        var result = new DeepLiftShap(c.Oracle()).Attribute(c.Input, c.FloatArray("baselines")!, c.Target);
        AssertArrays.Close(c.Expected, result.Attributions, Tolerance, name);
    }

    [TestMethod]
    [DynamicData(nameof(GuidedBackpropCases))]
    public void GuidedBackprop_MatchesCaptum(string name)
    {
        var c = Fixtures.Case(name);
        AssertArrays.Close(c.Expected, new GuidedBackprop(c.Oracle()).Attribute(c.Input, c.Target).Attributions, Tolerance, name);
    }

    [TestMethod]
    [DynamicData(nameof(DeconvolutionCases))]
    public void Deconvolution_MatchesCaptum(string name)
    {
        var c = Fixtures.Case(name);
        AssertArrays.Close(c.Expected, new Deconvolution(c.Oracle()).Attribute(c.Input, c.Target).Attributions, Tolerance, name);
    }

    [TestMethod]
    [DynamicData(nameof(GradientShapCases))]
    public void GradientShap_WithCaptumsDraws_MatchesCaptum(string name)
    {
        var c = Fixtures.Case(name);
        int samples = c.Int("n_samples", 5);
        if (c.Bool("statistical", false))
        {
            // Captum's draws were not recorded: compare the means within Captum's standard error (5σ) plus float noise.
            var ours = new GradientShap(c.Oracle()).Attribute(c.Input, c.FloatArray("baselines")!, c.Target, samples, c.Double("stdevs", 0), seed: 1);
            var stderr = c.FloatArray("stderr")!;
            var expected = c.Expected;
            for (int i = 0; i < expected.Length; i++)
                Assert.AreEqual(expected.Data[i], ours.Attributions.Data[i], 5 * stderr.Data[i] + 1e-3, $"{name}[{i}]");
            return;
        }
        var noise = c.FloatArray("noise")!;
        var result = new GradientShap(c.Oracle()).Attribute(c.Input, c.FloatArray("baselines")!, c.Target, samples,
            noise.Reshape([c.Input.Rows * samples, .. c.Input.RowShape]), c.LongArray("baseline_indices")!.Data, c.FloatArray("alphas")!.Data, null);
        AssertArrays.Close(c.Expected, result.Attributions, Tolerance, name);
    }

    [TestMethod]
    [DynamicData(nameof(NoiseTunnelCases))]
    public void NoiseTunnel_WithCaptumsNoise_MatchesCaptum(string name)
    {
        var c = Fixtures.Case(name);
        var oracle = c.Oracle();
        int samples = c.Int("n_samples", 5);
        var type = c.String("nt_type") switch
        {
            "smoothgrad" => NoiseTunnelType.SmoothGrad,
            "smoothgrad_sq" => NoiseTunnelType.SmoothGradSquared,
            _ => NoiseTunnelType.VarGrad,
        };
        var method = c.String("base_method") == "saliency"
            ? MethodRegistry.Get("saliency").Bind(oracle, new SaliencyOptions { Abs = c.Bool("abs", true) })
            : MethodRegistry.Get("integrated-gradients").Bind(oracle, new IntegratedGradientsOptions { Steps = c.Int("steps", 50) });
        var noise = c.FloatArray("noise")!.Reshape([c.Input.Rows * samples, .. c.Input.RowShape]);
        var result = new NoiseTunnel(method).Attribute(c.Input, type, samples, noise, c.Baseline, c.Target);
        AssertArrays.Close(c.Expected, result.Attributions, Tolerance, name);
    }

    [TestMethod]
    [DynamicData(nameof(GuidedGradCamCases))]
    public void GuidedGradCam_MatchesCaptum(string name)
    {
        var c = Fixtures.Case(name);
        var oracle = c.Oracle();
        var result = new GuidedGradCam(oracle, oracle.AtLayer(c.String("layer")!)).Attribute(c.Input, c.Target);
        AssertArrays.Close(c.Expected, result.Attributions, Tolerance, name);
    }

    [TestMethod]
    [DynamicData(nameof(NeuronGradientCases))]
    public void NeuronGradient_MatchesCaptum(string name)
    {
        var c = Fixtures.Case(name);
        var result = new NeuronGradient(c.LayerOracle()).Attribute(c.Input, c.Ints("neuron")!,
            attributeToNeuronInput: c.Bool("attribute_to_neuron_input", false));
        AssertArrays.Close(c.Expected, result.Attributions, Tolerance, name);
    }

    [TestMethod]
    [DynamicData(nameof(NeuronIntegratedGradientsCases))]
    public void NeuronIntegratedGradients_MatchesCaptum(string name)
    {
        var c = Fixtures.Case(name);
        var result = new NeuronIntegratedGradients(c.LayerOracle()).Attribute(c.Input, c.Ints("neuron")!, c.Baseline,
            c.Int("steps", 50), IntegrationRule.Parse(c.String("integration") ?? "gausslegendre"),
            attributeToNeuronInput: c.Bool("attribute_to_neuron_input", false));
        AssertArrays.Close(c.Expected, result.Attributions, Tolerance, name);
    }
}
