using System.Text.Json.Serialization;
using Microsoft.ML.Attribution.Methods;

namespace Microsoft.ML.Attribution.MLNet;

/// <summary>Which output of a binary ML.NET model is explained.</summary>
public enum ExplainedOutput
{
    /// <summary>The raw score (the margin of a binary classifier, the prediction of a regressor, each class's score).</summary>
    Score,

    /// <summary>The calibrated probability of a binary classifier (explained as a black box over the background).</summary>
    Probability,
}

/// <summary>Where the baseline of baseline methods (ablation, Integrated Gradients, …) comes from.</summary>
public enum BaselineSource
{
    /// <summary>
    /// SHAP methods use the background rows (their expected value); other methods the given <see cref="ExplainOptions.Baseline"/>,
    /// else zeros (Captum's default).
    /// </summary>
    Auto,

    /// <summary>All zeros.</summary>
    Zeros,

    /// <summary>The mean of the background rows.</summary>
    BackgroundMean,
}

/// <summary>A feature as a person means it: a name and the feature-vector slots it spans (one-hot, hashed, …).</summary>
/// <param name="Name">The source column (or source slot) name.</param>
/// <param name="Slots">Indices into the explained feature vector.</param>
public sealed record FeatureGroup(string Name, int[] Slots);

/// <summary>
/// Settings of an explanation step in an ML.NET pipeline (saved with the model as JSON). The method's own settings are a
/// typed record from <see cref="MethodRegistry"/> (<see cref="MethodOptions"/>); this class holds the columns and what
/// the pipeline decides: which method, which output, which background, which feature groups.
/// </summary>
public sealed class ExplainOptions
{
    /// <summary>The feature column explained: a known-size vector of Single. Default "Features".</summary>
    public string InputColumnName { get; set; } = "Features";

    /// <summary>The attribution column appended (one slot per feature group, or shaped like the input). Default "Attributions".</summary>
    public string OutputColumnName { get; set; } = "Attributions";

    /// <summary>The column holding the explained output index (Int32). Default "ExplainedTarget".</summary>
    public string TargetOutputColumnName { get; set; } = "ExplainedTarget";

    /// <summary>The column holding the convergence delta (Single), for methods that have one. Default "ConvergenceDelta".</summary>
    public string DeltaColumnName { get; set; } = "ConvergenceDelta";

    /// <summary>
    /// The column holding the base value (the expected output over the background), for SHAP methods: Σ attributions +
    /// base value = the explained output. Default "BaseValue".
    /// </summary>
    public string BaseValueColumnName { get; set; } = "BaseValue";

    /// <summary>
    /// A method name from <see cref="MethodRegistry"/> (kebab-case, as the CLI spells it). Null: chosen from the model —
    /// tree-shap for tree ensembles, linear-shap for linear models, kernel-shap for other ML.NET models,
    /// integrated-gradients for ONNX models.
    /// </summary>
    public string? Method { get; set; }

    /// <summary>The method's typed options (its own record, e.g. <see cref="IntegratedGradientsOptions"/>); null for its defaults.</summary>
    [JsonConverter(typeof(MethodOptionsJsonConverter))]
    public MethodOptions? MethodOptions { get; set; }

    /// <summary>A fixed output index to explain for every row; null explains each row's prediction (or <see cref="TargetColumnName"/>).</summary>
    public int? Target { get; set; }

    /// <summary>A column (Int32, UInt32 key, or Single holding whole numbers) giving each row's output index to explain.</summary>
    public string? TargetColumnName { get; set; }

    /// <summary>
    /// Explain each row's k highest outputs (k &gt; 1): the attribution column then holds k attribution vectors (shape
    /// [k, …]), the target column the k output indices (best first) and the delta column k deltas.
    /// </summary>
    public int TopK { get; set; } = 1;

