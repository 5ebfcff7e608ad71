using System.Globalization;
using System.Xml.Linq;
using Microsoft.ML.Attribution.MLNet;
using Microsoft.ML.Attribution.Reports;
using Microsoft.ML.Attribution.Tests.MLNet;
using Microsoft.ML.Data;

namespace Microsoft.ML.Attribution.Tests.Reports;

/// <summary>Reports on ML.NET tree chains: exact TreeSHAP interaction values colour the dependence plots and fill the "Interactions" section.</summary>
[TestClass]
public sealed class InteractionReportTests
{
    private const int Rows = 300;

    private static IEstimator<ITransformer> Chain(MLContext ml) => SyntheticTabular.Featurize(ml)
        .Append(ml.Regression.Trainers.FastTree(numberOfTrees: 30, numberOfLeaves: 8, minimumExampleCountPerLeaf: 5));

    private static IEnumerable<XElement> ByClass(XContainer root, string cssClass) =>
        root.Descendants().Where(e => (string?)e.Attribute("class") == cssClass);

    /// <summary>The report's svg charts whose title starts with <paramref name="prefix"/>, by title.</summary>
    private static Dictionary<string, XElement> Charts(XElement section, string prefix) =>
        section.Descendants().Where(e => e.Name.LocalName == "svg")
            .Select(s => (Svg: s, Title: ByClass(s, "title").FirstOrDefault()?.Value))
            .Where(c => c.Title is not null && c.Title.StartsWith(prefix, StringComparison.Ordinal))
            .ToDictionary(c => c.Title!, c => c.Svg);

    [TestMethod]
    public void FastTreeReport_ColoursDependenceByTheStrongestInteraction_AndSummarisesTheInteractionsColumn()
    {
        var report = AttributionReport.Generate(Chain(new MLContext(seed: 1)).Fit(SyntheticTabular.Load(new MLContext(seed: 1), Rows)),
            SyntheticTabular.Load(new MLContext(seed: 1), Rows), "Label", new AttributionReportOptions { TopK = 1 });
        StringAssert.StartsWith(report.Method, "Exact TreeSHAP");
        var doc = ReportChecks.Parse(report.Html);
        StringAssert.Contains(ReportChecks.ById(doc, "settings-table").Value, $"exact TreeSHAP interaction values of {Rows} of the {Rows} explained rows");

        // The same chain through the pipeline explanation step, with the report's background (100 rows, seed 0 + 1).
        var ml = new MLContext(seed: 1);
        var data = SyntheticTabular.Load(ml, Rows);
        var explained = Chain(ml).Explain(ml, new ExplainOptions { Interactions = true, BackgroundSize = 100, BackgroundSeed = 1 }).Fit(data);
        var column = explained.Transform(data).GetColumn<float[]>("Interactions").ToArray();
        var names = SyntheticTabular.SourceNames;
        int p = names.Length;
        var mean = new double[p, p];
        foreach (var m in column) for (int i = 0; i < p; i++) for (int j = 0; j < p; j++) mean[i, j] += Math.Abs(m[i * p + j]) / column.Length;

        // Every cell of the summary is the mean |interaction| of the column (to the 4 decimals the chart writes).
        var section = ReportChecks.ById(doc, "interactions");
        var cells = section.Descendants().Where(e => e.Attribute("data-row-feature") is not null).ToArray();
        Assert.HasCount(p * p, cells);
        foreach (var cell in cells)
        {
            int i = Array.IndexOf(names, (string)cell.Attribute("data-row-feature")!), j = Array.IndexOf(names, (string)cell.Attribute("data-column-feature")!);
            Assert.AreEqual(mean[i, j], double.Parse((string)cell.Attribute("data-value")!, CultureInfo.InvariantCulture), 1e-4, $"{names[i]} × {names[j]}");
        }

        // Each dependence plot is coloured by the feature with the largest mean |interaction| with it among those with one
        // value per row (not the one-hot D); B's by C (y reads B·C).
        var plots = Charts(ReportChecks.ById(doc, "shap-plots"), "Dependence: ");
        Assert.IsTrue(plots.ContainsKey("Dependence: B"), string.Join(" | ", plots.Keys));
        foreach (var (title, svg) in plots)
        {
            int f = Array.IndexOf(names, title["Dependence: ".Length..]);
            int strongest = Enumerable.Range(0, p).Where(k => k != f && names[k] != "D").OrderByDescending(k => mean[f, k] + mean[k, f]).First();
            Assert.AreEqual(names[strongest], ByClass(svg, "color-feature").Single().Value, title);
        }
        Assert.AreEqual("C", ByClass(plots["Dependence: B"], "color-feature").Single().Value);
        Assert.AreEqual("B", ByClass(plots["Dependence: C"], "color-feature").Single().Value);
    }

    [TestMethod]
    public void InteractionRows_CapsTheSample_AndZeroSwitchesTheSectionOff()
    {
        var ml = new MLContext(seed: 1);
        var data = SyntheticTabular.Load(ml, Rows);
        var model = Chain(ml).Fit(data);
        var capped = ReportChecks.Parse(AttributionReport.Generate(model, data, "Label", new AttributionReportOptions { TopK = 1, InteractionRows = 40 }).Html);
        StringAssert.Contains(ReportChecks.ById(capped, "interactions").Value, $"40 of the {Rows} explained rows (seeded sample");
        StringAssert.Contains(ReportChecks.ById(capped, "settings-table").Value, $"interaction values of 40 of the {Rows} explained rows");

        var off = ReportChecks.Parse(AttributionReport.Generate(model, data, "Label", new AttributionReportOptions { TopK = 1, InteractionRows = 0 }).Html);
        Assert.IsFalse(off.Descendants().Any(e => (string?)e.Attribute("id") == "interactions"), "InteractionRows = 0: no Interactions section");
        Assert.IsNotEmpty(Charts(ReportChecks.ById(off, "shap-plots"), "Dependence: "), "the dependence plots stay");
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new AttributionReportOptions { InteractionRows = -1 }.Validate());
    }

    [TestMethod]
    public void NonTreeReport_HasNoInteractionsSection()
    {
        var ml = new MLContext(seed: 1);
        var data = SyntheticTabular.Load(ml, Rows);
        var model = SyntheticTabular.Featurize(ml).Append(ml.Regression.Trainers.Sdca(maximumNumberOfIterations: 20)).Fit(data);
        var report = AttributionReport.Generate(model, data, "Label", new AttributionReportOptions { TopK = 1 });
        Assert.AreEqual("Exact linear SHAP", report.Method);
        var doc = ReportChecks.Parse(report.Html);
        Assert.IsFalse(doc.Descendants().Any(e => (string?)e.Attribute("id") == "interactions"), "no Interactions section");
        Assert.IsFalse(report.Html.Contains("href=\"#interactions\"", StringComparison.Ordinal), "no link to it");
        Assert.IsNotEmpty(Charts(ReportChecks.ById(doc, "shap-plots"), "Dependence: "), "dependence plots, coloured by the binned guess");
    }
}
