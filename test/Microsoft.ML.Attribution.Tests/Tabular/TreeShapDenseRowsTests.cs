using System.Runtime.Intrinsics.X86;
using Microsoft.ML.Attribution.Tabular;
using Microsoft.ML.Attribution.Tensors;
using Microsoft.ML.Data;

namespace Microsoft.ML.Attribution.Tests.Tabular;

/// <summary>
/// The dense-row kernel of the leaf tables: rows routed into a bit mask per tree and leaf patterns by parallel bit extract
/// (BMI2 or the scalar fallback), checked against the recursive algorithm, with NaN routed by the model's defaults and
/// trees too large for a 64-bit mask.
/// </summary>
[TestClass]
public sealed class TreeShapDenseRowsTests
{
    private sealed class Row
    {
        [VectorType(13)]
        public float[] Features { get; set; } = [];

        public bool IsClass0 { get; set; }
    }

    private static void AssertClose(double expected, double actual, double tolerance, string what) =>
        Assert.IsTrue(Math.Abs(expected - actual) <= tolerance * Math.Max(1, Math.Abs(expected)), $"{what}: expected {expected}, got {actual}.");

    /// <summary>Wine with a third of features 0, 6, 9 and 12 missing (NaN), deterministically.</summary>
    private static IDataView WineWithNaN(MLContext ml)
    {
        var wine = WineTrees.Load(ml);
        var features = wine.GetColumn<float[]>("Features").ToArray();
        var labels = wine.GetColumn<bool>("IsClass0").ToArray();
        var random = new Random(5);
        var rows = features.Select((f, r) =>
        {
            var x = (float[])f.Clone();
            foreach (int j in new[] { 0, 6, 9, 12 }) if (random.NextDouble() < 0.33) x[j] = float.NaN;
            return new Row { Features = x, IsClass0 = labels[r] };
        }).ToList();
        return ml.Data.LoadFromEnumerable(rows);
    }

    private static PathDependentTables Tables(TreeEnsemble trees, NdArray<float> background, int[][] players) =>
        new(trees.Trees, trees.Trees.Select(t => PathDependentTreeShap.Ratios(t, TreeShap.Covers(t, background))).ToArray(), players);

    [TestMethod]
    public void ScalarExtract_EqualsBmi2ParallelBitExtract()
    {
        if (!Bmi2.X64.IsSupported) Assert.Inconclusive("This CPU has no BMI2; the scalar extract is the only path.");
        var random = new Random(11);
        for (int i = 0; i < 10_000; i++)
        {
            ulong value = (ulong)random.NextInt64() ^ ((ulong)random.Next() << 40), mask = (ulong)random.NextInt64() & (ulong)random.NextInt64();
            Assert.AreEqual(Bmi2.X64.ParallelBitExtract(value, mask), PathDependentTables.ExtractScalar(value, mask), $"value {value:X}, mask {mask:X}");
        }
        Assert.AreEqual(0UL, PathDependentTables.ExtractScalar(ulong.MaxValue, 0));
        Assert.AreEqual(ulong.MaxValue, PathDependentTables.ExtractScalar(ulong.MaxValue, ulong.MaxValue));
    }

    [TestMethod]
    public void RoutedBits_FollowTheModelsMissingValueSide()
    {
        var ml = new MLContext(seed: 1);
        var data = WineWithNaN(ml);
        var trees = TreeEnsemble.FromTransformer(ml.BinaryClassification.Trainers.LightGbm("IsClass0", numberOfIterations: 10, numberOfLeaves: 8, minimumExampleCountPerLeaf: 3).Fit(data));
        var rows = WineTrees.Features(data);
        Assert.IsTrue(trees.Trees.Any(t => t.NanGoesLeft.Any(b => b)) && trees.Trees.Any(t => t.NanGoesLeft.Any(b => !b)), "NaN goes both ways somewhere");
        int nanChecked = 0;
        for (int r = 0; r < rows.Rows; r++)
        {
            var x = rows.Row(r);
            foreach (var tree in trees.Trees)
            {
                ulong bits = PathDependentTables.RouteBits(tree, x);
                for (int node = 0; node < tree.InternalCount; node++)
                {
                    float v = x[tree.Feature[node]];
                    bool expected = float.IsNaN(v) ? tree.NanGoesLeft[node] : v <= tree.Threshold[node];
                    Assert.AreEqual(expected, ((bits >> node) & 1) == 1, $"row {r} node {node} value {v}");
                    if (float.IsNaN(v)) nanChecked++;
                }
            }
        }
        Assert.IsTrue(nanChecked > 100, $"only {nanChecked} NaN splits checked");
    }

    [TestMethod]
    public void DenseRows_ScalarAndBmi2_AreBitIdentical_AndEqualTheRecursiveAlgorithm_WithNaN_PerSlotAndGrouped()
    {
        var ml = new MLContext(seed: 1);
        var data = WineWithNaN(ml);
        var trees = TreeEnsemble.FromTransformer(ml.BinaryClassification.Trainers.LightGbm("IsClass0", numberOfIterations: 20, numberOfLeaves: 12, minimumExampleCountPerLeaf: 3).Fit(data));
        var rows = WineTrees.Features(data);
        // Groups put features 0 and 6 together so that one player repeats on many paths (the pattern's slow case).
        int[] groupOfSlot = [0, 1, 1, 2, 2, 3, 0, 4, 4, 5, 5, 6, 6];
        foreach (var map in new[] { null, groupOfSlot })
        {
            int p = map is null ? 13 : 7;
            var players = trees.Trees.Select(t => t.Feature.Select(f => map?[f] ?? f).ToArray()).ToArray();
            var fast = Tables(trees, rows, players);
            var scalar = Tables(trees, rows, players);
            scalar.UseBmi2 = false;
            var recursive = new TreeShap(trees, rows, groupOfSlot: map) { UseLeafTables = false };
            var (s1, s2) = (fast.CreateScratch(), scalar.CreateScratch());
            for (int r = 0; r < rows.Rows; r++)
            {
                var (a, b, c) = (new double[p], new double[p], new double[p]);
                fast.Add(rows.Row(r), a, p, s1);
                scalar.Add(rows.Row(r), b, p, s2);
                recursive.ExplainRow(rows.Row(r), c);
                CollectionAssert.AreEqual(a, b, $"groups {map is not null} row {r}: BMI2 and scalar extract differ");
                for (int j = 0; j < p; j++) AssertClose(c[j], a[j], 1e-5, $"groups {map is not null} row {r} player {j}");
            }
        }
    }

    [TestMethod]
    public void TreesWiderThan64Nodes_UseThePerNodeRoute_AndStayExact()
    {
        var ml = new MLContext(seed: 1);
        var data = WineTrees.Load(ml);
        var trees = TreeEnsemble.FromTransformer(ml.Regression.Trainers.FastTree(numberOfTrees: 3, numberOfLeaves: 90, minimumExampleCountPerLeaf: 1).Fit(data));
        Assert.IsTrue(trees.Trees.Any(t => t.InternalCount > 64), $"largest tree has {trees.Trees.Max(t => t.InternalCount)} internal nodes");
        var rows = WineTrees.Features(data);
        var tables = new TreeShap(trees, rows);
        var recursive = new TreeShap(trees, rows) { UseLeafTables = false };
        var (a, b) = (tables.Explain(rows), recursive.Explain(rows));
        for (int i = 0; i < a.Values.Length; i++) AssertClose(b.Values.Data[i], a.Values.Data[i], 1e-5, $"value {i}");
    }
}
