using System.Globalization;
using System.Xml.Linq;
using Microsoft.ML.Attribution.Tensors;
using Microsoft.ML.Attribution.Visualization;

namespace Microsoft.ML.Attribution.Tests.Visualization;

[TestClass]
public sealed class TabularChartsTests
{
    private static readonly XNamespace Svg = "http://www.w3.org/2000/svg";

    private static double D(XElement e, string attribute) => double.Parse((string)e.Attribute(attribute)!, CultureInfo.InvariantCulture);

    private static List<XElement> Marks(string svg, string name, string cssClass) =>
        [.. XDocument.Parse(svg).Descendants(Svg + name).Where(e => (string?)e.Attribute("class") == cssClass)];

    [TestMethod]
    public void BarChart_OneBarPerFeature_SortedDescending_WidthsProportional()
    {
        // mean |attr|: a = 1, b = 3, c = 2, d = 0.5
        var attr = new NdArray<float>([1, -3, 2, 0.5f, -1, 3, -2, -0.5f], 2, 4);
        string[] names = ["a", "b<&>", "c", "d"];
        var svg = TabularCharts.ImportanceBarChart(attr, names, new() { Title = "Global importance" });
        var bars = Marks(svg, "rect", "bar");
        CollectionAssert.AreEqual(new[] { "b<&>", "c", "a", "d" }, bars.Select(b => (string)b.Attribute("data-feature")!).ToArray());
        double[] expected = [3, 2, 1, 0.5];
        for (int i = 0; i < bars.Count; i++)
        {
            Assert.AreEqual(expected[i], D(bars[i], "data-value"), 1e-9);
            Assert.AreEqual(expected[i] / 3, D(bars[i], "width") / D(bars[0], "width"), 1e-3, $"bar {i}");
            if (i > 0) Assert.IsTrue(D(bars[i], "y") > D(bars[i - 1], "y"), "bars go down the page in order");
        }
        Assert.AreEqual(1, bars.Select(b => D(b, "x")).Distinct().Count(), "bars share a zero line");
    }

    [TestMethod]
    public void BarChart_TopK_DropsTheRestAndSaysSo()
    {
        var svg = TabularCharts.ImportanceBarChart(["a", "b", "c"], [0.1, 0.3, 0.2], new() { MaxFeatures = 2 });
        CollectionAssert.AreEqual(new[] { "b", "c" }, Marks(svg, "rect", "bar").Select(b => (string)b.Attribute("data-feature")!).ToArray());
        StringAssert.Contains(svg, "1 other features not shown");
    }

    [TestMethod]
    public void Waterfall_StacksFromExpectedValue_ToPrediction_LargestOnTop()
    {
        string[] names = ["f0", "f1", "f2", "f3", "f4"];
        float[] attr = [0.5f, -2f, 0.1f, 1f, -0.05f];
        var svg = TabularCharts.Waterfall(names, attr, expectedValue: 3, featureValues: [1, 2, 3, 4, 5], options: new() { MaxFeatures = 4 });
        var bars = Marks(svg, "rect", "bar");
        // Top 3 by |value|, then "2 other features" (0.1 − 0.05).
        CollectionAssert.AreEqual(new[] { "f1 = 2", "f3 = 4", "f0 = 1", "2 other features" }, bars.Select(b => (string)b.Attribute("data-label")!).ToArray());
        Assert.AreEqual(0.05, D(bars[3], "data-value"), 1e-6);
        // Bottom bar starts at E[f(X)]; each bar starts where the one below ends; the top bar ends at the prediction.
        Assert.AreEqual(3, D(bars[^1], "data-start"), 1e-9);
        for (int i = 0; i < bars.Count - 1; i++) Assert.AreEqual(D(bars[i + 1], "data-end"), D(bars[i], "data-start"), 1e-6);
        double prediction = 3 + attr.Sum();
        Assert.AreEqual(prediction, D(bars[0], "data-end"), 1e-6);
        // Geometry agrees: the top bar's right/left edge sits on the f(x) line.
        var line = Marks(svg, "line", "prediction").Single();
        double fx = D(line, "x1");
        var top = bars[0]; // negative → its left edge is the end
        Assert.AreEqual(fx, D(top, "x"), 0.01);
        Assert.AreEqual("#008bfb", (string)top.Attribute("fill")!);
        Assert.AreEqual("#ff0051", (string)bars[1].Attribute("fill")!);
    }

