using Microsoft.ML.Attribution.Methods;
using Microsoft.ML.Attribution.Oracles;
using Microsoft.ML.Attribution.Runtime;
using Microsoft.ML.Attribution.Tensors;

namespace Microsoft.ML.Attribution.Cli;

/// <summary>What a method needs from the command line, resolved once.</summary>
internal sealed class ExplainContext(CommandLine options, string modelPath, RuntimeOptions runtime, NdArray<float>? floatInput, NdArray<long>? tokenInput)
{
    public CommandLine Options { get; } = options;
    public string ModelPath { get; } = modelPath;
    public RuntimeOptions Runtime { get; } = runtime;
    public string? OutputName => Options.String("output");
    public int? BatchSize => Options.Int("batch-size");
    public Target? Target => Options.Int("target") is int t ? Methods.Target.Class(t) : null;

    /// <summary>The float input; methods that need gradients or perturb values cannot take token ids.</summary>
    public NdArray<float> Input(string method) => floatInput ?? throw new UsageException(
        $"--input holds int64 token ids; method {method} needs float32 input. Attribute text models through a layer method " +
        "(layer-integrated-gradients, gradcam, layer-activation, layer-gradient-x-activation) with --layer set to the embedding tensor");

    public NdArray<long>? Tokens => tokenInput;

    public NdArray<float>? Baseline => Options.String("baseline") is { } path ? Npy.ReadFloat(path) : null;

    public NdArray<long>? TokenBaseline => Options.String("baseline") is { } path ? Npy.ReadInt64(path) : null;

    public NdArray<long>? Mask => Options.String("mask") is { } path ? Npy.ReadInt64(path) : null;

    public int Steps => Options.Int("steps") ?? 50;

    public IntegrationMethod Integration(IntegrationMethod fallback = IntegrationMethod.GaussLegendre) =>
        Options.String("integration") is { } name ? Parse(() => IntegrationRule.Parse(name)) : fallback;

    public OnnxGradientOracle Oracle() => new(ModelPath, outputName: OutputName, options: Runtime);

    public OnnxLayerOracle LayerOracle() =>
        new(ModelPath, Options.Required("layer", "for layer and neuron methods"), outputName: OutputName, options: Runtime);

    public bool LayerInput => Options.Bool("layer-input") ?? false;

    public int[] Neuron => Options.Ints("neuron") ?? throw new UsageException("--neuron is required for neuron methods (an index into one row of the layer, e.g. 0,3,3)");

    private static T Parse<T>(Func<T> parse)
    {
        try { return parse(); }
        catch (ArgumentException e) { throw new UsageException(e.Message); }
    }
}

/// <summary>One attribution method of the CLI: its name, the options it reads, and how it runs.</summary>
internal sealed record CliMethod(string Name, string[] Options, Func<ExplainContext, (NdArray<float> Attributions, float[]? Delta)> Run);

/// <summary><c>mlnet-explain explain …</c>: runs one method on an .npy batch and writes the attributions as .npy.</summary>
internal static class ExplainCommand
{
    private static readonly string[] Common = ["model", "input", "method", "out", "target", "output", "batch-size", "device"];

    /// <summary>Options that later methods use; for other methods they get "not supported" rather than "unknown".</summary>
    private static readonly string[] Reserved = ["baseline", "layer", "steps", "integration", "window", "stride", "mask", "samples",
        "seed", "delta-out", "abs", "stdevs", "noise", "base-method", "neuron", "relu", "layer-input"];

    public static IReadOnlySet<string> KnownOptions { get; } = Common.Concat(Reserved).ToHashSet(StringComparer.Ordinal);

    private static readonly string[] Integral = ["baseline", "steps", "integration", "delta-out"];

    /// <summary>Gradient methods NoiseTunnel can wrap, with the options they take.</summary>
    private static readonly Dictionary<string, string[]> TunnelBases = new(StringComparer.Ordinal)
    {
        ["integrated-gradients"] = ["baseline", "steps", "integration"],
        ["saliency"] = ["abs"],
        ["input-x-gradient"] = [],
        ["deeplift"] = ["baseline"],
        ["guided-backprop"] = [],
    };

