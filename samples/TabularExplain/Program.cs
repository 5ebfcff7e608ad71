using Microsoft.ML.Attribution.Methods;
// Explanations as ML.NET pipeline columns: an ML.NET classifier trained and explained with .Explain(), an ONNX model
// explained as a pipeline step, and the explained pipeline saved and loaded.
// Run from the repository root: dotnet run --project samples/TabularExplain
using Microsoft.ML;
using Microsoft.ML.Attribution.MLNet;
using Microsoft.ML.Data;

string csv = Path.Combine(AppContext.BaseDirectory, "data", "wine.csv");
var ml = new MLContext(seed: 1);
var data = ml.Data.CreateTextLoader([
        new TextLoader.Column("Features", DataKind.Single, 0, 12),
        new TextLoader.Column("Cultivar", DataKind.Single, 13),
    ], separatorChar: ',', hasHeader: true, dataSample: new MultiFileSource(csv)).Load(csv);

// 1. Train and explain in one pipeline: Shapley value sampling of the predicted cultivar, against the training means.
var pipeline = ml.Transforms.Conversion.MapValueToKey("Label", "Cultivar")
    .Append(ml.Transforms.NormalizeMeanVariance("Features"))
    .Append(ml.MulticlassClassification.Trainers.SdcaMaximumEntropy())
    .Explain(ml, new ExplainOptions { Method = "shapley-value-sampling", MethodOptions = new ShapleyValueSamplingOptions { Samples = 20 } }, baselineFromTrainingMeans: true);
var model = pipeline.Fit(data);
var explained = model.Transform(data);

VBuffer<ReadOnlyMemory<char>> slotNames = default;
explained.Schema["Attributions"].GetSlotNames(ref slotNames);
var names = slotNames.DenseValues().Select(n => n.ToString()).ToArray();
var rows = explained.GetColumn<float[]>("Attributions").ToArray();
var targets = explained.GetColumn<int>("ExplainedTarget").ToArray();
Console.WriteLine("SDCA maximum entropy, explained inside the pipeline (Shapley sampling, 20 orderings):");
foreach (int r in new[] { 0, 70, 140 })
{
    var top = rows[r].Select((a, j) => (a, j)).OrderByDescending(p => Math.Abs(p.a)).Take(3);
    Console.WriteLine($"  wine {r}: predicted cultivar {targets[r]}: " + string.Join(", ", top.Select(p => $"{names[p.j]} {p.a:+0.00;-0.00}")));
}
Console.WriteLine("  mean |attribution|: " + string.Join(", ", Enumerable.Range(0, names.Length)
    .Select(j => (Name: names[j], Value: rows.Average(a => Math.Abs(a[j])))).OrderByDescending(p => p.Value).Take(4)
    .Select(p => $"{p.Name} {p.Value:0.00}")));

// 2. The explained pipeline saves and loads (ML.NET's Model.Save cannot store the explanation step).
string path = Path.Combine(Path.GetTempPath(), "wine-explained.zip");
ml.Attribution().Save(model, data.Schema, path);
var loaded = ml.Attribution().Load(path, out _);
bool identical = loaded.Transform(data).GetColumn<float[]>("Attributions").SelectMany(a => a).SequenceEqual(rows.SelectMany(a => a));
Console.WriteLine($"Saved to {path}; reloaded attributions identical: {identical}");

// 3. An ONNX model (the wine MLP, trained in PyTorch) explained as a pipeline step with Integrated Gradients.
var onnx = ml.Transforms.NormalizeMeanVariance("Features", fixZero: false)
    .Append(ml.Attribution().IntegratedGradients(Path.Combine(AppContext.BaseDirectory, "data", "wine_mlp.onnx"), pipeline: new ExplainOptions { OutputColumnName = "IG" }));
var ig = onnx.Fit(data).Transform(data);
var deltas = ig.GetColumn<float>("ConvergenceDelta").ToArray();
Console.WriteLine($"ONNX wine MLP, IG column on {deltas.Length} rows; max |convergence delta| {deltas.Max(Math.Abs):E1}");
