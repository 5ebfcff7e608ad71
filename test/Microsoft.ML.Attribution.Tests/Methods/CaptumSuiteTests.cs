using Microsoft.ML.Attribution.Cli;
using Microsoft.ML.Attribution.Methods;
using Microsoft.ML.Attribution.Onnx;
using Microsoft.ML.Attribution.Oracles;
using Microsoft.ML.Attribution.Tensors;
using Microsoft.ML.Attribution.Tests.Support;

namespace Microsoft.ML.Attribution.Tests.Methods;

/// <summary>
/// The call shapes of Captum's own test-suite that need more than a method's defaults (Fixtures/suite, written by
/// build/fixtures/generate_suite.py): DeepLift's defaults on models where Captum's max-pool rule takes effect, LIME's
/// kernel width and Lasso alpha, GradCAM's attr_dim_summation, NeuronConductance's multiply_by_inputs. Each runs through
/// the method's options record — the one the registry, the CLI and saved explainers read — and, where the draws allow,
/// through the command line.
/// </summary>
[TestClass]
public sealed class CaptumSuiteTests
{
    private const double Tolerance = 1e-4;

    private static IEnumerable<object[]> Suite(string method) =>
        Fixtures.Cases.Where(c => c.Method == method && c.Name.StartsWith("suite_", StringComparison.Ordinal)).Select(c => new object[] { c.Name });

    public static IEnumerable<object[]> DeepLiftCases => Suite("deeplift");
    public static IEnumerable<object[]> LimeCases => Suite("lime");
    public static IEnumerable<object[]> GradCamCases => Suite("gradcam");
    public static IEnumerable<object[]> NeuronConductanceCases => Suite("neuron-conductance");

    [TestMethod]
    public void EverySuiteShape_HasItsCases()
    {
        foreach (var method in new[] { "deeplift", "lime", "gradcam", "neuron-conductance" })
            Assert.IsGreaterThanOrEqualTo(2, Suite(method).Count(), method);
    }

    [TestMethod]
    [DynamicData(nameof(DeepLiftCases))]
    public void DeepLift_WithItsDefaults_MatchesCaptum(string name)
    {
        var c = Fixtures.Case(name);
        var result = MethodRegistry.Get("deeplift").Attribute(
            new MethodInputs { Model = c.Oracle(), Rows = c.Input, Baselines = c.Baseline, Target = c.Target }, new DeepLiftOptions());
        AssertArrays.Close(c.Expected, result.Attributions, Tolerance, name);
        AssertArrays.Close(Npy.ReadFloat(c.DeltaPath!).Data, result.ConvergenceDelta!, Tolerance, name + " delta");
    }

    [TestMethod]
    public void DeepLift_OnLinearMaxPoolLinear_DiffersFromCaptumWithoutTheMaxPoolRule()
    {
        // The held-out case of the suite: with MaxPool's ordinary gradient the attributions are not Captum's.
        var c = Fixtures.Case("suite_lmpl_deeplift_baseline");
        var gradient = new DeepLift(c.Oracle(), DeepLiftMode.MaxPoolGradient).Attribute(c.Input, c.Baseline, c.Target);
        var exact = new DeepLift(c.Oracle(), DeepLiftMode.Exact).Attribute(c.Input, c.Baseline, c.Target);
        double worst = c.Expected.Data.Zip(gradient.Attributions.Data, (e, a) => Math.Abs(e - a)).Max();
        Assert.IsGreaterThan(1e-2, worst, "MaxPool's ordinary gradient gives other numbers than Captum here");
        // No hooked op feeds the MaxPool, so Captum's default is the full rule.
        AssertArrays.Close(c.Expected, exact.Attributions, Tolerance, "exact");
    }

