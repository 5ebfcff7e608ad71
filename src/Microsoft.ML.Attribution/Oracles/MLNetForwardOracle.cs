using Microsoft.ML.Attribution.Tensors;
using Microsoft.ML.Data;

namespace Microsoft.ML.Attribution.Oracles;

/// <summary>
/// A fitted ML.NET model (any <see cref="ITransformer"/>: FastTree, LightGBM, a whole pipeline, an AutoML result) seen
/// as a forward oracle at the feature-vector level: rows of <c>[n, F]</c> floats are fed as the model's known-size
/// <c>Vector&lt;Single&gt;</c> input column (e.g. <c>Features</c>) and its score column is read back. Every perturbation
/// method runs on it.
/// </summary>
/// <remarks>
/// Each <see cref="Forward"/> call builds one in-memory <see cref="IDataView"/> over the whole batch, calls
/// <see cref="ITransformer.Transform"/> once and reads the output with one cursor — no prediction engine per row.
/// Other columns of <c>inputSchema</c> (a label the fitted chain still maps, say) are fed as their type's default
/// value; the scorer does not read them.
/// Outputs per row: 1 for a scalar score (regression; binary classification, where <c>Score</c> is the raw margin and
/// <c>Probability</c> the calibrated one), the number of classes for a vector score (multiclass).
/// </remarks>
public sealed class MLNetForwardOracle : IForwardOracle
{
    private readonly ITransformer _model;
    private readonly DataViewSchema _inputSchema;
    private readonly DataViewSchema.Column _feature;
    private readonly ScoreColumn _score;

    /// <summary>Wraps a fitted model.</summary>
    /// <param name="model">The fitted model.</param>
    /// <param name="inputSchema">Schema of the data the model is applied to (e.g. the training data's).</param>
    /// <param name="featureColumnName">The known-size <c>Vector&lt;Single&gt;</c> input column perturbed.</param>
    /// <param name="scoreColumnName">The explained output column: <c>Score</c> by default, or e.g. <c>Probability</c>.</param>
    public MLNetForwardOracle(ITransformer model, DataViewSchema inputSchema, string featureColumnName = "Features", string scoreColumnName = "Score")
    {
        _model = model ?? throw new ArgumentNullException(nameof(model));
        _inputSchema = inputSchema ?? throw new ArgumentNullException(nameof(inputSchema));
        ArgumentNullException.ThrowIfNull(featureColumnName);
        ArgumentNullException.ThrowIfNull(scoreColumnName);
        var feature = inputSchema.GetColumnOrNull(featureColumnName)
            ?? throw new ArgumentException($"Input schema has no column '{featureColumnName}'; its columns are " +
                $"{string.Join(", ", inputSchema.Where(c => !c.IsHidden).Select(c => $"'{c.Name}' ({c.Type})"))}.", nameof(featureColumnName));
        if (feature.Type is not VectorDataViewType { IsKnownSize: true } vector || vector.ItemType != NumberDataViewType.Single)
            throw new ArgumentException($"Column '{featureColumnName}' has type {feature.Type}, expected known-size Vector<Single>.", nameof(featureColumnName));
        _feature = feature;
        FeatureCount = vector.Size;
        FeatureNames = ReadSlotNames(feature, FeatureCount);
        _score = ScoreColumn.Find(model.GetOutputSchema(inputSchema), scoreColumnName);
    }

    /// <summary>Wraps a fitted model applied to <paramref name="data"/>'s schema.</summary>
    public MLNetForwardOracle(ITransformer model, IDataView data, string featureColumnName = "Features", string scoreColumnName = "Score")
        : this(model, (data ?? throw new ArgumentNullException(nameof(data))).Schema, featureColumnName, scoreColumnName) { }

    /// <inheritdoc />
    public string InputName => _feature.Name;

    /// <inheritdoc />
    public string OutputName => _score.Name;

    /// <inheritdoc />
    public int? MaxRowsPerCall => null;

    /// <summary>Size of the feature vector.</summary>
    public int FeatureCount { get; }

    /// <summary>Outputs per row (1 for a scalar score, classes for a vector score).</summary>
    public int OutputCount => _score.Outputs;

    /// <summary>Feature names from the column's <c>SlotNames</c> annotation, or <c>f0, f1, …</c> without one.</summary>
    public IReadOnlyList<string> FeatureNames { get; }

    /// <summary>Reads the feature column of the first <paramref name="maxRows"/> rows (all by default) as <c>[n, F]</c>.</summary>
    public NdArray<float> ReadFeatures(IDataView data, int? maxRows = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        var column = data.Schema.GetColumnOrNull(_feature.Name)
            ?? throw new ArgumentException($"Data has no column '{_feature.Name}'.", nameof(data));
        if (!column.Type.Equals(_feature.Type))
            throw new ArgumentException($"Column '{_feature.Name}' of the data has type {column.Type}, expected {_feature.Type}.", nameof(data));
        var rows = new List<float>();
        using var cursor = data.GetRowCursor([column]);
        var getter = cursor.GetGetter<VBuffer<float>>(column);
        VBuffer<float> buffer = default;
        int n = 0;
        while ((maxRows is null || n < maxRows) && cursor.MoveNext())
        {
            getter(ref buffer);
            foreach (var v in buffer.DenseValues()) rows.Add(v);
            n++;
        }
        return new NdArray<float>([.. rows], n, FeatureCount);
    }

    /// <inheritdoc />
    public void ValidateInput(NdArray<float> inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        if (inputs.Rank != 2 || inputs.Shape[1] != FeatureCount)
            throw new ArgumentException($"Input '{InputName}' expects rows shaped [n, {FeatureCount}] (Vector<Single, {FeatureCount}>); got {inputs.ShapeText}.");
        if (inputs.Rows == 0)
            throw new ArgumentException($"Input '{InputName}' has 0 rows (shape {inputs.ShapeText}); at least one row is needed.");
    }

    /// <inheritdoc />
    public NdArray<float> Forward(NdArray<float> inputs)
    {
        ValidateInput(inputs);
        int n = inputs.Rows;
        var columns = new List<BatchColumn>();
        foreach (var c in _inputSchema)
        {
            if (c.IsHidden) continue;
            columns.Add(c.Index == _feature.Index
                ? BatchColumn.Vector(c.Name, (VectorDataViewType)c.Type, inputs.Data, c.Annotations)
                : BatchColumn.Default(c.Name, c.Type, c.Annotations));
        }
        var scored = _model.Transform(new BatchDataView(n, columns));
        return new NdArray<float>(_score.Read(scored, n), n, _score.Outputs);
    }

    internal static IReadOnlyList<string> ReadSlotNames(DataViewSchema.Column column, int size)
    {
        if (column.Annotations.Schema.GetColumnOrNull("SlotNames") is not null)
        {
            VBuffer<ReadOnlyMemory<char>> names = default;
            column.GetSlotNames(ref names);
            var result = names.DenseValues().Select((s, i) => s.IsEmpty ? $"f{i}" : s.ToString()).ToArray();
            if (result.Length == size) return result;
        }
        return Enumerable.Range(0, size).Select(i => $"f{i}").ToArray();
    }
}
