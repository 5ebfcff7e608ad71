using BenchmarkDotNet.Attributes;
using Microsoft.ML.Attribution.Methods;
using Microsoft.ML.Attribution.Oracles;
using Microsoft.ML.Attribution.Runtime;
using Microsoft.ML.Attribution.Tensors;

namespace Microsoft.ML.Attribution.Benchmarks;

/// <summary>
/// The workloads of the Captum comparison (build/bench/compare.sh): the same models and inputs as
/// build/bench/captum_bench.py (exported by build/bench/models.py). Benchmark names equal the keys of captum_times.json.
/// ONNX Runtime CPU provider, default threads (one per core), ORT_ENABLE_ALL on forward and gradient graphs.
/// </summary>
[MemoryDiagnoser]
public class ComparisonBenchmarks
{
    private static string Folder(string name) => Path.Combine(AppContext.BaseDirectory, "BenchModels", name);

    private OnnxGradientOracle _resnet = null!, _mnist = null!, _mlp = null!;
    private OnnxLayerOracle _text = null!, _text64 = null!, _resnetBlock = null!;
    private NdArray<float> _images = null!, _digits = null!, _rows = null!, _rows256 = null!, _rows32 = null!;
    private NdArray<float> _images64 = null!, _digits64 = null!, _rows4000 = null!;
    private NdArray<long> _ids = null!, _ids64 = null!;

    /// <summary>The Grad-CAM layer: the last block's BatchNorm output (folded into its Conv by the exporter).</summary>
    internal const string ResNetBlock = "/blocks.1/blocks.1.3/Conv_output_0";

    /// <summary>Runtime settings of every oracle (the profile probe turns ONNX Runtime's profiler on through it).</summary>
    internal RuntimeOptions Options { get; init; } = RuntimeOptions.Default;

    [GlobalSetup]
    public void Setup()
    {
        _resnet = new OnnxGradientOracle(Path.Combine(Folder("resnet"), "model.onnx"), options: Options);
        _mnist = new OnnxGradientOracle(Path.Combine(Folder("mnist"), "model.onnx"), options: Options);
        _mlp = new OnnxGradientOracle(Path.Combine(Folder("mlp"), "model.onnx"), options: Options);
        _text = new OnnxLayerOracle(Path.Combine(Folder("text"), "model.onnx"), "/embedding/Gather_output_0", options: Options);
        _resnetBlock = new OnnxLayerOracle(Path.Combine(Folder("resnet"), "model.onnx"), ResNetBlock, options: Options);
        _images = Npy.ReadFloat(Path.Combine(Folder("resnet"), "input.npy"));
        _digits = Npy.ReadFloat(Path.Combine(Folder("mnist"), "input.npy"));
        _rows = Npy.ReadFloat(Path.Combine(Folder("mlp"), "input.npy"));
        _rows256 = new NdArray<float>(_rows.Data[..(256 * 12)], 256, 12);
        _rows32 = new NdArray<float>(_rows.Data[..(32 * 12)], 32, 12);
        _ids = Npy.ReadInt64(Path.Combine(Folder("text"), "input.npy"));
        _text64 = new OnnxLayerOracle(Path.Combine(Folder("text64"), "model.onnx"), "/embedding/Gather_output_0", options: Options);
        _ids64 = Npy.ReadInt64(Path.Combine(Folder("text64"), "input.npy"));
        _images64 = Npy.ReadFloat(Path.Combine(Folder("resnet"), "input_large.npy"));
        _digits64 = Npy.ReadFloat(Path.Combine(Folder("mnist"), "input_large.npy"));
        _rows4000 = Npy.ReadFloat(Path.Combine(Folder("mlp"), "input_large.npy"));
    }

    [Benchmark]
    public AttributionResult ig_resnet() => new IntegratedGradients(_resnet).Attribute(_images, target: Target.Class(0), steps: 50);

    [Benchmark]
    public AttributionResult gradcam_resnet() => new LayerGradCam(_resnetBlock).Attribute(_images, Target.Class(0), reluAttributions: true);

    [Benchmark]
    public AttributionResult occlusion_mnist() => new Occlusion(_mnist).Attribute(_digits, [1, 4, 4], [1, 2, 2], target: Target.Class(0));

    [Benchmark]
    public AttributionResult layer_ig_text() =>
        new LayerIntegratedGradients(_text).Attribute(_ids, new NdArray<long>(_ids.Shape), Target.Class(0), steps: 50);

    [Benchmark]
    public AttributionResult feature_ablation_mlp() => new FeatureAblation(_mlp).Attribute(_rows, target: Target.Class(0));

    [Benchmark]
    public AttributionResult shapley_sampling_mlp() => new ShapleyValueSampling(_mlp).Attribute(_rows256, target: Target.Class(0), samples: 25, seed: 1);

    [Benchmark]
    public AttributionResult kernel_shap_mlp() => new KernelShap(_mlp).Attribute(_rows32, target: Target.Class(0), samples: 200, seed: 1);

    // The sizes users run (issue 13): 64 images × 50 steps, 256 sentences × 64 tokens, 4,000 tabular rows.

    [Benchmark]
    public AttributionResult ig_resnet_64() => new IntegratedGradients(_resnet).Attribute(_images64, target: Target.Class(0), steps: 50);

    [Benchmark]
    public AttributionResult occlusion_mnist_64() => new Occlusion(_mnist).Attribute(_digits64, [1, 4, 4], [1, 2, 2], target: Target.Class(0));

    [Benchmark]
    public AttributionResult layer_ig_text_256x64() =>
        new LayerIntegratedGradients(_text64).Attribute(_ids64, new NdArray<long>(_ids64.Shape), Target.Class(0), steps: 50);

    [Benchmark]
    public AttributionResult shapley_sampling_mlp_4000() => new ShapleyValueSampling(_mlp).Attribute(_rows4000, target: Target.Class(0), samples: 25, seed: 1);

    [Benchmark]
    public AttributionResult kernel_shap_mlp_4000() => new KernelShap(_mlp).Attribute(_rows4000, target: Target.Class(0), samples: 200, seed: 1);
}