    public static IReadOnlyList<CliMethod> Methods { get; } =
    [
        new("integrated-gradients", Integral, c =>
        {
            var r = new IntegratedGradients(c.Oracle()).Attribute(c.Input("integrated-gradients"), c.Baseline, c.Target, c.Steps, c.Integration(), c.BatchSize);
            return (r.Attributions, r.ConvergenceDelta);
        }),
        new("saliency", ["abs"], c => (new Saliency(c.Oracle()).Attribute(c.Input("saliency"), c.Target, c.Options.Bool("abs") ?? true, c.BatchSize).Attributions, null)),
        new("input-x-gradient", [], c => (new InputXGradient(c.Oracle()).Attribute(c.Input("input-x-gradient"), c.Target, c.BatchSize).Attributions, null)),
        new("feature-ablation", ["baseline", "mask"], c =>
            (new FeatureAblation(c.Oracle()).Attribute(c.Input("feature-ablation"), c.Baseline, c.Target, c.Mask, c.BatchSize).Attributions, null)),
        new("occlusion", ["baseline", "window", "stride"], c =>
        {
            var window = c.Options.Ints("window") ?? throw new UsageException("--window is required for occlusion (a per-row shape, e.g. 1,4,4)");
            return (new Occlusion(c.Oracle()).Attribute(c.Input("occlusion"), window, c.Options.Ints("stride"), c.Baseline, c.Target, c.BatchSize).Attributions, null);
        }),
        new("gradient-shap", ["baseline", "samples", "seed", "stdevs"], c =>
        {
            var distribution = c.Baseline ?? throw new UsageException("--baseline is required for gradient-shap (a [B, …] distribution of baseline rows)");
            return (new GradientShap(c.Oracle()).Attribute(c.Input("gradient-shap"), distribution, c.Target, c.Options.Int("samples") ?? 5,
                c.Options.Double("stdevs") ?? 0.0, c.Options.Int("seed"), c.BatchSize).Attributions, null);
        }),
        new("deeplift", ["baseline"], c =>
        {
            var r = new DeepLift(c.Oracle()).Attribute(c.Input("deeplift"), c.Baseline, c.Target, c.BatchSize);
            return (r.Attributions, r.ConvergenceDelta);
        }),
        new("deeplift-shap", ["baseline"], c =>
        {
            var distribution = c.Baseline ?? throw new UsageException("--baseline is required for deeplift-shap (a [B, …] distribution of baseline rows)");
            var r = new DeepLiftShap(c.Oracle()).Attribute(c.Input("deeplift-shap"), distribution, c.Target, c.BatchSize);
            return (r.Attributions, r.ConvergenceDelta);
        }),
        new("guided-backprop", [], c => (new GuidedBackprop(c.Oracle()).Attribute(c.Input("guided-backprop"), c.Target, c.BatchSize).Attributions, null)),
        new("deconvolution", [], c => (new Deconvolution(c.Oracle()).Attribute(c.Input("deconvolution"), c.Target, c.BatchSize).Attributions, null)),
        new("guided-gradcam", ["layer", "layer-input"], c =>
            (new GuidedGradCam(c.Oracle(), c.Options.Required("layer", "for guided-gradcam")).Attribute(c.Input("guided-gradcam"), c.Target,
                c.LayerInput, c.BatchSize).Attributions, null)),
        new("noise-tunnel", ["base-method", "noise", "stdevs", "samples", "seed", "baseline", "steps", "integration", "abs"], NoiseTunnel),
        new("shapley-values", ["baseline", "mask"], c =>
            (new ShapleyValues(c.Oracle()).Attribute(c.Input("shapley-values"), c.Baseline, c.Target, c.Mask, c.BatchSize).Attributions, null)),
        new("shapley-value-sampling", ["baseline", "mask", "samples", "seed"], c =>
            (new ShapleyValueSampling(c.Oracle()).Attribute(c.Input("shapley-value-sampling"), c.Baseline, c.Target, c.Mask,
                c.Options.Int("samples") ?? 25, c.Options.Int("seed"), c.BatchSize).Attributions, null)),
        new("kernel-shap", ["baseline", "mask", "samples", "seed"], c =>
            (new KernelShap(c.Oracle()).Attribute(c.Input("kernel-shap"), c.Baseline, c.Target, c.Mask,
                c.Options.Int("samples") ?? 25, c.Options.Int("seed"), c.BatchSize).Attributions, null)),
        new("lime", ["baseline", "mask", "samples", "seed"], c =>
            (new Lime(c.Oracle()).Attribute(c.Input("lime"), c.Baseline, c.Target, c.Mask,
                c.Options.Int("samples") ?? 50, c.Options.Int("seed"), c.BatchSize).Attributions, null)),
        new("feature-permutation", ["mask", "seed"], c =>
            (new FeaturePermutation(c.Oracle()).Attribute(c.Input("feature-permutation"), c.Target, c.Mask, c.Options.Int("seed"), c.BatchSize).Attributions, null)),
        new("gradcam", ["layer", "relu", "layer-input"], c =>
        {
            var method = new LayerGradCam(c.LayerOracle());
            bool relu = c.Options.Bool("relu") ?? false;
            var r = c.Tokens is { } ids
                ? method.Attribute(ids, c.Target, c.LayerInput, relu, internalBatchSize: c.BatchSize)
                : method.Attribute(c.Input("gradcam"), c.Target, c.LayerInput, relu, internalBatchSize: c.BatchSize);
            return (r.Attributions, null);
        }),
        new("layer-integrated-gradients", ["layer", "layer-input", .. Integral], c =>
        {
            var method = new LayerIntegratedGradients(c.LayerOracle());
            var r = c.Tokens is { } ids
                ? method.Attribute(ids, c.TokenBaseline, c.Target, c.Steps, c.Integration(), c.BatchSize, attributeToLayerInput: c.LayerInput)
                : method.Attribute(c.Input("layer-integrated-gradients"), c.Baseline, c.Target, c.Steps, c.Integration(), c.BatchSize, attributeToLayerInput: c.LayerInput);
            return (r.Attributions, r.ConvergenceDelta);
        }),
        new("layer-conductance", ["layer", "layer-input", .. Integral], c =>
        {
            var r = new LayerConductance(c.LayerOracle()).Attribute(c.Input("layer-conductance"), c.Baseline, c.Target, c.Steps, c.Integration(),
                c.BatchSize, attributeToLayerInput: c.LayerInput);
            return (r.Attributions, r.ConvergenceDelta);
        }),
        new("layer-activation", ["layer", "layer-input"], c =>
        {
            var method = new LayerActivation(c.LayerOracle());
            return (c.Tokens is { } ids ? method.Attribute(ids, c.LayerInput, c.BatchSize) : method.Attribute(c.Input("layer-activation"), c.LayerInput, c.BatchSize), null);
        }),
        new("layer-gradient-x-activation", ["layer", "layer-input"], c =>
        {
            var method = new LayerGradientXActivation(c.LayerOracle());
            var r = c.Tokens is { } ids ? method.Attribute(ids, c.Target, c.LayerInput, c.BatchSize) : method.Attribute(c.Input("layer-gradient-x-activation"), c.Target, c.LayerInput, c.BatchSize);
            return (r.Attributions, null);
        }),
        new("internal-influence", ["layer", "layer-input", "baseline", "steps", "integration"], c =>
            (new InternalInfluence(c.LayerOracle()).Attribute(c.Input("internal-influence"), c.Baseline, c.Target, c.Steps, c.Integration(),
                c.BatchSize, c.LayerInput).Attributions, null)),
        new("neuron-gradient", ["layer", "layer-input", "neuron"], c =>
            (new NeuronGradient(c.LayerOracle()).Attribute(c.Input("neuron-gradient"), c.Neuron, c.BatchSize, c.LayerInput).Attributions, null)),
        new("neuron-integrated-gradients", ["layer", "layer-input", "neuron", "baseline", "steps", "integration"], c =>
            (new NeuronIntegratedGradients(c.LayerOracle()).Attribute(c.Input("neuron-integrated-gradients"), c.Neuron,
                c.Baseline, c.Steps, c.Integration(), c.BatchSize, c.LayerInput).Attributions, null)),
        new("neuron-conductance", ["layer", "layer-input", "neuron", "baseline", "steps", "integration"], c =>
            (new NeuronConductance(c.LayerOracle()).Attribute(c.Input("neuron-conductance"), c.Neuron, c.Baseline, c.Target, c.Steps,
                c.Integration(IntegrationMethod.RiemannTrapezoid), c.BatchSize, c.LayerInput).Attributions, null)),
    ];