    [TestMethod]
    public void Waterfall_GivenPrediction_AddsUnattributedBar_SoTheTopEndsThere()
    {
        var svg = TabularCharts.Waterfall(["a", "b"], [1f, 2f], expectedValue: 0, prediction: 3.5);
        var bars = Marks(svg, "rect", "bar");
        Assert.AreEqual("unattributed", (string)bars[^1].Attribute("data-kind")!);
        Assert.AreEqual(0.5, D(bars[^1], "data-value"), 1e-6);
        Assert.AreEqual(3.5, D(bars[0], "data-end"), 1e-6);
    }

    [TestMethod]
    public void Beeswarm_OneDotPerRowAndFeature_AtItsAttribution_ColouredByValue()
    {
        const int n = 40, f = 3;
        var attr = new NdArray<float>(n, f);
        var values = new NdArray<float>(n, f);
        for (int r = 0; r < n; r++)
        {
            values.Data[r * f] = r;                      // f0: attribution rises with value
            attr.Data[r * f] = (r - 20) / 10f;
            attr.Data[r * f + 1] = 0.01f * (r % 3);      // f1: small
            values.Data[r * f + 1] = 1;
            attr.Data[r * f + 2] = -0.5f;                // f2: middle
            values.Data[r * f + 2] = float.NaN;
        }
        var svg = TabularCharts.Beeswarm(attr, values, ["f0", "f1", "f2"]);
        var dots = Marks(svg, "circle", "dot");
        Assert.AreEqual(n * f, dots.Count);
        // Rows of dots are ordered by mean |attribution|: f0, f2, f1.
        double RowY(string feature) => dots.Where(d => (string)d.Attribute("data-feature")! == feature).Average(d => D(d, "cy"));
        Assert.IsTrue(RowY("f0") < RowY("f2") && RowY("f2") < RowY("f1"));
        // x is linear in the attribution.
        var f0 = dots.Where(d => (string)d.Attribute("data-feature")! == "f0").OrderBy(d => D(d, "data-value")).ToList();
        double slope = (D(f0[^1], "cx") - D(f0[0], "cx")) / (D(f0[^1], "data-value") - D(f0[0], "data-value"));
        foreach (var d in f0) Assert.AreEqual(D(f0[0], "cx") + slope * (D(d, "data-value") - D(f0[0], "data-value")), D(d, "cx"), 0.01);
        // Low values blue, high values red, NaN grey.
        Assert.AreEqual("#008bfb", (string)f0[0].Attribute("fill")!);
        Assert.AreEqual("#ff0051", (string)f0[^1].Attribute("fill")!);
        Assert.IsTrue(dots.Where(d => (string)d.Attribute("data-feature")! == "f2").All(d => (string)d.Attribute("fill")! == "#999999"));
        // Identical attributions are spread vertically rather than drawn on top of each other.
        Assert.IsTrue(dots.Where(d => (string)d.Attribute("data-feature")! == "f2").Select(d => D(d, "cy")).Distinct().Count() > 1);
    }

    [TestMethod]
    public void Charts_RejectMismatchedNames()
    {
        var attr = new NdArray<float>(2, 3);
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => TabularCharts.ImportanceBarChart(attr, ["a", "b"])).Message, "2 feature names for 3 importances");
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => TabularCharts.Beeswarm(attr, null, ["a"])).Message, "[2, 3]");
        Assert.ThrowsExactly<ArgumentException>(() => TabularCharts.Waterfall(["a"], [1f, 2f], 0));
    }
}

/// <summary>Numbers in charts are written for people: three significant digits, thousands separators, no float noise.</summary>
[TestClass]
public sealed class ChartNumberFormatTests
{
    [TestMethod]
    [DataRow(0.30000001, "0.3")]
    [DataRow(1e-5, "0.00001")]
    [DataRow(-0.000012345, "-0.0000123")]
    [DataRow(12345.6, "12,300")]
    [DataRow(1234567.0, "1,230,000")]
    [DataRow(999.7, "1,000")]
    [DataRow(0.1 + 0.2, "0.3")]
    [DataRow(2.0, "2")]
    [DataRow(-3.14159, "-3.14")]
    [DataRow(0.0, "0")]
    public void Label_HasThreeSignificantDigits_AndNoNoise(double value, string expected)
    {
        Assert.AreEqual(expected, Microsoft.ML.Attribution.Visualization.Svg.Label(value));
        Assert.AreEqual(expected, Microsoft.ML.Attribution.Reports.ReportHtml.Num(value), "the report's tables format numbers the same way");
    }
}
