using Microsoft.ML.Attribution.Methods;
using Microsoft.ML.Attribution.Oracles;
using Microsoft.ML.Attribution.Runtime;
using Microsoft.ML.Attribution.Tabular;
using Microsoft.ML.Calibrators;
using Microsoft.ML.Trainers;

namespace Microsoft.ML.Attribution.MLNet;

/// <summary>What an explanation step explains: ONNX model bytes (gradients available) or a fitted ML.NET predictor.</summary>
internal sealed class ExplainedModel
{
    private readonly object _gate = new();
    private IForwardOracle? _oracle;
    private OnnxLayerOracle? _layerOracle;
    private readonly Lazy<TreeEnsemble?> _trees;
    private readonly Lazy<LinearModel?> _linear;

    private ExplainedModel(byte[]? onnx, ITransformer? predictor)
    {
        OnnxBytes = onnx;
        Predictor = predictor;
        _trees = new(() => predictor is null ? null : ReadTrees(predictor));
        _linear = new(() => predictor is null ? null : ReadLinear(predictor));
    }

    public static ExplainedModel Onnx(byte[] bytes) => new(bytes ?? throw new ArgumentNullException(nameof(bytes)), null);

    public static ExplainedModel MLNet(ITransformer predictor) => new(null, predictor ?? throw new ArgumentNullException(nameof(predictor)));

    public byte[]? OnnxBytes { get; }

    /// <summary>The ML.NET model scoring the feature vector (the last transformer of a fitted chain).</summary>
    public ITransformer? Predictor { get; }

    public ModelKind Kind => OnnxBytes is not null ? ModelKind.Onnx : ModelKind.MLNet;

    /// <summary>The predictor's trees (FastTree, FastForest, LightGBM), or null.</summary>
    public TreeEnsemble? Trees => _trees.Value;

    /// <summary>The predictor's weights when its Score is linear in the features (SDCA, L-BFGS, OLS, … binary or regression), or null.</summary>
    public LinearModel? Linear => _linear.Value;

    /// <summary>The feature column the predictor was trained on, when it says.</summary>
    public string? FeatureColumnName => (Predictor as ISingleFeaturePredictionTransformer<object>)?.FeatureColumnName;

    /// <summary>Picks the exact or best method for this model, and says why.</summary>
    public (string Method, string Reason) ChooseMethod(ExplainedOutput output)
    {
        if (Kind == ModelKind.Onnx)
            return ("integrated-gradients", "an ONNX model gives gradients: Integrated Gradients (50 Gauss–Legendre steps, zero baseline, as Captum)");
        string name = PredictorName;
        if (output == ExplainedOutput.Probability)
            return ("kernel-shap", $"the probability of {name} is not additive in its trees or weights: Kernel SHAP over the background");
        if (Trees is { } trees) return ("tree-shap", $"{name} is a tree ensemble: exact TreeSHAP of its {trees.Explained}");
        if (Linear is not null) return ("linear-shap", $"{name} is linear in its features: exact linear SHAP of its score, w·(x − E[x]) over the background");
        return ("kernel-shap", $"{name} exposes no trees or weights: Kernel SHAP over the background");
    }

    private string PredictorName => Predictor is IPredictionTransformer<object> { Model: { } m } ? m.GetType().Name : Predictor?.GetType().Name ?? "the model";

    /// <summary>The layer oracle of an ONNX model, created once.</summary>
    public OnnxLayerOracle LayerOracle(ExplainOptions options, Action<string>? log)
    {
        lock (_gate)
        {
            return _layerOracle ??= new OnnxLayerOracle(OnnxBytes ?? throw new InvalidOperationException("Layer methods need an ONNX model."),
                options.Layer!, outputName: options.OnnxOutputName,
                options: options.Runtime(log));
        }
    }

    /// <summary>How many times <see cref="Oracle"/> built an oracle (tests prove serving reuses the batched path's).</summary>
    internal int OracleBuilds { get; private set; }

    /// <summary>The oracle, created once (its ONNX Runtime sessions are cached with it).</summary>
    public IForwardOracle Oracle(ExplainOptions options, DataViewSchema schema, Action<string>? log)
    {
        lock (_gate)
        {
            if (_oracle is null) OracleBuilds++;
            return _oracle ??= OnnxBytes is not null
                ? new OnnxGradientOracle(OnnxBytes, outputName: options.OnnxOutputName,
                    options: options.Runtime(log))
                : new MLNetForwardOracle(Predictor!, schema, options.InputColumnName,
                    options.Output == ExplainedOutput.Probability ? "Probability" : "Score");
        }
    }

    private static TreeEnsemble? ReadTrees(ITransformer predictor)
    {
        try { return TreeEnsemble.FromTransformer(predictor); }
        catch (NotSupportedException) { return null; }
    }

    private static LinearModel? ReadLinear(ITransformer predictor)
    {
        if (predictor is not IPredictionTransformer<object> { Model: { } parameters }) return null;
        if (parameters is CalibratedModelParametersBase calibrated) parameters = calibrated.SubModel;
        // Poisson regression's Score is exp(w·x + b): not linear, so not explained as linear.
        if (parameters is not LinearModelParameters linear || parameters is PoissonRegressionModelParameters) return null;
        return new LinearModel([linear.Weights.ToArray()], [linear.Bias]);
    }
}
