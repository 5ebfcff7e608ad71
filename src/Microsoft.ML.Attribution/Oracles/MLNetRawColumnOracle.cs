using Microsoft.ML.Attribution.Tensors;
using Microsoft.ML.Data;

namespace Microsoft.ML.Attribution.Oracles;

/// <summary>
/// A whole ML.NET pipeline (e.g. Concatenate + OneHotEncoding + a trainer) over raw columns of mixed types seen as a
/// forward oracle: each raw column is one feature.
/// </summary>
/// <remarks>
/// <para>Encoding. A row is <c>F</c> floats, one slot per feature column, in the order given:</para>
/// <list type="bullet">
/// <item>numeric columns (<c>Single</c>, <c>Double</c>, <c>Int32</c>, <c>Int64</c>) carry their value (integer
/// columns are rounded back; <c>Double</c> passes through float precision);</item>
/// <item>categorical columns (<c>String</c>, <c>Boolean</c>, key types) carry a <i>code</i>: the index of the value
/// in the column's dictionary of values observed in the data given at construction, in order of first appearance
/// (<see cref="Categories"/>).</item>
/// </list>
/// <para>Perturbation methods that <i>replace</i> a feature by its baseline (feature ablation, Shapley value sampling,
/// KernelSHAP, LIME) work unchanged on this encoding: take baselines from <see cref="Encode"/> of background rows, so
/// a replaced text column takes a background row's text. Methods that interpolate (Integrated Gradients, noise) would
/// produce fractional codes, which <see cref="ValidateInput"/> rejects.</para>
/// <para><see cref="Forward"/> decodes a batch back to raw columns, builds one in-memory <see cref="IDataView"/>, calls
/// <see cref="ITransformer.Transform"/> once and reads the score column with one cursor. Columns of the data that are
/// not features (a label, say) are fed as their type's default value.</para>
/// </remarks>
public sealed class MLNetRawColumnOracle : IForwardOracle
{
    private readonly ITransformer _model;
    private readonly DataViewSchema _schema;
    private readonly RawColumnCodec[] _codecs;
    private readonly int[] _featureIndex; // schema column index → feature slot, or -1
    private readonly ScoreColumn _score;

    /// <summary>Wraps a fitted pipeline; builds the categorical dictionaries from <paramref name="data"/>.</summary>
    /// <param name="model">The fitted pipeline, applied to data shaped like <paramref name="data"/>.</param>
    /// <param name="data">Data with the raw columns (training or background data): its schema and observed categories.</param>
    /// <param name="featureColumns">The raw columns that are the features, in slot order.</param>
    /// <param name="scoreColumnName">The explained output column.</param>
    public MLNetRawColumnOracle(ITransformer model, IDataView data, IReadOnlyList<string> featureColumns, string scoreColumnName = "Score")
    {
        _model = model ?? throw new ArgumentNullException(nameof(model));
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(featureColumns);
        if (featureColumns.Count == 0) throw new ArgumentException("Give at least one feature column.", nameof(featureColumns));
        _schema = data.Schema;
        _featureIndex = Enumerable.Repeat(-1, _schema.Count).ToArray();
        _codecs = new RawColumnCodec[featureColumns.Count];
        for (int f = 0; f < featureColumns.Count; f++)
        {
            var column = _schema.GetColumnOrNull(featureColumns[f])
                ?? throw new ArgumentException($"Data has no column '{featureColumns[f]}'; its columns are " +
                    $"{string.Join(", ", _schema.Where(c => !c.IsHidden).Select(c => $"'{c.Name}' ({c.Type})"))}.", nameof(featureColumns));
            if (_featureIndex[column.Index] >= 0)
                throw new ArgumentException($"Column '{column.Name}' is listed twice.", nameof(featureColumns));
            _featureIndex[column.Index] = f;
            _codecs[f] = RawColumnCodec.For(column);
        }
        foreach (var codec in _codecs) codec.Observe(data);
        _score = ScoreColumn.Find(model.GetOutputSchema(_schema), scoreColumnName);
    }

    /// <inheritdoc />
    public string InputName => "raw columns";

    /// <inheritdoc />
    public string OutputName => _score.Name;

    /// <inheritdoc />
    public int? MaxRowsPerCall => null;

    /// <summary>The feature columns, in slot order.</summary>
    public IReadOnlyList<string> FeatureNames => _codecs.Select(c => c.Column.Name).ToArray();

    /// <summary>Outputs per row.</summary>
    public int OutputCount => _score.Outputs;

    /// <summary>Whether feature <paramref name="feature"/> carries a category code rather than a value.</summary>
    public bool IsCategorical(int feature) => _codecs[feature].IsCategorical;

    /// <summary>The observed values of a categorical feature, indexed by code (empty for a numeric feature).</summary>
    public IReadOnlyList<object> Categories(int feature) => _codecs[feature].Categories;

    /// <summary>
    /// Encodes the first <paramref name="maxRows"/> rows of <paramref name="data"/> (all by default) as <c>[n, F]</c>;
    /// a categorical value never observed before is an error naming the column and value.
    /// </summary>
    public NdArray<float> Encode(IDataView data, int? maxRows = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        var columns = _codecs.Select(c =>
        {
            var col = data.Schema.GetColumnOrNull(c.Column.Name)
                ?? throw new ArgumentException($"Data has no column '{c.Column.Name}'.", nameof(data));
            if (!col.Type.Equals(c.Column.Type))
                throw new ArgumentException($"Column '{c.Column.Name}' has type {col.Type}, expected {c.Column.Type}.", nameof(data));
            return col;
        }).ToArray();
        using var cursor = data.GetRowCursor(columns);
        var readers = _codecs.Select((c, f) => c.Reader(cursor, columns[f])).ToArray();
        var values = new List<float>();
        int n = 0;
        while ((maxRows is null || n < maxRows) && cursor.MoveNext())
        {
            foreach (var read in readers) values.Add(read());
            n++;
        }
        return new NdArray<float>([.. values], n, _codecs.Length);
    }

    /// <inheritdoc />
    public void ValidateInput(NdArray<float> inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        int f = _codecs.Length;
        if (inputs.Rank != 2 || inputs.Shape[1] != f)
            throw new ArgumentException($"Input '{InputName}' expects rows shaped [n, {f}] (one slot per column: {string.Join(", ", FeatureNames)}); got {inputs.ShapeText}.");
        if (inputs.Rows == 0)
            throw new ArgumentException($"Input '{InputName}' has 0 rows (shape {inputs.ShapeText}); at least one row is needed.");
        for (int i = 0; i < inputs.Length; i++)
            _codecs[i % f].Check(inputs.Data[i], i / f);
    }

    /// <inheritdoc />
    public NdArray<float> Forward(NdArray<float> inputs)
    {
        ValidateInput(inputs);
        int n = inputs.Rows;
        var columns = new List<BatchColumn>();
        foreach (var c in _schema)
        {
            if (c.IsHidden) continue;
            int f = _featureIndex[c.Index];
            columns.Add(f >= 0 ? _codecs[f].Decode(inputs, f) : BatchColumn.Default(c.Name, c.Type, c.Annotations));
        }
        var scored = _model.Transform(new BatchDataView(n, columns));
        return new NdArray<float>(_score.Read(scored, n), n, _score.Outputs);
    }
}
