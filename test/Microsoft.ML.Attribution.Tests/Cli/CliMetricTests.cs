using System.IO.Compression;
using System.Globalization;
using System.Text.Json;
using Microsoft.ML.Attribution.Methods;
using Microsoft.ML.Attribution.Metrics;
using Microsoft.ML.Attribution.Oracles;
using Microsoft.ML.Attribution.Tensors;
using Microsoft.ML.Attribution.Tests.Support;
using static Microsoft.ML.Attribution.Tests.Cli.CliFormatTests;

namespace Microsoft.ML.Attribution.Tests.Cli;

/// <summary><c>mlnet-explain metric …</c>: per-row values equal the library's metrics run directly with the same seed.</summary>
[TestClass]
public sealed class CliMetricTests
{
    private static readonly FixtureCase Toy = Fixtures.Case("toy_ig_gausslegendre");

    private static NdArray<float> Attributions(string method, OnnxGradientOracle oracle, Target target, MethodOptions? options = null) =>
        MethodRegistry.Get(method).Attribute(new MethodInputs { Model = oracle, Rows = Toy.Input, Target = target }, options).Attributions;

    private static float[][] ReadCsv(string path) => File.ReadAllLines(path).Skip(1)
        .Select(l => l.Split(',').Skip(1).Select(v => float.Parse(v, CultureInfo.InvariantCulture)).ToArray()).ToArray();

    [TestMethod]
    public void InfidelityEqualsTheLibrarysWithTheSameSeed()
    {
        string output = Temp("infidelity.npy");
        var (code, stdout, err) = Run("metric", "infidelity", "--model", Toy.ModelPath, "--input", Toy.InputPath, "--method", "integrated-gradients",
            "--steps", "7", "--target", "0", "--samples", "6", "--noise-stdev", "0.1", "--seed", "5", "--out", output);
        Assert.AreEqual(0, code, err);
        var oracle = new OnnxGradientOracle(Toy.ModelPath);
        var phi = Attributions("integrated-gradients", oracle, Target.Class(0), new IntegratedGradientsOptions { Steps = 7 });
        var expected = new Infidelity(oracle).Compute(Toy.Input, phi, Target.Class(0), samples: 6, noiseStdev: 0.1, seed: 5);
        var actual = Npy.ReadFloat(output);
        CollectionAssert.AreEqual(new[] { Toy.Input.Rows }, actual.Shape);
        CollectionAssert.AreEqual(expected, actual.Data);
        Assert.IsTrue(expected.Any(v => v > 0), "the noise must change the output, else the comparison tests nothing");
        StringAssert.Contains(stdout, "mean infidelity " + expected.Average().ToString("G6", CultureInfo.InvariantCulture));
    }

    [TestMethod]
    public void SensitivityMaxEqualsTheLibrarysWithTheSameSeed()
    {
        string output = Temp("sensitivity.csv");
        var (code, _, err) = Run("metric", "sensitivity-max", "--model", Toy.ModelPath, "--input", Toy.InputPath, "--method", "saliency",
            "--abs", "false", "--samples", "4", "--radius", "0.5", "--norm", "l1", "--seed", "11", "--out", output);
        Assert.AreEqual(0, code, err);
        var oracle = new OnnxGradientOracle(Toy.ModelPath);
        var bound = MethodRegistry.Get("saliency").Bind(oracle, new SaliencyOptions { Abs = false });
        var expected = new SensitivityMax(bound).Compute(Toy.Input, radius: 0.5, samples: 4, norm: SensitivityNorm.L1, seed: 11);
        CollectionAssert.AreEqual(expected, ReadCsv(output).Select(r => r.Single()).ToArray());
        // A different seed draws different noise: the seed reaches the metric.
        string other = Temp("sensitivity2.csv");
        Assert.AreEqual(0, Run("metric", "sensitivity-max", "--model", Toy.ModelPath, "--input", Toy.InputPath, "--method", "saliency",
            "--abs", "false", "--samples", "4", "--radius", "0.5", "--norm", "l1", "--seed", "12", "--out", other).Code);
        CollectionAssert.AreNotEqual(expected, ReadCsv(other).Select(r => r.Single()).ToArray());
    }

    [TestMethod]
    public void DeletionInsertionWritesBothAucsPerRow()
    {
        string output = Temp("curves.json");
        var (code, stdout, err) = Run("metric", "deletion-insertion", "--model", Toy.ModelPath, "--input", Toy.InputPath,
            "--method", "input-x-gradient", "--out", output);
        Assert.AreEqual(0, code, err);
        var oracle = new OnnxGradientOracle(Toy.ModelPath);
        var curves = new DeletionInsertion(oracle).Compute(Toy.Input, Attributions("input-x-gradient", oracle, Target.Predicted));
        using var json = JsonDocument.Parse(File.ReadAllText(output));
        Assert.AreEqual("deletion-insertion", json.RootElement.GetProperty("metric").GetString());
        CollectionAssert.AreEqual(curves.DeletionAuc, json.RootElement.GetProperty("deletion_auc").EnumerateArray().Select(e => e.GetSingle()).ToArray());
        CollectionAssert.AreEqual(curves.InsertionAuc, json.RootElement.GetProperty("insertion_auc").EnumerateArray().Select(e => e.GetSingle()).ToArray());
        StringAssert.Contains(stdout, "mean deletion_auc");
        StringAssert.Contains(stdout, "mean insertion_auc");
    }

