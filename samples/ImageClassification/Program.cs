// Image classification, after Captum's CIFAR tutorial: a CNN trained on real handwritten digits, explained inside an
// ML.NET image pipeline (LoadImages → ResizeImages → ExtractPixels → Integrated Gradients), then Saliency, Occlusion
// and GuidedGradCam on the same tensors, drawn as one PNG figure (a row per digit, a column per method).
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
var guided = new GuidedGradCam(oracle, oracle.AtLayer("/features/features.3/Conv_output_0")).Attribute(batch, Target.PerRow(targets));

// One figure: a row per digit, the digit then each method's map blended over it, all on one red–white–green scale
// (every cell normalised on its own, as Captum does, so the shared colour bar reads −1…1).
NdArray<float> One(float[] values) => new(values, 1, 8, 8);
var methods = new (string Title, Func<int, float[]> Values)[]
{
    ("IG", r => ig[r]),
    ("Saliency", r => saliency.Attributions.Row(r).ToArray()),
    ("Occlusion 2×2", r => occlusion.Attributions.Row(r).ToArray()),
    ("Guided Grad-CAM", r => guided.Attributions.Row(r).ToArray()),
};
var rows = new List<ImageFigureRow>();
for (int r = 0; r < files.Length; r++)
{
    string label = Path.GetFileNameWithoutExtension(files[r]).Split('_')[1];
    var cells = new List<ImageFigureCell> { new(ImageVisualizationMethod.OriginalImage), new(ImageVisualizationMethod.HeatMap, One(ig[r])) };
    cells.AddRange(methods.Select(m => new ImageFigureCell(ImageVisualizationMethod.BlendedHeatMap, One(m.Values(r)))));
    rows.Add(new ImageFigureRow($"{label} → {targets[r]}", One(pixels[r]), cells));
    Console.WriteLine($"digit {label}: predicted {targets[r]}; IG sums to {ig[r].Sum():0.00}; top pixel (IG) {Array.IndexOf(ig[r], ig[r].Max())}");
}
string figure = Path.Combine(output, "digits-attributions.png");
ImageAttributionFigure.SavePng(figure, rows, new ImageFigureOptions
{
    Title = "Digits (label → prediction): which pixels each method credits",
    ColumnTitles = ["digit", "IG map", .. methods.Select(m => m.Title)],
    Scale = 10,
});
Console.WriteLine($"Figure: {figure}");

sealed class ImageFile
{
    public string Path { get; set; } = "";
}
