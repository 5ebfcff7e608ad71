using BenchmarkDotNet.Attributes;
using Microsoft.ML.Attribution.Reports;
using Microsoft.ML.Attribution.Tensors;
using Microsoft.ML.Data;

namespace Microsoft.ML.Attribution.Benchmarks;

/// <summary>
/// A whole HTML report (predict, attribute, summarise, render) on 10,000 tabular rows: the 178 wine rows resampled with
/// ±2.5 % deterministic noise. (1) an ML.NET FastTree regression model (100 trees, ≤ 20 leaves) → exact TreeSHAP;
/// (2) the wine MLP (ONNX, 13→32→16→8→3) on the same rows standardised → Integrated Gradients, 50 steps (500,000
/// gradient rows). Default options: top 5 rows per section, beeswarm of 1,000 sampled rows.
/// </summary>
[MemoryDiagnoser]
public class ReportBenchmarks
{
    private const int Rows = 10_000;
    private ITransformer _fastTree = null!;
    private IDataView _data = null!;
    private NdArray<float> _standardized = null!;
    private float[] _labels = null!;
    private string _mlp = null!;

    [GlobalSetup]
    public void Setup()
    {
        var ml = new MLContext(seed: 1);
        string path = Path.Combine(AppContext.BaseDirectory, "Data", "wine.csv");
        var wine = ml.Data.LoadFromTextFile(path, [
            new TextLoader.Column("Features", DataKind.Single, 0, 12),
            new TextLoader.Column("Label", DataKind.Single, 13),
        ], separatorChar: ',', hasHeader: true);
        var features = wine.GetColumn<float[]>("Features").ToArray();
        var labels = wine.GetColumn<float>("Label").ToArray();
        var random = new Random(7);
        var rows = new WineRow[Rows];
        for (int i = 0; i < Rows; i++)
        {
            int source = i % features.Length;
            rows[i] = new WineRow { Features = features[source].Select(v => v * (1 + 0.05f * (float)(random.NextDouble() - 0.5))).ToArray(), Label = labels[source] };
        }
        _data = ml.Data.LoadFromEnumerable(rows);
        _fastTree = ml.Regression.Trainers.FastTree(numberOfTrees: 100, numberOfLeaves: 20, minimumExampleCountPerLeaf: 2).Fit(_data);

        // The MLP was trained on standardised wine (samples/data/wine_standardization.json): standardise with the data's own moments.
        var mean = new double[13];
        var std = new double[13];
        foreach (var f in features) for (int j = 0; j < 13; j++) mean[j] += f[j] / features.Length;
        foreach (var f in features) for (int j = 0; j < 13; j++) std[j] += Math.Pow(f[j] - mean[j], 2) / features.Length;
        _standardized = new NdArray<float>(Rows, 13);
        for (int i = 0; i < Rows; i++)
            for (int j = 0; j < 13; j++) _standardized.Data[i * 13 + j] = (float)((rows[i].Features[j] - mean[j]) / Math.Sqrt(std[j]));
        _labels = rows.Select(r => r.Label).ToArray();
        _mlp = Path.Combine(AppContext.BaseDirectory, "Fixtures", "wine_mlp", "model.onnx");
    }

    [Benchmark(Description = "Report, ML.NET FastTree → TreeSHAP, 10,000 rows")]
    public int FastTreeTreeShap() => AttributionReport.Generate(_fastTree, _data, "Label").Html.Length;

    [Benchmark(Description = "Report, ONNX wine MLP → IG 50 steps, 10,000 rows")]
    public int OnnxIntegratedGradients() => AttributionReport.Generate(_mlp, _standardized, _labels).Html.Length;

    public sealed class WineRow
    {
        [VectorType(13)]
        public float[] Features { get; set; } = [];

        public float Label { get; set; }
    }
}
