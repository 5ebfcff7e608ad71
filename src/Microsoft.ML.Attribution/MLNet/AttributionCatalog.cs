using Microsoft.ML.Data;
using Microsoft.ML.Runtime;

namespace Microsoft.ML.Attribution.MLNet;

/// <summary>The library's entry point on an <see cref="MLContext"/>: <c>mlContext.Attribution()</c>.</summary>
public static class AttributionMLContextExtensions
{
    /// <summary>Explanation steps for ML.NET pipelines, and their save/load.</summary>
    public static AttributionCatalog Attribution(this MLContext mlContext) => new(mlContext ?? throw new ArgumentNullException(nameof(mlContext)));

    /// <summary>
    /// Appends an explanation of the fitted model to an estimator chain: fitting trains the chain, then explains its last
    /// transformer (the predictor) on the feature column with a perturbation method (ML.NET models give no gradients).
    /// </summary>
    /// <param name="estimator">The training pipeline (featurizers + trainer).</param>
    /// <param name="mlContext">The context (logging, cancellation).</param>
    /// <param name="options">Method and columns; default feature-ablation on "Features".</param>
    /// <param name="baselineFromTrainingMeans">Use the training data's feature means as the baseline.</param>
    public static ExplainingEstimator Explain<TTransformer>(this IEstimator<TTransformer> estimator, MLContext mlContext,
        ExplainOptions? options = null, bool baselineFromTrainingMeans = false) where TTransformer : class, ITransformer =>
        new(mlContext, (IEstimator<ITransformer>)estimator, options ?? new ExplainOptions { Method = "feature-ablation" }, baselineFromTrainingMeans);
}

/// <summary><c>.Explain()</c>: fits a training pipeline, then appends the explanation of its predictor.</summary>
public sealed class ExplainingEstimator : IEstimator<TransformerChain<ITransformer>>
{
    private readonly MLContext _mlContext;
    private readonly IEstimator<ITransformer> _inner;
    private readonly ExplainOptions _options;
    private readonly bool _baselineFromMeans;

    internal ExplainingEstimator(MLContext mlContext, IEstimator<ITransformer> inner, ExplainOptions options, bool baselineFromMeans)
    {
        _mlContext = mlContext;
        _inner = inner;
        _options = options.Clone();
        _baselineFromMeans = baselineFromMeans;
    }

    /// <inheritdoc />
    public TransformerChain<ITransformer> Fit(IDataView input)
    {
        var fitted = _inner.Fit(input);
        var predictor = Predictor(fitted);
        var options = _options.Clone();
        var scored = fitted.Transform(input);
        if (_baselineFromMeans) options.Baseline = ColumnMeans(scored, options.InputColumnName);
        var explainer = _mlContext.Attribution().Explain(predictor, options).Fit(scored);
        return new TransformerChain<ITransformer>(fitted, explainer);
    }

    /// <inheritdoc />
    public SchemaShape GetOutputSchema(SchemaShape inputSchema) =>
        new AttributionEstimator(ExplainedModel.MLNet(new TransformerChain<ITransformer>()), _options, null).GetOutputSchema(_inner.GetOutputSchema(inputSchema));

    /// <summary>The last transformer of a fitted chain (any TransformerChain&lt;T&gt;, nested chains unwrapped), or the model itself.</summary>
    internal static ITransformer Predictor(ITransformer fitted)
    {
        while (fitted is IEnumerable<ITransformer> chain && chain.LastOrDefault() is { } last) fitted = last;
        return fitted;
    }

    private static float[] ColumnMeans(IDataView data, string column)
    {
        double[]? sums = null;
        long rows = 0;
        foreach (var row in data.GetColumn<float[]>(column))
        {
            sums ??= new double[row.Length];
            for (int j = 0; j < row.Length; j++) sums[j] += row[j];
            rows++;
        }
        return sums is null ? [] : sums.Select(s => (float)(s / Math.Max(1, rows))).ToArray();
    }
}

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

    /// <summary>Explains an ONNX model (every method; gradient methods run its built backward pass).</summary>
    public AttributionEstimator Explain(string onnxModelPath, ExplainOptions? options = null)
    {
        if (!File.Exists(onnxModelPath)) throw new FileNotFoundException($"ONNX model '{onnxModelPath}' does not exist.", onnxModelPath);
        return Explain(File.ReadAllBytes(onnxModelPath), options);
    }

    /// <summary>Explains an ONNX model given as bytes.</summary>
    public AttributionEstimator Explain(byte[] onnxModel, ExplainOptions? options = null) =>
        new(ExplainedModel.Onnx(onnxModel), options ?? new ExplainOptions(), _host);

    /// <summary>Explains a fitted ML.NET predictor that scores the feature column (perturbation methods only).</summary>
    public AttributionEstimator Explain(ITransformer predictor, ExplainOptions? options = null) =>
        new(ExplainedModel.MLNet(predictor), options ?? new ExplainOptions { Method = "feature-ablation" }, _host);

    /// <summary>Integrated Gradients of an ONNX model as a pipeline step.</summary>
    /// <param name="outputColumnName">The attribution column to append.</param>
    /// <param name="inputColumnName">The feature column (known-size Vector&lt;Single&gt;).</param>
    /// <param name="onnxModelPath">The ONNX model.</param>
    /// <param name="steps">Integration points.</param>
    /// <param name="target">A fixed output index; null explains each row's prediction.</param>
    public AttributionEstimator IntegratedGradients(string outputColumnName, string inputColumnName, string onnxModelPath, int steps = 50, int? target = null) =>
        Explain(onnxModelPath, new ExplainOptions { OutputColumnName = outputColumnName, InputColumnName = inputColumnName, Steps = steps, Target = target });

    /// <summary>Feature ablation of any ML.NET predictor as a pipeline step.</summary>
    public AttributionEstimator FeatureAblation(string outputColumnName, string inputColumnName, ITransformer predictor, int? target = null) =>
        Explain(predictor, new ExplainOptions { OutputColumnName = outputColumnName, InputColumnName = inputColumnName, Method = "feature-ablation", Target = target });

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

    private static (ITransformer Head, AttributionTransformer Explainer) Split(ITransformer model)
    {
        if (model is AttributionTransformer alone) return (new TransformerChain<ITransformer>(), alone);
        if (model is IEnumerable<ITransformer> chain && chain.ToList() is { Count: > 0 } parts && parts[^1] is AttributionTransformer last)
            return (new TransformerChain<ITransformer>(parts.Take(parts.Count - 1).ToArray()), last);
        throw new ArgumentException("The pipeline's last transformer must be an AttributionTransformer; save other pipelines with mlContext.Model.Save.");
    }
}
