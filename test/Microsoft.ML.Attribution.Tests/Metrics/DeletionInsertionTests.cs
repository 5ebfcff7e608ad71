using Microsoft.ML.Attribution.Methods;
using Microsoft.ML.Attribution.Metrics;
using Microsoft.ML.Attribution.Tensors;
using Microsoft.ML.Attribution.Tests.Support;

namespace Microsoft.ML.Attribution.Tests.Metrics;

[TestClass]
public sealed class DeletionInsertionTests
{
    private static readonly float[] Weights = [2.0f, -1.5f, 0.7f, 3.0f, -0.2f, 1.1f, -2.4f, 0.05f];

    /// <summary>Rows, the background mean (the baseline) and the exact SHAP values w·(x − μ) of f(x) = w·x + b.</summary>
    private static (NdArray<float> Rows, NdArray<float> Mean, NdArray<float> Shap) LinearSetup(int rows, int seed)
    {
        var random = new Random(seed);
        int d = Weights.Length;
        var background = new NdArray<float>(64, d);
        for (int i = 0; i < background.Length; i++) background.Data[i] = (float)(random.NextDouble() * 4 - 2);
        var mean = new NdArray<float>(1, d);
        for (int j = 0; j < d; j++) mean.Data[j] = (float)Enumerable.Range(0, 64).Average(r => background.Data[r * d + j]);
        var x = new NdArray<float>(rows, d);
        for (int i = 0; i < x.Length; i++) x.Data[i] = (float)(random.NextDouble() * 4 - 2);
        var shap = new NdArray<float>(rows, d);
        for (int i = 0; i < x.Length; i++) shap.Data[i] = Weights[i % d] * (x.Data[i] - mean.Data[i % d]);
        return (x, mean, shap);
    }

    [TestMethod]
    public void LinearModelsExactShap_BeatsRandomAttributions_OnDeletionAndInsertionAuc()
    {
        var oracle = new LinearOracle(Weights, 0.3f);
        var (x, mean, shap) = LinearSetup(rows: 20, seed: 5);
        var metric = new DeletionInsertion(oracle);
        var exact = metric.Compute(x, shap, mean, Target.Class(0));
        var random = new Random(11);
        double exactDeletion = exact.DeletionAuc.Average(), exactInsertion = exact.InsertionAuc.Average();
        for (int trial = 0; trial < 10; trial++)
        {
            var noise = new NdArray<float>(x.Shape);
            for (int i = 0; i < noise.Length; i++) noise.Data[i] = (float)(random.NextDouble() * 2 - 1);
            var other = metric.Compute(x, noise, mean, Target.Class(0));
            // For an additive model, removing features in decreasing SHAP order is the steepest possible descent, so no
            // ordering can have a smaller deletion area or a larger insertion area on any row.
            for (int r = 0; r < x.Rows; r++)
            {
                Assert.IsTrue(exact.DeletionAuc[r] <= other.DeletionAuc[r] + 1e-5, $"trial {trial} row {r}: deletion {exact.DeletionAuc[r]} vs random {other.DeletionAuc[r]}");
                Assert.IsTrue(exact.InsertionAuc[r] >= other.InsertionAuc[r] - 1e-5, $"trial {trial} row {r}: insertion {exact.InsertionAuc[r]} vs random {other.InsertionAuc[r]}");
            }
            Assert.IsTrue(exactDeletion < other.DeletionAuc.Average() - 0.1, $"trial {trial}: mean deletion AUC {exactDeletion} vs random {other.DeletionAuc.Average()}");
            Assert.IsTrue(exactInsertion > other.InsertionAuc.Average() + 0.1, $"trial {trial}: mean insertion AUC {exactInsertion} vs random {other.InsertionAuc.Average()}");
        }
        // The reversed attribution is the worst ordering.
        var reversed = metric.Compute(x, new NdArray<float>(shap.Data.Select(v => -v).ToArray(), shap.Shape), mean, Target.Class(0));
        Assert.IsTrue(reversed.DeletionAuc.Average() > exactDeletion + 1);
    }

