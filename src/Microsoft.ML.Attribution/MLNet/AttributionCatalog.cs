using System.IO.Compression;
using System.Text.Json;
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
    public void Save(ITransformer model, DataViewSchema inputSchema, string path)
    {
        ArgumentNullException.ThrowIfNull(model);
        var (head, explainer) = Split(model);
        if (File.Exists(path)) File.Delete(path);
        using var archive = ZipFile.Open(path, ZipArchiveMode.Create);
        using (var stream = archive.CreateEntry("pipeline.zip").Open())
            _mlContext.Model.Save(head, inputSchema, stream);
        var settings = new SavedExplainer(explainer.Model.OnnxBytes is not null ? "onnx" : "mlnet-predictor", explainer.Options);
        using (var stream = archive.CreateEntry("explainer.json").Open())
            JsonSerializer.Serialize(stream, settings, JsonOptions);
        if (explainer.Model.OnnxBytes is { } bytes)
        {
            using var stream = archive.CreateEntry("model.onnx").Open();
            stream.Write(bytes);
        }
    }

    /// <summary>Loads a pipeline saved by <see cref="Save"/>; transforming with it gives identical columns.</summary>
    public ITransformer Load(string path, out DataViewSchema inputSchema)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"Saved pipeline '{path}' does not exist.", path);
        using var archive = ZipFile.OpenRead(path);
        var pipelineEntry = archive.GetEntry("pipeline.zip") ?? throw new InvalidDataException($"'{path}' has no pipeline.zip: it was not written by Attribution().Save.");
        using var pipelineStream = new MemoryStream();
        using (var s = pipelineEntry.Open()) s.CopyTo(pipelineStream);
        pipelineStream.Position = 0;
        var head = _mlContext.Model.Load(pipelineStream, out inputSchema);
        SavedExplainer settings;
        using (var s = (archive.GetEntry("explainer.json") ?? throw new InvalidDataException($"'{path}' has no explainer.json.")).Open())
            settings = JsonSerializer.Deserialize<SavedExplainer>(s, JsonOptions) ?? throw new InvalidDataException($"'{path}': explainer.json is empty.");
        ExplainedModel model;
        if (settings.Kind == "onnx")
        {
            using var s = (archive.GetEntry("model.onnx") ?? throw new InvalidDataException($"'{path}' has no model.onnx.")).Open();
            using var bytes = new MemoryStream();
            s.CopyTo(bytes);
            model = ExplainedModel.Onnx(bytes.ToArray());
        }
        else
        {
            model = ExplainedModel.MLNet(ExplainingEstimator.Predictor(head));
        }
        var explainer = new AttributionTransformer(model, settings.Options, _host);
        return new TransformerChain<ITransformer>(head, explainer);
    }

    private static (ITransformer Head, AttributionTransformer Explainer) Split(ITransformer model)
    {
        if (model is AttributionTransformer alone) return (new TransformerChain<ITransformer>(), alone);
        if (model is IEnumerable<ITransformer> chain && chain.ToList() is { Count: > 0 } parts && parts[^1] is AttributionTransformer last)
            return (new TransformerChain<ITransformer>(parts.Take(parts.Count - 1).ToArray()), last);
        throw new ArgumentException("The pipeline's last transformer must be an AttributionTransformer; save other pipelines with mlContext.Model.Save.");
    }

    private static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true };

    private sealed record SavedExplainer(string Kind, ExplainOptions Options);
}
