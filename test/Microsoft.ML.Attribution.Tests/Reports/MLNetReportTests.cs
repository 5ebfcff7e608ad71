using Microsoft.ML.Attribution.TestData;
using System.Globalization;
using Microsoft.ML.Attribution.Reports;
using Microsoft.ML.Attribution.Tests.Tabular;
using Microsoft.ML.Data;

namespace Microsoft.ML.Attribution.Tests.Reports;

/// <summary>Reports on real ML.NET chains (one-hot + trees on adult, a text featurizer + SDCA), read through their HTML.</summary>
[TestClass]
public sealed class MLNetReportTests
{
    internal static readonly string[] AdultColumns =
    [
        "Workclass", "education", "marital-status", "occupation", "relationship", "ethnicity", "sex", "native-country-region",
        "age", "fnlwgt", "education-num", "capital-gain", "capital-loss", "hours-per-week",
    ];

    /// <summary>The adult data and a fitted one-hot + FastTree chain (as ML.NET's adult sample builds it).</summary>
    internal static (MLContext Ml, IDataView Data, ITransformer Model) AdultFastTree()
    {
        var path = Support.SharedData.Require(AdultSample.RelativePath);
        var ml = new MLContext(seed: 1);
        var data = AdultSample.Load(ml, path);
        var model = AdultSample.Featurize(ml)
            .Append(ml.BinaryClassification.Trainers.FastTree(numberOfTrees: 30, numberOfLeaves: 8, minimumExampleCountPerLeaf: 5))
            .Fit(data);
        return (ml, data, model);
    }

