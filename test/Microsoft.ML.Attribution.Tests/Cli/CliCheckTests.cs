using System.Reflection;
using Microsoft.ML.Attribution.Cli;
using Microsoft.ML.Attribution.Methods;
using Microsoft.ML.Attribution.Onnx;
using Microsoft.ML.Attribution.Oracles;
using Microsoft.ML.Attribution.Tensors;
using Microsoft.ML.Attribution.Tests.Support;

namespace Microsoft.ML.Attribution.Tests.Cli;

/// <summary>Errors before any work, each naming what is at fault; help, version and info.</summary>
[TestClass]
public sealed class CliCheckTests
{
    private static readonly FixtureCase Toy = Fixtures.Case("toy_ig_gausslegendre");

    private static (int Code, string Out, string Err) Run(params string[] args) => CliFormatTests.Run(args);

    private static string Temp(string name) => CliFormatTests.Temp(name);

    /// <summary>A file that is not an ONNX model: an error about anything else proves the model was never loaded.</summary>
    private static string NotAModel()
    {
        string path = Temp("garbage.onnx");
        File.WriteAllText(path, "not an onnx model");
        return path;
    }

    private static void AssertUsageError((int Code, string Out, string Err) run, params string[] words)
    {
        Assert.AreEqual(2, run.Code, run.Err);
        var lines = run.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.HasCount(1, lines, run.Err);
        StringAssert.StartsWith(lines[0], "error: ");
        foreach (var word in words) StringAssert.Contains(lines[0], word);
    }

    /// <summary>A token model: int64 ids [batch, 4] → embedding (Gather) → flatten → two scores.</summary>
    private static string TokenModel()
    {
        var g = new TestGraph(elemType: OnnxDataType.Float).TypedInput("ids", OnnxDataType.Int64, "batch", 4);
        var embedded = g.Node("Gather", [g.Random(new Random(1), 10, 2), "ids"]);
        g.Output(g.Node("MatMul", [g.Node("Flatten", [embedded]), g.Random(new Random(2), 8, 2)]));
        string path = Temp("tokens.onnx");
        g.Build().Save(path);
        return path;
    }

    [TestMethod]
    public void MissingOutputDirectory_IsReportedBeforeTheModelIsLoaded()
    {
        string outPath = Path.Combine(Temp("nodir"), "a.npy");
        AssertUsageError(Run("explain", "--model", NotAModel(), "--input", Toy.InputPath, "--method", "saliency", "--out", outPath),
            "--out", Path.GetDirectoryName(outPath)!, "does not exist");
    }

    [TestMethod]
    [DataRow("--out", "a.txt", "'.txt'")]
    [DataRow("--out", "a", "no extension")]
    [DataRow("--input", "x.bin", "'.bin'")]
    [DataRow("--delta-out", "d.parquet", "'.parquet'")]
    public void UnknownExtension_IsReportedBeforeTheModelIsLoaded(string option, string file, string expected)
    {
        string path = Temp(file);
        if (option == "--input") File.WriteAllText(path, "");
        var args = new Dictionary<string, string> { ["--input"] = Toy.InputPath, ["--out"] = Temp("a.npy") };
        if (option == "--delta-out") args[option] = "";
        args[option] = path;
        var list = new List<string> { "explain", "--model", NotAModel(), "--method", "integrated-gradients" };
        foreach (var (k, v) in args) list.AddRange([k, v]);
        AssertUsageError(Run([.. list]), option, expected, ".npy, .npz, .csv, .json");
    }

    [TestMethod]
    public void MissingInputFile_NamesTheOptionAndTheFile()
    {
        AssertUsageError(Run("explain", "--model", NotAModel(), "--input", "/nope/x.npy", "--method", "saliency", "--out", Temp("a.npy")),
            "--input", "/nope/x.npy", "does not exist");
    }

    [TestMethod]
    [DataRow("int32")]
    [DataRow("int64")]
    public void IntegerInput_ToAFloatModel_NamesTheDtypeAsFound(string dtype)
    {
        string path = Temp("ids.npy");
        if (dtype == "int64") Npy.Write(path, new NdArray<long>([1, 2, 3], 1, 3));
        else WriteInt32(path, [1, 2, 3], 1, 3);
        AssertUsageError(Run("explain", "--model", Toy.ModelPath, "--input", path, "--method", "saliency", "--out", Temp("a.npy")),
            $"holds {dtype}", $"model input '{Toy.InputName}' takes float32");
    }

