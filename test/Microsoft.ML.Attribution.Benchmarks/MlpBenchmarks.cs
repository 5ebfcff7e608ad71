using BenchmarkDotNet.Attributes;
using Microsoft.ML.Attribution.Methods;
using Microsoft.ML.Attribution.Oracles;
using Microsoft.ML.Attribution.Tensors;

namespace Microsoft.ML.Attribution.Benchmarks;

/// <summary>
/// Attribution of 64 rows of the wine MLP fixture (13 features, Gemm/Relu/Tanh/Sigmoid): IG with 50 steps is one batch
/// of 3,200 points through the forward + backward graph. ONNX Runtime CPU provider, default threads, ORT_ENABLE_ALL.
/// </summary>
[MemoryDiagnoser]
public class MlpBenchmarks
{
    private OnnxGradientOracle _oracle = null!;
    private NdArray<float> _rows = null!;

    [GlobalSetup]
    public void Setup()
    {
        string fixtures = Path.Combine(AppContext.BaseDirectory, "Fixtures", "wine_mlp");
        _oracle = new OnnxGradientOracle(Path.Combine(fixtures, "model.onnx"));
        var sixteen = Npy.ReadFloat(Path.Combine(fixtures, "input.npy"));
        var data = new float[64 * sixteen.RowSize];
        for (int i = 0; i < 4; i++) sixteen.Data.CopyTo(data, i * sixteen.Length);
        _rows = new NdArray<float>(data, 64, sixteen.RowSize);
        _oracle.BuildGradients();
        IntegratedGradients(); // warm the sessions
    }

    [Benchmark(Description = "IG 50 steps × 64 rows (gausslegendre)")]
    public AttributionResult IntegratedGradients() =>
        new IntegratedGradients(_oracle).Attribute(_rows, target: Target.Class(0));

    [Benchmark(Description = "Saliency × 64 rows")]
    public AttributionResult Saliency() => new Saliency(_oracle).Attribute(_rows, Target.Class(0));

    [Benchmark(Description = "FeatureAblation × 64 rows (13 features)")]
    public AttributionResult FeatureAblation() => new FeatureAblation(_oracle).Attribute(_rows, target: Target.Class(0));

    [Benchmark(Description = "Occlusion window 3 stride 1 × 64 rows")]
    public AttributionResult Occlusion() => new Occlusion(_oracle).Attribute(_rows, [3], target: Target.Class(0));
}
