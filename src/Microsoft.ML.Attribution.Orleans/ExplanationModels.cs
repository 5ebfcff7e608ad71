using System.Collections.Concurrent;
using Microsoft.ML.Attribution.Methods;
using Microsoft.ML.Attribution.Oracles;
using Microsoft.ML.Attribution.Tabular;

namespace Microsoft.ML.Attribution.Orleans;

/// <summary>
/// The models a silo (or one process) has loaded, keyed by content hash: one ONNX Runtime session (or one loaded ML.NET
/// model and its trees) per model per silo, shared by every partition explained there.
/// </summary>
public sealed class ExplanationModels
{
    private readonly ConcurrentDictionary<string, Lazy<LoadedModel>> _models = new(StringComparer.Ordinal);

    /// <summary>Models loaded so far.</summary>
    public int Count => _models.Count;

    /// <summary>The model of <paramref name="job"/>, loaded on first use; the file must still have the job's hash.</summary>
    /// <exception cref="InvalidDataException">The file's content is not the one the job was submitted with.</exception>
    internal LoadedModel Get(ExplanationJob job)
    {
        var lazy = _models.GetOrAdd(job.ModelHash, _ => new Lazy<LoadedModel>(() => Load(job), LazyThreadSafetyMode.ExecutionAndPublication));
        try { return lazy.Value; }
        catch
        {
            _models.TryRemove(new KeyValuePair<string, Lazy<LoadedModel>>(job.ModelHash, lazy));
            throw;
        }
    }

    private static LoadedModel Load(ExplanationJob job)
    {
        string hash = ExplanationJob.HashFile(job.ModelPath);
        if (hash != job.ModelHash)
            throw new InvalidDataException($"Model '{job.ModelPath}' has SHA-256 {hash}; the job was submitted for {job.ModelHash} (the file changed).");
        if (string.Equals(Path.GetExtension(job.ModelPath), ".onnx", StringComparison.OrdinalIgnoreCase))
            return new LoadedModel(new OnnxGradientOracle(job.ModelPath), null);
        var context = new MLContext(seed: 0);
        var model = context.Model.Load(job.ModelPath, out var schema);
        TreeEnsemble? trees;
        try { trees = TreeEnsemble.FromTransformer(model); }
        catch (NotSupportedException) { trees = null; }
        string feature = trees?.FeatureColumnName ?? "Features";
        if (schema.GetColumnOrNull(feature) is null)
            throw new InvalidDataException($"ML.NET model '{job.ModelPath}' has no input column '{feature}'; explanation jobs feed the feature vector the predictor reads.");
        return new LoadedModel(new MLNetForwardOracle(model, schema, feature), trees);
    }
}

/// <summary>A loaded model: its forward (and, for ONNX, gradient) oracle and, for tree ensembles, its trees.</summary>
internal sealed record LoadedModel(IForwardOracle Oracle, TreeEnsemble? Trees)
{
    public MethodInputs Inputs() => new() { Model = Oracle, Trees = Trees };
}
