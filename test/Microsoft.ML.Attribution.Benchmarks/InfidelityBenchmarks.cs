using BenchmarkDotNet.Attributes;
using Microsoft.ML.Attribution.Methods;
using Microsoft.ML.Attribution.Metrics;
using Microsoft.ML.Attribution.Oracles;
using Microsoft.ML.Attribution.Tensors;

namespace Microsoft.ML.Attribution.Benchmarks;

/// <summary>
/// Issue 17's metric workload: the infidelity of Integrated Gradients (50 steps, target 0, computed once in the setup)
/// on 64 MNIST-style images (build/bench/models/mnist, input_large.npy) with 10 Gaussian perturbations each (σ 0.003),
/// all 640 perturbed images through the model in ONNX Runtime's chunks. build/bench/captum_infidelity.py times Captum's
/// <c>infidelity</c> on the same model, rows and attributions (one forward of all 640, as its default
/// <c>max_examples_per_batch=None</c>). The benchmark name equals the key the script prints.
/// </summary>
[MemoryDiagnoser]
public class InfidelityBenchmarks
{
    private static string Folder(string name) => Path.Combine(AppContext.BaseDirectory, "BenchModels", name);

    private OnnxGradientOracle _mnist = null!;
    private NdArray<float> _digits64 = null!, _attributions = null!;

    [GlobalSetup]
    public void Setup()
    {
        _mnist = new OnnxGradientOracle(Path.Combine(Folder("mnist"), "model.onnx"));
        _digits64 = Npy.ReadFloat(Path.Combine(Folder("mnist"), "input_large.npy"));
        _attributions = new IntegratedGradients(_mnist).Attribute(_digits64, target: Target.Class(0), steps: 50).Attributions;
    }

    [Benchmark]
    public float[] infidelity_ig_mnist_64() => new Infidelity(_mnist).Compute(_digits64, _attributions, Target.Class(0), samples: 10, seed: 17);
}
