using Microsoft.ML.Attribution.Methods;
using Microsoft.ML.Attribution.Tensors;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;

namespace Microsoft.ML.Attribution.MLNet;

/// <summary>
/// Appends attribution columns to an <see cref="IDataView"/>: the attributions (a vector shaped like the input column,
/// carrying its slot names), the explained output index and, for methods that have one, the convergence delta. Lazy:
/// the returned view computes a block of rows per method call as cursors move. Rows out = rows in, in order; every
/// input column passes through. ML.NET's <c>Model.Save</c> cannot store third-party transformers: use
/// <c>mlContext.Attribution().Save</c>.
/// </summary>
public sealed class AttributionTransformer : ITransformer
{
    private readonly IHost? _host;

    internal AttributionTransformer(ExplainedModel model, ExplainOptions options, IHost? host)
    {
        Model = model;
        Options = options.Clone();
        Options.Validate(model.HasGradients);
        _host = host;
    }

    internal ExplainedModel Model { get; }

    /// <summary>The settings (a copy; changing it has no effect).</summary>
    public ExplainOptions Options { get; }

    /// <summary>True: <c>mlContext.Model.CreatePredictionEngine</c> explains one row per call (through the same oracle).</summary>
    public bool IsRowToRowMapper => true;

    /// <summary>
    /// A mapper explaining one row at a time through this transformer's cached oracle (the batched path's ONNX Runtime
    /// sessions and gradient graph), for prediction engines; use <see cref="Transform"/> for many rows.
    /// </summary>
    public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        return new AttributionRowMapper(this, inputSchema, OutputSchema(inputSchema, out int features), features);
    }

    /// <inheritdoc />
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema) => OutputSchema(inputSchema, out _);

    /// <inheritdoc />
    public IDataView Transform(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var schema = OutputSchema(input.Schema, out int features);
        return new ExplainedDataView(this, input, schema, features);
    }

    /// <summary>Not supported by ML.NET for third-party transformers.</summary>
    /// <exception cref="NotSupportedException">Always: save with mlContext.Attribution().Save(model, schema, path).</exception>
    /// <remarks>ML.NET has already created its target file by then; the message names it (see <see cref="ModelSaveRefusal"/>).</remarks>
    void ICanSaveModel.Save(ModelSaveContext ctx) => throw ModelSaveRefusal.Create(ctx);

    internal IHost? Host => _host;

    /// <summary>Checked between blocks (one batched method call each).</summary>
    internal CancellationToken Cancellation { get; init; }

    internal Action<string>? Log => _host is null ? null : message =>
    {
        using var channel = _host.Start("Attribution");
        channel.Warning(MessageSensitivity.None, message);
    };

    private DataViewSchema OutputSchema(DataViewSchema input, out int features)
    {
        var column = input.GetColumnOrNull(Options.InputColumnName)
            ?? throw new ArgumentOutOfRangeException(nameof(input), $"Column '{Options.InputColumnName}' not found; the data has {string.Join(", ", input.Select(c => c.Name))}.");
        bool ids = Options.Layer is not null && column.Type is VectorDataViewType { ItemType: var idType } && idType == NumberDataViewType.Int64;
        if (column.Type is not VectorDataViewType { ItemType: var item } vector || (item != NumberDataViewType.Single && !ids) || !vector.IsKnownSize)
            throw new ArgumentOutOfRangeException(nameof(input), $"Column '{Options.InputColumnName}' has type {column.Type}, expected known-size Vector<Single>" +
                (Options.Layer is null ? "." : " (or known-size Vector<Int64> of token ids for layer methods)."));
        features = vector.Size;
        if (Model.OnnxBytes is not null && Options.Layer is null && Model.Oracle(Options, input, Log) is Oracles.OnnxGradientOracle { RowShape: { } rowShape }
            && NdArray<float>.ShapeSize(rowShape) != features)
            throw new ArgumentOutOfRangeException(nameof(input), $"Column '{Options.InputColumnName}' has type {column.Type}, expected " +
                $"Vector<Single, {NdArray<float>.ShapeSize(rowShape)}> for the ONNX model's input rows shaped {NdArray<float>.FormatShape(rowShape)}.");
        if (Options.Baseline is { } b && b.Length != features)
            throw new ArgumentException($"The baseline has {b.Length} values; column '{Options.InputColumnName}' has {features}.");
        if (Options.TargetColumnName is { } targetName)
        {
            var target = input.GetColumnOrNull(targetName)
                ?? throw new ArgumentOutOfRangeException(nameof(input), $"Target column '{targetName}' not found.");
            if (target.Type != NumberDataViewType.Int32 && target.Type != NumberDataViewType.Single && target.Type is not KeyDataViewType)
                throw new ArgumentOutOfRangeException(nameof(input), $"Target column '{targetName}' has type {target.Type}, expected Int32, Single or a key.");
        }
        var builder = new DataViewSchema.Builder();
        builder.AddColumns(input);
        var annotations = new DataViewSchema.Annotations.Builder();
        if (column.Annotations.Schema.GetColumnOrNull("SlotNames") is { Type: VectorDataViewType { Size: var size } slotType } && size == features)
        {
            VBuffer<ReadOnlyMemory<char>> names = default;
            column.GetSlotNames(ref names);
            annotations.Add("SlotNames", slotType, (ref VBuffer<ReadOnlyMemory<char>> dst) => names.CopyTo(ref dst));
        }
        int k = Options.TopK;
        if (k == 1)
        {
            builder.AddColumn(Options.OutputColumnName, new VectorDataViewType(NumberDataViewType.Single, vector.Dimensions), annotations.ToAnnotations());
            builder.AddColumn(Options.TargetOutputColumnName, NumberDataViewType.Int32);
            if (Options.HasDelta) builder.AddColumn(Options.DeltaColumnName, NumberDataViewType.Single);
        }
        else
        {
            builder.AddColumn(Options.OutputColumnName, new VectorDataViewType(NumberDataViewType.Single, new[] { k }.Concat(vector.Dimensions).ToArray()));
            builder.AddColumn(Options.TargetOutputColumnName, new VectorDataViewType(NumberDataViewType.Int32, k));
            if (Options.HasDelta) builder.AddColumn(Options.DeltaColumnName, new VectorDataViewType(NumberDataViewType.Single, k));
        }
        return builder.ToSchema();
    }

    /// <summary>Explains one block of token ids [n, L] with a layer method (one value per token).</summary>
    internal AttributionResult ExplainBlock(NdArray<long> ids, int[]? targets)
    {
        Cancellation.ThrowIfCancellationRequested();
        return Options.ExplainLayer(Model.LayerOracle(Options, Log), null, ids, TargetOf(targets));
    }

    /// <summary>
    /// The k highest outputs of every row, each explained by one batched call: attributions [n, k·F] (rank-major within a
    /// row), targets [n·k] and deltas [n·k], best first.
    /// </summary>
    private AttributionResult ExplainTopK(Oracles.IForwardOracle oracle, NdArray<float> rows)
    {
        int n = rows.Rows, k = Options.TopK, f = rows.RowSize;
        var outputs = oracle.Forward(rows);
        if (outputs.RowSize < k)
            throw new ArgumentException($"TopK is {k}, but the model has {outputs.RowSize} output(s) per row.");
        var ranked = new int[n][];
        for (int r = 0; r < n; r++)
        {
            var row = outputs.Row(r).ToArray();
            ranked[r] = Enumerable.Range(0, row.Length).OrderByDescending(j => row[j]).Take(k).ToArray();
        }
        var attributions = new NdArray<float>(n, k * f);
        var targets = new int[n * k];
        float[]? deltas = Options.HasDelta ? new float[n * k] : null;
        for (int rank = 0; rank < k; rank++)
        {
            var result = Options.Explain(oracle, ReshapeForModel(oracle, rows), Target.PerRow(ranked.Select(t => t[rank]).ToArray()));
            for (int r = 0; r < n; r++)
            {
                result.Attributions.Data.AsSpan(r * f, f).CopyTo(attributions.Row(r).Slice(rank * f, f));
                targets[r * k + rank] = ranked[r][rank];
                if (deltas is not null) deltas[r * k + rank] = result.ConvergenceDelta![r];
            }
        }
        return new AttributionResult(attributions, targets, deltas);
    }

    /// <summary>Image (and other tensor) models take rows shaped [C, H, W]; ML.NET carries them as flat vectors of the same size.</summary>
    private static NdArray<float> ReshapeForModel(Oracles.IForwardOracle oracle, NdArray<float> rows) =>
        oracle is Oracles.OnnxGradientOracle { RowShape: { } shape } && shape.Length > 1 && NdArray<float>.ShapeSize(shape) == rows.RowSize
            ? rows.Reshape([rows.Rows, .. shape]) : rows;

    private Target TargetOf(int[]? targets) =>
        targets is not null ? Target.PerRow(targets) : Options.Target is int t ? Target.Class(t) : Target.Predicted;

    /// <summary>Explains one block: rows [n, F] with optional per-row targets.</summary>
    internal AttributionResult ExplainBlock(DataViewSchema sourceSchema, NdArray<float> rows, int[]? targets)
    {
        Cancellation.ThrowIfCancellationRequested();
        var target = TargetOf(targets);
        if (Options.Layer is not null) return Options.ExplainLayer(Model.LayerOracle(Options, Log), rows, null, target);
        var oracle = Model.Oracle(Options, sourceSchema, Log);
        if (Options.TopK > 1) return ExplainTopK(oracle, rows);
        var result = Options.Explain(oracle, ReshapeForModel(oracle, rows), target);
        return result with { Attributions = result.Attributions.Reshape(rows.Rows, rows.RowSize) };
    }
}
