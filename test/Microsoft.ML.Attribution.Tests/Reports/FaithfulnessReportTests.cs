using System.Globalization;
using Microsoft.ML.Attribution.Methods;
using Microsoft.ML.Attribution.Metrics;
using Microsoft.ML.Attribution.Oracles;
using Microsoft.ML.Attribution.Reports;
using Microsoft.ML.Attribution.Tensors;

namespace Microsoft.ML.Attribution.Tests.Reports;

/// <summary>The report's "How faithful is this explanation?" section: the metrics of each method, equal to the library's.</summary>
[TestClass]
public sealed class FaithfulnessReportTests
{
    [TestMethod]
    public void Section_ListsEachMethodsInfidelityAndAucs_AsTheMetricsComputeThem()
    {
        var (rows, labels, _) = ReportChecks.WineStandardized();
        var zeros = new NdArray<float>(1, rows.RowSize);
        var faithfulness = new FaithfulnessOptions { Methods = ["integrated-gradients", "saliency", "input-x-gradient"], MaxRows = 8, Samples = 4, NoiseStdev = 0.1 };
        var options = new AttributionReportOptions { Baseline = zeros, Target = 1, Faithfulness = faithfulness, TopK = 1 };
        var report = AttributionReport.Generate(ReportChecks.WineMlpPath, rows, labels, options);
        var doc = ReportChecks.Parse(report.Html);
        var table = ReportChecks.ById(doc, "faithfulness-table");
        var cells = table.Elements().Skip(1).Select(tr => tr.Elements().Select(td => td.Value).ToArray()).ToArray();
        CollectionAssert.AreEqual(new[] { "Integrated Gradients", "Saliency", "Input × Gradient" }.Select(s => s.Split(' ')[0]).ToArray(),
            cells.Select(c => c[0].Split(' ')[0]).ToArray());
        CollectionAssert.Contains(report.Timings.Select(t => t.Phase).ToArray(), "faithfulness");

        var oracle = new OnnxGradientOracle(ReportChecks.WineMlpPath);
        var x = new NdArray<float>(rows.Data[..(8 * rows.RowSize)], 8, rows.RowSize);
        var target = Target.Class(1);
        string[] names = ["integrated-gradients", "saliency", "input-x-gradient"];
        for (int m = 0; m < names.Length; m++)
        {
            var phi = MethodRegistry.Get(names[m]).Attribute(new MethodInputs { Model = oracle, Rows = x, Baselines = zeros, Target = target }).Attributions;
            double infidelity = new Infidelity(oracle).Compute(x, phi, target, 4, 0.1, seed: options.Seed + 7).Average(v => (double)v);
            var curves = new DeletionInsertion(oracle).Compute(x, phi, zeros, target, steps: 13);
            double[] expected = [infidelity, curves.DeletionAuc.Average(v => (double)v), curves.InsertionAuc.Average(v => (double)v)];
            for (int k = 0; k < 3; k++)
            {
                double shown = double.Parse(cells[m][k + 1], CultureInfo.InvariantCulture);
                Assert.AreEqual(expected[k], shown, 1e-3 * Math.Max(1e-3, Math.Abs(expected[k])), $"{names[m]} column {k}");
            }
        }
    }

    [TestMethod]
    public void Section_IsOffByDefault_AndAnUnknownMethodIsNamed()
    {
        var (rows, labels, _) = ReportChecks.WineStandardized();
        var plain = AttributionReport.Generate(ReportChecks.WineMlpPath, rows, labels, new AttributionReportOptions { TopK = 1, MaxRows = 10 });
        Assert.IsFalse(plain.Html.Contains("id=\"faithfulness\"", StringComparison.Ordinal));
        var e = Assert.ThrowsExactly<ArgumentException>(() => AttributionReport.Generate(ReportChecks.WineMlpPath, rows, labels,
            new AttributionReportOptions { TopK = 1, MaxRows = 10, Faithfulness = new FaithfulnessOptions { Methods = ["saliencyy"] } }));
        StringAssert.Contains(e.Message, "saliencyy");
    }
}
