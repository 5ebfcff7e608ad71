using System.IO.Compression;
using System.Text.Json;
using Microsoft.ML.Attribution.Cli;
using Microsoft.ML.Attribution.Methods;
using Microsoft.ML.Attribution.Oracles;
using Microsoft.ML.Attribution.Tensors;
using Microsoft.ML.Attribution.Tests.Support;

namespace Microsoft.ML.Attribution.Tests.Cli;

/// <summary>Inputs and outputs by extension (.npy, .npz, .csv, .json) and --target N | all | predicted.</summary>
[TestClass]
public sealed class CliFormatTests
{
    private static readonly FixtureCase Toy = Fixtures.Case("toy_ig_gausslegendre");

    internal static (int Code, string Out, string Err) Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = CliApp.Run(args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    internal static string Temp(string name) => Path.Combine(Path.GetTempPath(), $"cli-{Guid.NewGuid():N}-{name}");

    /// <summary>The library's own run of a registry method on the toy input (the reference for every format).</summary>
    private static AttributionResult Library(string method, Target target, NdArray<float>? rows = null) =>
        MethodRegistry.Get(method).Attribute(new MethodInputs { Model = new OnnxGradientOracle(Toy.ModelPath), Rows = rows ?? Toy.Input, Target = target });

    internal static Dictionary<string, string> NpzEntries(string path)
    {
        // Each entry extracted to its own .npy, read with the library's reader.
        var files = new Dictionary<string, string>(StringComparer.Ordinal);
        using var zip = ZipFile.OpenRead(path);
        foreach (var entry in zip.Entries)
        {
            string file = Temp(entry.Name);
            entry.ExtractToFile(file);
            files[entry.FullName] = file;
        }
        return files;
    }

    private static string WriteInput(string extension, NdArray<float> x, string[]? header = null)
    {
        string path = Temp("x" + extension);
        switch (extension)
        {
            case ".npy":
                Npy.Write(path, x);
                break;
            case ".npz":
                {
                    // Two arrays: the input is found by the model input's name.
                    string other = Temp("other.npy"), input = Temp("input.npy");
                    Npy.Write(other, new NdArray<float>(new float[4], 4));
                    Npy.Write(input, x);
                    using var zip = ZipFile.Open(path, ZipArchiveMode.Create);
                    zip.CreateEntryFromFile(other, "other.npy");
                    zip.CreateEntryFromFile(input, Toy.InputName + ".npy");
                    break;
                }
            case ".csv":
                File.WriteAllLines(path, (header is null ? [] : new[] { string.Join(",", header) })
                    .Concat(Enumerable.Range(0, x.Rows).Select(r => string.Join(",", x.Row(r).ToArray().Select(v => v.ToString("R", System.Globalization.CultureInfo.InvariantCulture))))));
                break;
            default:
                File.WriteAllText(path, JsonSerializer.Serialize(Enumerable.Range(0, x.Rows).Select(r => x.Row(r).ToArray())));
                break;
        }
        return path;
    }

    [TestMethod]
    [DataRow(".npy")]
    [DataRow(".npz")]
    [DataRow(".csv")]
    [DataRow(".json")]
    public void EveryInputFormat_GivesTheLibrarysAttributions(string extension)
    {
        string input = WriteInput(extension, Toy.Input), output = Temp("a.npy");
        var (code, _, err) = Run("explain", "--model", Toy.ModelPath, "--input", input, "--method", "integrated-gradients", "--target", "0", "--out", output);
        Assert.AreEqual(0, code, err);
        CollectionAssert.AreEqual(Library("integrated-gradients", Target.Class(0)).Attributions.Data, Npy.ReadFloat(output).Data);
    }

    [TestMethod]
    public void Npz_HoldsAttributionsTargetAndDelta()
    {
        string output = Temp("a.npz");
        var (code, _, err) = Run("explain", "--model", Toy.ModelPath, "--input", Toy.InputPath, "--method", "integrated-gradients", "--target", "1", "--out", output);
        Assert.AreEqual(0, code, err);
        var expected = Library("integrated-gradients", Target.Class(1));
        var entries = NpzEntries(output);
        CollectionAssert.AreEquivalent(new[] { "attributions.npy", "target.npy", "delta.npy" }, entries.Keys.ToArray());
        var a = Npy.ReadFloat(entries["attributions.npy"]);
        CollectionAssert.AreEqual(expected.Attributions.Shape, a.Shape);
        CollectionAssert.AreEqual(expected.Attributions.Data, a.Data);
        CollectionAssert.AreEqual(expected.Targets.Select(t => (long)t).ToArray(), Npy.ReadInt64(entries["target.npy"]).Data);
        CollectionAssert.AreEqual(expected.ConvergenceDelta, Npy.ReadFloat(entries["delta.npy"]).Data);
    }

    [TestMethod]
    public void Csv_HasHeadersFromTheInputColumns_AndOneLinePerRow()
    {
        string[] names = ["alpha", "beta", "gamma"];
        string input = WriteInput(".csv", Toy.Input, names), output = Temp("a.csv");
        var (code, _, err) = Run("explain", "--model", Toy.ModelPath, "--input", input, "--method", "saliency", "--target", "1", "--out", output);
        Assert.AreEqual(0, code, err);
        var lines = File.ReadAllLines(output);
        string[] header = ["row", "target", .. names];
        CollectionAssert.AreEqual(header, lines[0].Split(','));
        var expected = Library("saliency", Target.Class(1)).Attributions;
        Assert.HasCount(expected.Rows + 1, lines);
        for (int r = 0; r < expected.Rows; r++)
        {
            var fields = lines[r + 1].Split(',');
            Assert.AreEqual(r.ToString(System.Globalization.CultureInfo.InvariantCulture), fields[0]);
            Assert.AreEqual("1", fields[1]);
            CollectionAssert.AreEqual(expected.Row(r).ToArray(), fields[2..].Select(f => float.Parse(f, System.Globalization.CultureInfo.InvariantCulture)).ToArray());
        }
    }

    [TestMethod]
    public void Csv_WithoutHeader_NamesColumnsByIndex()
    {
        string output = Temp("a.csv");
        var (code, _, err) = Run("explain", "--model", Toy.ModelPath, "--input", Toy.InputPath, "--method", "integrated-gradients", "--target", "0", "--out", output);
        Assert.AreEqual(0, code, err);
        StringAssert.StartsWith(File.ReadAllLines(output)[0], "row,target,delta,attributions[0],attributions[1],attributions[2]");
    }

    [TestMethod]
    public void Json_RoundTrips()
    {
        string output = Temp("a.json");
        var (code, _, err) = Run("explain", "--model", Toy.ModelPath, "--input", Toy.InputPath, "--method", "integrated-gradients", "--target", "0", "--out", output);
        Assert.AreEqual(0, code, err);
        var expected = Library("integrated-gradients", Target.Class(0));
        using var doc = JsonDocument.Parse(File.ReadAllText(output));
        Assert.AreEqual("integrated-gradients", doc.RootElement.GetProperty("method").GetString());
        var result = doc.RootElement.GetProperty("results")[0];
        var a = result.GetProperty("attributions").EnumerateArray().SelectMany(r => r.EnumerateArray().Select(v => v.GetSingle())).ToArray();
        CollectionAssert.AreEqual(expected.Attributions.Data, a);
        CollectionAssert.AreEqual(expected.ConvergenceDelta, result.GetProperty("delta").EnumerateArray().Select(v => v.GetSingle()).ToArray());
    }

    [TestMethod]
    public void TargetAll_GivesOneNamedMapPerOutput_InNpz_AndStacksThemInNpy()
    {
        string npz = Temp("a.npz"), npy = Temp("a.npy");
        var (code, _, err) = Run("explain", "--model", Toy.ModelPath, "--input", Toy.InputPath, "--method", "saliency", "--target", "all", "--out", npz);
        Assert.AreEqual(0, code, err);
        (code, _, err) = Run("explain", "--model", Toy.ModelPath, "--input", Toy.InputPath, "--method", "saliency", "--target", "all", "--out", npy);
        Assert.AreEqual(0, code, err);
        int classes = new OnnxGradientOracle(Toy.ModelPath).Forward(Toy.Input).RowSize;
        var entries = NpzEntries(npz);
        var stacked = Npy.ReadFloat(npy);
        int[] shape = [Toy.Input.Rows, classes, .. Toy.Input.RowShape];
        CollectionAssert.AreEqual(shape, stacked.Shape);
        for (int c = 0; c < classes; c++)
        {
            var expected = Library("saliency", Target.Class(c)).Attributions;
            CollectionAssert.AreEqual(expected.Data, Npy.ReadFloat(entries[$"attributions_{c}.npy"]).Data, $"class {c}");
            for (int r = 0; r < expected.Rows; r++)
                CollectionAssert.AreEqual(expected.Row(r).ToArray(), stacked.Data.AsSpan((r * classes + c) * expected.RowSize, expected.RowSize).ToArray());
        }
        Assert.HasCount(classes, entries.Keys);
    }

    [TestMethod]
    public void TargetPredicted_IsEachRowsArgmax_AndTheDefault()
    {
        string predicted = Temp("p.npz"), omitted = Temp("o.npy");
        var (code, _, err) = Run("explain", "--model", Toy.ModelPath, "--input", Toy.InputPath, "--method", "saliency", "--target", "predicted", "--out", predicted);
        Assert.AreEqual(0, code, err);
        (code, _, err) = Run("explain", "--model", Toy.ModelPath, "--input", Toy.InputPath, "--method", "saliency", "--out", omitted);
        Assert.AreEqual(0, code, err);
        var outputs = new OnnxGradientOracle(Toy.ModelPath).Forward(Toy.Input);
        var argmax = Enumerable.Range(0, outputs.Rows).Select(r => (long)outputs.Row(r).ToArray().AsSpan().IndexOf(outputs.Row(r).ToArray().Max())).ToArray();
        var entries = NpzEntries(predicted);
        CollectionAssert.AreEqual(argmax, Npy.ReadInt64(entries["target.npy"]).Data);
        var expected = Library("saliency", Target.PerRow(argmax.Select(t => (int)t).ToArray())).Attributions.Data;
        CollectionAssert.AreEqual(expected, Npy.ReadFloat(entries["attributions.npy"]).Data);
        CollectionAssert.AreEqual(expected, Npy.ReadFloat(omitted).Data);
    }

    [TestMethod]
    public void ManyRows_RunInBatches_AndEqualTheLibraryOnTheWholeBatch()
    {
        var random = new Random(3);
        var rows = new NdArray<float>(Enumerable.Range(0, 300).Select(_ => (float)random.NextDouble() * 4 - 2).ToArray(), 100, 3);
        string input = Temp("x.npy"), output = Temp("a.npy"), delta = Temp("d.npy");
        Npy.Write(input, rows);
        var (code, _, err) = Run("explain", "--model", Toy.ModelPath, "--input", input, "--method", "integrated-gradients", "--target", "1",
            "--out", output, "--delta-out", delta);
        Assert.AreEqual(0, code, err);
        var expected = Library("integrated-gradients", Target.Class(1), rows);
        AssertArrays.Close(expected.Attributions.Data, Npy.ReadFloat(output).Data, 1e-5, "batched attributions");
        AssertArrays.Close(expected.ConvergenceDelta!, Npy.ReadFloat(delta).Data, 1e-5, "batched delta");
    }

    [TestMethod]
    public void NumPy_ReadsTheNpyAndNpzOutputs()
    {
        const string python = "/usr/bin/python3";
        if (!File.Exists(python)) Assert.Inconclusive("no /usr/bin/python3");
        string npy = Temp("a.npy"), npz = Temp("a.npz");
        Assert.AreEqual(0, Run("explain", "--model", Toy.ModelPath, "--input", Toy.InputPath, "--method", "integrated-gradients", "--target", "0", "--out", npy).Code);
        Assert.AreEqual(0, Run("explain", "--model", Toy.ModelPath, "--input", Toy.InputPath, "--method", "integrated-gradients", "--target", "0", "--out", npz).Code);
        var check = new System.Diagnostics.ProcessStartInfo(python) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "-c", "import sys, numpy as np; a = np.load(sys.argv[1]); z = np.load(sys.argv[2]); " +
            "print(a.dtype, a.shape, sorted(z.keys()), bool((z['attributions'] == a).all()), z['target'].dtype)", npy, npz }) check.ArgumentList.Add(a);
        using var process = System.Diagnostics.Process.Start(check)!;
        string output = process.StandardOutput.ReadToEnd(), error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (error.Contains("No module named 'numpy'", StringComparison.Ordinal)) Assert.Inconclusive("numpy is not installed");
        Assert.AreEqual(0, process.ExitCode, error);
        Assert.AreEqual($"float32 ({Toy.Input.Rows}, 3) ['attributions', 'delta', 'target'] True int64", output.Trim());
    }
}
