using Microsoft.ML.Attribution.Methods;
using Microsoft.ML.Attribution.Metrics;
using Microsoft.ML.Attribution.Oracles;
using Microsoft.ML.Attribution.Tensors;
using Microsoft.ML.Attribution.Tests.Support;

namespace Microsoft.ML.Attribution.Tests.Metrics;

/// <summary>
/// Captum parity of <see cref="Infidelity"/> and <see cref="SensitivityMax"/> for IntegratedGradients and Saliency on
/// the wine MLP and the small CNN (Fixtures/metrics, written by build/fixtures/generate_metrics.py with the
/// perturbations drawn once and replayed here).
/// </summary>
[TestClass]
public sealed class MetricParityTests
{
    private const double Tolerance = 1e-4;

    public static IEnumerable<object[]> InfidelityCases => Fixtures.NamesOf("infidelity");
    public static IEnumerable<object[]> DecoratedCases => Fixtures.NamesOf("infidelity-decorated");
    public static IEnumerable<object[]> SensitivityCases => Fixtures.NamesOf("sensitivity-max");

    [TestMethod]
    [DynamicData(nameof(InfidelityCases))]
    public void Infidelity_WithCaptumsPerturbations_MatchesCaptum(string name)
    {
        var c = Fixtures.Case(name);
        var oracle = c.Oracle();
        var attributions = Explain(c, oracle).Attribute(c.Input, null, c.Target).Attributions;
        AssertArrays.Close(c.FloatArray("attributions")!, attributions, Tolerance, name + " attributions");
        int samples = c.Int("samples", 10);
        var values = new Infidelity(oracle).Compute(c.Input, attributions, c.FloatArray("perturbations")!, c.FloatArray("perturbed")!,
            c.Target, samples, c.Bool("normalize", false));
        AssertRelative(c.Expected.Data, values, name);
    }

    [TestMethod]
    [DynamicData(nameof(InfidelityCases))]
    public void Infidelity_ThroughAPerturbationFunction_EqualsTheDrawsGiven(string name)
    {
        var c = Fixtures.Case(name);
        var oracle = c.Oracle();
        var attributions = c.FloatArray("attributions")!;
        var perturbations = c.FloatArray("perturbations")!;
        int samples = c.Int("samples", 10);
        bool normalize = c.Bool("normalize", false);
        var given = new Infidelity(oracle).Compute(c.Input, attributions, perturbations, c.FloatArray("perturbed")!, c.Target, samples, normalize);
        var viaFunction = new Infidelity(oracle).Compute(c.Input, attributions, (x, _) =>
        {
            var perturbed = new NdArray<float>(x.Shape);
            for (int i = 0; i < x.Length; i++) perturbed.Data[i] = x.Data[i] - perturbations.Data[i];
            return (perturbations, perturbed);
        }, target: c.Target, samples: samples, normalize: normalize, internalBatchSize: 5);
        AssertRelative(given, viaFunction, name);
    }

    [TestMethod]
    [DynamicData(nameof(DecoratedCases))]
    public void Infidelity_FromPerturbedInputs_MultipliedByInputs_MatchesCaptumsDecorator(string name)
    {
        var c = Fixtures.Case(name);
        var perturbed = c.FloatArray("perturbed")!;
        var perturb = Infidelity.FromPerturbedInputs((x, _) => perturbed, multiplyByInputs: c.Bool("multiply_by_inputs", true));
        var values = new Infidelity(c.Oracle()).Compute(c.Input, c.FloatArray("attributions")!, perturb, target: c.Target, samples: c.Int("samples", 10));
        AssertRelative(c.Expected.Data, values, name);
    }

    [TestMethod]
    [DynamicData(nameof(SensitivityCases))]
    public void SensitivityMax_WithCaptumsPerturbations_MatchesCaptum(string name)
    {
        var c = Fixtures.Case(name);
        var norm = c.String("norm") == "inf" ? SensitivityNorm.Infinity : SensitivityNorm.Frobenius;
        int samples = c.Int("samples", 10);
        var metric = new SensitivityMax(Explain(c, c.Oracle()));
        var values = metric.Compute(c.Input, c.FloatArray("perturbed")!, null, c.Target, samples, norm);
        AssertRelative(c.Expected.Data, values, name);
        var chunked = metric.Compute(c.Input, c.FloatArray("perturbed")!, null, c.Target, samples, norm, samplesPerCall: 4);
        AssertRelative(values, chunked, name + " in chunks of 4 samples");
    }

    [TestMethod]
    public void SensitivityMax_OfARegistryMethod_EqualsTheSameMethodAsAFunction()
    {
        var c = Fixtures.Case("mt_wine_mlp_sensitivity_saliency_fro");
        var oracle = c.Oracle();
        var perturbed = c.FloatArray("perturbed")!;
        int samples = c.Int("samples", 10);
        var registry = MethodRegistry.All.Single(m => m.Name == "saliency");
        var viaRegistry = new SensitivityMax(registry, new MethodInputs { Model = oracle }).Compute(c.Input, perturbed, null, c.Target, samples);
        AssertRelative(c.Expected.Data, viaRegistry, "registry saliency");
    }