    /// <summary>
    /// Explain every output (every class of a multi-class model, LightGBM or one-versus-all FastTree …) of every row: the
    /// attribution column is then <c>Vector&lt;Single, K, W&gt;</c> (K outputs in class order, W groups or slots; row c is
    /// class c), the target column <c>Vector&lt;Int32, K&gt;</c> = 0..K−1, the base value and delta columns K values each. A
    /// model with one output keeps the one-output columns.
    /// </summary>
    public bool AllOutputs { get; set; }

    /// <summary>Which output of a binary ML.NET model to explain (default the score).</summary>
    public ExplainedOutput Output { get; set; } = ExplainedOutput.Score;

    /// <summary>Baseline values (one per feature slot); used by baseline methods when given.</summary>
    public float[]? Baseline { get; set; }

    /// <summary>Where baselines come from when <see cref="Baseline"/> is not given.</summary>
    public BaselineSource BaselineSource { get; set; } = BaselineSource.Auto;

    /// <summary>Background rows (each one feature vector): SHAP's expected value is taken over them. Set when fitted on training data.</summary>
    public float[][]? Background { get; set; }

    /// <summary>Rows sampled (fixed seed) from the training data as the background when fitting. Default 100.</summary>
    public int BackgroundSize { get; set; } = 100;

    /// <summary>Seed of the background sample.</summary>
    public int BackgroundSeed { get; set; } = 1;

    /// <summary>
    /// Features as people mean them: the attribution column gets one slot per group, named after it. Found from the chain
    /// when fitted through <c>.Explain(mlContext)</c> (one group per source column, or per source slot of a vector
    /// column with slot names); can be given explicitly.
    /// </summary>
    public List<FeatureGroup>? FeatureGroups { get; set; }

    /// <summary>
    /// Also append exact TreeSHAP interaction values (Lundberg et al. 2020) as <see cref="InteractionsColumnName"/>, a
    /// <c>Vector&lt;Single, P, P&gt;</c> per row (P = feature groups, or slots with <see cref="SlotAttributions"/>) with slot
    /// names "a × b"; row i of a row's matrix sums to its attribution i. Tree models only (path-dependent TreeSHAP).
    /// </summary>
    public bool Interactions { get; set; }

    /// <summary>The interaction column appended when <see cref="Interactions"/> is set. Default "Interactions".</summary>
    public string InteractionsColumnName { get; set; } = "Interactions";

    /// <summary>Keep one attribution per feature-vector slot instead of one per feature group.</summary>
    public bool SlotAttributions { get; set; }

    /// <summary>Rows explained per block: one batched method call per block.</summary>
    public int BlockSize { get; set; } = 256;

    /// <summary>Name of the ONNX model's output to explain (default its first output).</summary>
    public string? OnnxOutputName { get; set; }

    /// <summary>
    /// An ONNX tensor to attribute to instead of the input — typically a text model's embedding output, with the input
    /// column holding int64 token ids (layer-integrated-gradients, layer-gradient-x-activation). The layer's
    /// attributions are summed over its last axis, giving one value per input position (token).
    /// </summary>
    public string? Layer { get; set; }

    /// <summary>The token id of the baseline sequence for layer methods on token ids (Captum's default 0, usually [PAD]).</summary>
    public long BaselineTokenId { get; set; }

    /// <summary>Runs ONNX on CUDA device 0 when the ONNX Runtime build has it (else CPU, logged once); see <see cref="GpuDeviceId"/>.</summary>
    public bool UseCuda { get; set; }

    /// <summary>The CUDA device for ONNX models (ML.NET's name); null runs on the CPU unless <see cref="UseCuda"/> is set.</summary>
    public int? GpuDeviceId { get; set; }

    /// <summary>When <see cref="GpuDeviceId"/> is set but CUDA cannot be used: run on the CPU and log why (true), or fail naming what is missing.</summary>
    public bool FallbackToCpu { get; set; }

    /// <summary>The ONNX Runtime settings these options ask for.</summary>
    internal Runtime.RuntimeOptions Runtime(Action<string>? log) => GpuDeviceId is int device
        ? new Runtime.RuntimeOptions { GpuDeviceId = device, FallbackToCpu = FallbackToCpu, Log = log }
        : new Runtime.RuntimeOptions { Device = UseCuda ? Microsoft.ML.Attribution.Runtime.ExecutionDevice.Cuda : Microsoft.ML.Attribution.Runtime.ExecutionDevice.Cpu, Log = log };

