using BenchmarkDotNet.Attributes;
using Microsoft.ML.Attribution.Methods;
using Microsoft.ML.Attribution.Oracles;
using Microsoft.ML.Attribution.Tensors;

namespace Microsoft.ML.Attribution.Benchmarks;

/// <summary>
/// Kernel SHAP on the 12-feature MLP of Fixtures/perturbation/mlp12, 32 rows × 200 coalitions each (6,400 model rows in
/// bounded chunks), the same workload build/bench/captum_kernel_shap.py times for Captum. CPU provider, default threads.
/// </summary>
[MemoryDiagnoser]
public class KernelShapBenchmarks
{
    private OnnxGradientOracle _oracle = null!;
    private NdArray<float> _rows = null!;

    [GlobalSetup]
    public void Setup()
    {
        string folder = Path.Combine(AppContext.BaseDirectory, "Fixtures", "perturbation", "mlp12");
        _oracle = new OnnxGradientOracle(Path.Combine(folder, "model.onnx"));
        _rows = Npy.ReadFloat(Path.Combine(folder, "input.npy"));
        KernelShap();
    }

    [Benchmark(Description = "KernelShap 32 rows × 200 samples, 12 features")]
    public AttributionResult KernelShap() => new KernelShap(_oracle).Attribute(_rows, target: Target.Class(0), samples: 200, seed: 1);

    [Benchmark(Description = "ShapleyValueSampling 32 rows × 25 orderings, 12 features")]
    public AttributionResult ShapleyValueSampling() => new ShapleyValueSampling(_oracle).Attribute(_rows, target: Target.Class(0), samples: 25, seed: 1);
}
