using Microsoft.ML.Attribution.Cli;
using Microsoft.ML.Attribution.Methods;
using Microsoft.ML.Attribution.Oracles;
using Microsoft.ML.Attribution.Tensors;
using Microsoft.ML.Attribution.Tests.Support;

namespace Microsoft.ML.Attribution.Tests.Cli;

[TestClass]
public sealed class CliTests
{
    private static readonly FixtureCase Toy = Fixtures.Case("toy_ig_gausslegendre");

    private static (int Code, string Out, string Err) Run(params string[] args) => CliFormatTests.Run(args);

    private static string Temp(string name) => CliFormatTests.Temp(name);

    private static void AssertOneErrorLine(string err, params string[] words)
    {
        var lines = err.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.HasCount(1, lines, $"one line on stderr, got: {err}");
        StringAssert.StartsWith(lines[0], "error: ");
        foreach (var word in words) StringAssert.Contains(lines[0], word);
    }

    [TestMethod]
    public void IntegratedGradients_ReproducesCaptumReadmeToyModel_ThroughNpyFiles()
    {
        string output = Temp("a.npy"), delta = Temp("d.npy");
        var (code, _, err) = Run("explain", "--model", Toy.ModelPath, "--input", Toy.InputPath, "--method", "integrated-gradients",
            "--target", "0", "--out", output, "--delta-out", delta);
        Assert.AreEqual(0, code, err);
        var a = Npy.ReadFloat(output);
        CollectionAssert.AreEqual(new[] { 2, 3 }, a.Shape);
        AssertArrays.Close([-0.5922f, -1.5497f, -1.0067f, 0.0000f, -0.2219f, -5.1991f], a.Data, 1e-4, "README");
        var d = Npy.ReadFloat(delta);
        CollectionAssert.AreEqual(new[] { 2 }, d.Shape);
        foreach (float v in d.Data) Assert.IsLessThan(1e-3f, MathF.Abs(v), "convergence delta");
        AssertArrays.Close(Npy.ReadFloat(Toy.DeltaPath!).Data, d.Data, 1e-4, "delta");
    }

    [TestMethod]
    [DataRow("saliency")]
    [DataRow("occlusion")]
    [DataRow("feature-ablation")]
    [DataRow("kernel-shap")]
    public void Methods_ThroughTheCli_EqualTheLibrary(string method)
    {
        var c = Fixtures.Case("wine_mlp_ig_gausslegendre_50");
        string output = Temp("a.npy");
        var args = new List<string> { "explain", "--model", c.ModelPath, "--input", c.InputPath, "--method", method, "--target", "1", "--out", output };
        if (method == "occlusion") args.AddRange(["--window", "3", "--stride", "2"]);
        if (method == "kernel-shap") args.AddRange(["--samples", "40", "--seed", "7"]);
        var (code, _, err) = Run([.. args]);
        Assert.AreEqual(0, code, err);
        var oracle = new OnnxGradientOracle(c.ModelPath);
        var expected = method switch
        {
            "saliency" => new Saliency(oracle).Attribute(c.Input, Target.Class(1)),
            "occlusion" => new Occlusion(oracle).Attribute(c.Input, [3], [2], target: Target.Class(1)),
            "kernel-shap" => new KernelShap(oracle).Attribute(c.Input, target: Target.Class(1), samples: 40, seed: 7),
            _ => new FeatureAblation(oracle).Attribute(c.Input, target: Target.Class(1)),
        };
        CollectionAssert.AreEqual(expected.Attributions.Data, Npy.ReadFloat(output).Data);
    }

    [TestMethod]
    public void LayerMethod_WritesTheLayerShapedAttribution()
    {
        var c = Fixtures.Case("toy_ig_gausslegendre");
        var relu = Microsoft.ML.Attribution.Onnx.OnnxModel.Load(c.ModelPath).TopologicalOrder.First(n => n.OpType == "Relu").Output[0];
        string output = Temp("a.npy");
        var (code, _, err) = Run("explain", "--model", c.ModelPath, "--input", c.InputPath, "--method", "layer-conductance",
            "--layer", relu, "--target", "0", "--out", output);
        Assert.AreEqual(0, code, err);
        var expected = new LayerConductance(new OnnxLayerOracle(c.ModelPath, relu)).Attribute(c.Input, target: Target.Class(0));
        CollectionAssert.AreEqual(expected.Attributions.Data, Npy.ReadFloat(output).Data);
    }

    [TestMethod]
    public void MissingModel_And_MissingInput_AreOneLineErrors()
    {
        var (code, _, err) = Run("explain", "--model", "/nope/m.onnx", "--input", Toy.InputPath, "--method", "saliency", "--out", Temp("a.npy"));
        Assert.AreNotEqual(0, code);
        AssertOneErrorLine(err, "/nope/m.onnx", "does not exist");
        (code, _, err) = Run("explain", "--model", Toy.ModelPath, "--input", "/nope/x.npy", "--method", "saliency", "--out", Temp("a.npy"));
        Assert.AreNotEqual(0, code);
        AssertOneErrorLine(err, "/nope/x.npy");
    }

