using Microsoft.ML.Attribution.Methods;
using Microsoft.ML.Attribution.Oracles;
using Microsoft.ML.Attribution.Reports;
using Microsoft.ML.Attribution.Tensors;
using Microsoft.ML.Attribution.Tests.Tabular;
using Microsoft.ML.Data;

namespace Microsoft.ML.Attribution.Tests.Reports;

[TestClass]
public sealed class AttributionReportTests
{
    private static AttributionReport WineMlp(AttributionReportOptions? options = null)
    {
        var (rows, labels, names) = ReportChecks.WineStandardized();
        return AttributionReport.Generate(ReportChecks.WineMlpPath, rows, labels,
            (options ?? new AttributionReportOptions()) with { FeatureNames = names, ClassNames = ["cultivar 0", "cultivar 1", "cultivar 2"] });
    }

    [TestMethod]
    public void OnnxReport_IsWellFormed_SelfContained_AndListsEveryFeature()
    {
        var report = WineMlp(new AttributionReportOptions { TopK = 3 });
        var (_, _, names) = ReportChecks.WineStandardized();
        ReportChecks.AssertSelfContained(report.Html);
        var doc = ReportChecks.Parse(report.Html);
        CollectionAssert.AreEquivalent(names, ReportChecks.ImportanceFeatures(doc), "every feature once in the importance table");
        Assert.AreEqual("Integrated Gradients", report.Method);
        foreach (var id in new[] { "summary", "global", "per-class", "most-confident", "least-confident", "errors", "timings" })
            ReportChecks.ById(doc, id);
        // 3 most + 3 least confident rows, each a waterfall; plus the bar chart, a beeswarm per class and 3 per-class charts.
        foreach (var id in new[] { "most-confident", "least-confident" })
            Assert.AreEqual(3, ReportChecks.ById(doc, id).Elements().Count(e => (string?)e.Attribute("class") == "row"), id);
        Assert.AreEqual(1 + 3 + 3 + 6, ReportChecks.Elements(doc, "svg").Count());
        Assert.AreEqual(0, ReportChecks.AssertImagesDecode(report.Html));
        var phases = report.Timings.Select(t => t.Phase).ToArray();
        CollectionAssert.IsSubsetOf(new[] { "load", "prepare", "predict", "attribute", "render" }, phases);
        StringAssert.Contains(report.Html, "178");
        // IG's base value is f(baseline) at the mean row, not E[f(X)]: the page says so.
        StringAssert.Contains(ReportChecks.ById(doc, "settings-table").Value, "the model's output at the baseline row, the mean of 100 background rows");
        Assert.IsTrue(ReportChecks.Elements(doc, "text").Any(t => (string?)t.Attribute("class") == "expected-label" && t.Value.StartsWith("f(baseline) = ", StringComparison.Ordinal)));
    }