    private static (NdArray<float>, float[]?) NoiseTunnel(ExplainContext c)
    {
        string baseName = c.Options.String("base-method") ?? throw new UsageException(
            $"--base-method is required for noise-tunnel; one of {string.Join(", ", TunnelBases.Keys)}");
        if (!TunnelBases.TryGetValue(baseName, out var baseOptions))
            throw new UsageException($"--base-method '{baseName}' cannot be wrapped by noise-tunnel; use one of {string.Join(", ", TunnelBases.Keys)}");
        foreach (var option in new[] { "baseline", "steps", "integration", "abs" })
        {
            if (c.Options.Has(option) && !baseOptions.Contains(option))
                throw new UsageException($"option --{option} is not used by base method {baseName}");
        }
        var type = (c.Options.String("noise") ?? "smoothgrad").ToLowerInvariant() switch
        {
            "smoothgrad" => NoiseTunnelType.SmoothGrad,
            "smoothgrad-sq" or "smoothgrad_sq" => NoiseTunnelType.SmoothGradSquared,
            "vargrad" => NoiseTunnelType.VarGrad,
            var other => throw new UsageException($"--noise '{other}' is not one of smoothgrad, smoothgrad-sq, vargrad"),
        };
        var oracle = c.Oracle();
        int steps = c.Steps;
        var integration = c.Integration();
        bool abs = c.Options.Bool("abs") ?? true;
        AttributionFunction method = baseName switch
        {
            "integrated-gradients" => (x, b, t) => new IntegratedGradients(oracle).Attribute(x, b, t, steps, integration, c.BatchSize),
            "saliency" => (x, _, t) => new Saliency(oracle).Attribute(x, t, abs, c.BatchSize),
            "deeplift" => (x, b, t) => new DeepLift(oracle).Attribute(x, b, t, c.BatchSize),
            "guided-backprop" => (x, _, t) => new GuidedBackprop(oracle).Attribute(x, t, c.BatchSize),
            _ => (x, _, t) => new InputXGradient(oracle).Attribute(x, t, c.BatchSize),
        };
        var r = new NoiseTunnel(oracle, method).Attribute(c.Input("noise-tunnel"), type, c.Options.Int("samples") ?? 5,
            c.Options.Double("stdevs") ?? 1.0, c.Baseline, c.Target, c.Options.Int("seed"));
        return (r.Attributions, null);
    }

