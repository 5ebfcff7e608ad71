using Microsoft.ML.Attribution.Oracles;
using Microsoft.ML.Attribution.Tabular;
using Microsoft.ML.Attribution.Tensors;

namespace Microsoft.ML.Attribution.Methods;

/// <summary>
/// What one method run gets: the model (as the oracle kinds it offers), the rows, and the data-valued settings
/// (baselines, background, feature mask, target). Scalar settings live in the method's <see cref="MethodOptions"/>.
/// </summary>
public sealed class MethodInputs
{
    /// <summary>The model as a forward (and, for ONNX models, gradient) oracle.</summary>
    public IForwardOracle? Model { get; init; }

    /// <summary>
    /// The model's layer oracle for a tensor name (layer and neuron methods); when null and <see cref="Model"/> is an
    /// <see cref="OnnxGradientOracle"/>, its <see cref="OnnxGradientOracle.AtLayer"/>.
    /// </summary>
    public Func<string, ILayerOracle>? LayerModel { get; init; }

    /// <summary>A tree ensemble (ML.NET FastTree, FastForest, LightGBM) for exact TreeSHAP.</summary>
    public TreeEnsemble? Trees { get; init; }

    /// <summary>A linear model for exact linear SHAP.</summary>
    public LinearModel? Linear { get; init; }

    /// <summary>Float rows [N, …].</summary>
    public NdArray<float>? Rows { get; init; }

    /// <summary>Token ids [N, L] (layer methods on text models).</summary>
    public NdArray<long>? TokenIds { get; init; }

    /// <summary>Baselines: null (zeros), one value, one row, or one per row; a distribution for the SHAP gradient methods.</summary>
    public NdArray<float>? Baselines { get; init; }

    /// <summary>Baseline token ids (layer methods on token ids).</summary>
    public NdArray<long>? TokenBaselines { get; init; }

    /// <summary>Background rows [B, …]: the expected value of SHAP methods is taken over them.</summary>
    public NdArray<float>? Background { get; init; }

    /// <summary>Feature ids 0 … M−1 per element (groups of elements attributed as one feature).</summary>
    public NdArray<long>? FeatureMask { get; init; }

    /// <summary>The explained output per row; null: each row's prediction.</summary>
    public Target? Target { get; init; }

    /// <summary>Rows × steps (or perturbations) per model call.</summary>
    public int? InternalBatchSize { get; init; }

    /// <summary>
    /// With a one-row <see cref="FeatureMask"/>: the caller takes one value per group (<c>[N, groups]</c>, group ids
    /// 0 … M−1) from methods whose players are the groups (<see cref="MethodCapabilities.ExactForTrees"/>), instead of
    /// every slot holding its group's value; saves spreading M values to F slots and folding them back.
    /// </summary>
    internal bool PerGroupOutput { get; init; }

    internal IForwardOracle ForwardModel(string method) =>
        Model ?? throw new ArgumentException($"Method '{method}' needs a model (MethodInputs.Model).");

    internal IGradientOracle GradientModel(string method) => Model as IGradientOracle ?? throw new ArgumentException(
        $"Method '{method}' needs gradients, which {(Model is null ? "no model" : Model.GetType().Name)} does not give; use an ONNX model " +
        $"or a black-box method ({string.Join(", ", MethodRegistry.All.Where(m => m.Has(MethodCapabilities.BlackBox)).Select(m => m.Name))}).");

    internal IRuleSetGradientOracle RuleSetModel(string method) => Model as IRuleSetGradientOracle ?? throw new ArgumentException(
        $"Method '{method}' swaps gradient rules in the backward pass; it needs a model that can (an ONNX model, IRuleSetGradientOracle), " +
        $"not {(Model is null ? "none" : Model.GetType().Name)}.");

    internal ILayerOracle Layer(string method, LayerMethodOptions options)
    {
        if (options.Layer is null) throw new ArgumentException($"Method '{method}' needs a layer (Layer: an ONNX tensor name).");
        if (LayerModel is not null) return LayerModel(options.Layer);
        if (Model is OnnxGradientOracle onnx) return onnx.AtLayer(options.Layer);
        throw new ArgumentException($"Method '{method}' needs the model seen at a layer (MethodInputs.LayerModel, e.g. an ONNX model).");
    }

    internal NdArray<float> FloatRows(string method) => Rows ?? throw new ArgumentException(
        TokenIds is null ? $"Method '{method}' needs rows (MethodInputs.Rows)." :
        $"Method '{method}' needs float32 rows; token ids are attributed through a layer method " +
        $"({string.Join(", ", MethodRegistry.All.Where(m => m.Has(MethodCapabilities.TokenIds)).Select(m => m.Name))}) at the embedding tensor.");

    internal NdArray<float> RequiredBaselines(string method) => Baselines ?? throw new ArgumentException(
        $"Method '{method}' needs a baseline distribution (MethodInputs.Baselines, [B, …] rows).");
}
