using Microsoft.ML.Attribution.TestData;
using Microsoft.ML.Attribution.MLNet;
using Microsoft.ML.Data;

namespace Microsoft.ML.Attribution.Tests.MLNet;

/// <summary>mlContext.Attribution().GlobalImportance: mean |φ| and group PFI per source column, on data whose importances are known.</summary>
[TestClass]
public sealed class GlobalImportanceTests
{
    private static SourceColumnImportance Column(GlobalImportanceReport report, string name) => report.Columns.Single(c => c.Name == name);

    [TestMethod]
    public void GlobalImportance_OnSyntheticRegression_RanksTheStrongColumnFirst_AndTheDummyNearZeroBothWays()
    {
        var ml = new MLContext(seed: 1);
        var train = SyntheticTabular.Load(ml, 600, seed: 7);
        var test = SyntheticTabular.Load(ml, 300, seed: 8);
        var model = SyntheticTabular.Featurize(ml)
            .Append(ml.Regression.Trainers.FastTree(numberOfTrees: 40, numberOfLeaves: 8, minimumExampleCountPerLeaf: 10))
            .Explain(ml).Fit(train);
        var report = ml.Attribution().GlobalImportance(model, test);
        Assert.AreEqual("regression", report.Task);
        CollectionAssert.AreEqual(new[] { "RSquared", "RootMeanSquaredError" }, report.PermutationMetrics.ToArray());
        Assert.AreEqual(300, report.Rows);
        CollectionAssert.AreEquivalent(SyntheticTabular.SourceNames, report.Columns.Select(c => c.Name).ToArray(), "one record per source column");
        Assert.AreEqual("A", report.Columns[0].Name, "y = 4A + …: A has the largest mean |φ|");
        var a = Column(report, "A");
        var noise = Column(report, "Noise");
        Assert.IsLessThan(0.1 * a.MeanAbsoluteAttribution, noise.MeanAbsoluteAttribution, "the dummy gets ~0 mean |φ|");
        Assert.IsGreaterThan(0.5, a.PermutationImportance["RSquared"], "permuting A ruins R²");
        Assert.IsLessThan(0.02, Math.Abs(noise.PermutationImportance["RSquared"]), "permuting the dummy changes R² by ~0");
        Assert.IsLessThan(0.02, Math.Abs(noise.PermutationImportance["RootMeanSquaredError"]));
        Assert.IsTrue(report.Columns.OrderByDescending(c => c.PermutationImportance["RSquared"]).First().Name == "A", "PFI agrees: A first");
        Assert.IsLessThanOrEqualTo(a.P90Attribution, a.P10Attribution);
        Assert.IsGreaterThan(0, a.StdAbsoluteAttribution);

        // Fixed seed: the same report again.
        var again = ml.Attribution().GlobalImportance(model, test);
        CollectionAssert.AreEqual(report.Columns.Select(c => c.PermutationImportance["RSquared"]).ToArray(), again.Columns.Select(c => c.PermutationImportance["RSquared"]).ToArray());

        var view = report.ToDataView(ml);
        CollectionAssert.AreEqual(report.Columns.Select(c => c.Name).ToArray(), view.GetColumn<string>("Name").ToArray());
        var pfi = view.GetColumn<double[]>("PermutationImportance").ToArray();
        Assert.AreEqual(a.PermutationImportance["RootMeanSquaredError"], pfi[0][1]);
        VBuffer<ReadOnlyMemory<char>> names = default;
        view.Schema["PermutationImportance"].GetSlotNames(ref names);
        CollectionAssert.AreEqual(report.PermutationMetrics.ToArray(), names.DenseValues().Select(n => n.ToString()).ToArray());
    }

