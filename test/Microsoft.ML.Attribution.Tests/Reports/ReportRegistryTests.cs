using Microsoft.ML.Attribution.Methods;
using Microsoft.ML.Attribution.Oracles;
using Microsoft.ML.Attribution.Reports;
using Microsoft.ML.Attribution.Tabular;
using Microsoft.ML.Attribution.Tests.Tabular;

namespace Microsoft.ML.Attribution.Tests.Reports;

/// <summary>The report's method choice is the registry: every method it can run is accepted with the registry's defaults.</summary>
[TestClass]
public sealed class ReportRegistryTests
{
    private static AttributionReportOptions Small(string method) =>
        new() { Method = method, MaxRows = 3, BackgroundSize = 4, Seed = 2, TopK = 1 };

    public static IEnumerable<object[]> OracleMethods => AttributionReportOptions.OracleMethods.Select(m => new object[] { m.Name });

    public static IEnumerable<object[]> RefusedMethods => MethodRegistry.All
        .Where(m => !AttributionReportOptions.Accepts(m) && !m.Has(MethodCapabilities.ExactForTrees)).Select(m => new object[] { m.Name });

    [TestMethod]
    public void TheAcceptedMethods_CoverEveryGradientAndBlackBoxMethodOnTheInput()
    {
        var names = AttributionReportOptions.OracleMethods.Select(m => m.Name).ToArray();
        // Wrappers and methods needing a baseline distribution are accepted (the report gives the background rows).
        CollectionAssert.IsSubsetOf(new[] { "integrated-gradients", "saliency", "deeplift", "deeplift-shap", "gradient-shap", "noise-tunnel",
            "kernel-shap", "feature-ablation" }, names);
        foreach (var m in MethodRegistry.All.Where(m => m.Has(MethodCapabilities.TakesLayer)))
            CollectionAssert.DoesNotContain(names, m.Name, "a layer method needs a layer, which has no default");
        CollectionAssert.DoesNotContain(names, "occlusion", "occlusion's window has no default");
        CollectionAssert.DoesNotContain(names, "tree-shap", "TreeSHAP runs on ML.NET tree models, not an oracle");
    }

    [TestMethod]
    [DynamicData(nameof(OracleMethods))]
    public void EveryAcceptedMethod_RunsOnAnOnnxModel_WithTheRegistrysDefaults(string name)
    {
        var method = MethodRegistry.Get(name);
        var (rows, labels, names) = ReportChecks.WineStandardized();
        var report = AttributionReport.Generate(ReportChecks.WineMlpPath, rows, labels, Small(name) with { FeatureNames = names });
        Assert.AreEqual(ReportRunner.DisplayName(method), report.Method);
        var doc = ReportChecks.Parse(report.Html);
        CollectionAssert.AreEquivalent(names, ReportChecks.ImportanceFeatures(doc), name);
        // The settings table lists every option of the method with its default value.
        var defaults = method.CreateDefaultOptions();
        foreach (var p in method.OptionsType.GetProperties().Where(p => p.Name != "EqualityContract" && p.GetValue(defaults) is not null))
            StringAssert.Contains(report.Html, p.Name, $"{name}: setting {p.Name}");
    }

    [TestMethod]
    [DynamicData(nameof(RefusedMethods))]
    public void EveryOtherMethod_IsRefused_NamingTheAcceptedOnes(string name)
    {
        var (rows, labels, _) = ReportChecks.WineStandardized();
        var error = Assert.ThrowsExactly<NotSupportedException>(() =>
            AttributionReport.Generate(ReportChecks.WineMlpPath, rows, labels, Small(name)));
        StringAssert.Contains(error.Message, $"'{name}'");
        foreach (var accepted in AttributionReportOptions.OracleMethods) StringAssert.Contains(error.Message, accepted.Name);
    }

    [TestMethod]
    public void AnUnknownMethod_IsRefusedBeforeWork_ListingTheRegistrysNames()
    {
        var (rows, labels, _) = ReportChecks.WineStandardized();
        var error = Assert.ThrowsExactly<ArgumentException>(() =>
            AttributionReport.Generate(ReportChecks.WineMlpPath, rows, labels, Small("integrated-gradient")));
        StringAssert.Contains(error.Message, "did you mean 'integrated-gradients'");
        foreach (var m in MethodRegistry.All) StringAssert.Contains(error.Message, m.Name);
    }

    [TestMethod]
    public void OptionsOfAnotherMethod_AreRefusedBeforeWork()
    {
        var (rows, labels, _) = ReportChecks.WineStandardized();
        var error = Assert.ThrowsExactly<ArgumentException>(() => AttributionReport.Generate(ReportChecks.WineMlpPath, rows, labels,
            Small("saliency") with { MethodOptions = new IntegratedGradientsOptions() }));
        StringAssert.Contains(error.Message, "SaliencyOptions");
    }

    [TestMethod]
    public void TreeReport_FollowsTheTreeShapOptions()
    {
        // The report once ignored TreeShapOptions and always ran path-dependent TreeSHAP.
        var ml = new MLContext(seed: 1);
        var data = WineTrees.Load(ml, features: 5);
        var model = ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(ml.MulticlassClassification.Trainers.OneVersusAll(ml.BinaryClassification.Trainers.FastTree(numberOfTrees: 10, numberOfLeaves: 6, minimumExampleCountPerLeaf: 2)))
            .Fit(data);
        ReportData Run(TreeShapAlgorithm algorithm) => ReportRunner.ForMLNet(model, data, "Features", "Label",
            new AttributionReportOptions { Method = "tree-shap", MethodOptions = new TreeShapOptions { Algorithm = algorithm }, MaxRows = 6, BackgroundSize = 20 }, []);
        var pathDependent = Run(TreeShapAlgorithm.PathDependent);
        var interventional = Run(TreeShapAlgorithm.Interventional);
        StringAssert.Contains(pathDependent.Method, "path-dependent");
        StringAssert.Contains(interventional.Method, "interventional");
        CollectionAssert.AreNotEqual(pathDependent.Attributions.Data, interventional.Attributions.Data);
        // Both are exact: each row's values plus its base value give the trees' raw output, whichever the algorithm.
        for (int r = 0; r < pathDependent.Inputs.Rows; r++)
        {
            Assert.AreEqual(pathDependent.Targets[r], interventional.Targets[r]);
            double Total(ReportData d) => d.BaseValues[r] + d.Attributions.Row(r).ToArray().Sum(v => (double)v);
            Assert.AreEqual(Total(pathDependent), Total(interventional), 1e-3, $"row {r}: both add up to the raw output");
        }
        Assert.ThrowsExactly<ArgumentException>(() => ReportRunner.ForMLNet(model, data, "Features", "Label",
            new AttributionReportOptions { Method = "tree-shap", MethodOptions = new KernelShapOptions() }, []));
    }
}
