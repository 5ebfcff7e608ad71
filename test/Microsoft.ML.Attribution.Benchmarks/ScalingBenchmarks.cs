using BenchmarkDotNet.Attributes;
using Microsoft.ML.Attribution.Methods;
using Microsoft.ML.Attribution.Oracles;
using Microsoft.ML.Attribution.Runtime;
using Microsoft.ML.Attribution.Tensors;

namespace Microsoft.ML.Attribution.Benchmarks;

/// <summary>
/// Throughput against ONNX Runtime's intra-op pool size: Integrated Gradients (50 steps, 16 images) on the ResNet-style
/// CNN and Occlusion on the MNIST-style CNN with 1, 2, … threads (up to the cores present).
/// </summary>
[MemoryDiagnoser]
public class ScalingBenchmarks
{
    private OnnxGradientOracle _resnet = null!, _mnist = null!;
    private NdArray<float> _images = null!, _digits = null!;

    public static IEnumerable<int> ThreadCounts => Enumerable.Range(1, Environment.ProcessorCount).Where(t => t == 1 || t % 2 == 0);

    [ParamsSource(nameof(ThreadCounts))]
    public int Threads { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        string models = Path.Combine(AppContext.BaseDirectory, "BenchModels");
        var options = new RuntimeOptions { IntraOpThreads = Threads };
        _resnet = new OnnxGradientOracle(Path.Combine(models, "resnet", "model.onnx"), options: options);
        _mnist = new OnnxGradientOracle(Path.Combine(models, "mnist", "model.onnx"), options: options);
        _images = Npy.ReadFloat(Path.Combine(models, "resnet", "input.npy"));
        _digits = Npy.ReadFloat(Path.Combine(models, "mnist", "input.npy"));
    }

    [Benchmark]
    public AttributionResult ig_resnet() => new IntegratedGradients(_resnet).Attribute(_images, target: Target.Class(0), steps: 50);

    [Benchmark]
    public AttributionResult occlusion_mnist() => new Occlusion(_mnist).Attribute(_digits, [1, 4, 4], [1, 2, 2], target: Target.Class(0));
}
