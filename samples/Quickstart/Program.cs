// Quickstart: Captum's README example through an ONNX model, then a tabular explanation of a real wine classifier.
// Run from the repository root: dotnet run --project samples/Quickstart
using System.Globalization;
using System.Text.Json;
using Microsoft.ML.Attribution.Methods;
using Microsoft.ML.Attribution.Oracles;
using Microsoft.ML.Attribution.Tensors;

string data = Path.Combine(AppContext.BaseDirectory, "data");

// 1. Captum's README: ToyModel, input = torch.rand(2, 3) after torch.manual_seed(123), baseline zeros, target 0.
var toy = new OnnxGradientOracle(Path.Combine(data, "captum_readme_toy.onnx"));
var input = new NdArray<float>([0.29611194f, 0.51656228f, 0.25167072f, 0.68855679f, 0.07397246f, 0.86652195f], 2, 3);
var ig = new IntegratedGradients(toy).Attribute(input, baselines: null, target: Target.Class(0));
Console.WriteLine("Integrated Gradients on Captum's README ToyModel (target 0):");
Console.WriteLine("IG Attributions: " + Format(ig.Attributions));
Console.WriteLine("Convergence Delta: [" + string.Join(", ", ig.ConvergenceDelta!.Select(d => d.ToString("E2", CultureInfo.InvariantCulture))) + "]");
Console.WriteLine();

// 2. A real tabular model: an MLP trained on the UCI wine data (13 measurements, 3 cultivars).
using var stats = JsonDocument.Parse(File.ReadAllText(Path.Combine(data, "wine_standardization.json")));
string[] names = stats.RootElement.GetProperty("feature_names").EnumerateArray().Select(e => e.GetString()!).ToArray();
float[] mean = stats.RootElement.GetProperty("mean").EnumerateArray().Select(e => e.GetSingle()).ToArray();
float[] std = stats.RootElement.GetProperty("std").EnumerateArray().Select(e => e.GetSingle()).ToArray();
var lines = File.ReadAllLines(Path.Combine(data, "wine.csv")).Skip(1).Where((_, i) => i % 45 == 0).ToArray(); // one row per cultivar and more
var rows = new NdArray<float>(lines.Length, names.Length);
for (int r = 0; r < lines.Length; r++)
{
    var values = lines[r].Split(',');
    for (int j = 0; j < names.Length; j++)
        rows.Row(r)[j] = (float.Parse(values[j], CultureInfo.InvariantCulture) - mean[j]) / std[j];
}

var wine = new OnnxGradientOracle(Path.Combine(data, "wine_mlp.onnx"));
// Baseline = the average wine (all zeros after standardisation); target = the predicted cultivar.
var explanation = new IntegratedGradients(wine).Attribute(rows);
Console.WriteLine("Why the wine MLP predicts each cultivar (Integrated Gradients vs. the average wine; top 3 features):");
for (int r = 0; r < rows.Rows; r++)
{
    var top = explanation.Attributions.Row(r).ToArray().Select((a, j) => (a, j)).OrderByDescending(p => Math.Abs(p.a)).Take(3);
    Console.WriteLine($"  row {r} (true cultivar {lines[r].Split(',')[^1]}) → predicted {explanation.Targets[r]}: " +
        string.Join(", ", top.Select(p => $"{names[p.j]} {p.a.ToString("+0.00;-0.00", CultureInfo.InvariantCulture)}")) +
        $"; delta {explanation.ConvergenceDelta![r].ToString("E1", CultureInfo.InvariantCulture)}");
}

static string Format(NdArray<float> a) =>
    "[" + string.Join(", ", Enumerable.Range(0, a.Rows).Select(r =>
        "[" + string.Join(", ", a.Row(r).ToArray().Select(v => v.ToString("0.0000", CultureInfo.InvariantCulture))) + "]")) + "]";
