using Microsoft.ML.Attribution.MLNet;
using Microsoft.ML.Data;

namespace Microsoft.ML.Attribution.Tests.MLNet;

/// <summary>ExplainOptions.AllOutputs: every class of a multi-class tree model explained, per class Σ + BaseValue = that class's raw score.</summary>
[TestClass]
public sealed class AllOutputsTests
{
    private static void AssertEveryClassAddsUp(MLContext ml, IEstimator<ITransformer> trainer)
    {
        var data = WineData.Load(ml);
        var model = ml.Transforms.Conversion.MapValueToKey("Label").Append(trainer)
            .Explain(ml, new ExplainOptions { AllOutputs = true, BlockSize = 64 }).Fit(data);
        var explainer = (AttributionTransformer)model.Last();
        var trees = explainer.Model.Trees ?? throw new AssertFailedException("a tree model");
        int k = trees.OutputCount;
        Assert.AreEqual(3, k, "wine has three classes");
        var output = model.Transform(data);
        int w = 13;
        CollectionAssert.AreEqual(new[] { k, w }, ((VectorDataViewType)output.Schema["Attributions"].Type).Dimensions.ToArray(), "[classes × groups]");
        var attributions = output.GetColumn<float[]>("Attributions").ToArray();
        var baseValues = output.GetColumn<float[]>("BaseValue").ToArray();
        var targets = output.GetColumn<int[]>("ExplainedTarget").ToArray();
        var features = output.GetColumn<float[]>("Features").ToArray();
        Assert.IsNotEmpty(features);
        for (int r = 0; r < features.Length; r++)
        {
            CollectionAssert.AreEqual(new[] { 0, 1, 2 }, targets[r], "class order");
            var raw = trees.Evaluate(features[r]);
            for (int c = 0; c < k; c++)
            {
                double total = attributions[r].Skip(c * w).Take(w).Sum(v => (double)v) + baseValues[r][c];
                Assert.AreEqual(raw[c], total, 1e-4 * Math.Max(1, Math.Abs(raw[c])), $"row {r}, class {c}");
            }
        }
        // Class 1 of AllOutputs equals explaining class 1 alone (same model, background and groups).
        var single = explainer.Options.Clone();
        single.AllOutputs = false;
        single.Target = 1;
        var alone = new AttributionTransformer(explainer.Model, single, null).Transform(model.First().Transform(data)).GetColumn<float[]>("Attributions").ToArray();
        for (int r = 0; r < alone.Length; r++) Support.AssertArrays.Close(alone[r], attributions[r].Skip(w).Take(w).ToArray(), 1e-6, $"row {r}, class 1");
        // The per-class rows are different explanations, not one copied K times.
        Assert.IsTrue(attributions.Any(a => !a.Take(w).SequenceEqual(a.Skip(w).Take(w))));
    }

    [TestMethod]
    public void AllOutputs_OnLightGbmMulticlass_EveryClassAddsUpToItsRawScore()
    {
        var ml = new MLContext(seed: 1);
        AssertEveryClassAddsUp(ml, ml.MulticlassClassification.Trainers.LightGbm(numberOfIterations: 20));
    }

    [TestMethod]
    public void AllOutputs_OnOneVersusAllFastTree_EveryClassAddsUpToItsRawScore()
    {
        var ml = new MLContext(seed: 1);
        AssertEveryClassAddsUp(ml, ml.MulticlassClassification.Trainers.OneVersusAll(ml.BinaryClassification.Trainers.FastTree(numberOfTrees: 10, numberOfLeaves: 6)));
    }

    [TestMethod]
    public void AllOutputs_WithTopKOrATarget_IsRefusedWhenBuilt()
    {
        var ml = new MLContext(seed: 1);
        var trainer = ml.MulticlassClassification.Trainers.LightGbm();
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => trainer.Explain(ml, new ExplainOptions { AllOutputs = true, TopK = 2 })).Message, "AllOutputs");
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => trainer.Explain(ml, new ExplainOptions { AllOutputs = true, Target = 1 })).Message, "AllOutputs");
    }
}