    [TestMethod]
    public void FloatInput_ToATokenModel_NamesBothTypes_AndInt32IdsAreAccepted()
    {
        string model = TokenModel(), floats = Temp("x.npy"), ints = Temp("ids.npy"), output = Temp("a.npy");
        Npy.Write(floats, new NdArray<float>(new float[8], 2, 4));
        AssertUsageError(Run("explain", "--model", model, "--input", floats, "--method", "layer-activation", "--layer", "ids", "--out", output),
            "holds float32", "model input 'ids' takes int64 token ids");
        WriteInt32(ints, [1, 2, 3, 4, 5, 6, 7, 8], 2, 4);
        AssertUsageError(Run("explain", "--model", model, "--input", ints, "--method", "saliency", "--out", output),
            "holds int32 token ids", "method saliency attributes float input", "layer-integrated-gradients");
    }

    private static void WriteInt32(string path, int[] values, params int[] shape)
    {
        // The library writes int64 only; an int32 .npy is written here byte by byte (NumPy's layout).
        string dict = $"{{'descr': '<i4', 'fortran_order': False, 'shape': ({string.Join(", ", shape)}{(shape.Length == 1 ? "," : "")}), }}";
        string header = dict + new string(' ', (64 - (10 + dict.Length + 1) % 64) % 64) + "\n";
        var bytes = new List<byte> { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0, (byte)header.Length, 0 };
        bytes.AddRange(System.Text.Encoding.ASCII.GetBytes(header));
        foreach (int v in values) bytes.AddRange(BitConverter.GetBytes(v));
        File.WriteAllBytes(path, [.. bytes]);
    }

    [TestMethod]
    public void ZeroRows_IsAnError()
    {
        string path = Temp("empty.npy");
        Npy.Write(path, new NdArray<float>([], 0, 3));
        AssertUsageError(Run("explain", "--model", Toy.ModelPath, "--input", path, "--method", "saliency", "--out", Temp("a.npy")), "0 rows", path);
    }

    [TestMethod]
    public void ShapeMismatch_NamesTheModelInputAndBothShapes()
    {
        string path = Temp("wide.csv");
        File.WriteAllLines(path, ["1,2,3,4", "5,6,7,8"]);
        AssertUsageError(Run("explain", "--model", Toy.ModelPath, "--input", path, "--method", "saliency", "--out", Temp("a.npy")),
            "[2, 4]", $"model input '{Toy.InputName}'", "float32[batch, 3]");
    }

    [TestMethod]
    public void MultiInputModel_WithOnePlainInput_AsksForNamedInputs()
    {
        var g = new TestGraph(elemType: OnnxDataType.Float).Input("a", "batch", 3).Input("b", "batch", 3);
        g.Output(g.Node("Add", ["a", "b"]));
        string model = Temp("two.onnx");
        g.Build().Save(model);
        AssertUsageError(Run("explain", "--model", model, "--input", Toy.InputPath, "--method", "saliency", "--out", Temp("a.npy")),
            "2 inputs (a, b)", "--input NAME=FILE", "--fixed NAME=FILE");
    }

    [TestMethod]
    [DataRow("--stpes", "--steps")]
    [DataRow("--targte", "--target")]
    [DataRow("--quite", "--quiet")]
    public void UnknownOption_SuggestsTheNearest(string typo, string suggestion)
    {
        AssertUsageError(Run("explain", "--model", NotAModel(), "--input", Toy.InputPath, "--method", "integrated-gradients", typo, "3", "--out", Temp("a.npy")),
            $"unknown option {typo}", $"did you mean {suggestion}?");
    }

    [TestMethod]
    public void UnknownMethodAndCommand_SuggestTheNearest()
    {
        AssertUsageError(Run("explain", "--model", NotAModel(), "--input", Toy.InputPath, "--method", "integrated-gradient", "--out", Temp("a.npy")),
            "did you mean 'integrated-gradients'?");
        AssertUsageError(Run("explian", "--model", Toy.ModelPath), "unknown command 'explian'", "did you mean 'explain'?");
    }

    [TestMethod]
    [DataRow("1x")]
    [DataRow("-1")]
    [DataRow("everything")]
    public void BadTarget_IsAnError(string target)
    {
        AssertUsageError(Run("explain", "--model", NotAModel(), "--input", Toy.InputPath, "--method", "saliency", "--target", target, "--out", Temp("a.npy")),
            "--target expects", "'all'", "'predicted'", target);
    }

