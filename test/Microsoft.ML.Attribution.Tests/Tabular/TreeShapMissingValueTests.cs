using Microsoft.ML.Attribution.Tabular;
using Microsoft.ML.Attribution.Tensors;
using Microsoft.ML.Data;

namespace Microsoft.ML.Attribution.Tests.Tabular;

/// <summary>Rows with NaN: the trees follow the model's own missing-value routing and TreeSHAP adds up to its Score.</summary>
[TestClass]
public sealed class TreeShapMissingValueTests
{
    private sealed class Row
    {
        [VectorType(13)]
        public float[] Features { get; set; } = [];

        public float Label { get; set; }

        public bool IsClass0 { get; set; }
    }

    /// <summary>Wine with about a quarter of the entries of features 0, 6, 9 and 12 set to NaN (deterministically).</summary>
    private static (IDataView Data, NdArray<float> Rows) WineWithNaN(MLContext ml)
    {
        var wine = WineTrees.Load(ml);
        var features = wine.GetColumn<float[]>("Features").ToArray();
        var labels = wine.GetColumn<float>("Label").ToArray();
        var random = new Random(3);
        var rows = new List<Row>();
        for (int r = 0; r < features.Length; r++)
        {
            var x = (float[])features[r].Clone();
            foreach (int j in new[] { 0, 6, 9, 12 })
            {
                if (random.NextDouble() < 0.25) x[j] = float.NaN;
            }
            rows.Add(new Row { Features = x, Label = labels[r], IsClass0 = labels[r] == 0 });
        }
        return (ml.Data.LoadFromEnumerable(rows), new NdArray<float>(rows.SelectMany(r => r.Features).ToArray(), rows.Count, 13));
    }

    [TestMethod]
    public void RowsWithNaN_TreesMatchScore_AndTreeShapAddsUpToScore_FastTreeAndLightGbm()
    {
        var ml = new MLContext(seed: 1);
        var (data, rows) = WineWithNaN(ml);
        var models = new (string Name, ITransformer Model)[]
        {
            ("FastTree regression", ml.Regression.Trainers.FastTree(numberOfTrees: 20, numberOfLeaves: 8, minimumExampleCountPerLeaf: 3).Fit(data)),
            ("FastTree binary", ml.BinaryClassification.Trainers.FastTree("IsClass0", numberOfTrees: 20, numberOfLeaves: 8, minimumExampleCountPerLeaf: 3).Fit(data)),
            ("LightGBM regression", ml.Regression.Trainers.LightGbm(numberOfIterations: 20, numberOfLeaves: 8, minimumExampleCountPerLeaf: 3).Fit(data)),
            ("LightGBM binary", ml.BinaryClassification.Trainers.LightGbm("IsClass0", numberOfIterations: 20, numberOfLeaves: 8, minimumExampleCountPerLeaf: 3).Fit(data)),
        };
        int nanRows = Enumerable.Range(0, rows.Rows).Count(r => rows.Row(r).ToArray().Any(float.IsNaN));
        Assert.IsTrue(nanRows > 50, $"only {nanRows} rows hold NaN");
        foreach (var (name, model) in models)
        {
            var trees = TreeEnsemble.FromTransformer(model);
            var scores = WineTrees.Scores(model, data);
            int nanLeft = trees.Trees.Sum(t => t.NanGoesLeft.Count(b => b));
            // LightGBM's converted trees send NaN left at many splits: without the model's defaults the sums would miss.
            if (name.StartsWith("LightGBM", StringComparison.Ordinal)) Assert.IsTrue(nanLeft > 0, $"{name}: no split sends NaN left");
            for (int r = 0; r < rows.Rows; r++)
                Assert.AreEqual(scores[r], trees.Evaluate(rows.Row(r))[0], 1e-4 * Math.Max(1, Math.Abs(scores[r])), $"{name} row {r} tree evaluation");
            foreach (var algorithm in new[] { TreeShapAlgorithm.PathDependent, TreeShapAlgorithm.Interventional })
            {
                var background = algorithm == TreeShapAlgorithm.PathDependent ? rows : WineTrees.EveryNth(rows, 9);
                var result = new TreeShap(trees, background, algorithm).Explain(rows);
                for (int r = 0; r < rows.Rows; r++)
                {
                    double sum = result.ExpectedValues[0];
                    foreach (var v in result.Values.Row(r)) sum += v;
                    Assert.AreEqual(scores[r], sum, 1e-4 * Math.Max(1, Math.Abs(scores[r])), $"{name} {algorithm} row {r} sum");
                }
            }
        }
    }

    [TestMethod]
    public void RowsWithNaN_PathDependentEqualsBruteForce_OnLightGbm()
    {
        var ml = new MLContext(seed: 1);
        var (data, rows) = WineWithNaN(ml);
        var model = ml.Regression.Trainers.LightGbm(numberOfIterations: 6, numberOfLeaves: 6, minimumExampleCountPerLeaf: 3).Fit(data);
        var trees = TreeEnsemble.FromTransformer(model);
        var covers = trees.Trees.Select(t => TreeShap.Covers(t, rows)).ToArray();
        var shap = new TreeShap(trees, rows);
        var explained = WineTrees.EveryNth(rows, 15);
        var result = shap.Explain(explained);
        for (int r = 0; r < explained.Rows; r++)
        {
            var x = explained.Row(r).ToArray();
            var expected = WineTrees.BruteForceShapley(13, known => WineTrees.PathDependentValue(trees, covers, 0, x, known));
            for (int j = 0; j < 13; j++)
                Assert.AreEqual(expected[j], result.Values.Row(r)[j], 1e-5 * Math.Max(1, Math.Abs(expected[j])), $"row {r} feature {j}");
        }
    }
}
