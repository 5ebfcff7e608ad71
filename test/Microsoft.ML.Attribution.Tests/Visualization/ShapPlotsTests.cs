using System.Globalization;
using System.Xml.Linq;
using Microsoft.ML.Attribution.Tensors;
using Microsoft.ML.Attribution.Visualization;

namespace Microsoft.ML.Attribution.Tests.Visualization;

/// <summary>The force, stacked force, dependence, heatmap, decision and interaction plots, checked against their numbers.</summary>
[TestClass]
public sealed class ShapPlotsTests
{
    private static readonly XNamespace Svg = "http://www.w3.org/2000/svg";

    internal static readonly string[] Names = ["age", "income", "hours", "region", "score"];

    private static double D(XElement e, string attribute) => double.Parse((string)e.Attribute(attribute)!, CultureInfo.InvariantCulture);

    private static List<XElement> Marks(string svg, string name, string cssClass) =>
        [.. XDocument.Parse(svg).Descendants(Svg + name).Where(e => (string?)e.Attribute("class") == cssClass)];

    private static string Text(string svg, string cssClass) =>
        XDocument.Parse(svg).Descendants(Svg + "text").Single(e => (string?)e.Attribute("class") == cssClass).Value;

    /// <summary>40 rows of 5 features; feature 1's attribution grows with its value and with feature 2 (an interaction).</summary>
    internal static (NdArray<float> Values, NdArray<float> Attributions, NdArray<float> Interactions) Data()
    {
        var random = new Random(7);
        int n = 40, f = 5;
        var values = new NdArray<float>(n, f);
        var attributions = new NdArray<float>(n, f);
        var interactions = new NdArray<float>(n, f, f);
        for (int r = 0; r < n; r++)
        {
            for (int j = 0; j < f; j++) values.Data[r * f + j] = (float)Math.Round(random.NextDouble() * 10, 2);
            for (int j = 0; j < f; j++) attributions.Data[r * f + j] = (float)Math.Round((values.Data[r * f + j] - 5) * (j + 1) / 10.0, 3);
            float pair = (float)Math.Round((values.Data[r * f + 1] - 5) * (values.Data[r * f + 2] - 5) / 25.0, 3);
            attributions.Data[r * f + 1] += pair;
            interactions.Data[(r * f + 1) * f + 2] = interactions.Data[(r * f + 2) * f + 1] = pair / 2;
            for (int j = 0; j < f; j++) interactions.Data[(r * f + j) * f + j] = attributions.Data[r * f + j] - (j is 1 or 2 ? pair / 2 : 0);
        }
        return (values, attributions, interactions);
    }

    [TestMethod]
    public void ForcePlot_SegmentsSumToOutputMinusBase_AndMeetAtTheOutput()
    {
        float[] row = [0.5f, -1.25f, 2f, 0f, -0.25f];
        const double baseValue = 3;
        var svg = TabularCharts.ForcePlot(Names, row, baseValue, ["31", "52,000", "40", "north", "0.7"], new() { BaseValueLabel = "mean raw score" });
        var segments = Marks(svg, "rect", "segment");
        Assert.HasCount(4, segments, "one segment per non-zero attribution");
        double fx = baseValue + row.Sum();
        Assert.AreEqual(fx - baseValue, segments.Sum(s => D(s, "data-value")), 1e-9);
        foreach (var s in segments) Assert.AreEqual(D(s, "data-value"), D(s, "data-end") - D(s, "data-start"), 1e-4);
        // Positives end at f(x) from below, negatives from above; the largest touches f(x).
        var positives = segments.Where(s => D(s, "data-value") > 0).ToArray();
        var negatives = segments.Where(s => D(s, "data-value") < 0).ToArray();
        Assert.AreEqual(fx, positives.Max(s => D(s, "data-end")), 1e-4);
        Assert.AreEqual(fx, negatives.Min(s => D(s, "data-end")), 1e-4);
        Assert.AreEqual("income", (string)negatives.Single(s => Math.Abs(D(s, "data-end") - fx) < 1e-4).Attribute("data-feature")!);
        Assert.AreEqual("hours", (string)positives.Single(s => Math.Abs(D(s, "data-end") - fx) < 1e-4).Attribute("data-feature")!);
        Assert.AreEqual($"f(x) = {fx.ToString(CultureInfo.InvariantCulture)}", Text(svg, "prediction-label"));
        Assert.AreEqual("mean raw score = 3", Text(svg, "expected-label"));
        StringAssert.Contains(svg, "income = 52,000: -1.25");
    }

