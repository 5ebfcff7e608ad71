using BenchmarkDotNet.Attributes;
using Microsoft.ML.Attribution.MLNet;
using Microsoft.ML.Data;

namespace Microsoft.ML.Attribution.Benchmarks;

/// <summary>
/// Serving: one row explained per <c>PredictionEngine.Predict</c> call over the wine MLP fixture (13 features, 3 classes),
/// with saliency (one forward+backward run) and input × gradient; the engine reuses the explainer's cached ONNX Runtime
/// session and gradient graph. Target: p50 ≤ 100 µs. Run with --filter '*PredictionEngine*'.
/// </summary>
[MemoryDiagnoser]
public class PredictionEngineBenchmarks
{
    private sealed class Input
    {
        [VectorType(13)]
        public float[] Features { get; set; } = [];
    }

    private sealed class Output
    {
        public float[] Attributions { get; set; } = [];
    }

    private PredictionEngine<Input, Output> _saliency = null!;
    private PredictionEngine<Input, Output> _inputXGradient = null!;
    private Input _row = null!;

    [GlobalSetup]
    public void Setup()
    {
        string fixtures = Path.Combine(AppContext.BaseDirectory, "Fixtures", "wine_mlp");
        var rows = Tensors.Npy.ReadFloat(Path.Combine(fixtures, "input.npy"));
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(Enumerable.Range(0, rows.Rows).Select(r => new Input { Features = rows.Row(r).ToArray() }));
        string model = Path.Combine(fixtures, "model.onnx");
        _saliency = ml.Model.CreatePredictionEngine<Input, Output>(ml.Attribution().Explain(model, new ExplainOptions { Method = "saliency" }).Fit(data));
        _inputXGradient = ml.Model.CreatePredictionEngine<Input, Output>(ml.Attribution().Explain(model, new ExplainOptions { Method = "input-x-gradient" }).Fit(data));
        _row = new Input { Features = rows.Row(0).ToArray() };
        Saliency();
        InputXGradient();
    }

    [Benchmark(Description = "PredictionEngine: saliency of one row, wine MLP")]
    public float[] Saliency() => _saliency.Predict(_row).Attributions;

    [Benchmark(Description = "PredictionEngine: input x gradient of one row, wine MLP")]
    public float[] InputXGradient() => _inputXGradient.Predict(_row).Attributions;
}
