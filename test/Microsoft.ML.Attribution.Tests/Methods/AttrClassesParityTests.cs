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
        var result = new LayerDeepLift(c.LayerOracle()).Attribute(c.Input, c.Baseline, c.Target,
            attributeToLayerInput: c.Bool("attribute_to_layer_input", false));
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
        AssertArrays.Close(Npy.ReadFloat(c.DeltaPath!).Data, result.ConvergenceDelta!, Tolerance, name + " delta (one per sample)");
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

    public static IEnumerable<object[]> LrpCases => Fixtures.NamesOf("lrp");
    public static IEnumerable<object[]> LayerLrpCases => Fixtures.NamesOf("layer-lrp");

    [TestMethod]
    [DynamicData(nameof(LrpCases))]
    public void Lrp_PerRule_MatchesCaptum(string name)
    {
        var c = Fixtures.Case(name);
        var result = new Lrp(c.Oracle(), LrpRules.Parse(c.String("rules"))).Attribute(c.Input, c.Target);
        AssertArrays.Close(c.Expected, result.Attributions, Tolerance, name);
        AssertArrays.Close(Npy.ReadFloat(c.DeltaPath!).Data, result.ConvergenceDelta!, Tolerance, name + " delta");
    }

    [TestMethod]
    [DynamicData(nameof(LayerLrpCases))]
    public void LayerLrp_PerRule_MatchesCaptum(string name)
    {
        var c = Fixtures.Case(name);
        var result = new LayerLrp(c.LayerOracle(), LrpRules.Parse(c.String("rules"))).Attribute(c.Input, c.Target,
            attributeToLayerInput: c.Bool("attribute_to_layer_input", false));
        AssertArrays.Close(c.Expected, result.Attributions, Tolerance, name);
        AssertArrays.Close(Npy.ReadFloat(c.DeltaPath!).Data, result.ConvergenceDelta!, Tolerance, name + " delta");
    }

    [TestMethod]
    public void Lrp_Epsilon_OnABiasFreeReluNet_ConservesRelevance_AndABiasAbsorbsSome()
    {
        var c = Fixtures.Case("attr_tab_mlp_nobias_lrp_epsilon");
        var oracle = c.Oracle();
        var outputs = oracle.Forward(c.Input);
        var result = new Lrp(oracle).Attribute(c.Input); // each row's prediction: its largest output
        Assert.IsTrue(Enumerable.Range(0, c.Input.Rows).Count(r => Math.Abs(outputs.Row(r)[result.Targets[r]]) > 1e-2) >= 3,
            "rows with near-zero outputs would test nothing");
        for (int r = 0; r < c.Input.Rows; r++)
        {
            double total = result.Attributions.Row(r).ToArray().Sum(v => (double)v);
            double output = outputs.Row(r)[result.Targets[r]];
            Assert.AreEqual(output, total, 1e-5 * Math.Max(1, Math.Abs(output)), $"row {r}: Σ relevance = f(x)[t] for ε → 0 without biases");
            Assert.AreEqual(0, result.ConvergenceDelta![r], 1e-5 * Math.Max(1, Math.Abs(output)), $"row {r} delta");
        }
        // With biases (the same shapes), relevance leaks into them: the deltas are not all ~0.
        var biased = Fixtures.Case("attr_tab_mlp_lrp_epsilon");
        var leaked = new Lrp(biased.Oracle()).Attribute(biased.Input, biased.Target).ConvergenceDelta!;
        Assert.IsTrue(leaked.Any(d => Math.Abs(d) > 1e-3), "biases absorb relevance");
    }

    [TestMethod]
    public void Lrp_ANodeWithoutRule_FailsNamingItsOpAndNode()
    {
        var c = Fixtures.Case("attr_tab_mlp_lrp_epsilon");
        var rules = new LrpRules(LrpRules.Default.ByOpType.Where(p => p.Key != "Gemm").ToDictionary(p => p.Key, p => p.Value),
            new Dictionary<string, LrpRule> { ["/fc1/Gemm"] = new EpsilonLrpRule() });
        var error = Assert.ThrowsExactly<NotSupportedException>(() => new Lrp(c.Oracle(), rules).Attribute(c.Input, c.Target));
        StringAssert.Contains(error.Message, "Gemm");
        StringAssert.Contains(error.Message, "/fc3/Gemm");
        Assert.IsFalse(error.Message.Contains("/fc1/Gemm", StringComparison.Ordinal), "the node with a rule by name is not listed: " + error.Message);
    }

    [TestMethod]
    public void Lrp_ASkipConnectionsAdd_HasNoDefaultRule_AndIdentityRoutesIt()
    {
        var c = Fixtures.Case("attr_resnet_block_lrp_epsilon");
        var rules = LrpRules.Parse(c.String("rules"));
        var withoutAdd = new LrpRules(rules.ByOpType.Where(p => p.Key != "Add").ToDictionary(p => p.Key, p => p.Value), rules.ByNode);
        var error = Assert.ThrowsExactly<NotSupportedException>(() => new Lrp(c.Oracle(), withoutAdd).Attribute(c.Input, c.Target));
        StringAssert.Contains(error.Message, "op type(s) Add");
        StringAssert.Contains(error.Message, "/Add");
        AssertArrays.Close(c.Expected, new Lrp(c.Oracle(), rules).Attribute(c.Input, c.Target).Attributions, Tolerance, "identity on Add");
    }

    [TestMethod]
    public void LayerLrp_AlphaBeta_MatchesItsFormula_OnTheLastLayer()
    {
        // fc3 of the bias-free MLP is x·W (MatMul, W [8, 3]) on relu2's output x. With only the target t seeded by f_t:
        // R_j = f_t · (α·x_j·W⁺_jt / z⁺_t − β·x_j·W⁻_jt / z⁻_t), z± = Σ_j x_j·W±_jt (+ 1e-9·sign).
        var c = Fixtures.Case("attr_tab_mlp_nobias_lrp_epsilon");
        var model = Microsoft.ML.Attribution.Onnx.OnnxModel.Load(c.ModelPath);
        var fc3 = model.Producer("output")!;
        var w = Microsoft.ML.Attribution.Onnx.TensorProtos.ReadDouble(model.Initializers[fc3.Input[1]])!;
        var oracle = new Microsoft.ML.Attribution.Oracles.OnnxLayerOracle(File.ReadAllBytes(c.ModelPath), fc3.Input[0]);
        var x = new LayerActivation(oracle).Attribute(c.Input);
        var outputs = c.Oracle().Forward(c.Input);
        const double alpha = 2, beta = 1;
        var result = new LayerLrp(oracle, LrpRules.Parse($"{fc3.Name}=alpha-beta:{alpha}:{beta}")).Attribute(c.Input, c.Target);
        int hidden = x.RowSize, classes = outputs.RowSize;
        bool negativePart = false;
        for (int r = 0; r < c.Input.Rows; r++)
        {
            int t = result.Targets[r];
            double Z(Func<double, double> part)
            {
                double z = 0;
                for (int j = 0; j < hidden; j++) z += x.Row(r)[j] * part(w[j * classes + t]);
                return z + 1e-9 * (z >= 0 ? 1 : -1);
            }
            double zPlus = Z(v => Math.Max(v, 0)), zMinus = Z(v => Math.Min(v, 0));
            double f = outputs.Row(r)[t];
            for (int j = 0; j < hidden; j++)
            {
                double wj = w[j * classes + t], xj = x.Row(r)[j];
                double expected = f * (alpha * xj * Math.Max(wj, 0) / zPlus - beta * xj * Math.Min(wj, 0) / zMinus);
                negativePart |= xj * Math.Min(wj, 0) != 0;
                Assert.AreEqual(expected, result.Attributions.Row(r)[j], 1e-4 * Math.Max(1, Math.Abs(expected)), $"row {r}, unit {j}");
            }
        }
        Assert.IsTrue(negativePart, "the β part must be exercised");
    }

    [TestMethod]
    public void LrpRules_NodeNameWinsOverOpType_AndBadTextIsRefused()
    {
        var rules = LrpRules.Parse("Gemm=gamma:0.5,/fc2/Gemm=alpha-beta:2:1:zero-bias,node:x=identity");
        Assert.AreEqual(new GammaLrpRule(0.5), rules.ByOpType["Gemm"]);
        Assert.AreEqual(new AlphaBetaLrpRule(2, 1, true), rules.ByNode["/fc2/Gemm"]);
        Assert.AreEqual(new IdentityLrpRule(), rules.ByNode["x"]);
        Assert.AreEqual(new EpsilonLrpRule(), rules.ByOpType["Conv"], "the defaults stay under the given rules");
        StringAssert.Contains(Assert.ThrowsExactly<FormatException>(() => LrpRules.Parse("Gemm=zeta")).Message, "zeta");
        StringAssert.Contains(Assert.ThrowsExactly<FormatException>(() => LrpRules.Parse("Gemm")).Message, "KEY=RULE");
        // A gamma rule by node name changes that node only: the relevance differs from the default's.
        var c = Fixtures.Case("attr_tab_mlp_lrp_epsilon");
        var plain = new Lrp(c.Oracle()).Attribute(c.Input, c.Target).Attributions;
        var gamma = new Lrp(c.Oracle(), LrpRules.Parse("/fc1/Gemm=gamma:1")).Attribute(c.Input, c.Target).Attributions;
        Assert.IsTrue(plain.Data.Zip(gamma.Data).Any(p => Math.Abs(p.First - p.Second) > 1e-4));
    }

    [TestMethod]
    public void LayerFeaturePermutation_OneRow_IsRefused()
    {
        var c = Fixtures.Cases.First(k => k.Method == "layer-feature-permutation");
        var one = new NdArray<float>(c.Input.Data[..c.Input.RowSize], [1, .. c.Input.RowShape]);
        var error = Assert.ThrowsExactly<ArgumentException>(() => new LayerFeaturePermutation(c.LayerOracle()).Attribute(one));
        StringAssert.Contains(error.Message, "at least 2 rows");
    }

    [TestMethod]
    [DataRow("attr_mnist_cnn_layer_deeplift_baseline_conv2")]
    [DataRow("attr_mnist_cnn_layer_deeplift_shap_fc1")]
    [DataRow("attr_mnist_cnn_layer_feature_ablation_conv2")]
    [DataRow("attr_mnist_cnn_neuron_deeplift_baseline")]
    [DataRow("attr_mnist_cnn_neuron_deeplift_shap")]
    [DataRow("attr_mnist_cnn_neuron_guided_backprop_conv2")]
    [DataRow("attr_mnist_cnn_neuron_deconvolution")]
    [DataRow("attr_tab_mlp_neuron_feature_ablation_baseline")]
    [DataRow("attr_mnist_cnn_lrp_gamma_nobias")]
    [DataRow("attr_mnist_cnn_layer_lrp_alpha1_beta0_fc1")]
    public void TheRegistryRunsEachClass_WithItsOptions_AsCaptum(string name)
    {
        var c = Fixtures.Case(name);
        var method = MethodRegistry.Get(c.Method);
        var options = Options(method, c);
        var result = method.Attribute(Inputs(c), options);
        AssertArrays.Close(c.Expected, result.Attributions, Tolerance, name + " through the registry");
        if (method.Has(MethodCapabilities.ConvergenceDelta))
            AssertArrays.Close(Npy.ReadFloat(c.DeltaPath!).Data, result.ConvergenceDelta!, Tolerance, name + " delta through the registry");
    }

    [TestMethod]
    [DataRow("attr_mnist_cnn_layer_gradient_shap_fc1")]
    [DataRow("attr_tab_mlp_neuron_gradient_shap")]
    [DataRow("attr_tab_mlp_layer_feature_permutation_fc2")]
    public void TheRegistrysSeededClasses_DrawAsTheClassesDo(string name)
    {
        var c = Fixtures.Case(name);
        var method = MethodRegistry.Get(c.Method);
        Assert.IsTrue(method.Has(MethodCapabilities.Seeded));
        var viaRegistry = method.Attribute(Inputs(c), Options(method, c)).Attributions;
        var layer = c.LayerOracle();
        var direct = c.Method switch
        {
            "layer-gradient-shap" => new LayerGradientShap(layer).Attribute(c.Input, c.FloatArray("baselines")!, c.Target, seed: 1).Attributions,
            "neuron-gradient-shap" => new NeuronGradientShap(layer).Attribute(c.Input, c.Ints("neuron")!, c.FloatArray("baselines")!, seed: 1).Attributions,
            _ => new LayerFeaturePermutation(layer).Attribute(c.Input, c.Target, seed: 1).Attributions,
        };
        AssertArrays.Close(direct, viaRegistry, 1e-6, name);
        var again = method.Attribute(Inputs(c), Options(method, c) with { }).Attributions;
        AssertArrays.Close(viaRegistry, again, 0, name + " twice");
    }

    private static MethodInputs Inputs(FixtureCase c) => new()
    {
        Model = c.Oracle(),
        Rows = c.Input,
        Baselines = c.FloatArray("baselines") ?? c.Baseline,
        Target = c.TargetJson.ValueKind == System.Text.Json.JsonValueKind.Null ? null : c.Target,
    };

    private static MethodOptions Options(AttributionMethod method, FixtureCase c)
    {
        var options = method.CreateDefaultOptions();
        void Set(string property, object? value)
        {
            if (value is not null) method.OptionsType.GetProperty(property)!.SetValue(options, value);
        }
        Set("Layer", c.String("layer"));
        Set("Neuron", c.Ints("neuron"));
        Set("Rules", c.String("rules"));
        return options;
    }

    private static NdArray<float> Noise(FixtureCase c, int samples) =>
        c.FloatArray("noise")!.Reshape([c.Input.Rows * samples, .. c.Input.RowShape]);
}