    public static int Run(CommandLine options, TextWriter stdout, TextWriter stderr)
    {
        string modelPath = options.Required("model", "(the ONNX model)");
        string inputPath = options.Required("input", "(an .npy batch)");
        string methodName = options.Required("method", $"(one of {string.Join(", ", Methods.Select(m => m.Name))})");
        string outPath = options.Required("out", "(where to write the attributions .npy)");
        var method = Methods.FirstOrDefault(m => m.Name == methodName)
            ?? throw new UsageException($"unknown method '{methodName}'; known methods: {string.Join(", ", Methods.Select(m => m.Name))}");
        foreach (var given in options.Given)
        {
            if (Common.Contains(given) || method.Options.Contains(given)) continue;
            throw new UsageException(given is "layer" or "samples" or "seed" or "neuron"
                ? $"option --{given} is not supported by method {methodName}"
                : $"option --{given} is not used by method {methodName}");
        }
        if (!File.Exists(modelPath)) throw new FileNotFoundException($"model file '{modelPath}' does not exist");
        var runtime = RuntimeOptions.ForDevice(options.String("device") ?? "cpu") with { Log = m => stderr.WriteLine($"info: {m}") };
        var header = Npy.ReadHeader(inputPath);
        bool tokenIds = header.Descr is "<i8" or "<i4";
        var context = new ExplainContext(options, modelPath, runtime,
            tokenIds ? null : Npy.ReadFloat(inputPath), tokenIds ? Npy.ReadInt64(inputPath) : null);

        var (attributions, delta) = method.Run(context);
        Npy.Write(outPath, attributions);
        if (options.String("delta-out") is { } deltaPath)
        {
            if (delta is null) throw new UsageException($"method {methodName} has no convergence delta");
            Npy.Write(deltaPath, new NdArray<float>(delta, delta.Length));
        }
        stdout.WriteLine($"{methodName}: wrote {attributions.ShapeText} attributions to {outPath}");
        return 0;
    }
}