    [TestMethod]
    public void StackedForcePlot_EachColumnSumsToItsRowsOutputMinusBase_OrderedByOutput()
    {
        var (_, a, _) = Data();
        var svg = TabularCharts.StackedForcePlot(a, 1.5, Names, RowOrder.Prediction, new() { MaxFeatures = 3 });
        var segments = Marks(svg, "rect", "segment");
        var byRow = segments.GroupBy(s => (int)D(s, "data-row")).ToDictionary(g => g.Key, g => g.Sum(s => D(s, "data-value")));
        Assert.HasCount(40, byRow);
        foreach (var (r, total) in byRow) Assert.AreEqual(a.Row(r).ToArray().Sum(v => (double)v), total, 2e-3, $"row {r}");
        Assert.IsTrue(segments.Any(s => (string?)s.Attribute("data-feature") == "other features"), "beyond MaxFeatures − 1 the rest are one segment");
        var order = segments.Select(s => (int)D(s, "data-row")).Distinct().ToArray();
        var outputs = order.Select(r => a.Row(r).ToArray().Sum(v => (double)v)).ToArray();
        for (int i = 1; i < outputs.Length; i++) Assert.IsLessThanOrEqualTo(outputs[i] + 1e-9, outputs[i - 1], "columns ordered by output");
    }

    [TestMethod]
    public void DependencePlot_PointsAreTheFeatureValueAndItsAttribution_ColouredByTheStrongestInteraction()
    {
        var (x, a, interactions) = Data();
        var svg = TabularCharts.DependencePlot(x, a, Names, feature: 1);
        var dots = Marks(svg, "circle", "dot");
        Assert.HasCount(40, dots);
        foreach (var dot in dots)
        {
            int r = (int)D(dot, "data-row");
            Assert.AreEqual(x.Data[r * 5 + 1], D(dot, "data-x"), 1e-4);
            Assert.AreEqual(a.Data[r * 5 + 1], D(dot, "data-y"), 1e-4);
        }
        Assert.AreEqual("hours", Text(svg, "color-feature"), "the attribution of income varies with hours at equal income");
        var matrix = TabularCharts.MeanAbsoluteInteractions(interactions);
        Assert.AreEqual(2, TabularCharts.StrongestInteraction(x, a, 1, matrix), "from TreeSHAP-style interaction values");
        var plain = TabularCharts.DependencePlot(x, a, Names, feature: 0, colorBy: -1);
        Assert.IsFalse(plain.Contains("color-feature", StringComparison.Ordinal));
    }

    [TestMethod]
    public void Heatmap_CellsAreTheAttributions_RowsOrderedAsAsked()
    {
        var (_, a, _) = Data();
        foreach (var order in new[] { RowOrder.Prediction, RowOrder.Similarity })
        {
            var svg = TabularCharts.Heatmap(a, Names, 0, order);
            var cells = Marks(svg, "rect", "cell");
            Assert.HasCount(40 * 5, cells);
            foreach (var c in cells)
            {
                int r = (int)D(c, "data-row"), j = Array.IndexOf(Names, (string)c.Attribute("data-feature")!);
                Assert.AreEqual(a.Data[r * 5 + j], D(c, "data-value"), 1e-4);
            }
            var columns = cells.Where(c => (string?)c.Attribute("data-feature") == "score").OrderBy(c => D(c, "x")).Select(c => (int)D(c, "data-row")).ToArray();
            CollectionAssert.AreEquivalent(Enumerable.Range(0, 40).ToArray(), columns, "each row once");
            if (order == RowOrder.Prediction)
            {
                var outputs = columns.Select(r => a.Row(r).ToArray().Sum(v => (double)v)).ToArray();
                for (int i = 1; i < outputs.Length; i++) Assert.IsGreaterThanOrEqualTo(outputs[i - 1] - 1e-9, outputs[i]);
            }
        }
        // Positive cells are red, negative blue.
        var one = Marks(TabularCharts.Heatmap(new NdArray<float>([1f, -1f], 1, 2), ["p", "n"]), "rect", "cell");
        Assert.AreEqual("#ff0051", (string)one.Single(c => (string?)c.Attribute("data-feature") == "p").Attribute("fill")!);
        Assert.AreEqual("#008bfb", (string)one.Single(c => (string?)c.Attribute("data-feature") == "n").Attribute("fill")!);
    }