    [TestMethod]
    public void OnnxReport_ImportanceTable_IsSortedAndMatchesTheAttributions()
    {
        var report = WineMlp(new AttributionReportOptions { MaxRows = 40, Seed = 3 });
        var doc = ReportChecks.Parse(report.Html);
        var cells = ReportChecks.Elements(doc, "tr").Where(tr => tr.Attribute("data-feature") is not null)
            .Select(tr => tr.Elements().Select(td => td.Value).ToArray()).ToArray();
        Assert.HasCount(13, cells);
        var meanAbs = cells.Select(c => double.Parse(c[2], System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        for (int i = 1; i < meanAbs.Length; i++) Assert.IsTrue(meanAbs[i - 1] >= meanAbs[i], "sorted by mean |attribution|");
        StringAssert.Contains(report.Html, "40 of 178 (seeded sample)");
        var again = ReportChecks.ById(ReportChecks.Parse(WineMlp(new AttributionReportOptions { MaxRows = 40, Seed = 3 }).Html), "importance-table");
        Assert.AreEqual(ReportChecks.ById(doc, "importance-table").ToString(), again.ToString(), "the same seed gives the same table");
    }

    [TestMethod]
    public void MLNetTreePipeline_UsesTreeShap_WithPerClassSectionFromEveryOutput()
    {
        var ml = new MLContext(seed: 1);
        var data = WineTrees.Load(ml);
        // A featurizer + trainer chain as AutoML builds it: the trees see normalised features.
        var model = ml.Transforms.NormalizeMinMax("Features")
            .Append(ml.Transforms.Conversion.MapValueToKey("Label"))
            .Append(ml.MulticlassClassification.Trainers.OneVersusAll(ml.BinaryClassification.Trainers.FastTree(numberOfTrees: 20, numberOfLeaves: 8, minimumExampleCountPerLeaf: 2)))
            .Fit(data);
        var report = AttributionReport.Generate(model, data, "Label", new AttributionReportOptions { TopK = 2 });
        StringAssert.StartsWith(report.Method, "Exact TreeSHAP");
        ReportChecks.AssertSelfContained(report.Html);
        var doc = ReportChecks.Parse(report.Html);
        var slotNames = new MLNetForwardOracle(model, data).FeatureNames;
        CollectionAssert.AreEquivalent(slotNames.ToArray(), ReportChecks.ImportanceFeatures(doc));
        var perClass = ReportChecks.ById(doc, "per-class-table");
        Assert.AreEqual(1 + 3, perClass.Elements().First().Elements().Count(), "a column per class");
        StringAssert.Contains(report.Html, "Mean |attribution| over the rows whose explained output is the class");
        ReportChecks.ById(doc, "errors");
    }

    [TestMethod]
    public void MLNetTreeReport_WaterfallEndsAtTheRawScore()
    {
        var ml = new MLContext(seed: 1);
        var data = WineTrees.Load(ml);
        var model = ml.Regression.Trainers.FastTree(numberOfTrees: 30, numberOfLeaves: 8, minimumExampleCountPerLeaf: 2).Fit(data);
        var report = AttributionReport.Generate(model, data, "Label", new AttributionReportOptions { TopK = 1 });
        var doc = ReportChecks.Parse(report.Html);
        var row = ReportChecks.ById(doc, "most-confident").Descendants().First(e => (string?)e.Attribute("class") == "row");
        int id = int.Parse((string)row.Attribute("data-row")!, System.Globalization.CultureInfo.InvariantCulture);
        var scores = WineTrees.Scores(model, data);
        Assert.AreEqual(scores.Max(), scores[id], "the highest prediction comes first");
        var label = row.Descendants().Single(e => (string?)e.Attribute("class") == "prediction-label").Value;
        Assert.AreEqual($"f(x) = {scores[id].ToString("0.###", System.Globalization.CultureInfo.InvariantCulture)}", label, "SHAP values add up to the score");
        StringAssert.Contains(ReportChecks.ById(doc, "errors").Value, "largest |prediction − label|");
    }

    [TestMethod]
    public void MLNetLinearModel_FallsBackToKernelShap()
    {
        var ml = new MLContext(seed: 1);
        var data = WineTrees.Load(ml);
        var model = ml.Transforms.NormalizeMeanVariance("Features").Append(ml.Regression.Trainers.Sdca(maximumNumberOfIterations: 20)).Fit(data);
        var report = AttributionReport.Generate(model, data, "Label", new AttributionReportOptions { TopK = 2, MaxRows = 50, Method = "kernel-shap", MethodOptions = new KernelShapOptions { Samples = 30 } });
        Assert.AreEqual("Kernel SHAP", report.Method);
        ReportChecks.AssertSelfContained(report.Html);
        Assert.HasCount(13, ReportChecks.ImportanceFeatures(ReportChecks.Parse(report.Html)));
        Assert.DoesNotContain("id=\"per-class\"", report.Html, "a single-output model has no per-class section");
    }

    [TestMethod]
    public void ImageReport_DrawsRowsAsInlinePngHeatMaps()
    {
        var c = Support.Fixtures.Case("pixels_occlusion_w133_s122");
        var images = c.Input;
        var report = AttributionReport.Generate(c.ModelPath, images, null, new AttributionReportOptions { TopK = 2, OriginalImages = images });
        ReportChecks.AssertSelfContained(report.Html);
        // 2 most + 2 least confident rows and the mean map.
        Assert.AreEqual(5, ReportChecks.AssertImagesDecode(report.Html));
        CollectionAssert.AreEqual(new[] { "channel 0" }, ReportChecks.ImportanceFeatures(ReportChecks.Parse(report.Html)));
    }

    [TestMethod]
    public void TextReport_ColoursEveryToken()
    {
        var c = Support.Fixtures.Case("attention_ig_gausslegendre");
        var x = c.Input;
        string[][] tokens = Enumerable.Range(0, x.Rows).Select(r => new[] { "the", "wine", "<pad>", $"w{r}" }).ToArray();
        var report = AttributionReport.Generate(c.ModelPath, x, null, new AttributionReportOptions { TopK = 1, Tokens = tokens });
        ReportChecks.AssertSelfContained(report.Html);
        var doc = ReportChecks.Parse(report.Html);
        var marks = ReportChecks.Elements(doc, "mark").ToArray();
        Assert.HasCount(2 * 4, marks, "one row in each of the two sections, four tokens each");
        CollectionAssert.AreEquivalent(new[] { "token 0", "token 1", "token 2", "token 3" }, ReportChecks.ImportanceFeatures(doc));
    }

    [TestMethod]
    public void WrongFeatureNameCount_IsAClearError()
    {
        var (rows, _, _) = ReportChecks.WineStandardized();
        var e = Assert.ThrowsExactly<ArgumentException>(() =>
            AttributionReport.Generate(ReportChecks.WineMlpPath, rows, null, new AttributionReportOptions { FeatureNames = ["a", "b"] }));
        StringAssert.Contains(e.Message, "2 feature names for 13 features");
        Assert.ThrowsExactly<NotSupportedException>(() =>
            AttributionReport.Generate(ReportChecks.WineMlpPath, rows, null, new AttributionReportOptions { Method = "tree-shap" }));
    }

    [TestMethod]
    public void Uniquify_PrefixesIdsAndTheirReferences()
    {
        string svg = "<svg><defs><linearGradient id=\"g\"/></defs><rect fill=\"url(#g)\"/><use href=\"#g\"/></svg>";
        Assert.AreEqual("<svg><defs><linearGradient id=\"c7-g\"/></defs><rect fill=\"url(#c7-g)\"/><use href=\"#c7-g\"/></svg>",
            ReportHtml.Uniquify(svg, "c7"));
    }

    [TestMethod]
    public void Save_WritesTheHtml()
    {
        var report = WineMlp(new AttributionReportOptions { MaxRows = 20 });
        string path = Path.Combine(Path.GetTempPath(), $"report-{Guid.NewGuid():N}.html");
        report.Save(path);
        Assert.AreEqual(report.Html, File.ReadAllText(path));
        File.Delete(path);
    }
}
