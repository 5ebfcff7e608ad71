using Microsoft.ML.Attribution.Cli;
using Microsoft.ML.Attribution.Tensors;
using Microsoft.ML.Attribution.Tests.Reports;

namespace Microsoft.ML.Attribution.Tests.Cli;

[TestClass]
public sealed class ReportCliTests
{
    private static (int Code, string Out, string Err) Run(params string[] args) => CliFormatTests.Run(args);

    private static string Temp(string name) => CliFormatTests.Temp(name);

    [TestMethod]
    public void Report_WritesASelfContainedPage_WithNamedFeaturesAndErrors()
    {
        var (rows, labels, names) = ReportChecks.WineStandardized();
        string input = Temp("x.npy"), labelPath = Temp("l.npy"), namesPath = Temp("names.txt"), output = Temp("report.html");
        Npy.Write(input, rows);
        Npy.Write(labelPath, new NdArray<long>(labels.Select(l => (long)l).ToArray(), labels.Length));
        File.WriteAllLines(namesPath, names);
        var (code, stdout, err) = Run("report", "--model", ReportChecks.WineMlpPath, "--input", input, "--out", output,
            "--labels", labelPath, "--feature-names", namesPath, "--top-k", "2", "--title", "Wine MLP");
        Assert.AreEqual(0, code, err);
        StringAssert.Contains(stdout, "Integrated Gradients");
        string html = File.ReadAllText(output);
        ReportChecks.AssertSelfContained(html);
        var doc = ReportChecks.Parse(html);
        CollectionAssert.AreEquivalent(names, ReportChecks.ImportanceFeatures(doc));
        ReportChecks.ById(doc, "errors");
        StringAssert.Contains(html, "<title>Wine MLP</title>");
        foreach (var path in new[] { input, labelPath, namesPath, output }) File.Delete(path);
    }

    [TestMethod]
    public void Report_WithAnotherMethodAndTarget()
    {
        var (rows, _, _) = ReportChecks.WineStandardized();
        string input = Temp("x.npy"), output = Temp("report.html");
        Npy.Write(input, rows);
        var (code, stdout, err) = Run("report", "--model", ReportChecks.WineMlpPath, "--input", input, "--out", output,
            "--method", "feature-ablation", "--target", "2", "--max-rows", "30");
        Assert.AreEqual(0, code, err);
        StringAssert.Contains(stdout, "Feature ablation");
        StringAssert.Contains(File.ReadAllText(output), "30 of 178");
        File.Delete(input);
        File.Delete(output);
    }

    [TestMethod]
    [DataRow(new[] { "report", "--model", "m.onnx", "--input", "x.npy" }, 2, "--out is required")]
    [DataRow(new[] { "report", "--model", "m.onnx", "--input", "x.npy", "--out", "r.html", "--method", "magic" }, 2, "unknown report method 'magic'")]
    [DataRow(new[] { "report", "--model", "m.onnx", "--input", "x.npy", "--out", "r.html", "--layer", "x" }, 2, "unknown option --layer")]
    [DataRow(new[] { "report", "--model", "missing.onnx", "--input", "x.npy", "--out", "r.html" }, 1, "missing.onnx")]
    public void Report_BadArguments_AreOneClearLine(string[] args, int expectedCode, string words)
    {
        var (code, _, err) = Run(args);
        Assert.AreEqual(expectedCode, code, err);
        var lines = err.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.HasCount(1, lines, err);
        StringAssert.Contains(lines[0], words);
    }

    [TestMethod]
    public void Report_WrongFeatureNameCount_NamesBothCounts()
    {
        var (rows, _, _) = ReportChecks.WineStandardized();
        string input = Temp("x.npy"), namesPath = Temp("names.txt");
        Npy.Write(input, rows);
        File.WriteAllLines(namesPath, ["a", "b", "c"]);
        var (code, _, err) = Run("report", "--model", ReportChecks.WineMlpPath, "--input", input, "--out", Temp("r.html"), "--feature-names", namesPath);
        Assert.AreEqual(1, code);
        StringAssert.Contains(err, "3 feature names for 13 features");
        File.Delete(input);
        File.Delete(namesPath);
    }
}
