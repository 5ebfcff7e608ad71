using Microsoft.ML.Data;
using Microsoft.ML.Attribution.Tabular;
using Microsoft.ML.Attribution.Tensors;
using Microsoft.ML.Trainers.LightGbm;

namespace Microsoft.ML.Attribution.Tests.Tabular;

[TestClass]
public sealed class TreeShapTests
{
    private static MLContext Ml() => new(seed: 1);

    private static void AssertClose(double expected, double actual, double tolerance, string what) =>
        Assert.IsTrue(Math.Abs(expected - actual) <= tolerance * Math.Max(1, Math.Abs(expected)), $"{what}: expected {expected}, got {actual}.");

    /// <summary>Re-evaluating the trees read through the public API gives the model's own Score.</summary>
    [TestMethod]
    public void TreeEnsemble_Evaluate_MatchesModelScore_ForFastTreeFastForestLightGbm()
    {
        var ml = Ml();
        var data = WineTrees.Load(ml);
        var rows = WineTrees.Features(data);
        var models = new (string Name, ITransformer Model)[]
        {
            ("FastTree regression", ml.Regression.Trainers.FastTree(numberOfTrees: 8, numberOfLeaves: 6, minimumExampleCountPerLeaf: 5).Fit(data)),
            ("FastForest regression", ml.Regression.Trainers.FastForest(numberOfTrees: 8, numberOfLeaves: 6, minimumExampleCountPerLeaf: 5).Fit(data)),
            ("FastTree binary", ml.BinaryClassification.Trainers.FastTree("IsClass0", numberOfTrees: 8, numberOfLeaves: 6, minimumExampleCountPerLeaf: 5).Fit(data)),
            ("FastForest binary", ml.BinaryClassification.Trainers.FastForest("IsClass0", numberOfTrees: 8, numberOfLeaves: 6, minimumExampleCountPerLeaf: 5).Fit(data)),
            ("LightGBM regression", ml.Regression.Trainers.LightGbm(numberOfIterations: 8, numberOfLeaves: 6, minimumExampleCountPerLeaf: 5).Fit(data)),
            ("LightGBM binary", ml.BinaryClassification.Trainers.LightGbm("IsClass0", numberOfIterations: 8, numberOfLeaves: 6, minimumExampleCountPerLeaf: 5).Fit(data)),
        };
        foreach (var (name, model) in models)
        {
            var trees = TreeEnsemble.FromTransformer(model);
            Assert.AreEqual(1, trees.OutputCount, name);
            Assert.AreEqual("Features", trees.FeatureColumnName, name);
            var scores = WineTrees.Scores(model, data);
            for (int r = 0; r < rows.Rows; r++) AssertClose(scores[r], trees.Evaluate(rows.Row(r))[0], 1e-5, $"{name} row {r}");
        }
    }

    [TestMethod]
    public void PathDependent_EqualsBruteForceShapley_OnFastTreeRegression9Features()
    {
        var ml = Ml();
        var data = WineTrees.Load(ml, features: 9);
        var model = ml.Regression.Trainers.FastTree(numberOfTrees: 6, numberOfLeaves: 8, minimumExampleCountPerLeaf: 4).Fit(data);
        CheckPathDependent(TreeEnsemble.FromTransformer(model), WineTrees.Features(data));
    }

    [TestMethod]
    public void PathDependent_EqualsBruteForceShapley_PerClass_OnLightGbmMulticlass9Features()
    {
        var ml = Ml();
        var data = ml.Transforms.Conversion.MapValueToKey("Key", "Label").Fit(WineTrees.Load(ml, features: 9)).Transform(WineTrees.Load(ml, features: 9));
        var model = ml.MulticlassClassification.Trainers.LightGbm("Key", numberOfIterations: 4, numberOfLeaves: 6, minimumExampleCountPerLeaf: 5).Fit(data);
        var trees = TreeEnsemble.FromTransformer(model);
        Assert.AreEqual(3, trees.OutputCount);
        // A background that is not the training data leaves some nodes uncovered: exercises the even-split rule.
        var rows = WineTrees.Features(data);
        CheckPathDependent(trees, rows, WineTrees.EveryNth(rows, 11));
    }

