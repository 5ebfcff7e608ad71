using Microsoft.ML.Attribution.Tests.Support;
using Microsoft.ML.Attribution.MLNet;
using Microsoft.ML.Data;

namespace Microsoft.ML.Attribution.Tests.MLNet;

/// <summary>Serving: mlContext.Model.CreatePredictionEngine over an explained model, one row per call, same values as batches.</summary>
[TestClass]
public sealed class PredictionEngineTests
{
    private sealed class Explained
    {
        public float[] Attributions { get; set; } = [];

        public int ExplainedTarget { get; set; }
    }

    private sealed class ExplainedWithDelta
    {
        public float[] Attributions { get; set; } = [];

        public int ExplainedTarget { get; set; }

        public float ConvergenceDelta { get; set; }
    }

    private static WineData.Input[] Inputs(IDataView data) =>
        data.GetColumn<float[]>("Features").Zip(data.GetColumn<float>("Label"), (f, l) => new WineData.Input { Features = f, Label = l }).ToArray();

    private static AttributionTransformer Explainer(ITransformer model) =>
        (AttributionTransformer)((IEnumerable<ITransformer>)model).Last();

    [TestMethod]
    public void PredictionEngine_OverFastTreeExplain_GivesTheBatchedValues_WithOneOracle()
    {
        var ml = new MLContext(seed: 1);
        var data = WineData.Load(ml);
        var model = ml.Regression.Trainers.FastTree(numberOfTrees: 20, numberOfLeaves: 8)
            .Explain(ml, new ExplainOptions { Method = "feature-ablation" }, baselineFromTrainingMeans: true).Fit(data);
        var batched = model.Transform(data).GetColumn<float[]>("Attributions").ToArray();
        var explainer = Explainer(model);
        Assert.IsTrue(explainer.IsRowToRowMapper);
        Assert.AreEqual(1, explainer.Model.OracleBuilds);

        var engine = ml.Model.CreatePredictionEngine<WineData.Input, Explained>(model);
        var inputs = Inputs(data);
        // Out of order and repeated, so a stale cached row would show.
        foreach (int r in new[] { 3, 0, 100, 3, 177, 50, 51 })
            Support.AssertArrays.Close(batched[r], engine.Predict(inputs[r]).Attributions, 1e-6, $"row {r}");
        Assert.AreEqual(1, explainer.Model.OracleBuilds, "serving reuses the batched path's oracle");
    }

    [TestMethod]
    public void PredictionEngine_OverSdcaMulticlassExplain_ExplainsEachRowsPrediction()
    {
        var ml = new MLContext(seed: 1);
        var data = WineData.Load(ml);
        var model = ml.Transforms.Conversion.MapValueToKey("Key", "Label")
            .Append(ml.MulticlassClassification.Trainers.SdcaMaximumEntropy("Key"))
            .Explain(ml, new ExplainOptions { Method = "shapley-values" }).Fit(data);
        var output = model.Transform(data);
        var batched = output.GetColumn<float[]>("Attributions").ToArray();
        var targets = output.GetColumn<int>("ExplainedTarget").ToArray();
        var engine = ml.Model.CreatePredictionEngine<WineData.Input, Explained>(model);
        var inputs = Inputs(data);
        foreach (int r in new[] { 0, 70, 140, 0 })
        {
            var row = engine.Predict(inputs[r]);
            Assert.AreEqual(targets[r], row.ExplainedTarget, $"row {r}");
            Support.AssertArrays.Close(batched[r], row.Attributions, 1e-5, $"row {r}");
        }
        Assert.AreEqual(1, Explainer(model).Model.OracleBuilds);
    }

    [TestMethod]
    public void PredictionEngine_OverOnnxExplain_UsesTheBatchedOracleAndGraph_AndGivesItsValues()
    {
        var ml = new MLContext(seed: 1);
        var data = WineData.Load(ml);
        var explainer = ml.Attribution().Explain(WineData.MlpPath, new ExplainOptions { Method = "integrated-gradients", MethodOptions = SmallMethodOptions.For("integrated-gradients", steps: 16), BlockSize = 64 }).Fit(data);
        var model = new TransformerChain<ITransformer>(explainer);
        var output = model.Transform(data);
        var batched = output.GetColumn<float[]>("Attributions").ToArray();
        var deltas = output.GetColumn<float>("ConvergenceDelta").ToArray();
        var oracle = explainer.Model.Oracle(explainer.Options, data.Schema, null);
        var engine = ml.Model.CreatePredictionEngine<WineData.Input, ExplainedWithDelta>(model);
        var inputs = Inputs(data);
        foreach (int r in new[] { 5, 1, 170, 5 })
        {
            var row = engine.Predict(inputs[r]);
            Support.AssertArrays.Close(batched[r], row.Attributions, 1e-5, $"row {r}");
            Assert.AreEqual(deltas[r], row.ConvergenceDelta, 1e-5, $"delta of row {r}");
        }
        Assert.AreEqual(1, explainer.Model.OracleBuilds, "one oracle: its ONNX Runtime sessions and built graph serve both paths");
        Assert.AreSame(oracle, explainer.Model.Oracle(explainer.Options, data.Schema, null));
    }
}