    [TestMethod]
    public void GlobalImportance_OnSyntheticBinary_MeasuresAucAndLogLoss_AndWithoutLabelTheScoreChange()
    {
        var ml = new MLContext(seed: 1);
        var train = SyntheticTabular.Load(ml, 600, seed: 7);
        var test = SyntheticTabular.Load(ml, 300, seed: 8);
        var model = SyntheticTabular.Featurize(ml)
            .Append(ml.BinaryClassification.Trainers.FastTree(labelColumnName: "Positive", numberOfTrees: 30, numberOfLeaves: 8, minimumExampleCountPerLeaf: 10))
            .Explain(ml).Fit(train);
        var report = ml.Attribution().GlobalImportance(model, test, labelColumnName: "Positive");
        Assert.AreEqual("binary", report.Task);
        Assert.AreEqual("A", report.Columns[0].Name);
        var a = Column(report, "A");
        var noise = Column(report, "Noise");
        Assert.IsGreaterThan(0.1, a.PermutationImportance["AreaUnderRocCurve"]);
        Assert.IsGreaterThan(0.1, a.PermutationImportance["LogLoss"]);
        Assert.IsLessThan(0.02, Math.Abs(noise.PermutationImportance["AreaUnderRocCurve"]));
        Assert.IsLessThan(0.1 * a.MeanAbsoluteAttribution, noise.MeanAbsoluteAttribution);

        var unlabelled = ml.Attribution().GlobalImportance(model, test, labelColumnName: "NoSuchLabel");
        Assert.AreEqual("no label", unlabelled.Task);
        CollectionAssert.AreEqual(new[] { "MeanAbsoluteScoreChange" }, unlabelled.PermutationMetrics.ToArray());
        Assert.IsGreaterThan(10 * Column(unlabelled, "Noise").PermutationImportance["MeanAbsoluteScoreChange"], Column(unlabelled, "A").PermutationImportance["MeanAbsoluteScoreChange"]);
    }

    [TestMethod]
    public void GlobalImportance_OnMulticlassAndOnnxChains_UsesTheirMetrics()
    {
        var ml = new MLContext(seed: 1);
        var data = WineData.Load(ml);
        var multiclass = ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(ml.MulticlassClassification.Trainers.LightGbm(numberOfIterations: 20)).Explain(ml).Fit(data);
        var report = ml.Attribution().GlobalImportance(multiclass, data);
        Assert.AreEqual("multiclass", report.Task);
        CollectionAssert.AreEqual(new[] { "MacroAccuracy", "LogLoss" }, report.PermutationMetrics.ToArray());
        Assert.HasCount(13, report.Columns);
        Assert.IsGreaterThan(0, report.Columns[0].PermutationImportance["LogLoss"], $"permuting the top column ({report.Columns[0].Name}) costs log-loss");

        var onnx = ml.Transforms.CopyColumns("input", "Features")
            .Append(ml.Transforms.ApplyOnnxModel("output", "input", WineData.MlpPath)).Explain(ml).Fit(data);
        var onnxReport = ml.Attribution().GlobalImportance(onnx, data);
        Assert.AreEqual("onnx", onnxReport.Task);
        StringAssert.StartsWith(onnxReport.Method, "integrated-gradients");
        Assert.IsTrue(onnxReport.Columns.All(c => c.PermutationImportance["MeanAbsoluteScoreChange"] >= 0));
        Assert.IsGreaterThan(0, onnxReport.Columns.Max(c => c.PermutationImportance["MeanAbsoluteScoreChange"]));
    }

    [TestMethod]
    public void GlobalImportance_OnAdultFastTree_GivesTheFourteenSourceColumns()
    {
        var path = Support.SharedData.Require(AdultSample.RelativePath);
        var ml = new MLContext(seed: 1);
        var data = AdultSample.Load(ml, path);
        var model = AdultSample.Featurize(ml)
            .Append(ml.BinaryClassification.Trainers.FastTree(numberOfTrees: 50, numberOfLeaves: 20))
            .Explain(ml).Fit(data);
        var report = ml.Attribution().GlobalImportance(model, data);
        Assert.AreEqual("binary", report.Task);
        Assert.HasCount(14, report.Columns);
        CollectionAssert.Contains(report.Columns.Select(c => c.Name).ToArray(), "education");
        foreach (var column in report.Columns)
        {
            Assert.IsFalse(double.IsNaN(column.PermutationImportance["AreaUnderRocCurve"]), column.Name);
            Assert.IsGreaterThanOrEqualTo(0, column.MeanAbsoluteAttribution);
        }
        // On its training rows the model leans on its top column: permuting it must cost AUC.
        Assert.IsGreaterThan(0, report.Columns[0].PermutationImportance["AreaUnderRocCurve"], $"{report.Columns[0].Name} first");
    }
}