    [TestMethod]
    public void SensitivityMax_IsZeroForAConstantExplanation_AndSeeded()
    {
        var c = Fixtures.Case("mt_wine_mlp_sensitivity_saliency_fro");
        var constant = new SensitivityMax(new ConstantExplanation(c.Oracle()));
        CollectionAssert.AreEqual(new float[c.Input.Rows], constant.Compute(c.Input, seed: 3));
        var saliency = new SensitivityMax(MethodRegistry.Get("saliency").Bind(c.Oracle()));
        var first = saliency.Compute(c.Input, target: c.Target, seed: 7, radius: 0.1);
        CollectionAssert.AreEqual(first, saliency.Compute(c.Input, target: c.Target, seed: 7, radius: 0.1));
        Assert.IsTrue(first.All(v => v > 0), "a non-linear model's saliency moves under noise");
    }

    [TestMethod]
    public void Infidelity_OfALinearModelsInputTimesGradient_IsZeroUnderTheStandardNoise()
    {
        // f(x) = w·x + b: f(x) − f(x − I) = w·I exactly, so Φ = w (the gradient) has zero infidelity, and 2w does not.
        var oracle = new LinearOracle([0.5f, -2f, 1.5f], 0.25f);
        var x = new NdArray<float>([1f, 2f, 3f, -1f, 0f, 4f], 2, 3);
        var exact = new NdArray<float>([0.5f, -2f, 1.5f, 0.5f, -2f, 1.5f], 2, 3);
        var doubled = new NdArray<float>(exact.Data.Select(v => 2 * v).ToArray(), 2, 3);
        var metric = new Infidelity(oracle);
        foreach (var v in metric.Compute(x, exact, Target.Class(0), samples: 20, noiseStdev: 0.5, seed: 1)) Assert.AreEqual(0, v, 1e-6);
        Assert.IsTrue(metric.Compute(x, doubled, Target.Class(0), samples: 20, noiseStdev: 0.5, seed: 1).All(v => v > 0.01));
        // The noise is drawn item by item in order, so chunking does not change the seeded result.
        var whole = metric.Compute(x, doubled, Target.Class(0), samples: 7, noiseStdev: 0.5, seed: 4);
        CollectionAssert.AreEqual(whole, metric.Compute(x, doubled, Target.Class(0), samples: 7, noiseStdev: 0.5, seed: 4, internalBatchSize: 3));
        Assert.IsFalse(whole.SequenceEqual(metric.Compute(x, doubled, Target.Class(0), samples: 7, noiseStdev: 0.5, seed: 5)));
        // Normalized, β rescales 2w back to w.
        foreach (var v in metric.Compute(x, doubled, Target.Class(0), samples: 20, noiseStdev: 0.5, normalize: true, seed: 1)) Assert.AreEqual(0, v, 1e-6);
    }

    [TestMethod]
    public void Infidelity_RejectsMisshapenAttributionsAndDraws()
    {
        var oracle = new LinearOracle([1f, 1f], 0f);
        var x = new NdArray<float>([1f, 2f], 1, 2);
        var ex = Assert.ThrowsExactly<ArgumentException>(() => new Infidelity(oracle).Compute(x, new NdArray<float>([1f, 2f, 3f], 1, 3)));
        StringAssert.Contains(ex.Message, "[1, 3]");
        ex = Assert.ThrowsExactly<ArgumentException>(() => new Infidelity(oracle).Compute(x, x, new NdArray<float>(3, 2), new NdArray<float>(2, 2), samples: 2));
        StringAssert.Contains(ex.Message, "Perturbations shaped [3, 2]");
    }

    internal static IAttributionMethod Explain(FixtureCase c, IGradientOracle oracle) => c.String("base_method") == "saliency"
        ? MethodRegistry.Get("saliency").Bind(oracle, new SaliencyOptions { Abs = c.Bool("abs", true) })
        : MethodRegistry.Get("integrated-gradients").Bind(oracle, new IntegratedGradientsOptions { Steps = c.Int("steps", 50) });

    /// <summary>An explanation that ignores its rows: every value 1.</summary>
    private sealed class ConstantExplanation(IForwardOracle model) : IAttributionMethod
    {
        public string Name => "constant";

        public IForwardOracle Model => model;

        public AttributionResult Attribute(NdArray<float> inputs, NdArray<float>? baselines, Target target) =>
            new(new NdArray<float>(Enumerable.Repeat(1f, inputs.Length).ToArray(), inputs.Shape), new int[inputs.Rows]);
    }

    private static void AssertRelative(float[] expected, float[] actual, string what)
    {
        Assert.AreEqual(expected.Length, actual.Length, what + ": length");
        for (int i = 0; i < expected.Length; i++)
        {
            double error = Math.Abs(expected[i] - (double)actual[i]);
            Assert.IsTrue(error <= Tolerance * Math.Abs(expected[i]) + 1e-9, $"{what}[{i}]: {actual[i]:G9}, expected {expected[i]:G9} (error {error:E2})");
        }
    }
}

/// <summary>f(x) = w·x + b as a forward oracle (one output per row).</summary>
internal sealed class LinearOracle(float[] weights, float bias) : IForwardOracle
{
    public string InputName => "x";
    public string OutputName => "y";
    public int? MaxRowsPerCall => null;
    public int Calls { get; private set; }

    public void ValidateInput(NdArray<float> inputs)
    {
        if (inputs.RowSize != weights.Length) throw new ArgumentException($"Input 'x' rows have {inputs.RowSize} values; expected {weights.Length}.");
    }

    public NdArray<float> Forward(NdArray<float> inputs)
    {
        Calls++;
        var result = new NdArray<float>(inputs.Rows, 1);
        for (int r = 0; r < inputs.Rows; r++)
        {
            double sum = bias;
            var row = inputs.Row(r);
            for (int j = 0; j < weights.Length; j++) sum += (double)weights[j] * row[j];
            result.Data[r] = (float)sum;
        }
        return result;
    }
}
