using Microsoft.ML.Attribution.Methods;
using Microsoft.ML.Attribution.MLNet;
using Microsoft.ML.Attribution.Oracles;
using Microsoft.ML.Attribution.Tests.Support;
using Microsoft.ML.Data;

namespace Microsoft.ML.Attribution.Tests.MLNet;

/// <summary>guided-gradcam takes a layer but attributes to the input: through ExplainOptions it needs the model as well as the layer.</summary>
[TestClass]
public sealed class GuidedGradCamPipelineTests
{
    private sealed class ImageRow
    {
        public float[] Features { get; set; } = [];
    }

    [TestMethod]
    public void GuidedGradCam_ThroughExplainOptions_EqualsTheLibrary()
    {
        const string layer = "/conv2/Conv_output_0";
        var c = Fixtures.Case("gm_cnn_deeplift_zero");
        var input = c.Input;
        var ml = new MLContext(seed: 1);
        var schema = SchemaDefinition.Create(typeof(ImageRow));
        schema["Features"].ColumnType = new VectorDataViewType(NumberDataViewType.Single, input.RowSize);
        var data = ml.Data.LoadFromEnumerable(Enumerable.Range(0, input.Rows).Select(r => new ImageRow { Features = input.Row(r).ToArray() }).ToList(), schema);

        var output = ml.Attribution().Explain(c.ModelPath, new ExplainOptions { Method = "guided-gradcam", Layer = layer, Target = 1 })
            .Fit(data).Transform(data);
        var got = output.GetColumn<float[]>("Attributions").ToArray();

        var oracle = new OnnxGradientOracle(c.ModelPath);
        var expected = new GuidedGradCam(oracle, oracle.AtLayer(layer)).Attribute(input, Target.Class(1)).Attributions;
        Assert.HasCount(input.Rows, got);
        for (int r = 0; r < input.Rows; r++)
            AssertArrays.Close(expected.Row(r).ToArray(), got[r], 1e-6, $"row {r}");
        Assert.IsTrue(expected.Data.Any(v => v != 0), "a map that is not all zeros");
    }
}
