using Microsoft.ML.Attribution.Tabular;
using Microsoft.ML.Attribution.Tensors;

namespace Microsoft.ML.Attribution.Tests.Tabular;

/// <summary>Leaf tables, feature groups, interaction values and the single-row path, each against brute force.</summary>
[TestClass]
public sealed class TreeShapGroupsInteractionsTests
{
    private static readonly int[] NineInFour = [0, 0, 1, 1, 1, 2, 3, 3, 3];

    private static void AssertClose(double expected, double actual, double tolerance, string what) =>
        Assert.IsTrue(Math.Abs(expected - actual) <= tolerance * Math.Max(1, Math.Abs(expected)), $"{what}: expected {expected}, got {actual}.");

    [TestMethod]
    public void LeafTables_EqualRecursiveTreeShap_OnFastTreeBinary_WithAndWithoutGroups()
    {
        var ml = new MLContext(seed: 1);
        var data = WineTrees.Load(ml);
        var model = ml.BinaryClassification.Trainers.FastTree("IsClass0", numberOfTrees: 40, numberOfLeaves: 20, minimumExampleCountPerLeaf: 2).Fit(data);
        var trees = TreeEnsemble.FromTransformer(model);
        var rows = WineTrees.Features(data);
        int[] groups = [0, 0, 1, 1, 2, 2, 2, 3, 4, 4, 5, 5, 5];
        foreach (var map in new[] { null, groups })
        {
            var fast = new TreeShap(trees, rows, groupOfSlot: map);
            var reference = new TreeShap(trees, rows, groupOfSlot: map) { UseLeafTables = false };
            var a = fast.Explain(rows).Values.Data;
            var b = reference.Explain(rows).Values.Data;
            Assert.AreEqual(b.Length, a.Length);
            for (int i = 0; i < a.Length; i++) AssertClose(b[i], a[i], 1e-5, $"groups {map is not null} value {i}");
            Assert.IsTrue(fast.TableBytes > 0);
        }
    }

    [TestMethod]
    public void LeafFormulaPerRow_EqualsLeafTables_WhenLeavesAreTooWideToTabulate()
    {
        var ml = new MLContext(seed: 1);
        var data = WineTrees.Load(ml);
        var trees = TreeEnsemble.FromTransformer(ml.Regression.Trainers.FastTree(numberOfTrees: 10, numberOfLeaves: 16, minimumExampleCountPerLeaf: 2).Fit(data));
        var rows = WineTrees.Features(data);
        var covers = trees.Trees.Select(t => TreeShap.Covers(t, rows)).ToArray();
        var ratios = trees.Trees.Select((t, i) => PathDependentTreeShap.Ratios(t, covers[i])).ToArray();
        var players = trees.Trees.Select(t => t.Feature).ToArray();
        var tabled = new PathDependentTables(trees.Trees, ratios, players);
        var perRow = new PathDependentTables(trees.Trees, ratios, players, maxTableWidth: 0);
        Assert.AreEqual(0, perRow.TableBytes);
        var (s1, s2) = (tabled.CreateScratch(), perRow.CreateScratch());
        for (int r = 0; r < rows.Rows; r += 7)
        {
            var (a, b) = (new double[13], new double[13]);
            tabled.Add(rows.Row(r), a, 13, s1);
            perRow.Add(rows.Row(r), b, 13, s2);
            // Tables hold floats (half the cache footprint); the per-row formula computes in doubles.
            for (int j = 0; j < 13; j++) AssertClose(a[j], b[j], 1e-6, $"row {r} feature {j}");
        }
    }

    [TestMethod]
    public void GroupedValues_EqualBruteForceShapleyOverGroups_PathDependentAndInterventional()
    {
        var ml = new MLContext(seed: 1);
        var data = WineTrees.Load(ml, features: 9);
        var model = ml.BinaryClassification.Trainers.FastTree("IsClass0", numberOfTrees: 6, numberOfLeaves: 8, minimumExampleCountPerLeaf: 4).Fit(data);
        var trees = TreeEnsemble.FromTransformer(model);
        var rows = WineTrees.Features(data);
        var explained = WineTrees.EveryNth(rows, 25);
        var scores = WineTrees.Scores(model, data);
        var covers = trees.Trees.Select(t => TreeShap.Covers(t, rows)).ToArray();
        var background = WineTrees.EveryNth(rows, 12);
        foreach (var algorithm in new[] { TreeShapAlgorithm.PathDependent, TreeShapAlgorithm.Interventional })
        {
            var reference = algorithm == TreeShapAlgorithm.PathDependent ? rows : background;
            var shap = new TreeShap(trees, reference, algorithm, NineInFour);
            Assert.AreEqual(4, shap.PlayerCount);
            var result = shap.Explain(explained);
            CollectionAssert.AreEqual(new[] { explained.Rows, 1, 4 }, result.Values.Shape);
            for (int r = 0; r < explained.Rows; r++)
            {
                var x = explained.Row(r).ToArray();
                Func<bool[], double> value = algorithm == TreeShapAlgorithm.PathDependent
                    ? g => WineTrees.PathDependentValue(trees, covers, 0, x, WineTrees.SlotsOf(g, NineInFour))
                    : g => WineTrees.InterventionalValue(trees, background, 0, x, WineTrees.SlotsOf(g, NineInFour));
                var expected = WineTrees.BruteForceShapley(4, value);
                for (int g = 0; g < 4; g++) AssertClose(expected[g], result.Values.Row(r)[g], 1e-5, $"{algorithm} row {r} group {g}");
                AssertClose(scores[r * 25], result.ExpectedValues[0] + result.Values.Row(r).ToArray().Sum(v => (double)v), 1e-4, $"{algorithm} row {r} sum");
            }
        }
    }