    private static void CheckPathDependent(TreeEnsemble trees, NdArray<float> rows, NdArray<float>? background = null)
    {
        background ??= rows;
        var shap = new TreeShap(trees, background, TreeShapAlgorithm.PathDependent);
        var explained = WineTrees.EveryNth(rows, 20);
        var result = shap.Explain(explained);
        Assert.AreEqual(TreeShapAlgorithm.PathDependent, result.Algorithm);
        var covers = trees.Trees.Select(t => TreeShap.Covers(t, background)).ToArray();
        int f = rows.RowSize;
        for (int k = 0; k < trees.OutputCount; k++)
        {
            var values = result.ForOutput(k);
            for (int r = 0; r < explained.Rows; r++)
            {
                var x = explained.Row(r).ToArray();
                var expected = WineTrees.BruteForceShapley(f, known => WineTrees.PathDependentValue(trees, covers, k, x, known));
                for (int j = 0; j < f; j++) AssertClose(expected[j], values.Row(r)[j], 1e-5, $"output {k} row {r} feature {j}");
                AssertClose(WineTrees.PathDependentValue(trees, covers, k, x, new bool[f]), result.ExpectedValues[k], 1e-9, $"output {k} expected value");
            }
        }
    }

    [TestMethod]
    public void Interventional_EqualsBruteForceShapley_OnFastTreeBinary9Features()
    {
        var ml = Ml();
        var data = WineTrees.Load(ml, features: 9);
        var model = ml.BinaryClassification.Trainers.FastTree("IsClass0", numberOfTrees: 5, numberOfLeaves: 8, minimumExampleCountPerLeaf: 4).Fit(data);
        var trees = TreeEnsemble.FromTransformer(model);
        StringAssert.Contains(trees.Explained, "calibration");
        var rows = WineTrees.Features(data);
        var background = WineTrees.EveryNth(rows, 12);
        var explained = WineTrees.EveryNth(rows, 25);
        var result = new TreeShap(trees, background, TreeShapAlgorithm.Interventional).Explain(explained);
        Assert.AreEqual(TreeShapAlgorithm.Interventional, result.Algorithm);
        for (int r = 0; r < explained.Rows; r++)
        {
            var x = explained.Row(r).ToArray();
            var expected = WineTrees.BruteForceShapley(9, known => WineTrees.InterventionalValue(trees, background, 0, x, known));
            for (int j = 0; j < 9; j++) AssertClose(expected[j], result.Values.Row(r)[j], 1e-5, $"row {r} feature {j}");
        }
        AssertClose(WineTrees.InterventionalValue(trees, background, 0, explained.Row(0), new bool[9]), result.ExpectedValues[0], 1e-9, "expected value");
    }

    [TestMethod]
    public void Efficiency_SumEqualsScoreMinusExpected_OnFastTreeRegressionAndBinary()
    {
        var ml = Ml();
        var data = WineTrees.Load(ml);
        var rows = WineTrees.Features(data);
        foreach (var model in new ITransformer[]
        {
            ml.Regression.Trainers.FastTree(numberOfTrees: 30, numberOfLeaves: 10, minimumExampleCountPerLeaf: 3).Fit(data),
            ml.BinaryClassification.Trainers.FastTree("IsClass0", numberOfTrees: 30, numberOfLeaves: 10, minimumExampleCountPerLeaf: 3).Fit(data),
        })
        {
            var trees = TreeEnsemble.FromTransformer(model);
            var scores = WineTrees.Scores(model, data);
            foreach (var algorithm in new[] { TreeShapAlgorithm.PathDependent, TreeShapAlgorithm.Interventional })
            {
                var background = algorithm == TreeShapAlgorithm.PathDependent ? rows : WineTrees.EveryNth(rows, 9);
                var result = new TreeShap(trees, background, algorithm).Explain(rows);
                for (int r = 0; r < rows.Rows; r++)
                {
                    double sum = result.ExpectedValues[0];
                    foreach (var v in result.Values.Row(r)) sum += v;
                    AssertClose(scores[r], sum, 1e-4, $"{algorithm} row {r}");
                }
            }
        }
    }