    /// <summary>Why the method was chosen (set when it was chosen from the model).</summary>
    public string? MethodReason { get; set; }

    /// <summary>The registry entry of <see cref="Method"/> (which must be set).</summary>
    internal AttributionMethod MethodInfo => MethodRegistry.Get(Method ?? throw new InvalidOperationException("No method chosen yet."));

    /// <summary>The typed options in force: the given record, or the method's defaults.</summary>
    internal MethodOptions EffectiveMethodOptions
    {
        get
        {
            var method = MethodInfo;
            if (MethodOptions is null) return Layer is not null && method.CreateDefaultOptions() is LayerMethodOptions layer ? layer with { Layer = Layer } : method.CreateDefaultOptions();
            if (MethodOptions.GetType() != method.OptionsType)
                throw new ArgumentException($"ExplainOptions.MethodOptions is a {MethodOptions.GetType().Name}, but method '{method.Name}' takes {method.OptionsType.Name}.");
            return Layer is not null && MethodOptions is LayerMethodOptions { Layer: null } l ? l with { Layer = Layer } : MethodOptions;
        }
    }

    /// <summary>
    /// Checks every option that can be checked without data; <paramref name="model"/> says what the explained model offers.
    /// Thrown when the estimator is built, before any training.
    /// </summary>
    internal void Validate(ModelKind model)
    {
        if (BlockSize < 1) throw new ArgumentOutOfRangeException(nameof(BlockSize), BlockSize, "ExplainOptions.BlockSize must be at least 1.");
        if (TopK < 1) throw new ArgumentOutOfRangeException(nameof(TopK), TopK, "ExplainOptions.TopK must be at least 1.");
        if (BackgroundSize < 1) throw new ArgumentOutOfRangeException(nameof(BackgroundSize), BackgroundSize, "ExplainOptions.BackgroundSize must be at least 1.");
        if (Target is < 0) throw new ArgumentOutOfRangeException(nameof(Target), Target, "ExplainOptions.Target must be a non-negative output index.");
        if (Target is not null && TargetColumnName is not null)
            throw new ArgumentException("Give ExplainOptions.Target or ExplainOptions.TargetColumnName, not both.");
        if (MethodOptions is not null && Method is null)
            throw new ArgumentException($"ExplainOptions.MethodOptions is a {MethodOptions.GetType().Name}; set ExplainOptions.Method to the method it belongs to.");
        if (AllOutputs && (TopK > 1 || Target is not null || TargetColumnName is not null || Layer is not null || Interactions))
            throw new ArgumentException("ExplainOptions.AllOutputs explains every output of every row; it cannot be combined with TopK > 1, Target, " +
                "TargetColumnName, Layer or Interactions.");
        if (Interactions)
        {
            if (model == ModelKind.Onnx)
                throw new ArgumentException("ExplainOptions.Interactions needs TreeSHAP on an ML.NET tree ensemble; an ONNX model has no trees. Unset Interactions.");
            if (TopK > 1 || Layer is not null)
                throw new ArgumentException("ExplainOptions.Interactions explains one output per row; it cannot be combined with TopK > 1 or Layer.");
            if (Output == ExplainedOutput.Probability)
                throw new ArgumentException("ExplainOptions.Interactions explains the raw score of trees (TreeSHAP); it cannot be combined with Output = Probability.");
            if (Method is not null && Method != TreeShapMethod)
                throw new ArgumentException($"ExplainOptions.Interactions needs method '{TreeShapMethod}' (exact interaction values of tree models), " +
                    $"but ExplainOptions.Method is '{Method}'. Unset Interactions, or use a FastTree / FastForest / LightGBM trainer with Method unset or '{TreeShapMethod}'.");
        }
        if (Method is null) return;
        AttributionMethod method;
        try { method = MethodRegistry.Get(Method); }
        catch (ArgumentException e) { throw new ArgumentException($"ExplainOptions.Method: {e.Message}", nameof(Method), e); }
        _ = EffectiveMethodOptions;
        if (method.Has(MethodCapabilities.Neuron) || method.Has(MethodCapabilities.Wrapper))
            throw new ArgumentException($"ExplainOptions.Method '{Method}' is not a pipeline method (neuron methods and wrappers run from C# or the CLI).");
        bool layer = method.Has(MethodCapabilities.TakesLayer);
        if (layer != (Layer is not null || EffectiveMethodOptions is LayerMethodOptions { Layer: not null }))
            throw new ArgumentException(layer
                ? $"ExplainOptions.Method '{Method}' attributes to a layer: set ExplainOptions.Layer to an ONNX tensor name."
                : $"ExplainOptions.Layer is set, but method '{Method}' does not take a layer; use one of {Names(m => m.Has(MethodCapabilities.TakesLayer) && !m.Has(MethodCapabilities.Neuron))}.");
        if (method.Has(MethodCapabilities.RequiresBaselines))
            throw new ArgumentException($"ExplainOptions.Method '{Method}' needs a baseline distribution per call; run it from C# or the CLI.");
        if (model == ModelKind.MLNet && method.Has(MethodCapabilities.Gradients))
            throw new ArgumentException($"ExplainOptions.Method '{Method}' needs gradients, which an ML.NET model does not give; use one of " +
                $"{Names(m => m.Has(MethodCapabilities.BlackBox) || m.Has(MethodCapabilities.ExactForTrees) || m.Has(MethodCapabilities.ExactForLinear))} " +
                "(or leave Method unset to choose from the model).");
        if (model == ModelKind.Onnx && (method.Has(MethodCapabilities.ExactForTrees) || method.Has(MethodCapabilities.ExactForLinear)))
            throw new ArgumentException($"ExplainOptions.Method '{Method}' explains ML.NET tree or linear models, not ONNX models; use one of " +
                $"{Names(m => m.Has(MethodCapabilities.Gradients) || m.Has(MethodCapabilities.BlackBox))}.");
        if (Output == ExplainedOutput.Probability && (method.Has(MethodCapabilities.ExactForTrees) || method.Has(MethodCapabilities.ExactForLinear)))
            throw new ArgumentException($"ExplainOptions.Output is Probability, but '{Method}' explains the raw score (the calibrator is not additive); " +
                "use kernel-shap or shapley-value-sampling, or leave Method unset.");
        if (Interactions && EffectiveMethodOptions is TreeShapOptions { Algorithm: Tabular.TreeShapAlgorithm.Interventional })
            throw new ArgumentException("ExplainOptions.Interactions: interaction values are exact for path-dependent TreeSHAP only; " +
                "set TreeShapOptions.Algorithm to PathDependent or unset Interactions.");
        if (TopK > 1 && (Target is not null || TargetColumnName is not null || layer))
            throw new ArgumentException("ExplainOptions.TopK explains the k highest outputs of each row; it cannot be combined with Target, TargetColumnName or Layer.");
    }

    /// <summary>The registry name of TreeSHAP, the one method with interaction values.</summary>
    internal const string TreeShapMethod = "tree-shap";

    private static string Names(Func<AttributionMethod, bool> filter) => string.Join(", ", MethodRegistry.All.Where(filter).Select(m => m.Name));

    internal bool HasDelta => MethodInfo.Has(MethodCapabilities.ConvergenceDelta);

    internal bool HasBaseValue => MethodInfo.Has(MethodCapabilities.Background) && Layer is null;

    internal ExplainOptions Clone()
    {
        var copy = (ExplainOptions)MemberwiseClone();
        copy.FeatureGroups = FeatureGroups?.ToList();
        return copy;
    }
}

/// <summary>What an explained model offers.</summary>
internal enum ModelKind
{
    /// <summary>An ONNX model: gradients and forward passes.</summary>
    Onnx,

    /// <summary>A fitted ML.NET model: forward passes only (plus trees or weights where the predictor has them).</summary>
    MLNet,
}
