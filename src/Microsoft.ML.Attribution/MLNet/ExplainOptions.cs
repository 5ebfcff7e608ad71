using Microsoft.ML.Attribution.Methods;
using Microsoft.ML.Attribution.Oracles;
using Microsoft.ML.Attribution.Tensors;

namespace Microsoft.ML.Attribution.MLNet;

/// <summary>Settings of an explanation step in an ML.NET pipeline (saved with the model as JSON).</summary>
public sealed class ExplainOptions
{
    /// <summary>The feature column explained: a known-size vector of Single. Default "Features".</summary>
    public string InputColumnName { get; set; } = "Features";

    /// <summary>The attribution column appended (a vector shaped like the input, carrying its slot names). Default "Attributions".</summary>
    public string OutputColumnName { get; set; } = "Attributions";

    /// <summary>The column holding the explained output index (Int32). Default "ExplainedTarget".</summary>
    public string TargetOutputColumnName { get; set; } = "ExplainedTarget";

    /// <summary>The column holding the convergence delta (Single), for methods that have one. Default "ConvergenceDelta".</summary>
    public string DeltaColumnName { get; set; } = "ConvergenceDelta";

    /// <summary>
    /// Method in the CLI's kebab-case: integrated-gradients (default), saliency, input-x-gradient, deeplift (ONNX), or
    /// feature-ablation, shapley-value-sampling, kernel-shap, shapley-values, lime (any model).
    /// </summary>
    public string Method { get; set; } = "integrated-gradients";

    /// <summary>A fixed output index to explain for every row; null explains each row's prediction (or <see cref="TargetColumnName"/>).</summary>
    public int? Target { get; set; }

    /// <summary>A column (Int32, UInt32 key, or Single holding whole numbers) giving each row's output index to explain.</summary>
    public string? TargetColumnName { get; set; }

    /// <summary>
    /// Explain each row's k highest outputs (k &gt; 1): the attribution column then holds k attribution vectors (shape
    /// [k, …]), the target column the k output indices (best first) and the delta column k deltas.
    /// </summary>
    public int TopK { get; set; } = 1;

    /// <summary>Integration points (integrated-gradients).</summary>
    public int Steps { get; set; } = 50;

    /// <summary>Samples (shapley-value-sampling, kernel-shap, lime).</summary>
    public int Samples { get; set; } = 25;

    /// <summary>Seed of the sampling methods.</summary>
    public int Seed { get; set; } = 1;

    /// <summary>Baseline values (one per feature), or null for zeros.</summary>
    public float[]? Baseline { get; set; }

    /// <summary>Rows explained per block: one batched method call per block.</summary>
    public int BlockSize { get; set; } = 256;

    /// <summary>Name of the ONNX model's output to explain (default its first output).</summary>
    public string? OnnxOutputName { get; set; }

    /// <summary>
    /// An ONNX tensor to attribute to instead of the input — typically a text model's embedding output, with the input
    /// column holding int64 token ids. Methods: layer-integrated-gradients, layer-gradient-x-activation. The layer's
    /// attributions are summed over its last axis (the embedding), giving one value per input position (token).
    /// </summary>
    public string? Layer { get; set; }

    /// <summary>The token id of the baseline sequence for layer methods on token ids (Captum's default 0, usually [PAD]).</summary>
    public long BaselineTokenId { get; set; }

    /// <summary>Runs ONNX on CUDA when the ONNX Runtime build has it (else CPU, logged once).</summary>
    public bool UseCuda { get; set; }

    internal static readonly string[] GradientMethods = ["integrated-gradients", "saliency", "input-x-gradient", "deeplift"];
    internal static readonly string[] PerturbationMethods = ["feature-ablation", "shapley-value-sampling", "kernel-shap", "shapley-values", "lime"];
    internal static readonly string[] LayerMethods = ["layer-integrated-gradients", "layer-gradient-x-activation"];

