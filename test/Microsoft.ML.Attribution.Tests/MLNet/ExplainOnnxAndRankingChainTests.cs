using Microsoft.ML.Attribution.MLNet;
using Microsoft.ML.Data;

namespace Microsoft.ML.Attribution.Tests.MLNet;

/// <summary><c>.Explain(mlContext)</c> on chains ending in ApplyOnnxModel (Integrated Gradients) and in FastTree regression / ranking (TreeSHAP).</summary>
[TestClass]
public sealed class ExplainOnnxAndRankingChainTests
{
    private static string MethodOf(IDataView output)
    {
        ReadOnlyMemory<char> method = default;
        output.Schema["Attributions"].Annotations.GetValue(AttributionTransformer.MethodAnnotation, ref method);
        return method.ToString();
    }

    private static void AssertAddsUpToScore(IDataView output)
    {
        var attributions = output.GetColumn<float[]>("Attributions").ToArray();
        var baseValues = output.GetColumn<float>("BaseValue").ToArray();
        var scores = output.GetColumn<float>("Score").ToArray();
        Assert.IsNotEmpty(scores);
        for (int r = 0; r < scores.Length; r++)
        {
            double total = attributions[r].Sum(v => (double)v) + baseValues[r];
            Assert.AreEqual(scores[r], total, 1e-4 * Math.Max(1, Math.Abs(scores[r])), $"row {r}: Σ attributions + BaseValue ≠ Score");
        }
    }

    [TestMethod]
    public void Explain_OnApplyOnnxModelChain_PicksIntegratedGradients_AndMatchesExplainingTheFile()
    {
        var ml = new MLContext(seed: 1);
        var data = WineData.Load(ml);
        var chain = ml.Transforms.CopyColumns("input", "Features")
            .Append(ml.Transforms.ApplyOnnxModel("output", "input", WineData.MlpPath));
        var output = chain.Explain(ml).Fit(data).Transform(data);
        StringAssert.StartsWith(MethodOf(output), "integrated-gradients");
        Assert.IsNotNull(output.Schema.GetColumnOrNull("ConvergenceDelta"), "IG reports its delta");
        var viaChain = output.GetColumn<float[]>("Attributions").ToArray();
        var direct = ml.Attribution().Explain(WineData.MlpPath, new ExplainOptions { Method = "integrated-gradients" }).Fit(data).Transform(data)
            .GetColumn<float[]>("Attributions").ToArray();
        Assert.HasCount(direct.Length, viaChain);
        for (int r = 0; r < direct.Length; r++) Support.AssertArrays.Close(direct[r], viaChain[r], 1e-6, $"row {r}");
    }

    [TestMethod]
    public void Explain_OnApplyOnnxModelChain_RefusesTreeOnlyOptionsBeforeFitting()
    {
        var ml = new MLContext(seed: 1);
        var chain = ml.Transforms.CopyColumns("input", "Features")
            .Append(ml.Transforms.ApplyOnnxModel("output", "input", WineData.MlpPath));
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => chain.Explain(ml, new ExplainOptions { Method = "tree-shap" })).Message, "tree-shap");
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => chain.Explain(ml, new ExplainOptions { Interactions = true })).Message, "Interactions");
    }

    [TestMethod]
    public void Explain_OnFastTreeRegressionChain_AddsUpToScore()
    {
        var ml = new MLContext(seed: 1);
        var data = SyntheticTabular.Load(ml, 400);
        var output = SyntheticTabular.Featurize(ml)
            .Append(ml.Regression.Trainers.FastTree(numberOfTrees: 30, numberOfLeaves: 10, minimumExampleCountPerLeaf: 5))
            .Explain(ml).Fit(data).Transform(data);
        StringAssert.StartsWith(MethodOf(output), "tree-shap");
        AssertAddsUpToScore(output);
    }

    [TestMethod]
    public void Explain_OnFastTreeRankingChain_AddsUpToScore()
    {
        var ml = new MLContext(seed: 1);
        var data = SyntheticTabular.Load(ml, 400);
        var output = ml.Transforms.Conversion.MapValueToKey("Query")
            .Append(SyntheticTabular.Featurize(ml))
            .Append(ml.Ranking.Trainers.FastTree(labelColumnName: "Grade", rowGroupColumnName: "Query", numberOfTrees: 20, numberOfLeaves: 8, minimumExampleCountPerLeaf: 5))
            .Explain(ml).Fit(data).Transform(data);
        StringAssert.StartsWith(MethodOf(output), "tree-shap");
        CollectionAssert.AreEqual(SyntheticTabular.SourceNames, ExplainChainSlotNames(output));
        AssertAddsUpToScore(output);
    }

    private static string[] ExplainChainSlotNames(IDataView output)
    {
        VBuffer<ReadOnlyMemory<char>> names = default;
        output.Schema["Attributions"].GetSlotNames(ref names);
        return names.DenseValues().Select(n => n.ToString()).ToArray();
    }
}