    [TestMethod]
    public void DeletionInsertionTakesTheMaskBaselineAndCurveSteps()
    {
        // Features {0, 1} and {2}, a non-zero baseline, one curve point after the start: each differs from the defaults.
        string mask = Temp("mask.npy"), baseline = Temp("baseline.npy"), output = Temp("curves.npz");
        var featureMask = new NdArray<long>([0, 0, 1], 3);
        var baselines = new NdArray<float>([0.5f, -0.25f, 1f], [1, 3]);
        Npy.Write(mask, featureMask);
        Npy.Write(baseline, baselines);
        var (code, _, err) = Run("metric", "deletion-insertion", "--model", Toy.ModelPath, "--input", Toy.InputPath, "--method", "feature-ablation",
            "--mask", mask, "--baseline", baseline, "--curve-steps", "1", "--target", "1", "--out", output);
        Assert.AreEqual(0, code, err);
        var oracle = new OnnxGradientOracle(Toy.ModelPath);
        var phi = MethodRegistry.Get("feature-ablation").Attribute(new MethodInputs
        {
            Model = oracle, Rows = Toy.Input, Baselines = baselines, FeatureMask = featureMask, Target = Target.Class(1),
        }).Attributions;
        var curves = new DeletionInsertion(oracle).Compute(Toy.Input, phi, baselines, Target.Class(1), featureMask, steps: 1);
        var entries = NpzFiles(output);
        CollectionAssert.AreEqual(curves.DeletionAuc, Npy.ReadFloat(entries["deletion_auc.npy"]).Data);
        CollectionAssert.AreEqual(curves.InsertionAuc, Npy.ReadFloat(entries["insertion_auc.npy"]).Data);
        var defaults = new DeletionInsertion(oracle).Compute(Toy.Input, Attributions("feature-ablation", oracle, Target.Class(1)), target: Target.Class(1));
        CollectionAssert.AreNotEqual(defaults.DeletionAuc, curves.DeletionAuc);
    }

    private static Dictionary<string, string> NpzFiles(string path) => CliFormatTests.NpzEntries(path);

    [TestMethod]
    public void UsageErrorsComeBeforeAnyWork()
    {
        var (code, _, err) = Run("metric", "infidelty", "--model", "missing.onnx", "--input", Toy.InputPath, "--method", "saliency");
        Assert.AreEqual(2, code);
        StringAssert.Contains(err, "did you mean 'infidelity'?");

        (code, _, err) = Run("metric", "infidelity", "--model", "missing.onnx", "--input", Toy.InputPath, "--method", "saliency", "--out", Temp("x.txt"));
        Assert.AreEqual(2, code);
        StringAssert.Contains(err, "unknown extension '.txt'");

        string missingDirectory = Path.Combine(Temp("no-such-dir"), "values.csv");
        (code, _, err) = Run("metric", "infidelity", "--model", "missing.onnx", "--input", Toy.InputPath, "--method", "saliency", "--out", missingDirectory);
        Assert.AreEqual(2, code);
        StringAssert.Contains(err, "does not exist");

        (code, _, err) = Run("metric", "deletion-insertion", "--model", Toy.ModelPath, "--input", Toy.InputPath, "--method", "saliency", "--radius", "0.1");
        Assert.AreEqual(2, code);
        StringAssert.Contains(err, "--radius is not used by metric deletion-insertion");

        (code, _, err) = Run("metric", "sensitivity-max", "--model", Toy.ModelPath, "--input", Toy.InputPath, "--method", "saliency", "--norm", "l3");
        Assert.AreEqual(2, code);
        StringAssert.Contains(err, "--norm 'l3'");
    }

    [TestMethod]
    public void HelpListsTheMetricsWithTheirDefaults()
    {
        var (code, stdout, _) = Run("metric", "--help");
        Assert.AreEqual(0, code);
        foreach (var name in new[] { "infidelity", "sensitivity-max", "deletion-insertion" }) StringAssert.Contains(stdout, name);
        StringAssert.Contains(stdout, "--noise-stdev " + Infidelity.DefaultNoiseStdev.ToString(CultureInfo.InvariantCulture));
        StringAssert.Contains(stdout, "--radius " + SensitivityMax.DefaultRadius.ToString(CultureInfo.InvariantCulture));
        StringAssert.Contains(stdout, "--samples " + Infidelity.DefaultSamples.ToString(CultureInfo.InvariantCulture));
        StringAssert.Contains(Run("--help").Out, "mlnet-explain metric");
    }
}
