using Microsoft.ML.Attribution.Tests.Support;
using Microsoft.ML.Attribution.MLNet;
using Microsoft.ML.Data;

namespace Microsoft.ML.Attribution.Tests.MLNet;

/// <summary>One NaN/∞ policy for gradient and perturbation methods: stop, naming the row, the column and the slot.</summary>
[TestClass]
public sealed class NonFiniteFeatureTests
{
    [TestMethod]
    [DataRow("integrated-gradients", float.NaN)]
    [DataRow("saliency", float.PositiveInfinity)]
    [DataRow("feature-ablation", float.NegativeInfinity)]
    [DataRow("kernel-shap", float.NaN)]
    public void OnnxExplain_RefusesNonFiniteFeatures_NamingRowColumnAndSlot(string method, float value)
    {
        var ml = new MLContext(seed: 1);
        // Row 300 is in the third block of 128; its 'ash' slot (index 2) is poisoned.
        var data = WineData.Many(ml, 400, value, poisonRow: 300, poisonSlot: 2);
        var output = ml.Attribution().Explain(WineData.MlpPath, new ExplainOptions { Method = method, BlockSize = 128, MethodOptions = SmallMethodOptions.For(method) }).Fit(data).Transform(data);
        var e = Assert.ThrowsExactly<InvalidOperationException>(() => output.GetColumn<float[]>("Attributions").ToArray());
        StringAssert.Contains(e.Message, $"Row 300: column 'Features' slot 2 ('ash') is {value}");
        StringAssert.Contains(e.Message, method);
        // The same policy on the serving path (a class-defined input schema has no slot names, so none is named).
        var engine = ml.Model.CreatePredictionEngine<WineData.Indexed, Row>(ml.Attribution().Explain(WineData.MlpPath, new ExplainOptions { Method = method, MethodOptions = SmallMethodOptions.For(method) }).Fit(data));
        var bad = new WineData.Indexed { Features = Enumerable.Repeat(0.5f, 13).ToArray() };
        bad.Features[12] = value;
        var e2 = Assert.ThrowsExactly<InvalidOperationException>(() => engine.Predict(bad));
        StringAssert.Contains(e2.Message, $"column 'Features' slot 12 is {value}");
    }

    [TestMethod]
    public void MLNetPredictorExplain_RefusesNaN_TheSameWay()
    {
        var ml = new MLContext(seed: 1);
        var clean = WineData.Many(ml, 200);
        var labelled = ml.Transforms.CustomMapping<WineData.Indexed, Labelled>((i, o) => o.Label = i.Features[0], null).Fit(clean).Transform(clean);
        var predictor = ml.Regression.Trainers.Sdca("Label", "Features", maximumNumberOfIterations: 3).Fit(labelled);
        var poisoned = WineData.Many(ml, 200, float.NaN, poisonRow: 7, poisonSlot: 0);
        var output = ml.Attribution().Explain(predictor, new ExplainOptions { Method = "shapley-value-sampling", MethodOptions = SmallMethodOptions.For("shapley-value-sampling", samples: 5), BlockSize = 64 }).Fit(poisoned).Transform(poisoned);
        var e = Assert.ThrowsExactly<InvalidOperationException>(() => output.GetColumn<float[]>("Attributions").ToArray());
        StringAssert.Contains(e.Message, "Row 7: column 'Features' slot 0 ('alcohol') is NaN");
    }

    private sealed class Row
    {
        public float[] Attributions { get; set; } = [];
    }

    private sealed class Labelled
    {
        public float Label { get; set; }
    }
}