    /// <summary>The 40 reviews shipped in samples/data and a fitted FeaturizeText + SDCA logistic regression chain.</summary>
    internal static (MLContext Ml, IDataView Data, ITransformer Model) ReviewsSdca()
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromTextFile(Path.Combine(ReportChecks.RepoRoot, "samples", "data", "text", "reviews.tsv"), new TextLoader.Options
        {
            HasHeader = true,
            Separators = ['\t'],
            Columns = [new TextLoader.Column("Label", DataKind.Boolean, 0), new TextLoader.Column("Text", DataKind.String, 1)],
        });
        var model = ml.Transforms.Text.FeaturizeText("Features", "Text")
            .Append(ml.BinaryClassification.Trainers.SdcaLogisticRegression(maximumNumberOfIterations: 50))
            .Fit(data);
        return (ml, data, model);
    }

    private sealed class Recorder : IProgress<ReportProgress>
    {
        public List<ReportProgress> Seen { get; } = [];

        public void Report(ReportProgress value) => Seen.Add(value);
    }

    private static IEnumerable<System.Xml.Linq.XElement> ByClass(System.Xml.Linq.XContainer root, string cssClass) =>
        root.Descendants().Where(e => (string?)e.Attribute("class") == cssClass);

    [TestMethod]
    public void AdultOneHotFastTree_ReportsOneFeaturePerSourceColumn_WithCategoriesAndAnHonestBaseValue()
    {
        var (_, data, model) = AdultFastTree();
        var progress = new Recorder();
        var report = AttributionReport.Generate(model, data, "Label", new AttributionReportOptions { TopK = 2, Progress = progress });
        StringAssert.StartsWith(report.Method, "Exact TreeSHAP");
        ReportChecks.AssertSelfContained(report.Html);
        var doc = ReportChecks.Parse(report.Html);

        // 14 source columns, not 84 one-hot slots; a column that never varies is hidden and named in the summary.
        var listed = ReportChecks.ImportanceFeatures(doc);
        CollectionAssert.IsSubsetOf(listed, AdultColumns);
        var settings = ReportChecks.ById(doc, "settings-table").Value;
        int hidden = AdultColumns.Length - listed.Length;
        if (hidden > 0) StringAssert.Contains(settings, $"{hidden} feature");
        Assert.IsGreaterThanOrEqualTo(10, listed.Length, "most adult columns vary");
        var bars = ByClass(ReportChecks.ById(doc, "global"), "bar").ToArray();
        Assert.IsTrue(bars.Length is > 0 and <= 15, $"{bars.Length} bars in the importance chart");

        // The base value says what it is: the margin, not a probability.
        StringAssert.Contains(settings, "raw score (the margin before the calibrator, not a probability)");
        var row = ByClass(ReportChecks.ById(doc, "most-confident"), "row").First();
        StringAssert.StartsWith(ByClass(row, "expected-label").Single().Value, "base value (mean raw score) = ");

        // Waterfall labels show the row's category, never a one-hot slot name.
        int id = int.Parse((string)row.Attribute("data-row")!, CultureInfo.InvariantCulture);
        var raw = data.GetColumn<ReadOnlyMemory<char>>("Workclass").ElementAt(id).ToString();
        var labels = ByClass(row, "label").Select(e => e.Value).ToArray();
        if (labels.FirstOrDefault(l => l.StartsWith("Workclass = ", StringComparison.Ordinal)) is { } workclass)
            Assert.AreEqual($"Workclass = {raw}", workclass);
        Assert.IsFalse(labels.Any(l => l.Contains("Workclass.", StringComparison.Ordinal) || l.Contains("Categories.", StringComparison.Ordinal)), string.Join(" | ", labels));
        var titles = ReportChecks.Elements(doc, "title").Select(t => t.Value).Where(t => t.StartsWith("education = ", StringComparison.Ordinal)).ToArray();
        Assert.IsNotEmpty(titles, "beeswarm dots name the category on hover");

        // Σ attributions + base value = the raw score: no 'unattributed' bar.
        Assert.IsEmpty(ReportChecks.Elements(doc, "rect").Where(r => (string?)r.Attribute("data-kind") == "unattributed"));

        var explain = progress.Seen.Where(p => p.Phase == "explain").ToArray();
        Assert.IsNotEmpty(explain);
        for (int i = 1; i < explain.Length; i++) Assert.IsGreaterThanOrEqualTo(explain[i - 1].Completed, explain[i].Completed);
        Assert.AreEqual(explain[^1].Total, explain[^1].Completed);
        Assert.AreEqual(data.GetColumn<bool>("Label").Count(), explain[^1].Total, "every row explained");
        Assert.AreEqual("render", progress.Seen[^1].Phase);
    }

    [TestMethod]
    public void TextFeaturizerSdca_ReportUsesLinearShapPerNGram_CapsTheTable_AndAddsUpToTheMargin()
    {
        var (_, data, model) = ReviewsSdca();
        var report = AttributionReport.Generate(model, data, "Label", new AttributionReportOptions { TopK = 2, MaxTableFeatures = 30 });
        StringAssert.StartsWith(report.Method, "Exact linear SHAP");
        ReportChecks.AssertSelfContained(report.Html);
        var doc = ReportChecks.Parse(report.Html);
        var listed = ReportChecks.ImportanceFeatures(doc);
        Assert.HasCount(30, listed, "the table is capped");
        StringAssert.Contains(ReportChecks.ById(doc, "importance-table-note").Value, "The 30 most important of ");
        Assert.IsFalse(listed.Any(n => n.StartsWith("slot ", StringComparison.Ordinal)), "features are named by their n-gram");
        Assert.IsTrue(listed.Take(10).Any(n => n.Contains("great", StringComparison.Ordinal) || n.Contains("bad", StringComparison.Ordinal)
            || n.Contains("love", StringComparison.Ordinal) || n.Contains("bor", StringComparison.Ordinal) || n.Contains("terrible", StringComparison.Ordinal)),
            "a sentiment word among the 10 most important features: " + string.Join(", ", listed.Take(10)));

        // Linear SHAP is exact: base value + Σ attributions is the margin, so the waterfall needs no 'unattributed' bar.
        var scores = model.Transform(data).GetColumn<float>("Score").ToArray();
        foreach (var row in ByClass(doc.Root!, "row").Take(4))
        {
            int id = int.Parse((string)row.Attribute("data-row")!, CultureInfo.InvariantCulture);
            Assert.AreEqual($"f(x) = {ReportHtml.Num(scores[id])}", ByClass(row, "prediction-label").Single().Value);
            Assert.IsEmpty(row.Descendants().Where(r => (string?)r.Attribute("data-kind") == "unattributed"), $"row {id} adds up");
        }

        // The decision plot of the rows shown ends each line at that row's margin; the force plot's segments add up to it.
        var plots = ReportChecks.ById(doc, "shap-plots");
        var shownScores = ByClass(doc.Root!, "row").Select(r => (double)scores[int.Parse((string)r.Attribute("data-row")!, CultureInfo.InvariantCulture)]).Distinct().Order().ToArray();
        var ends = ByClass(plots, "decision").Select(l => double.Parse((string)l.Attribute("data-output")!, CultureInfo.InvariantCulture)).Order().ToArray();
        Assert.HasCount(shownScores.Length, ends);
        for (int i = 0; i < ends.Length; i++) Assert.AreEqual(shownScores[i], ends[i], 1e-3);
        double Sum(IEnumerable<System.Xml.Linq.XElement> marks) => marks.Sum(e => double.Parse((string)e.Attribute("data-value")!, CultureInfo.InvariantCulture));
        var firstRow = ByClass(doc.Root!, "row").First();
        Assert.AreEqual(Sum(ByClass(firstRow, "bar")), Sum(ByClass(plots, "segment")), 2e-3, "force segments = the first row's waterfall = f(x) − base value");
        Assert.AreEqual(ByClass(firstRow, "prediction-label").Single().Value, ByClass(plots, "prediction-label").First().Value);
        Assert.IsNotEmpty(ByClass(plots, "cell"), "a heatmap");
    }

    public sealed class ZeroOut
    {
        public float Zero { get; set; }
    }

    [TestMethod]
    public void AFeatureThatNeverVaries_IsHiddenAndNamed()
    {
        var ml = new MLContext(seed: 1);
        var data = WineTrees.Load(ml);
        var model = ml.Transforms.CustomMapping<WineTrees.LabelIn, ZeroOut>((i, o) => o.Zero = 0f, null)
            .Append(ml.Transforms.Concatenate("Features", "Features", "Zero"))
            .Append(ml.Regression.Trainers.FastTree(numberOfTrees: 10, numberOfLeaves: 4, minimumExampleCountPerLeaf: 5))
            .Fit(data);
        var report = AttributionReport.Generate(model, data, "Label", new AttributionReportOptions { TopK = 1 });
        var doc = ReportChecks.Parse(report.Html);
        var listed = ReportChecks.ImportanceFeatures(doc);
        Assert.HasCount(13, listed);
        CollectionAssert.DoesNotContain(listed, "Zero");
        StringAssert.Contains(ReportChecks.ById(doc, "settings-table").Value, "1 feature that never varies (attribution 0): Zero");
    }

    [TestMethod]
    public void MulticlassReport_DrawsOneBeeswarmPerClass_AndKernelShapGetsTwoFPlus2048Samples()
    {
        var ml = new MLContext(seed: 1);
        var data = WineTrees.Load(ml);
        // Maximum entropy exposes neither trees nor one weight vector: Kernel SHAP over the background.
        var model = ml.Transforms.NormalizeMeanVariance("Features")
            .Append(ml.Transforms.Conversion.MapValueToKey("Label"))
            .Append(ml.MulticlassClassification.Trainers.LbfgsMaximumEntropy())
            .Fit(data);
        var report = AttributionReport.Generate(model, data, "Label", new AttributionReportOptions { TopK = 1, MaxRows = 12, BackgroundSize = 20 });
        Assert.AreEqual("Kernel SHAP", report.Method);
        var doc = ReportChecks.Parse(report.Html);
        StringAssert.Contains(ReportChecks.ById(doc, "settings-table").Value, "2,074 per row (2·F + 2048, F = 13)");
        var titles = ByClass(ReportChecks.ById(doc, "global"), "title").Select(t => t.Value).ToArray();
        var swarms = titles.Where(t => t.Contains("rows explained for it", StringComparison.Ordinal)).ToArray();
        Assert.IsTrue(swarms.Length is >= 2 and <= 3, string.Join(" | ", titles));
        int dots = ByClass(ReportChecks.ById(doc, "global"), "dot").Count();
        Assert.AreEqual(12 * 13, dots, "each explained row once, in its class's beeswarm");
    }
}