    internal void Validate(bool hasGradients)
    {
        if (BlockSize < 1) throw new ArgumentOutOfRangeException(nameof(BlockSize), BlockSize, "The block size must be at least 1.");
        if (Layer is not null || LayerMethods.Contains(Method))
        {
            if (Layer is null || !LayerMethods.Contains(Method) || !hasGradients)
                throw new ArgumentException($"Layer attribution needs an ONNX model, Layer set, and Method one of {string.Join(", ", LayerMethods)} (got '{Method}', Layer '{Layer}').");
            return;
        }
        if (!GradientMethods.Contains(Method) && !PerturbationMethods.Contains(Method))
            throw new ArgumentException($"Method '{Method}' is not one of {string.Join(", ", GradientMethods.Concat(PerturbationMethods).Concat(LayerMethods))}.");
        if (!hasGradients && GradientMethods.Contains(Method))
            throw new ArgumentException($"Method '{Method}' needs gradients, which an ML.NET model does not give; use one of {string.Join(", ", PerturbationMethods)}.");
        if (Target is not null && TargetColumnName is not null) throw new ArgumentException("Give Target or TargetColumnName, not both.");
        if (TopK < 1) throw new ArgumentOutOfRangeException(nameof(TopK), TopK, "TopK must be at least 1.");
        if (TopK > 1 && (Target is not null || TargetColumnName is not null || Layer is not null))
            throw new ArgumentException("TopK explains the k highest outputs of each row; it cannot be combined with Target, TargetColumnName or Layer.");
    }

    /// <summary>Runs the method on one block of rows.</summary>
    internal AttributionResult Explain(IForwardOracle oracle, NdArray<float> rows, Target target)
    {
        NdArray<float>? baseline = Baseline is null ? null : new NdArray<float>(Baseline, 1, Baseline.Length);
        return Method switch
        {
            "integrated-gradients" => new IntegratedGradients((IGradientOracle)oracle).Attribute(rows, baseline, target, Steps),
            "saliency" => new Saliency((IGradientOracle)oracle).Attribute(rows, target, abs: false),
            "input-x-gradient" => new InputXGradient((IGradientOracle)oracle).Attribute(rows, target),
            "deeplift" => new DeepLift((OnnxGradientOracle)oracle).Attribute(rows, baseline, target),
            "feature-ablation" => new FeatureAblation(oracle).Attribute(rows, baseline, target),
            "shapley-value-sampling" => new ShapleyValueSampling(oracle).Attribute(rows, baseline, target, samples: Samples, seed: Seed),
            "kernel-shap" => new KernelShap(oracle).Attribute(rows, baseline, target, samples: Samples, seed: Seed),
            "shapley-values" => new ShapleyValues(oracle).Attribute(rows, baseline, target),
            _ => new Lime(oracle).Attribute(rows, baseline, target, samples: Samples, seed: Seed),
        };
    }

    internal bool HasDelta => Method is "integrated-gradients" or "deeplift" or "layer-integrated-gradients";

    /// <summary>A layer method on int64 token ids or float rows; attributions summed over the layer's last axis.</summary>
    internal AttributionResult ExplainLayer(OnnxLayerOracle oracle, NdArray<float>? rows, NdArray<long>? ids, Target target)
    {
        AttributionResult result;
        if (Method == "layer-integrated-gradients")
        {
            var method = new LayerIntegratedGradients(oracle);
            result = ids is not null
                ? method.Attribute(ids, new NdArray<long>([BaselineTokenId], 1), target, Steps)
                : method.Attribute(rows!, Baseline is null ? null : new NdArray<float>(Baseline, 1, Baseline.Length), target, Steps);
        }
        else
        {
            var method = new LayerGradientXActivation(oracle);
            result = ids is not null ? method.Attribute(ids, target) : method.Attribute(rows!, target);
        }
        int n = (ids?.Rows ?? rows!.Rows), positions = ids?.RowSize ?? rows!.RowSize;
        var layer = result.Attributions;
        int last = layer.Shape[^1];
        if (layer.Length != n * positions * last)
            throw new InvalidOperationException($"Layer '{Layer}' is shaped {layer.ShapeText}: summing its last axis does not give one value per input " +
                $"position ({positions}); name the embedding output (shaped [N, {positions}, D]).");
        var summed = new NdArray<float>(n, positions);
        for (int i = 0; i < summed.Length; i++)
        {
            double total = 0;
            for (int k = 0; k < last; k++) total += layer.Data[i * last + k];
            summed.Data[i] = (float)total;
        }
        return result with { Attributions = summed };
    }

    internal ExplainOptions Clone() => (ExplainOptions)MemberwiseClone();
}
