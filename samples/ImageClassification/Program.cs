// Image classification, after Captum's CIFAR tutorial: a CNN trained on real handwritten digits, explained inside an
// ML.NET image pipeline (LoadImages → ResizeImages → ExtractPixels → Integrated Gradients), then Saliency, Occlusion
// and GuidedGradCam on the same tensors, rendered as PNG heat maps.
// Run from the repository root: dotnet run --project samples/ImageClassification [output folder]
using Microsoft.ML;
using Microsoft.ML.Attribution.Methods;
using Microsoft.ML.Attribution.MLNet;
using Microsoft.ML.Attribution.Oracles;
using Microsoft.ML.Attribution.Tensors;
using Microsoft.ML.Attribution.Visualization;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;

string data = Path.Combine(AppContext.BaseDirectory, "data");
string model = Path.Combine(data, "digits_cnn.onnx");
string output = args.Length > 0 ? args[0] : Path.Combine(Path.GetTempPath(), "attribution-digits");
Directory.CreateDirectory(output);

var ml = new MLContext(seed: 1);
var files = Directory.GetFiles(Path.Combine(data, "digits"), "*.png").Order(StringComparer.Ordinal).ToArray();
var images = ml.Data.LoadFromEnumerable(files.Select(f => new ImageFile { Path = f }));
var pipeline = ml.Transforms.LoadImages("Image", null, nameof(ImageFile.Path))
    .Append(ml.Transforms.ResizeImages("Image", 8, 8))
    .Append(ml.Transforms.ExtractPixels("Features", "Image", colorsToExtract: ImagePixelExtractingEstimator.ColorBits.Red, scaleImage: 1f / 255))
    .Append(ml.Attribution().Explain(model, new ExplainOptions { Method = "integrated-gradients", MethodOptions = new IntegratedGradientsOptions { Steps = 64 } }));
var explained = pipeline.Fit(images).Transform(images);

var pixels = explained.GetColumn<float[]>("Features").ToArray();
var targets = explained.GetColumn<int>("ExplainedTarget").ToArray();
var ig = explained.GetColumn<float[]>("Attributions").ToArray();
var batch = new NdArray<float>(pixels.SelectMany(p => p).ToArray(), pixels.Length, 1, 8, 8);

var oracle = new OnnxGradientOracle(model);
var saliency = new Saliency(oracle).Attribute(batch, Target.PerRow(targets));
var occlusion = new Occlusion(oracle).Attribute(batch, [1, 2, 2], [1, 1, 1], target: Target.PerRow(targets));
var guided = new GuidedGradCam(oracle, "/features/features.3/Conv_output_0").Attribute(batch, Target.PerRow(targets));

for (int r = 0; r < files.Length; r++)
{
    string label = Path.GetFileNameWithoutExtension(files[r]).Split('_')[1];
    NdArray<float> One(float[] values) => new(values, 1, 8, 8);
    var image = One(pixels[r]);
    var panels = new (string Title, NdArray<float> Values, VisualizeSign Sign)[]
    {
        ("IG", One(ig[r]), VisualizeSign.All),
        ("Saliency", One(saliency.Attributions.Row(r).ToArray()), VisualizeSign.AbsoluteValue),
        ("Occlusion 2×2", One(occlusion.Attributions.Row(r).ToArray()), VisualizeSign.Positive),
        ("Guided Grad-CAM", One(guided.Attributions.Row(r).ToArray()), VisualizeSign.AbsoluteValue),
    };
    string path = Path.Combine(output, $"digit{r}_label{label}_pred{targets[r]}.png");
    // One picture per method, side by side with the digit.
    var pngs = panels.Select(p => ImageAttributionRenderer.RenderPng(p.Values, image,
        new ImageAttributionOptions { Method = ImageVisualizationMethod.BlendedHeatMap, Sign = p.Sign, Title = p.Title, Scale = 16 })).ToList();
    File.WriteAllBytes(path, pngs[0]);
    for (int k = 1; k < pngs.Count; k++) File.WriteAllBytes(path.Replace(".png", $"_{k}.png"), pngs[k]);
    Console.WriteLine($"digit {label}: predicted {targets[r]}; IG sums to {ig[r].Sum():0.00}; top pixel (IG) {Array.IndexOf(ig[r], ig[r].Max())}; wrote {Path.GetFileName(path)} (+3)");
}
Console.WriteLine($"Heat maps in {output}");

sealed class ImageFile
{
    public string Path { get; set; } = "";
}