    [TestMethod]
    [DataRow("suite_two_pools_deeplift")]
    [DataRow("suite_maxpool_relu_deeplift_t0")]
    [DataRow("suite_maxpool_relu_deeplift_t1")]
    [DataRow("suite_softmax_mlp_deeplift")]
    public void DeepLift_OnAdjacentHookedOps_NeedsCaptumsHookOrder(string name)
    {
        // A MaxPool after a ReLU next to one after a Linear, MaxPool → ReLU, and Captum's softmax rule: neither the full
        // rules nor MaxPool's ordinary gradient give Captum's numbers; Captum's hooks (DeepLiftMode.Captum) do.
        var c = Fixtures.Case(name);
        foreach (var mode in new[] { DeepLiftMode.Exact, DeepLiftMode.MaxPoolGradient })
        {
            var other = new DeepLift(c.Oracle(), mode).Attribute(c.Input, c.Baseline, c.Target);
            double worst = c.Expected.Data.Zip(other.Attributions.Data, (e, a) => Math.Abs(e - a)).Max();
            Assert.IsGreaterThan(1e-3, worst, $"{mode} differs from Captum");
        }
    }

    [TestMethod]
    public void DeepLift_CliRulesFlag_SwitchesTheRules()
    {
        var c = Fixtures.Case("suite_lmpl_deeplift_baseline");
        var oracle = c.Oracle();
        foreach (var (flag, mode) in new[] { ("captum", DeepLiftMode.Captum), ("max-pool-gradient", DeepLiftMode.MaxPoolGradient) })
        {
            var output = RunCli(["--model", c.ModelPath, "--input", c.InputPath, "--baseline", c.BaselinePath!, "--method", "deeplift",
                "--target", "0", "--rules", flag]);
            var expected = new DeepLift(oracle, mode).Attribute(c.Input, c.Baseline, Target.Class(0)).Attributions;
            AssertArrays.Close(expected, output, 1e-6, flag);
        }
    }

    [TestMethod]
    [DynamicData(nameof(LimeCases))]
    public void Lime_KernelWidthAndAlpha_MatchCaptum(string name)
    {
        var c = Fixtures.Case(name);
        var options = new LimeOptions { KernelWidth = c.Double("kernel_width", double.NaN), Alpha = c.Double("alpha", double.NaN), Samples = c.Int("samples", 0) };
        var drawn = c.LongArray("coalitions")!; // [N, S, M]
        int samples = drawn.Shape[1], features = drawn.Shape[2];
        IReadOnlyList<bool[]> Coalitions(int r) => Enumerable.Range(0, samples)
            .Select(s => Enumerable.Range(0, features).Select(f => drawn.Data[(r * samples + s) * features + f] != 0).ToArray()).ToArray();
        var result = new Lime(c.Oracle(), new LassoRegression(options.Alpha), options.KernelWidth)
            .Attribute(c.Input, Coalitions, c.Baseline, c.Target, null, null);
        // scikit-learn's Lasso stops at its default tolerance (1e-4 on the duality gap); ours converges further.
        AssertArrays.Close(c.Expected, result.Attributions, 1e-3, name);
        var defaults = new Lime(c.Oracle()).Attribute(c.Input, Coalitions, c.Baseline, c.Target, null, null);
        Assert.IsTrue(c.Expected.Data.Zip(defaults.Attributions.Data).Any(p => Math.Abs(p.First - p.Second) > 1e-2),
            "the case's width and alpha change the result (the test would pass with the defaults otherwise)");
    }

    [TestMethod]
    public void Lime_KernelWidthAndAlpha_ReachTheCli()
    {
        var c = Fixtures.Case("suite_tab5_lime_w0p5_a0p05");
        var output = RunCli(["--model", c.ModelPath, "--input", c.InputPath, "--method", "lime", "--target", "1",
            "--kernel-width", "0.5", "--alpha", "0.05", "--samples", "60", "--seed", "3"]);
        var options = new LimeOptions { KernelWidth = 0.5, Alpha = 0.05, Samples = 60, Seed = 3 };
        var expected = MethodRegistry.Get("lime").Attribute(new MethodInputs { Model = c.Oracle(), Rows = c.Input, Target = Target.Class(1) }, options);
        AssertArrays.Close(expected.Attributions, output, 1e-6, "cli");
        var defaults = MethodRegistry.Get("lime").Attribute(new MethodInputs { Model = c.Oracle(), Rows = c.Input, Target = Target.Class(1) },
            new LimeOptions { Samples = 60, Seed = 3 });
        Assert.IsTrue(defaults.Attributions.Data.Zip(output.Data).Any(p => Math.Abs(p.First - p.Second) > 1e-3), "the flags were applied");
    }