    [TestMethod]
    public void ShapeMismatch_NaN_AndTargetOutOfRange_AreOneLineErrors()
    {
        string wide = Temp("wide.npy"), nan = Temp("nan.npy");
        Npy.Write(wide, new NdArray<float>(new float[8], 2, 4));
        Npy.Write(nan, new NdArray<float>([1, float.NaN, 3], 1, 3));
        var (code, _, err) = Run("explain", "--model", Toy.ModelPath, "--input", wide, "--method", "saliency", "--out", Temp("a.npy"));
        Assert.AreNotEqual(0, code);
        AssertOneErrorLine(err, "[3]", "[2, 4]");
        (code, _, err) = Run("explain", "--model", Toy.ModelPath, "--input", nan, "--method", "integrated-gradients", "--out", Temp("a.npy"));
        Assert.AreNotEqual(0, code);
        AssertOneErrorLine(err, "NaN");
        (code, _, err) = Run("explain", "--model", Toy.ModelPath, "--input", Toy.InputPath, "--method", "saliency", "--target", "5", "--out", Temp("a.npy"));
        Assert.AreNotEqual(0, code);
        AssertOneErrorLine(err, "Target 5", "out of range");
    }

    [TestMethod]
    public void UnknownTensor_UnknownMethod_AndMissingWindow_AreOneLineErrors()
    {
        var (code, _, err) = Run("explain", "--model", Toy.ModelPath, "--input", Toy.InputPath, "--method", "saliency", "--output", "outptu", "--out", Temp("a.npy"));
        Assert.AreNotEqual(0, code);
        AssertOneErrorLine(err, "'outptu' does not exist", "output");
        (code, _, err) = Run("explain", "--model", Toy.ModelPath, "--input", Toy.InputPath, "--method", "magic", "--out", Temp("a.npy"));
        Assert.AreNotEqual(0, code);
        AssertOneErrorLine(err, "unknown method 'magic'", "integrated-gradients");
        (code, _, err) = Run("explain", "--model", Toy.ModelPath, "--input", Toy.InputPath, "--method", "occlusion", "--out", Temp("a.npy"));
        Assert.AreNotEqual(0, code);
        AssertOneErrorLine(err, "--window is required");
        (code, _, err) = Run("explain", "--model", Toy.ModelPath, "--input", Toy.InputPath, "--method", "saliency", "--layer", "x", "--out", Temp("a.npy"));
        Assert.AreNotEqual(0, code);
        AssertOneErrorLine(err, "option --layer is not used by method saliency");
        (code, _, err) = Run("explain", "--model", Toy.ModelPath, "--input", Toy.InputPath, "--method", "layer-activation", "--layer", "relu_typo", "--out", Temp("a.npy"));
        Assert.AreNotEqual(0, code);
        AssertOneErrorLine(err, "'relu_typo' does not exist", "nearest names");
    }

    private static string SinModel()
    {
        var g = new TestGraph(elemType: Microsoft.ML.Attribution.Onnx.OnnxDataType.Float).Input("x", "batch", 3);
        g.Output(g.Node("Sin", ["x"]));
        string model = Temp("sin.onnx");
        g.Build().Save(model);
        return model;
    }

    [TestMethod]
    public void UnsupportedOp_IsAOneLineError_NamingTheOpAndTheWayOut()
    {
        string model = SinModel();
        var (code, _, err) = Run("explain", "--model", model, "--input", Toy.InputPath, "--method", "saliency", "--target", "0", "--out", Temp("a.npy"));
        Assert.AreNotEqual(0, code);
        AssertOneErrorLine(err, "Sin", "feature-ablation");
        // The perturbation method runs on the same model.
        (code, _, err) = Run("explain", "--model", model, "--input", Toy.InputPath, "--method", "feature-ablation", "--target", "0", "--out", Temp("a.npy"));
        Assert.AreEqual(0, code, err);
    }

    [TestMethod]
    public void Info_ListsInputsOutputsEveryTensor_AndGradientSupport()
    {
        var (code, output, err) = Run("info", "--model", Toy.ModelPath);
        Assert.AreEqual(0, code, err);
        var model = Microsoft.ML.Attribution.Onnx.OnnxModel.Load(Toy.ModelPath);
        StringAssert.Contains(output, "input  float32[batch, 3]");
        StringAssert.Contains(output, "output  float32[batch, 2]");
        foreach (var tensor in model.TopologicalOrder.SelectMany(n => n.Output)) StringAssert.Contains(output, tensor);
        StringAssert.Contains(output, "gradient support: all ops supported");
    }

    [TestMethod]
    public void Info_ReportsOpsWithoutAGradientRule()
    {
        var (code, output, err) = Run("info", "--model", SinModel());
        Assert.AreEqual(0, code, err);
        StringAssert.Contains(output, "unsupported ops: Sin");
        StringAssert.Contains(output, "feature-ablation");
        Assert.DoesNotContain("all ops supported", output);
    }

