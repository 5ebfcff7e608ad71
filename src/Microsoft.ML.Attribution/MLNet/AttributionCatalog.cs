using Microsoft.ML.Data;
using Microsoft.ML.Attribution.Methods;
using Microsoft.ML.Runtime;

namespace Microsoft.ML.Attribution.MLNet;

/// <summary>Explanation steps (estimators appending attribution columns) and the save/load of pipelines holding them.</summary>
public sealed class AttributionCatalog
{
    private readonly MLContext _mlContext;
    private readonly IHost _host;

    internal AttributionCatalog(MLContext mlContext)
    {
        _mlContext = mlContext;
        _host = ((IHostEnvironment)mlContext).Register("Attribution");
    }

    /// <summary>Explains an ONNX model; <see cref="ExplainOptions.Method"/> null means Integrated Gradients.</summary>
    public AttributionEstimator Explain(string onnxModelPath, ExplainOptions? options = null) => new(OnnxModel(onnxModelPath), options ?? new ExplainOptions(), _host);

    /// <summary>Explains an ONNX model given as bytes.</summary>
    public AttributionEstimator Explain(byte[] onnxModel, ExplainOptions? options = null) =>
        new(ExplainedModel.Onnx(onnxModel), options ?? new ExplainOptions(), _host);

    /// <summary>
    /// Explains a fitted ML.NET predictor that scores the feature column; with no method set, the exact or best method for
    /// it (TreeSHAP, linear SHAP, Kernel SHAP). Fitting samples the background from the data it is fitted on.
    /// </summary>
    public AttributionEstimator Explain(ITransformer predictor, ExplainOptions? options = null) =>
        new(ExplainedModel.MLNet(predictor), options ?? new ExplainOptions(), _host);

    internal AttributionEstimator Typed(ExplainedModel model, string method, MethodOptions? methodOptions, ExplainOptions? pipeline)
    {
        var options = pipeline?.Clone() ?? new ExplainOptions();
        if (options.Method is not null && options.Method != method)
            throw new ArgumentException($"ExplainOptions.Method is '{options.Method}', but this catalog entry runs '{method}'; leave Method unset.");
        options.Method = method;
        options.MethodOptions = methodOptions;
        if (methodOptions is LayerMethodOptions { Layer: { } layer }) options.Layer ??= layer;
        return new AttributionEstimator(model, options, _host);
    }

    internal static ExplainedModel OnnxModel(string path) => File.Exists(path)
        ? ExplainedModel.Onnx(File.ReadAllBytes(path))
        : throw new FileNotFoundException($"ONNX model '{path}' does not exist.", path);

    /// <summary>
    /// Saves a fitted pipeline whose LAST transformer is an <see cref="AttributionTransformer"/>: one zip archive with the
    /// preceding pipeline as ML.NET saves it, the explainer's settings as JSON, and the ONNX bytes when it explains ONNX.
    /// </summary>
    /// <remarks>
    /// The archive starts with a format version (<c>format.json</c>); it is written to a temporary file beside
    /// <paramref name="path"/> and moved into place only when complete, so a refused or failed save leaves the directory
    /// unchanged. An existing file at <paramref name="path"/> is replaced only by a complete archive.
    /// </remarks>
    /// <exception cref="ArgumentException">The last transformer is not an <see cref="AttributionTransformer"/>.</exception>
    public void Save(ITransformer model, DataViewSchema inputSchema, string path)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(inputSchema);
        ArgumentException.ThrowIfNullOrEmpty(path);
        var (head, explainer) = Split(model);
        ExplainedPipelineArchive.Save(_mlContext, head, explainer, inputSchema, path);
    }

    /// <summary>Loads a pipeline saved by <see cref="Save"/>; transforming with it gives identical columns.</summary>
    /// <exception cref="InvalidDataException">The file is not such an archive, or was written in a newer format version.</exception>
    public ITransformer Load(string path, out DataViewSchema inputSchema) =>
        ExplainedPipelineArchive.Load(_mlContext, _host, path, out inputSchema);

    /// <summary>
    /// Global importance of each source column over <paramref name="data"/>, from a fitted model whose last step explains
    /// it (e.g. <c>pipeline.Explain(mlContext).Fit(train)</c>): the spread of the attributions per feature group (mean
    /// |φ|, its standard deviation, p10/p90 and mean of φ) and, beside it, permutation feature importance on the same
    /// groups — all slots of a source column shuffled together (fixed seed) — measured by the task's metrics: binary ΔAUC
    /// and ΔLogLoss, regression ΔR² and ΔRMSE, multiclass ΔMacroAccuracy and ΔLogLoss; ranking, ONNX models and data
    /// without <paramref name="labelColumnName"/>: the mean |Δ score|.
    /// </summary>
    /// <param name="explainedModel">A fitted chain ending in an <see cref="AttributionTransformer"/> (TopK = 1, no Layer).</param>
    /// <param name="data">The rows to measure on (raw input of the chain), typically held-out data.</param>
    /// <param name="labelColumnName">The label column (after the chain's transforms).</param>
    /// <param name="permutationCount">Permutations per group, averaged (ML.NET's PFI default is 1).</param>
    /// <param name="seed">Seed of the permutations.</param>
    /// <exception cref="ArgumentException">The last transformer is not an <see cref="AttributionTransformer"/>, or it explains top-k or a layer.</exception>
    public GlobalImportanceReport GlobalImportance(ITransformer explainedModel, IDataView data, string labelColumnName = "Label", int permutationCount = 1, int seed = 1)
    {
        ArgumentNullException.ThrowIfNull(explainedModel);
        ArgumentNullException.ThrowIfNull(data);
        var (head, explainer) = Split(explainedModel);
        return MLNet.GlobalImportance.Compute(_mlContext, head, explainer, data, labelColumnName, permutationCount, seed);
    }

    private static (ITransformer Head, AttributionTransformer Explainer) Split(ITransformer model)
    {
        if (model is AttributionTransformer alone) return (new TransformerChain<ITransformer>(), alone);
        if (model is IEnumerable<ITransformer> chain && chain.ToList() is { Count: > 0 } parts && parts[^1] is AttributionTransformer last)
            return (new TransformerChain<ITransformer>(parts.Take(parts.Count - 1).ToArray()), last);
        throw new ArgumentException("The pipeline's last transformer must be an AttributionTransformer; save other pipelines with mlContext.Model.Save.");
    }
}