    [TestMethod]
    public void MethodHelp_ListsEveryFlagOfItsOptionsRecord_WithTheRecordsDefault()
    {
        foreach (var method in ExplainCommand.CliMethods)
        {
            var (code, output, err) = Run("explain", "--method", method.Name, "--help");
            Assert.AreEqual(0, code, err);
            StringAssert.Contains(output, method.Summary);
            var defaults = method.CreateDefaultOptions();
            foreach (var (flag, property) in MethodFlags.Of(method.OptionsType))
            {
                StringAssert.Contains(output, $"--{flag} ", $"{method.Name} help lists --{flag}");
                string? shown = property.GetValue(defaults) switch
                {
                    Enum e => MethodFlags.Kebab(e.ToString()),
                    bool b => b ? "true" : "false",
                    IFormattable f => f.ToString(null, System.Globalization.CultureInfo.InvariantCulture),
                    _ => null,
                };
                if (property.GetCustomAttribute<RequiredOptionAttribute>() is null && shown is not null)
                    StringAssert.Contains(output, $"--{flag} ", $"{method.Name} --{flag}");
                if (property.GetCustomAttribute<RequiredOptionAttribute>() is null && shown is not null)
                    Assert.IsTrue(output.Split('\n').Any(l => l.Contains($"--{flag} ", StringComparison.Ordinal) && l.Contains($"default: {shown})", StringComparison.Ordinal)),
                        $"{method.Name} --{flag} default {shown}: {output}");
            }
        }
        Assert.AreEqual(0, Run("help", "integrated-gradients").Code);
    }

    [TestMethod]
    [DataRow("info")]
    [DataRow("report")]
    [DataRow("explain")]
    public void CommandHelp_PrintsThatCommandsUsage(string command)
    {
        var (code, output, err) = Run(command, "--help");
        Assert.AreEqual(0, code, err);
        StringAssert.Contains(output, $"mlnet-explain {command}");
    }

    [TestMethod]
    public void Version_PrintsTheAssemblysInformationalVersion()
    {
        var (code, output, _) = Run("--version");
        Assert.AreEqual(0, code);
        string expected = typeof(CliApp).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()!.InformationalVersion;
        Assert.AreEqual($"mlnet-explain {expected}", output.Trim());
    }

    [TestMethod]
    public void Info_TakesThePathPositionally_AndListsTheMethodsThatApply()
    {
        var (code, output, err) = Run("info", Toy.ModelPath);
        Assert.AreEqual(0, code, err);
        StringAssert.Contains(output, "methods that apply:");
        foreach (var method in ExplainCommand.CliMethods) StringAssert.Contains(output, "  " + method.Name);
        Assert.DoesNotContain("do not apply", output);
    }

    [TestMethod]
    public void Info_OnATokenModel_ListsLayerMethodsOnly_AndOnlyFloatTensorsAsLayers()
    {
        var (code, output, err) = Run("info", TokenModel());
        Assert.AreEqual(0, code, err);
        string apply = output[output.IndexOf("methods that apply:", StringComparison.Ordinal)..output.IndexOf("methods that do not apply:", StringComparison.Ordinal)];
        foreach (var method in ExplainCommand.CliMethods)
        {
            if (method.Has(MethodCapabilities.TokenIds)) StringAssert.Contains(apply, "  " + method.Name);
            else StringAssert.Contains(output, $"  {method.Name}: the input is token ids");
        }
        StringAssert.Contains(output, "int64[batch, 4]");
    }

    [TestMethod]
    public void NoiseTunnel_WithoutBaseMethod_WrapsTheOptionsRecordsDefault()
    {
        var c = Fixtures.Case("gm_cnn_deeplift_zero");
        string output = Temp("a.npy");
        var (code, _, err) = Run("explain", "--model", c.ModelPath, "--input", c.InputPath, "--method", "noise-tunnel", "--samples", "3", "--stdevs", "0.1",
            "--target", "1", "--out", output);
        Assert.AreEqual(0, code, err);
        var options = new NoiseTunnelOptions { Samples = 3, Stdevs = 0.1 };
        var expected = MethodRegistry.Get("noise-tunnel").Attribute(new MethodInputs { Model = new OnnxGradientOracle(c.ModelPath), Rows = c.Input, Target = Target.Class(1) }, options);
        CollectionAssert.AreEqual(expected.Attributions.Data, Npy.ReadFloat(output).Data);
    }
}