    [TestMethod]
    public void Interactions_EqualBruteForceShapleyInteractionIndex_PerFeatureAndPerGroup_AndRowsSumToShap()
    {
        var ml = new MLContext(seed: 1);
        var data = WineTrees.Load(ml, features: 9);
        var model = ml.Regression.Trainers.FastTree(numberOfTrees: 5, numberOfLeaves: 8, minimumExampleCountPerLeaf: 4).Fit(data);
        var trees = TreeEnsemble.FromTransformer(model);
        var rows = WineTrees.Features(data);
        var explained = WineTrees.EveryNth(rows, 30);
        var covers = trees.Trees.Select(t => TreeShap.Covers(t, rows)).ToArray();
        foreach (var map in new[] { null, NineInFour })
        {
            var shap = new TreeShap(trees, rows, groupOfSlot: map);
            int p = shap.PlayerCount;
            var interactions = shap.ExplainInteractions(explained);
            var main = shap.Explain(explained);
            CollectionAssert.AreEqual(new[] { explained.Rows, 1, p, p }, interactions.Values.Shape);
            for (int r = 0; r < explained.Rows; r++)
            {
                var x = explained.Row(r).ToArray();
                var expected = WineTrees.BruteForceInteractions(p, g =>
                    WineTrees.PathDependentValue(trees, covers, 0, x, map is null ? g : WineTrees.SlotsOf(g, map)));
                var matrix = interactions.Values.Data.AsSpan(r * p * p, p * p);
                for (int i = 0; i < p; i++)
                {
                    double rowSum = 0;
                    for (int j = 0; j < p; j++)
                    {
                        AssertClose(expected[i, j], matrix[i * p + j], 1e-5, $"groups {map is not null} row {r} ({i}, {j})");
                        AssertClose(matrix[j * p + i], matrix[i * p + j], 1e-6, $"symmetry ({i}, {j})");
                        rowSum += matrix[i * p + j];
                    }
                    AssertClose(main.Values.Row(r)[i], rowSum, 1e-5, $"groups {map is not null} row {r} player {i} row sum");
                }
            }
        }
    }

    [TestMethod]
    public void Interactions_OnInterventional_AreRefusedWithAReason()
    {
        var ml = new MLContext(seed: 1);
        var data = WineTrees.Load(ml);
        var trees = TreeEnsemble.FromTransformer(ml.Regression.Trainers.FastTree(numberOfTrees: 2, numberOfLeaves: 4).Fit(data));
        var rows = WineTrees.Features(data);
        var e = Assert.ThrowsExactly<NotSupportedException>(() => new TreeShap(trees, rows, TreeShapAlgorithm.Interventional).ExplainInteractions(rows));
        StringAssert.Contains(e.Message, "PathDependent");
    }

    [TestMethod]
    public void ExplainRow_EqualsBatch_AndAllocatesNothingAfterTheFirstCall()
    {
        var ml = new MLContext(seed: 1);
        var data = WineTrees.Load(ml);
        var trees = TreeEnsemble.FromTransformer(ml.Regression.Trainers.FastTree(numberOfTrees: 20, numberOfLeaves: 10).Fit(data));
        var rows = WineTrees.Features(data);
        var shap = new TreeShap(trees, rows, groupOfSlot: [0, 0, 1, 1, 2, 2, 2, 3, 4, 4, 5, 5, 5]);
        var batch = shap.Explain(rows, maxThreads: 2);
        var single = shap.Explain(rows, maxThreads: 1);
        CollectionAssert.AreEqual(single.Values.Data, batch.Values.Data);
        var values = new double[6];
        shap.ExplainRow(rows.Row(0), values);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int r = 0; r < rows.Rows; r++)
        {
            shap.ExplainRow(rows.Row(r), values);
            for (int g = 0; g < 6; g++) Assert.AreEqual(batch.Values.Row(r)[g], (float)values[g], $"row {r} group {g}");
        }
        // Assert.AreEqual boxes its arguments, so the allocation count is taken from a loop without asserts.
        before = GC.GetAllocatedBytesForCurrentThread();
        for (int r = 0; r < rows.Rows; r++) shap.ExplainRow(rows.Row(r), values);
        Assert.AreEqual(0L, GC.GetAllocatedBytesForCurrentThread() - before);
    }
}