    [TestMethod]
    public void Info_MissingModel_IsAOneLineError()
    {
        var (code, _, err) = Run("info", "--model", "/nope/m.onnx");
        Assert.AreNotEqual(0, code);
        AssertOneErrorLine(err, "/nope/m.onnx", "does not exist");
    }

    [TestMethod]
    [DataRow("--window", "3", "not used by method saliency")]
    [DataRow("--steps", "10", "not used by method saliency")]
    [DataRow("--delta-out", "d.npy", "not used by method saliency")]
    [DataRow("--samples", "10", "option --samples is not used by method saliency")]
    [DataRow("--seed", "1", "option --seed is not used by method saliency")]
    [DataRow("--target", "1x", "--target expects an integer")]
    [DataRow("--abs", "maybe", "--abs expects true or false")]
    [DataRow("--bogus", "1", "unknown option --bogus")]
    [DataRow("--device", "tpu", "'tpu'")]
    public void OptionErrors_NameTheOption(string option, string value, string expected)
    {
        var (code, _, err) = Run("explain", "--model", Toy.ModelPath, "--input", Toy.InputPath, "--method", "saliency", option, value, "--out", Temp("a.npy"));
        Assert.AreNotEqual(0, code);
        AssertOneErrorLine(err, expected);
    }

    [TestMethod]
    [DataRow("99999999999")]
    [DataRow("1,x")]
    public void Window_ThatIsNotAnIntList_IsAOneLineError(string window)
    {
        var (code, _, err) = Run("explain", "--model", Toy.ModelPath, "--input", Toy.InputPath, "--method", "occlusion", "--window", window, "--out", Temp("a.npy"));
        Assert.AreNotEqual(0, code);
        AssertOneErrorLine(err, "--window expects comma-separated integers");
    }

    [TestMethod]
    public void UnexpectedFailure_IsStillOneLine_AndVerboseAddsTheStackTrace()
    {
        // A header with a negative dimension: whatever the reader throws, the CLI must not crash with a trace.
        string bad = Temp("neg.npy");
        string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, -3), }";
        string header = dict + new string(' ', 64 - (10 + dict.Length + 1) % 64) + "\n";
        File.WriteAllBytes(bad, [0x93, .. "NUMPY"u8, 1, 0, (byte)header.Length, 0, .. System.Text.Encoding.ASCII.GetBytes(header)]);
        var (code, _, err) = Run("explain", "--model", Toy.ModelPath, "--input", bad, "--method", "saliency", "--out", Temp("a.npy"));
        Assert.AreNotEqual(0, code);
        AssertOneErrorLine(err);
        (code, _, err) = Run("--verbose", "explain", "--model", Toy.ModelPath, "--input", bad, "--method", "saliency", "--out", Temp("a.npy"));
        Assert.AreNotEqual(0, code);
        StringAssert.StartsWith(err, "error: ");
        StringAssert.Contains(err, "   at ");
    }

    [TestMethod]
    public void CudaDevice_OnThisCpuBuild_RunsOnCpu_WithAnInfoLine()
    {
        if (Microsoft.ML.Attribution.Runtime.OnnxSession.AvailableProviders().Contains("CUDAExecutionProvider"))
            Assert.Inconclusive("CUDA is available here; the fallback cannot be exercised.");
        string cpu = Temp("cpu.npy"), cuda = Temp("cuda.npy");
        var (code, _, err) = Run("explain", "--model", Toy.ModelPath, "--input", Toy.InputPath, "--method", "saliency", "--target", "0", "--out", cpu);
        Assert.AreEqual(0, code, err);
        (code, _, err) = Run("explain", "--model", Toy.ModelPath, "--input", Toy.InputPath, "--method", "saliency", "--target", "0", "--out", cuda, "--device", "cuda:0");
        Assert.AreEqual(0, code, err);
        CollectionAssert.AreEqual(Npy.ReadFloat(cpu).Data, Npy.ReadFloat(cuda).Data);
        // The fallback is logged once per process and sink; this test's sink is new, so the line appears here.
        StringAssert.Contains(err, "info: CUDA was requested");
        StringAssert.Contains(err, "CPU");
    }

    [TestMethod]
    [DataRow("--help")]
    [DataRow("explain --help")]
    [DataRow("")]
    public void Help_PrintsUsageAndMethods(string commandLine)
    {
        var (code, output, err) = Run(commandLine.Split(' ', StringSplitOptions.RemoveEmptyEntries));
        Assert.AreEqual(0, code);
        Assert.AreEqual("", err);
        StringAssert.Contains(output, "mlnet-explain explain --model");
        if (!commandLine.StartsWith("explain", StringComparison.Ordinal)) StringAssert.Contains(output, "mlnet-explain info");
        StringAssert.Contains(output, "occlusion");
    }
}