    [TestMethod]
    [DynamicData(nameof(GradCamCases))]
    public void GradCam_WithoutChannelSummation_MatchesCaptum(string name)
    {
        var c = Fixtures.Case(name);
        var options = new LayerGradCamOptions { Layer = c.String("layer"), Relu = c.Bool("relu_attributions", false), AttrDimSummation = c.Bool("attr_dim_summation", true) };
        var result = MethodRegistry.Get("gradcam").Attribute(new MethodInputs { Model = c.Oracle(), Rows = c.Input, Target = c.Target }, options);
        AssertArrays.Close(c.Expected, result.Attributions, Tolerance, name);
        var output = RunCli(["--model", c.ModelPath, "--input", c.InputPath, "--method", "gradcam", "--layer", options.Layer!,
            "--target", "1", "--relu", options.Relu ? "true" : "false", "--attr-dim-summation", "false"]);
        var expected = MethodRegistry.Get("gradcam").Attribute(new MethodInputs { Model = c.Oracle(), Rows = c.Input, Target = Target.Class(1) }, options);
        AssertArrays.Close(expected.Attributions, output, 1e-6, "cli");
    }

    [TestMethod]
    [DynamicData(nameof(NeuronConductanceCases))]
    public void NeuronConductance_MultiplyByInputs_MatchesCaptum(string name)
    {
        var c = Fixtures.Case(name);
        var options = new NeuronConductanceOptions
        {
            Layer = c.String("layer"), Neuron = c.Ints("neuron"), Steps = c.Int("steps", 50),
            Integration = IntegrationRule.Parse(c.String("method")!), MultiplyByInputs = c.Bool("multiply_by_inputs", true),
        };
        var result = MethodRegistry.Get("neuron-conductance").Attribute(
            new MethodInputs { Model = c.Oracle(), Rows = c.Input, Baselines = c.Baseline, Target = c.Target }, options);
        AssertArrays.Close(c.Expected, result.Attributions, Tolerance, name);
        var output = RunCli(["--model", c.ModelPath, "--input", c.InputPath, "--baseline", c.BaselinePath!, "--method", "neuron-conductance",
            "--layer", options.Layer!, "--neuron", string.Join(",", options.Neuron!), "--steps", options.Steps.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--target", "2", "--multiply-by-inputs", options.MultiplyByInputs ? "true" : "false"]);
        var expected = MethodRegistry.Get("neuron-conductance").Attribute(
            new MethodInputs { Model = c.Oracle(), Rows = c.Input, Baselines = c.Baseline, Target = Target.Class(2) }, options);
        AssertArrays.Close(expected.Attributions, output, 1e-6, "cli");
    }

    [TestMethod]
    public void TargetAll_OnAMultiOutputModel_MatchesCaptumsNoTargetMaps()
    {
        // Captum, no target, [N, 3] output: one map per output element, [N·3, F]; the fixture holds it as [N, 3, F].
        var c = Fixtures.Case("suite_two_heads_feature_ablation_all");
        var oracle = new OnnxGradientOracle(c.ModelPath, outputName: c.String("output"));
        var result = MethodRegistry.Get("feature-ablation").Attribute(new MethodInputs { Model = oracle, Rows = c.Input, Target = Target.All });
        AssertArrays.Close(c.Expected, result.Attributions, Tolerance, "Target.All");
        CollectionAssert.AreEqual(new[] { 0, 1, 2, 0, 1, 2, 0, 1, 2 }, result.Targets, "targets per (row, output index)");
        // The CLI's --target all writes the same [N, C, …] stack.
        var output = RunCli(["--model", c.ModelPath, "--input", c.InputPath, "--method", "feature-ablation", "--target", "all", "--output", "logits"]);
        AssertArrays.Close(c.Expected, output, Tolerance, "--target all");
    }

    [TestMethod]
    public void TargetAll_StacksDeltasPerOutput_AndIsRefusedByAMethodClass()
    {
        var c = Fixtures.Case("suite_two_heads_ig_score");
        var oracle = new OnnxGradientOracle(c.ModelPath, outputName: "score");
        var all = MethodRegistry.Get("integrated-gradients").Attribute(new MethodInputs { Model = oracle, Rows = c.Input, Target = Target.All },
            new IntegratedGradientsOptions { Steps = 30 });
        CollectionAssert.AreEqual(new[] { c.Input.Rows, 2, 4 }, all.Attributions.Shape);
        var one = new IntegratedGradients(oracle).Attribute(c.Input, target: Target.Class(1), steps: 30);
        for (int r = 0; r < c.Input.Rows; r++)
        {
            CollectionAssert.AreEqual(one.Attributions.Row(r).ToArray(), all.Attributions.Data.AsSpan((r * 2 + 1) * 4, 4).ToArray(), $"row {r}, output 1");
            Assert.AreEqual(one.ConvergenceDelta![r], all.ConvergenceDelta![r * 2 + 1], $"row {r}, output 1 delta");
        }
        var e = Assert.ThrowsExactly<ArgumentException>(() => new IntegratedGradients(oracle).Attribute(c.Input, target: Target.All));
        StringAssert.Contains(e.Message, "Target.ForEachOutput");
    }

    [TestMethod]
    public void ForEachOutput_WithAMethodClass_EqualsTheRegistrysTargetAll()
    {
        var c = Fixtures.Case("suite_two_heads_feature_ablation_all");
        var oracle = new OnnxGradientOracle(c.ModelPath, outputName: "logits");
        var result = Target.ForEachOutput(oracle, c.Input, target => new FeatureAblation(oracle).Attribute(c.Input, target: target));
        AssertArrays.Close(c.Expected, result.Attributions, Tolerance, "ForEachOutput");
        Assert.AreEqual(3, Target.OutputCount(oracle, c.Input));
    }

    [TestMethod]
    public void OutputReduction_SumOfTheWholeRow_EqualsTheSumOfThePerOutputMaps()
    {
        // Attributions are linear in the explained output: the map of Σ_c y_c is the sum of the per-output maps.
        var c = Fixtures.Case("suite_two_heads_ig_score");
        var bytes = File.ReadAllBytes(c.ModelPath);
        var summed = new IntegratedGradients(new OnnxGradientOracle(OutputReduction.Sum().AppendTo(bytes, "logits"), outputName: OutputReduction.OutputName))
            .Attribute(c.Input, target: Target.Class(0), steps: 20);
        var oracle = new OnnxGradientOracle(bytes, outputName: "logits");
        var maps = Target.ForEachOutput(oracle, c.Input, t => new IntegratedGradients(oracle).Attribute(c.Input, target: t, steps: 20));
        var expected = new float[summed.Attributions.Length];
        for (int r = 0; r < c.Input.Rows; r++)
            for (int k = 0; k < 3; k++)
                for (int j = 0; j < 4; j++) expected[r * 4 + j] += maps.Attributions.Data[(r * 3 + k) * 4 + j];
        AssertArrays.Close(expected, summed.Attributions.Data, 1e-4, "Σ of maps");
    }

    [TestMethod]
    public void OutputChosenByName_MatchesCaptum()
    {
        var c = Fixtures.Case("suite_two_heads_ig_score");
        var oracle = new OnnxGradientOracle(c.ModelPath, outputName: c.String("output"));
        var result = MethodRegistry.Get("integrated-gradients").Attribute(new MethodInputs { Model = oracle, Rows = c.Input, Target = c.Target },
            new IntegratedGradientsOptions { Steps = c.Int("steps", 50) });
        AssertArrays.Close(c.Expected, result.Attributions, Tolerance, "score");
        AssertArrays.Close(Npy.ReadFloat(c.DeltaPath!).Data, result.ConvergenceDelta!, Tolerance, "score delta");
        var output = RunCli(["--model", c.ModelPath, "--input", c.InputPath, "--method", "integrated-gradients", "--steps", "30", "--target", "1", "--output", "score"]);
        AssertArrays.Close(c.Expected, output, Tolerance, "--output score");
    }

    [TestMethod]
    [DataRow("suite_two_heads_ig_logits_slice_sum")]
    [DataRow("suite_two_heads_ig_logits_mean")]
    public void OutputReduction_MatchesCaptumsReducedForward(string name)
    {
        var c = Fixtures.Case(name);
        var reduction = c.String("reduction") == "mean" ? OutputReduction.Mean() : OutputReduction.Sum(c.Int("start", 0), c.Int("end", 0));
        var reduced = reduction.AppendTo(File.ReadAllBytes(c.ModelPath), c.String("output"));
        var oracle = new OnnxGradientOracle(reduced, outputName: OutputReduction.OutputName);
        var result = new IntegratedGradients(oracle).Attribute(c.Input, target: Target.Class(0), steps: c.Int("steps", 50));
        AssertArrays.Close(c.Expected, result.Attributions, Tolerance, name);
        CollectionAssert.AreEqual(new[] { c.Input.Rows, 1 }, oracle.Forward(c.Input).Shape, "one value per row");
    }

    [TestMethod]
    public void OutputReduction_FromAUserGraph_MatchesCaptumsSliceSum()
    {
        // The same slice sum, written by the user as an ONNX graph: y[:, 0:2] summed per row.
        var c = Fixtures.Case("suite_two_heads_ig_logits_slice_sum");
        var g = new TestGraph(elemType: OnnxDataType.Float).Input("y", "batch", 3);
        var sliced = g.Node("Slice", ["y", g.Int64s(0), g.Int64s(2), g.Int64s(1)]);
        g.Output(g.Node("ReduceSum", [sliced, g.Int64s(1)], Microsoft.ML.Attribution.Onnx.TensorProtos.IntAttr("keepdims", 0)));
        var reduced = OutputReduction.Graph(g.Build().ToBytes()).AppendTo(File.ReadAllBytes(c.ModelPath), "logits");
        var oracle = new OnnxGradientOracle(reduced, outputName: OutputReduction.OutputName);
        var result = MethodRegistry.Get("integrated-gradients").Attribute(new MethodInputs { Model = oracle, Rows = c.Input, Target = Target.Class(0) },
            new IntegratedGradientsOptions { Steps = 30 });
        AssertArrays.Close(c.Expected, result.Attributions, Tolerance, "user graph");
    }

    [TestMethod]
    public void OutputReduction_RejectsASliceBeyondTheOutput_AndAnUnknownTensor()
    {
        var bytes = File.ReadAllBytes(Fixtures.Case("suite_two_heads_ig_score").ModelPath);
        var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => OutputReduction.Sum(1, 4).AppendTo(bytes, "logits"));
        StringAssert.Contains(e.Message, "'logits' has 3 value(s) per row");
        var unknown = Assert.ThrowsExactly<ArgumentException>(() => OutputReduction.Mean().AppendTo(bytes, "logit"));
        StringAssert.Contains(unknown.Message, "logits");
    }

    /// <summary>Runs <c>explain</c> with the arguments and reads the .npy it writes.</summary>
    private static NdArray<float> RunCli(string[] arguments)
    {
        string output = Path.Combine(Path.GetTempPath(), $"suite-{Guid.NewGuid():N}.npy");
        try
        {
            var stderr = new StringWriter();
            Assert.AreEqual(0, CliApp.Run(["explain", .. arguments, "--out", output], new StringWriter(), stderr), stderr.ToString());
            return Npy.ReadFloat(output);
        }
        finally
        {
            File.Delete(output);
        }
    }
}