    [TestMethod]
    public void Efficiency_PerClass_OnLightGbmMulticlass()
    {
        var ml = Ml();
        var raw = WineTrees.Load(ml);
        var data = ml.Transforms.Conversion.MapValueToKey("Key", "Label").Fit(raw).Transform(raw);
        var model = ml.MulticlassClassification.Trainers.LightGbm(new LightGbmMulticlassTrainer.Options
        {
            LabelColumnName = "Key", NumberOfIterations = 20, NumberOfLeaves = 8, MinimumExampleCountPerLeaf = 5, UseSoftmax = true,
        }).Fit(data);
        var trees = TreeEnsemble.FromTransformer(model);
        Assert.AreEqual(3, trees.OutputCount);
        var rows = WineTrees.Features(data);
        var result = new TreeShap(trees, rows).Explain(rows);
        CollectionAssert.AreEqual(new[] { rows.Rows, 3, 13 }, result.Values.Shape);
        var scores = model.Transform(data).GetColumn<float[]>("Score").ToArray();
        for (int r = 0; r < rows.Rows; r++)
        {
            var rawScores = trees.Evaluate(rows.Row(r));
            var perClass = new double[3];
            for (int k = 0; k < 3; k++)
            {
                double sum = result.ExpectedValues[k];
                foreach (var v in result.ForOutput(k).Row(r)) sum += v;
                AssertClose(rawScores[k], sum, 1e-4, $"row {r} class {k}");
                perClass[k] = sum;
            }
            // With softmax the model's Score is softmax of the explained per-class raw scores.
            double max = perClass.Max(), z = perClass.Sum(s => Math.Exp(s - max));
            for (int k = 0; k < 3; k++) AssertClose(scores[r][k], Math.Exp(perClass[k] - max) / z, 1e-4, $"row {r} softmax class {k}");
        }
    }

    [TestMethod]
    public void NonTreeModel_IsRejected_WithItsTypeName()
    {
        var ml = Ml();
        var data = WineTrees.Load(ml);
        var linear = ml.Regression.Trainers.Sdca(maximumNumberOfIterations: 2).Fit(data);
        var e = Assert.ThrowsExactly<NotSupportedException>(() => TreeEnsemble.FromTransformer(linear));
        StringAssert.Contains(e.Message, linear.Model.GetType().Name);
    }

    [TestMethod]
    public void Explain_RejectsRowsOfAnotherWidth_AndBadGroupMaps()
    {
        var ml = Ml();
        var data = WineTrees.Load(ml);
        var trees = TreeEnsemble.FromTransformer(ml.Regression.Trainers.FastTree(numberOfTrees: 2, numberOfLeaves: 4).Fit(data));
        var rows = WineTrees.Features(data);
        var shap = new TreeShap(trees, rows);
        var e = Assert.ThrowsExactly<ArgumentException>(() => shap.Explain(new NdArray<float>(2, 12)));
        StringAssert.Contains(e.Message, "[2, 12]");
        e = Assert.ThrowsExactly<ArgumentException>(() => new TreeShap(trees, rows, groupOfSlot: new int[12]));
        StringAssert.Contains(e.Message, "12 entries");
        var groups = new int[13];
        groups[5] = 3;
        e = Assert.ThrowsExactly<ArgumentException>(() => new TreeShap(trees, rows, groupOfSlot: groups, groupCount: 2));
        StringAssert.Contains(e.Message, "groupOfSlot[5] = 3");
        e = Assert.ThrowsExactly<ArgumentException>(() => shap.ExplainRow(rows.Row(0), new double[12]));
        StringAssert.Contains(e.Message, "1 × 13");
    }

    [TestMethod]
    public void GlobalImportance_RanksByMeanAbsoluteShap_WithSlotNames()
    {
        var values = new NdArray<float>([1, -3, 0, -1, 1, 0], 2, 3);
        var ranked = GlobalImportance.FromAttributions(values, ["a", "b", "c"]);
        CollectionAssert.AreEqual(new[] { "b", "a", "c" }, ranked.Select(i => i.Name).ToArray());
        Assert.AreEqual(2.0, ranked[0].MeanAbsoluteShap, 1e-12);
        Assert.AreEqual(-1.0, ranked[0].MeanShap, 1e-12);
    }
}
