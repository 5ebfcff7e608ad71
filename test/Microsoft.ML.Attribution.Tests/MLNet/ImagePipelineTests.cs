using Microsoft.ML.Attribution.Methods;
using Microsoft.ML.Attribution.MLNet;
using Microsoft.ML.Attribution.Oracles;
using Microsoft.ML.Attribution.Tensors;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;

namespace Microsoft.ML.Attribution.Tests.MLNet;

/// <summary>Images through ImageAnalytics (LoadImages → ResizeImages → ExtractPixels) into an ONNX CNN, explained in the pipeline.</summary>
[TestClass]
public sealed class ImagePipelineTests
{
    private sealed class ImageRow
    {
        public string Path { get; set; } = "";

        public int Label { get; set; }
    }

    [TestMethod]
    public void DigitImages_ExplainedInsideThePipeline_EqualIntegratedGradientsOnCHWTensors()
    {
        var ml = new MLContext(seed: 1);
        string folder = Path.Combine(AppContext.BaseDirectory, "Data", "digits");
        string model = Path.Combine(AppContext.BaseDirectory, "Data", "digits_cnn.onnx");
        var files = Directory.GetFiles(folder, "*.png").Order(StringComparer.Ordinal).ToList();
        var rows = files.Select(f => new ImageRow { Path = f, Label = int.Parse(Path.GetFileNameWithoutExtension(f).Split('_')[1], System.Globalization.CultureInfo.InvariantCulture) }).ToList();
        var data = ml.Data.LoadFromEnumerable(rows);
        var pipeline = ml.Transforms.LoadImages("Image", null, "Path")
            .Append(ml.Transforms.ResizeImages("Image", 8, 8))
            .Append(ml.Transforms.ExtractPixels("Features", "Image", colorsToExtract: ImagePixelExtractingEstimator.ColorBits.Red, scaleImage: 1f / 255))
            .Append(ml.Attribution().Explain(model, new ExplainOptions { Method = "integrated-gradients", MethodOptions = new IntegratedGradientsOptions { Steps = 32 } }));
        var output = pipeline.Fit(data).Transform(data);

        var pixels = output.GetColumn<float[]>("Features").ToList();
        var images = new NdArray<float>(pixels.SelectMany(p => p).ToArray(), pixels.Count, 1, 8, 8);
        var direct = new IntegratedGradients(new OnnxGradientOracle(model)).Attribute(images, steps: 32);
        var column = output.GetColumn<float[]>("Attributions").SelectMany(a => a).ToArray();
        Support.AssertArrays.Close(direct.Attributions.Data, column, 1e-5, "CHW attributions");
        var predicted = output.GetColumn<int>("ExplainedTarget").ToArray();
        Assert.IsGreaterThanOrEqualTo(8, predicted.Zip(rows, (p, r) => p == r.Label ? 1 : 0).Sum(), "the trained CNN reads the real digits");
        // Completeness within 3% of the explained change (32 Gauss–Legendre steps on a ReLU/MaxPool CNN).
        var sums = output.GetColumn<float[]>("Attributions").Select(a => a.Sum()).ToArray();
        var deltas = output.GetColumn<float>("ConvergenceDelta").ToArray();
        for (int r = 0; r < deltas.Length; r++) Assert.IsLessThan(0.03 * Math.Max(1, Math.Abs(sums[r])), Math.Abs(deltas[r]), $"row {r}");
    }
}
