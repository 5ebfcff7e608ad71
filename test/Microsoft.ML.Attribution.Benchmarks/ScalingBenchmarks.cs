using BenchmarkDotNet.Attributes;
using Microsoft.ML.Attribution.Methods;
using Microsoft.ML.Attribution.Runtime;

namespace Microsoft.ML.Attribution.Benchmarks;

/// <summary>
/// Throughput against ONNX Runtime's intra-op pool size: two comparison workloads (Integrated Gradients on the
/// ResNet-style CNN, Occlusion on the MNIST-style CNN) with 1, 2, 4, … threads up to the cores present.
/// </summary>
[MemoryDiagnoser]
public class ScalingBenchmarks
{
    private ComparisonBenchmarks _workloads = null!;

    public static IEnumerable<int> ThreadCounts => Enumerable.Range(1, Environment.ProcessorCount).Where(t => t == 1 || t % 2 == 0);

    [ParamsSource(nameof(ThreadCounts))]
    public int Threads { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _workloads = new ComparisonBenchmarks { Options = new RuntimeOptions { IntraOpThreads = Threads } };
        _workloads.Setup();
    }

    [Benchmark]
    public AttributionResult ig_resnet() => _workloads.ig_resnet();

    [Benchmark]
    public AttributionResult occlusion_mnist() => _workloads.occlusion_mnist();
}
