using Microsoft.ML.Attribution.Methods;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;

namespace Microsoft.ML.Attribution.MLNet;

/// <summary>
/// <c>.Explain(mlContext)</c>: fits a training pipeline, then appends the explanation of its predictor. With no options
/// it picks the exact or best method for the fitted model (TreeSHAP for trees, linear SHAP for linear models, Kernel SHAP
/// otherwise), explains the predictor's own feature column, groups its slots by the source columns they came from, and
/// takes a fixed-seed sample of the training rows as the background.
/// </summary>
public sealed class ExplainingEstimator : IEstimator<TransformerChain<ITransformer>>
{
    private readonly MLContext _mlContext;
    private readonly IEstimator<ITransformer> _inner;
    private readonly ExplainOptions _options;
    private readonly bool _baselineFromMeans;
    private readonly ChainInspection.OnnxStep? _onnx;

    internal ExplainingEstimator(MLContext mlContext, IEstimator<ITransformer> inner, ExplainOptions options, bool baselineFromMeans)
    {
        _mlContext = mlContext ?? throw new ArgumentNullException(nameof(mlContext));
        _inner = inner ?? throw new ArgumentNullException(nameof(inner));
        _options = options.Clone();
        var trainer = ChainInspection.Classify(inner);
        if (trainer == ChainInspection.TrainerKind.Onnx)
        {
            // ApplyOnnxModel: the ONNX graph is explained with gradients, on the column ML.NET feeds to its first input.
            _onnx = ChainInspection.Onnx(ChainInspection.LastEstimator(inner));
            if (_options.InputColumnName == new ExplainOptions().InputColumnName && _onnx.Inputs.Length > 0) _options.InputColumnName = _onnx.Inputs[0];
            if (_options.OnnxOutputName is null && _onnx.Outputs.Length > 0) _options.OnnxOutputName = _onnx.Outputs[0];
        }
        _options.Validate(_onnx is null ? ModelKind.MLNet : ModelKind.Onnx);
        if (_options.Interactions && _options.Method is null
            && trainer is ChainInspection.TrainerKind.NotTrees or ChainInspection.TrainerKind.Onnx)
            throw new ArgumentException($"ExplainOptions.Interactions needs TreeSHAP, but the chain ends in {ChainInspection.LastEstimator(inner).GetType().Name}, " +
                "which trains no tree ensemble; use a FastTree / FastForest / LightGBM trainer or unset Interactions.");
        _baselineFromMeans = baselineFromMeans;
    }

    /// <summary>Cancels explanation between blocks.</summary>
    public CancellationToken Cancellation { get; init; }

    /// <inheritdoc />
    public TransformerChain<ITransformer> Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        // Every check that needs no trained model runs before the inner chain trains (minutes on real data).
        GetOutputSchema(SchemaShapeColumns.Of(input.Schema));
        var fitted = _inner.Fit(input);
        var predictor = Predictor(fitted);
        var options = _options.Clone();
        var model = _onnx is not null ? ExplainedModel.Onnx(_onnx.ModelBytes) : ExplainedModel.MLNet(predictor);
        if (model.FeatureColumnName is { } feature && options.InputColumnName == new ExplainOptions().InputColumnName) options.InputColumnName = feature;
        if (options.Method is null)
        {
            (options.Method, options.MethodReason) = model.ChooseMethod(options.Output);
            options.Validate(model.Kind);
        }
        var scored = fitted.Transform(input);
        var column = scored.Schema.GetColumnOrNull(options.InputColumnName)
            ?? throw new ArgumentException($"The fitted chain outputs no column '{options.InputColumnName}' to explain; its columns are " +
                $"{string.Join(", ", scored.Schema.Where(c => !c.IsHidden).Select(c => c.Name))}. Set ExplainOptions.InputColumnName.");
        options.FeatureGroups ??= FeatureGroupSet.FromSchema(column, input.Schema);
        if (_baselineFromMeans) options.Baseline = Background.ColumnMeans(scored, options.InputColumnName);
        var explainer = new AttributionEstimator(model, options, ((IHostEnvironment)_mlContext).Register("Attribution")) { Cancellation = Cancellation }.Fit(scored);
        return new TransformerChain<ITransformer>(fitted, explainer);
    }

    /// <inheritdoc />
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        var inner = _inner.GetOutputSchema(inputSchema);
        if (_options.TargetColumnName is { } target && !inner.Any(c => c.Name == target))
            throw new ArgumentOutOfRangeException(nameof(inputSchema), $"ExplainOptions.TargetColumnName: the chain outputs no column '{target}'; it outputs " +
                $"{string.Join(", ", inner.Select(c => c.Name))}.");
        var columns = inner.ToDictionary(c => c.Name);
        if (!columns.TryGetValue(_options.InputColumnName, out var features))
            throw new ArgumentOutOfRangeException(nameof(inputSchema), $"ExplainOptions.InputColumnName: the chain outputs no column '{_options.InputColumnName}' " +
                $"to explain; it outputs {string.Join(", ", inner.Select(c => c.Name))}. Set InputColumnName to the trainer's feature column.");
        if (features.Kind != SchemaShape.Column.VectorKind.Vector || features.ItemType != NumberDataViewType.Single)
            throw new ArgumentOutOfRangeException(nameof(inputSchema), $"Column '{_options.InputColumnName}' will have type {features.ItemType} ({features.Kind}); " +
                "explained columns must be known-size Vector<Single>.");
        columns[_options.OutputColumnName] = SchemaShapeColumns.Create(_options.OutputColumnName, SchemaShape.Column.VectorKind.Vector, NumberDataViewType.Single);
        var perRank = _options.TopK > 1 || _options.AllOutputs ? SchemaShape.Column.VectorKind.Vector : SchemaShape.Column.VectorKind.Scalar;
        columns[_options.TargetOutputColumnName] = SchemaShapeColumns.Create(_options.TargetOutputColumnName, perRank, NumberDataViewType.Int32);
        if (_options.Interactions)
            columns[_options.InteractionsColumnName] = SchemaShapeColumns.Create(_options.InteractionsColumnName, SchemaShape.Column.VectorKind.Vector, NumberDataViewType.Single);
        // Which of delta / base value is added depends on the method chosen from the trained model.
        return new SchemaShape(columns.Values);
    }

    /// <summary>The last transformer of a fitted chain (any TransformerChain&lt;T&gt;, nested chains unwrapped), or the model itself.</summary>
    internal static ITransformer Predictor(ITransformer fitted)
    {
        while (fitted is IEnumerable<ITransformer> chain && chain.LastOrDefault() is { } last) fitted = last;
        return fitted;
    }
}

/// <summary>Background rows: a fixed-seed sample of the data a step is fitted on.</summary>
internal static class Background
{
    /// <summary>Up to <paramref name="size"/> rows of a vector column, sampled without replacement (reservoir, fixed seed), in data order.</summary>
    public static float[][] Sample(IDataView data, string column, int size, int seed)
    {
        var random = new Random(seed);
        var chosen = new List<(long Index, float[] Row)>(size);
        long seen = 0;
        foreach (var row in data.GetColumn<float[]>(column))
        {
            if (chosen.Count < size) chosen.Add((seen, row));
            else if (random.NextInt64(seen + 1) is var slot && slot < size) chosen[(int)slot] = (seen, row);
            seen++;
        }
        return chosen.OrderBy(c => c.Index).Select(c => c.Row).ToArray();
    }

    /// <summary>Mean of every slot of a vector column.</summary>
    public static float[] ColumnMeans(IDataView data, string column)
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