    [TestMethod]
    public void DecisionPlot_EveryLineStartsAtTheBaseAndEndsAtItsRowsOutput()
    {
        var (_, a, _) = Data();
        const double baseValue = -0.5;
        var svg = TabularCharts.DecisionPlot(a, Names, baseValue, new() { MaxFeatures = 4 });
        var lines = Marks(svg, "polyline", "decision");
        Assert.HasCount(40, lines);
        var doc = XDocument.Parse(svg);
        double axisLeft = D(doc.Descendants(Svg + "line").First(l => (string?)l.Attribute("class") == "axis"), "x1");
        double axisRight = D(doc.Descendants(Svg + "line").First(l => (string?)l.Attribute("class") == "axis"), "x2");
        var expected = doc.Descendants(Svg + "line").Single(l => (string?)l.Attribute("class") == "expected");
        foreach (var line in lines)
        {
            int r = (int)D(line, "data-row");
            double output = baseValue + a.Row(r).ToArray().Sum(v => (double)v);
            Assert.AreEqual(output, D(line, "data-output"), 1e-4, $"row {r}");
            var points = ((string)line.Attribute("points")!).Split(' ').Select(p => p.Split(',').Select(v => double.Parse(v, CultureInfo.InvariantCulture)).ToArray()).ToArray();
            Assert.HasCount(4 + 1, points, "the base, 'other features' and 3 features");
            Assert.AreEqual(D(expected, "x1"), points[0][0], 1e-3, "starts at the base value");
            Assert.IsTrue(points[^1][1] < points[0][1], "ends at the top");
            Assert.IsTrue(points[^1][0] >= axisLeft - 1e-6 && points[^1][0] <= axisRight + 1e-6);
        }
        // The end point's x maps back to the output on the axis: check through two rows' ratio.
        var ends = lines.Select(l => (D(l, "data-output"), double.Parse(((string)l.Attribute("points")!).Split(' ')[^1].Split(',')[0], CultureInfo.InvariantCulture))).ToArray();
        var (o0, x0) = ends.MinBy(e => e.Item1);
        var (o1, x1) = ends.MaxBy(e => e.Item1);
        foreach (var (o, x) in ends) Assert.AreEqual(x0 + (o - o0) / (o1 - o0) * (x1 - x0), x, 1e-2);
    }

    [TestMethod]
    public void InteractionSummary_CellsAreMeanAbsoluteInteractions()
    {
        var (_, _, interactions) = Data();
        var svg = TabularCharts.InteractionSummary(interactions, Names);
        var cells = Marks(svg, "rect", "interaction").Concat(Marks(svg, "rect", "main-effect")).ToArray();
        Assert.HasCount(25, cells);
        foreach (var c in cells)
        {
            int i = Array.IndexOf(Names, (string)c.Attribute("data-row-feature")!), k = Array.IndexOf(Names, (string)c.Attribute("data-column-feature")!);
            double mean = Enumerable.Range(0, 40).Average(r => Math.Abs((double)interactions.Data[(r * 5 + i) * 5 + k]));
            Assert.AreEqual(mean, D(c, "data-value"), 1e-4, $"{Names[i]} × {Names[k]}");
        }
        Assert.HasCount(5, Marks(svg, "rect", "main-effect"));
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => TabularCharts.InteractionSummary(new NdArray<float>(2, 3), ["a", "b"])).Message, "[N, F, F] or [F, F]");
    }
}