    [TestMethod]
    public void Curves_RunFromTheInputToTheBaseline_AndFollowTheAttributionOrder()
    {
        var oracle = new LinearOracle(Weights, 0.3f);
        var (x, mean, shap) = LinearSetup(rows: 3, seed: 2);
        var curves = new DeletionInsertion(oracle).Compute(x, shap, mean, Target.Class(0));
        int d = Weights.Length;
        Assert.AreEqual(d + 1, curves.Fractions.Length);
        Assert.AreEqual(0f, curves.Fractions[0]);
        Assert.AreEqual(1f, curves.Fractions[^1]);
        var fx = oracle.Forward(x);
        float fb = oracle.Forward(mean).Data[0];
        for (int r = 0; r < x.Rows; r++)
        {
            Assert.AreEqual(fx.Data[r], curves.Deletion.Row(r)[0], 1e-5);
            Assert.AreEqual(fb, curves.Deletion.Row(r)[d], 1e-5);
            Assert.AreEqual(fb, curves.Insertion.Row(r)[0], 1e-5);
            Assert.AreEqual(fx.Data[r], curves.Insertion.Row(r)[d], 1e-5);
            // Each step removes the next-largest SHAP value.
            var sorted = shap.Row(r).ToArray().OrderByDescending(v => v).ToArray();
            for (int k = 1; k <= d; k++)
                Assert.AreEqual(curves.Deletion.Row(r)[k - 1] - sorted[k - 1], curves.Deletion.Row(r)[k], 1e-4, $"row {r} step {k}");
        }
    }

    [TestMethod]
    public void FeatureGroups_AndFewerSteps_RemoveWholeGroups()
    {
        var oracle = new LinearOracle(Weights, 0f);
        var (x, mean, shap) = LinearSetup(rows: 2, seed: 3);
        var mask = new NdArray<long>([0, 0, 1, 1, 2, 2, 3, 3], 1, 8);
        var grouped = new DeletionInsertion(oracle).Compute(x, shap, mean, Target.Class(0), mask);
        CollectionAssert.AreEqual(new[] { 0f, 0.25f, 0.5f, 0.75f, 1f }, grouped.Fractions);
        for (int r = 0; r < 2; r++)
        {
            var groupShap = Enumerable.Range(0, 4).Select(g => shap.Row(r)[2 * g] + shap.Row(r)[2 * g + 1]).OrderByDescending(v => v).ToArray();
            Assert.AreEqual(grouped.Deletion.Row(r)[0] - groupShap[0], grouped.Deletion.Row(r)[1], 1e-4);
        }
        var coarse = new DeletionInsertion(oracle).Compute(x, shap, mean, Target.Class(0), steps: 2);
        CollectionAssert.AreEqual(new[] { 0f, 0.5f, 1f }, coarse.Fractions);
        var ex = Assert.ThrowsExactly<ArgumentException>(() => new DeletionInsertion(oracle).Compute(x, shap, mean, Target.Class(0),
            new NdArray<long>([0, 0, 2, 2, 2, 2, 2, 2], 1, 8)));
        StringAssert.Contains(ex.Message, "skips id 1");
    }

    [TestMethod]
    public void Images_BySuperpixel_ShareAMaskAcrossChannels_AndBatch()
    {
        var c = Fixtures.Case("mt_cnn_infidelity_ig");
        var oracle = c.Oracle();
        var x = c.Input; // [3, 1, 8, 8]
        var attributions = c.FloatArray("attributions")!;
        var plane = new NdArray<long>(8, 8);
        for (int i = 0; i < 64; i++) plane.Data[i] = i / 8 / 4 * 2 + i % 8 / 4; // four 4×4 superpixels
        var metric = new DeletionInsertion(oracle);
        var bySuperpixel = metric.Compute(x, attributions, null, c.Target, plane);
        Assert.AreEqual(5, bySuperpixel.Fractions.Length);
        var outputs = oracle.Forward(x);
        var zeros = oracle.Forward(new NdArray<float>(x.Shape));
        for (int r = 0; r < x.Rows; r++)
        {
            int t = bySuperpixel.Targets[r];
            Assert.AreEqual(outputs.Row(r)[t], bySuperpixel.Deletion.Row(r)[0], 1e-5);
            Assert.AreEqual(zeros.Row(r)[t], bySuperpixel.Deletion.Row(r)[4], 1e-5);
        }
        var byPixel = metric.Compute(x, attributions, null, c.Target, steps: 16);
        var chunked = metric.Compute(x, attributions, null, c.Target, steps: 16, internalBatchSize: 7);
        AssertArrays.Close(byPixel.Deletion, chunked.Deletion, 1e-6, "deletion in chunks of 7");
        AssertArrays.Close(byPixel.Insertion, chunked.Insertion, 1e-6, "insertion in chunks of 7");
    }
}
