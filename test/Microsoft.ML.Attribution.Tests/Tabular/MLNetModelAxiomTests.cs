using Microsoft.ML.Attribution.Methods;
using Microsoft.ML.Attribution.Oracles;
using Microsoft.ML.Attribution.Tabular;
using Microsoft.ML.Attribution.Tensors;

namespace Microsoft.ML.Attribution.Tests.Tabular;

/// <summary>Perturbation methods on trained ML.NET models (through MLNetForwardOracle), on the real wine data.</summary>
[TestClass]
public sealed class MLNetModelAxiomTests
{
    private static (MLContext Ml, IDataView Data, ITransformer Model) Regression()
    {
        var ml = new MLContext(seed: 1);
        var data = WineTrees.Load(ml, features: 6);
        var model = ml.Regression.Trainers.FastTree(labelColumnName: "Label", featureColumnName: "Features",
            numberOfLeaves: 8, numberOfTrees: 20, minimumExampleCountPerLeaf: 5).Fit(data);
        return (ml, data, model);
    }

    [TestMethod]
    public void ShapleyValues_OnAFastTreeModel_AreEfficient_AndEqualTreeShapInterventional()
    {
        var (_, data, model) = Regression();
        var oracle = new MLNetForwardOracle(model, data);
        var all = oracle.ReadFeatures(data);
        var rows = WineTrees.EveryNth(all, 30);
        var background = new NdArray<float>(all.Row(100).ToArray(), 1, all.RowSize);
        var shapley = new ShapleyValues(oracle).Attribute(rows, background, Target.Class(0));
        var fx = oracle.Forward(rows);
        var fb = oracle.Forward(background);
        for (int r = 0; r < rows.Rows; r++)
            Assert.AreEqual(fx.Row(r)[0] - fb.Row(0)[0], shapley.Attributions.Row(r).ToArray().Sum(), 1e-4, $"efficiency, row {r}");

        // With one background row, interventional TreeSHAP is the exact Shapley value of the same game.
        var tree = new TreeShap(TreeEnsemble.FromTransformer(model), background, TreeShapAlgorithm.Interventional).Explain(rows);
        var values = tree.ForOutput(0);
        for (int i = 0; i < values.Length; i++) Assert.AreEqual(values.Data[i], shapley.Attributions.Data[i], 1e-4, $"element {i}");
    }

    [TestMethod]
    public void ShapleyValues_OnAnMLNetModel_Dummy_And_Symmetry()
    {
        // A linear model on [x0, x1, x2] where x2 is constant in the data (a dummy) and x0, x1 are equal copies.
        var ml = new MLContext(seed: 1);
        var rows = Enumerable.Range(0, 60).Select(i => new Row { Features = [i % 7, i % 7, 1f], Label = 2f * (i % 7) + 1f }).ToList();
        var data = ml.Data.LoadFromEnumerable(rows);
        var model = ml.Regression.Trainers.Sdca(labelColumnName: "Label", featureColumnName: "Features", maximumNumberOfIterations: 200).Fit(data);
        var oracle = new MLNetForwardOracle(model, data);
        var x = new NdArray<float>([3f, 3f, 1f, 6f, 6f, 1f], 2, 3);
        var baseline = new NdArray<float>([0f, 0f, 1f], 1, 3);
        var result = new ShapleyValues(oracle).Attribute(x, baseline, Target.Class(0));
        var fx = oracle.Forward(x);
        var fb = oracle.Forward(baseline);
        for (int r = 0; r < 2; r++)
        {
            var a = result.Attributions.Row(r);
            Assert.AreEqual(0f, a[2], 1e-5, "dummy: the feature equals its baseline");
            Assert.AreEqual(a[0], a[1], 1e-4, "symmetry: the model treats x0 and x1 alike");
            Assert.AreEqual(fx.Row(r)[0] - fb.Row(0)[0], a[0] + a[1] + a[2], 1e-4, "efficiency");
            Assert.AreNotEqual(0f, a[0], "x0 matters");
        }
    }

    private sealed class Row
    {
        [Microsoft.ML.Data.VectorType(3)]
        public float[] Features { get; set; } = [];

        public float Label { get; set; }
    }

    [TestMethod]
    public void GlobalImportance_FromShap_AgreesWithMLNetPermutationFeatureImportance_OnTheTopFeatures()
    {
        var (ml, data, model) = Regression();
        var oracle = new MLNetForwardOracle(model, data);
        var all = oracle.ReadFeatures(data);
        var shap = new TreeShap(TreeEnsemble.FromTransformer(model), all).Explain(all);
        var importance = GlobalImportance.FromShap(shap, oracle.FeatureNames, 0);

        var pfi = ml.Regression.PermutationFeatureImportance((ISingleFeaturePredictionTransformer<object>)(object)model, data,
            labelColumnName: "Label", permutationCount: 3);
        var pfiRank = pfi.Select((m, i) => (Index: i, Drop: m.RootMeanSquaredError.Mean)).OrderByDescending(p => p.Drop).Select(p => p.Index).ToList();
        var shapRank = importance.Select(f => f.Feature).ToList();
        // Side by side: both rank the same feature first, and agree on the top two as a set.
        Assert.AreEqual(pfiRank[0], shapRank[0], $"PFI order {string.Join(",", pfiRank)}, SHAP order {string.Join(",", shapRank)}");
        CollectionAssert.AreEquivalent(pfiRank.Take(2).ToList(), shapRank.Take(2).ToList());
    }
}
