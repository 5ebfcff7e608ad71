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
        Options.Validate(model.Kind);
        if (Options.Method is null) throw new ArgumentException("ExplainOptions.Method must be chosen before the transformer is built.");
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
        if (Options.FeatureGroups is { } groups && !Options.SlotAttributions) FeatureGroupSet.Check(groups, features, Options.InputColumnName);
        var builder = new DataViewSchema.Builder();
        builder.AddColumns(input);
        var annotations = new DataViewSchema.Annotations.Builder();
        int[] dimensions = vector.Dimensions.ToArray();
        if (Grouped)
        {
            var names = Options.FeatureGroups!.Select(g => g.Name.AsMemory()).ToArray();
            annotations.Add("SlotNames", new VectorDataViewType(TextDataViewType.Instance, names.Length),
                (ref VBuffer<ReadOnlyMemory<char>> dst) => new VBuffer<ReadOnlyMemory<char>>(names.Length, names).CopyTo(ref dst));
            dimensions = [names.Length];
        }
        else if (column.Annotations.Schema.GetColumnOrNull("SlotNames") is { Type: VectorDataViewType { Size: var size } slotType } && size == features)
        {
            VBuffer<ReadOnlyMemory<char>> names = default;
            column.GetSlotNames(ref names);
            annotations.Add("SlotNames", slotType, (ref VBuffer<ReadOnlyMemory<char>> dst) => names.CopyTo(ref dst));
        }
        string method = $"{Options.Method}{(Options.MethodReason is { } why ? $": {why}" : "")}";
        annotations.Add<ReadOnlyMemory<char>>(MethodAnnotation, TextDataViewType.Instance, (ref ReadOnlyMemory<char> dst) => dst = method.AsMemory());
        int k = Ranks = Options.AllOutputs ? OutputCount(input, features) : Options.TopK;
        if (k == 1)
        {
            builder.AddColumn(Options.OutputColumnName, new VectorDataViewType(NumberDataViewType.Single, dimensions), annotations.ToAnnotations());
            builder.AddColumn(Options.TargetOutputColumnName, NumberDataViewType.Int32);
            if (Options.HasDelta) builder.AddColumn(Options.DeltaColumnName, NumberDataViewType.Single);
            if (Options.HasBaseValue) builder.AddColumn(Options.BaseValueColumnName, NumberDataViewType.Single);
            if (Options.Interactions) AddInteractionsColumn(builder, column, features);
        }
        else
        {
            builder.AddColumn(Options.OutputColumnName, new VectorDataViewType(NumberDataViewType.Single, new[] { k }.Concat(dimensions).ToArray()), annotations.ToAnnotations());
            builder.AddColumn(Options.TargetOutputColumnName, new VectorDataViewType(NumberDataViewType.Int32, k));
            if (Options.HasDelta) builder.AddColumn(Options.DeltaColumnName, new VectorDataViewType(NumberDataViewType.Single, k));
            if (Options.HasBaseValue) builder.AddColumn(Options.BaseValueColumnName, new VectorDataViewType(NumberDataViewType.Single, k));
        }
        return builder.ToSchema();
    }

    /// <summary>The P×P interaction column, its slot names "a × b" over the players (feature groups, or slots).</summary>
    private void AddInteractionsColumn(DataViewSchema.Builder builder, DataViewSchema.Column input, int features)
    {
        string[] players;
        if (Grouped) players = Options.FeatureGroups!.Select(g => g.Name).ToArray();
        else if (input.Annotations.Schema.GetColumnOrNull("SlotNames") is { Type: VectorDataViewType { Size: var size } } && size == features)
        {
            VBuffer<ReadOnlyMemory<char>> slotNames = default;
            input.GetSlotNames(ref slotNames);
            players = slotNames.DenseValues().Select((m, j) => m.Length > 0 ? m.ToString() : $"slot {j}").ToArray();
        }
        else players = Enumerable.Range(0, features).Select(j => $"slot {j}").ToArray();
        int p = players.Length;
        var names = new ReadOnlyMemory<char>[p * p];
        for (int i = 0; i < p; i++) for (int j = 0; j < p; j++) names[i * p + j] = $"{players[i]} × {players[j]}".AsMemory();
        var annotations = new DataViewSchema.Annotations.Builder();
        annotations.Add("SlotNames", new VectorDataViewType(TextDataViewType.Instance, names.Length),
            (ref VBuffer<ReadOnlyMemory<char>> dst) => new VBuffer<ReadOnlyMemory<char>>(names.Length, names).CopyTo(ref dst));
        builder.AddColumn(Options.InteractionsColumnName, new VectorDataViewType(NumberDataViewType.Single, p, p), annotations.ToAnnotations());
    }

    /// <summary>Explanations per row: <see cref="ExplainOptions.TopK"/>, or the model's output count with <see cref="ExplainOptions.AllOutputs"/>.</summary>
    internal int Ranks { get; private set; } = 1;

    /// <summary>The explained model's outputs per row (classes of a multi-class model).</summary>
    private int OutputCount(DataViewSchema input, int features)
    {
        if (Model.Trees is { } trees) return trees.OutputCount;
        var oracle = Model.Oracle(Options, input, Log);
        if (oracle is Oracles.MLNetForwardOracle mlnet) return mlnet.OutputCount;
        var row = Options.Background is { Length: > 0 } background ? background[0] : new float[features];
        return oracle.Forward(ReshapeForModel(oracle, new NdArray<float>((float[])row.Clone(), 1, features))).RowSize;
    }

    /// <summary>The annotation on the attribution column naming the method and why it was chosen.</summary>
    public const string MethodAnnotation = "AttributionMethod";

    /// <summary>One attribution per feature group (not per slot).</summary>
    internal bool Grouped => Options.FeatureGroups is not null && !Options.SlotAttributions;

    /// <summary>The appended columns in schema order.</summary>
    internal IReadOnlyList<ExtraColumn> ExtraColumns =>
    [
        ExtraColumn.Attributions, ExtraColumn.Target,
        .. Options.HasDelta ? [ExtraColumn.Delta] : Array.Empty<ExtraColumn>(),
        .. Options.HasBaseValue ? [ExtraColumn.BaseValue] : Array.Empty<ExtraColumn>(),
        .. Options.Interactions ? [ExtraColumn.Interactions] : Array.Empty<ExtraColumn>(),
    ];

    /// <summary>Explains one block of token ids [n, L] with a layer method (one value per token).</summary>
    internal AttributionResult ExplainBlock(NdArray<long> ids, int[]? targets)
    {
        Cancellation.ThrowIfCancellationRequested();
        return ExplainLayer(new MethodInputs { LayerModel = _ => Model.LayerOracle(Options, Log), TokenIds = ids,
            TokenBaselines = new NdArray<long>([Options.BaselineTokenId], 1), Target = TargetOf(targets) }, ids.Rows, ids.RowSize);
    }

    /// <summary>A layer method; its attributions summed over the layer's last axis (one value per input position).</summary>
    private AttributionResult ExplainLayer(MethodInputs inputs, int n, int positions)
    {
        var result = Options.MethodInfo.Attribute(inputs, Options.EffectiveMethodOptions);
        var layer = result.Attributions;
        int last = layer.Shape[^1];
        if (layer.Length != (long)n * positions * last)
            throw new InvalidOperationException($"Layer '{Options.Layer}' is shaped {layer.ShapeText}: summing its last axis does not give one value per input " +
                $"position ({positions}); name the embedding output (shaped [N, {positions}, D]).");
        var summed = new NdArray<float>(n, positions);
        for (int i = 0; i < summed.Length; i++)
        {
            double total = 0;
            for (int k = 0; k < last; k++) total += layer.Data[i * last + k];
            summed.Data[i] = (float)total;
        }
        return result with { Attributions = summed };
    }

    /// <summary>
    /// The k highest outputs of every row, each explained by one batched call: attributions [n, k·W] (rank-major within a
    /// row), targets [n·k], deltas and base values [n·k], best first.
    /// </summary>
    private AttributionResult ExplainTopK(Oracles.IForwardOracle oracle, NdArray<float> rows)
    {
        int n = rows.Rows, k = Ranks;
        if (Options.AllOutputs && Options.Method == ExplainOptions.TreeShapMethod && Model.Trees is { } trees) return AllTreeOutputs(trees, oracle, rows);
        var ranked = new int[n][];
        if (Options.AllOutputs)
        {
            for (int r = 0; r < n; r++) ranked[r] = Enumerable.Range(0, k).ToArray();
        }
        var outputs = Options.AllOutputs ? null : oracle.Forward(ReshapeForModel(oracle, rows));
        if (outputs is not null && outputs.RowSize < k)
            throw new ArgumentException($"ExplainOptions.TopK is {k}, but the model has {outputs.RowSize} output(s) per row.");
        for (int r = 0; outputs is not null && r < n; r++)
        {
            var row = outputs.Row(r).ToArray();
            ranked[r] = Enumerable.Range(0, row.Length).OrderByDescending(j => row[j]).Take(k).ToArray();
        }
        var targets = new int[n * k];
        float[]? deltas = Options.HasDelta ? new float[n * k] : null, baseValues = Options.HasBaseValue ? new float[n * k] : null;
        NdArray<float>? attributions = null;
        for (int rank = 0; rank < k; rank++)
        {
            var result = Run(oracle, rows, Target.PerRow(ranked.Select(t => t[rank]).ToArray()));
            int w = result.Attributions.RowSize;
            attributions ??= new NdArray<float>(n, k * w);
            for (int r = 0; r < n; r++)
            {
                result.Attributions.Row(r).CopyTo(attributions.Row(r).Slice(rank * w, w));
                targets[r * k + rank] = ranked[r][rank];
                if (deltas is not null) deltas[r * k + rank] = result.ConvergenceDelta![r];
                if (baseValues is not null) baseValues[r * k + rank] = result.BaseValues![r];
            }
        }
        return new AttributionResult(attributions!, targets, deltas, baseValues);
    }

    /// <summary>
    /// Every output of a tree ensemble from one TreeSHAP pass (it computes all outputs at once): the same explainer,
    /// players and background as <see cref="Run"/>, so each class's values equal explaining that class alone.
    /// </summary>
    private AttributionResult AllTreeOutputs(Tabular.TreeEnsemble trees, Oracles.IForwardOracle oracle, NdArray<float> rows)
    {
        int n = rows.Rows, f = rows.RowSize, k = trees.OutputCount;
        var algorithm = ((TreeShapOptions)Options.EffectiveMethodOptions).Algorithm;
        var background = BackgroundRows(oracle);
        if (background is null && algorithm != Tabular.TreeShapAlgorithm.PathDependent)
            throw new ArgumentException("Interventional TreeSHAP needs background rows (ExplainOptions.Background).");
        int[]? groupOfSlot = Grouped ? _groupMask.Value!.Data.Select(g => checked((int)g)).ToArray() : null;
        var explained = TreeShapRun.For(trees, background, algorithm, f, groupOfSlot).Explain(rows);
        var targets = new int[n * k];
        var baseValues = new float[n * k];
        for (int r = 0; r < n; r++)
            for (int c = 0; c < k; c++)
            {
                targets[r * k + c] = c;
                baseValues[r * k + c] = (float)explained.ExpectedValues[c];
            }
        // [n, outputs, players] is already rank-major within a row.
        return new AttributionResult(explained.Values.Reshape(n, k * explained.Values.Shape[2]), targets, BaseValues: baseValues);
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
        if (Options.Layer is not null && !Options.MethodInfo.Has(MethodCapabilities.AttributesToInput))
            return ExplainLayer(new MethodInputs { LayerModel = _ => Model.LayerOracle(Options, Log), Rows = rows,
                Baselines = Options.Baseline is null ? null : new NdArray<float>(Options.Baseline, 1, Options.Baseline.Length), Target = target }, rows.Rows, rows.RowSize);
        var oracle = Model.Oracle(Options, sourceSchema, Log);
        return Ranks > 1 ? ExplainTopK(oracle, rows) : Run(oracle, rows, target);
    }

    /// <summary>One registry call on a block; attributions [n, W] (W = groups or slots) and base values where the method has them.</summary>
    private AttributionResult Run(Oracles.IForwardOracle oracle, NdArray<float> rows, Target target)
    {
        var method = Options.MethodInfo;
        int n = rows.Rows, f = rows.RowSize;
        bool background = method.Has(MethodCapabilities.Background) && Options.BaselineSource == BaselineSource.Auto && Options.Baseline is null;
        bool masked = Grouped && method.Has(MethodCapabilities.FeatureGroups);
        // TreeSHAP's players are the groups: its values come back one per group, with no spread to slots and fold back.
        bool perGroup = masked && method.Has(MethodCapabilities.ExactForTrees);
        var inputs = new MethodInputs
        {
            Model = oracle,
            LayerModel = Options.Layer is null ? null : _ => Model.LayerOracle(Options, Log), // layer methods attributing to the input (guided-gradcam)
            Trees = Model.Trees,
            Linear = Model.Linear,
            Rows = ReshapeForModel(oracle, rows),
            Baselines = background ? null : Baseline(f),
            Background = background || method.Has(MethodCapabilities.ExactForTrees) || method.Has(MethodCapabilities.ExactForLinear) ? BackgroundRows(oracle) : null,
            FeatureMask = masked ? _groupMask.Value : null,
            Target = target,
            PerGroupOutput = perGroup,
        };
        var result = method.Attribute(inputs, Options.EffectiveMethodOptions);
        var attributions = perGroup ? result.Attributions.Reshape(n, Options.FeatureGroups!.Count)
            : Grouped ? FeatureGroupSet.Collect(result.Attributions.Reshape(n, f), Options.FeatureGroups!, summed: !masked)
            : result.Attributions.Reshape(n, f);
        var baseValues = result.BaseValues;
        if (baseValues is null && Options.HasBaseValue)
        {
            var expected = ExpectedOutputs(oracle);
            baseValues = result.Targets.Select(t => expected[t]).ToArray();
        }
        return result with { Attributions = attributions, BaseValues = baseValues, Interactions = Options.Interactions ? Interactions(inputs, result.Targets) : null };
    }

    /// <summary>
    /// Exact path-dependent TreeSHAP interaction values of the explained output of every row, [n, P·P], over the same
    /// players and background as the main values (so the same cached explainer, and rows of each matrix summing to them).
    /// </summary>
    private NdArray<float> Interactions(MethodInputs inputs, int[] targets)
    {
        var trees = Model.Trees ?? throw new InvalidOperationException(
            $"ExplainOptions.Interactions needs TreeSHAP of a tree ensemble, but {Model.Predictor?.GetType().Name ?? "the model"} exposes no trees.");
        var rows = inputs.Rows!.Rank == 2 ? inputs.Rows : inputs.Rows.Reshape(inputs.Rows.Rows, inputs.Rows.RowSize);
        int n = rows.Rows, f = rows.RowSize;
        int[]? groupOfSlot = inputs.FeatureMask?.Data.Select(g => checked((int)g)).ToArray();
        var explainer = TreeShapRun.For(trees, inputs.Background, Tabular.TreeShapAlgorithm.PathDependent, f, groupOfSlot);
        var all = explainer.ExplainInteractions(rows);
        int k = explainer.OutputCount, square = explainer.PlayerCount * explainer.PlayerCount;
        var result = new NdArray<float>(n, square);
        for (int r = 0; r < n; r++) all.Values.Data.AsSpan((r * k + targets[r]) * square, square).CopyTo(result.Row(r));
        return result;
    }

    private NdArray<float>? Baseline(int features)
    {
        if (Options.Baseline is { } given) return new NdArray<float>(given, 1, given.Length);
        if (Options.BaselineSource == BaselineSource.BackgroundMean && Options.Background is { Length: > 0 } rows)
        {
            var mean = new float[features];
            foreach (var row in rows) for (int j = 0; j < features; j++) mean[j] += row[j] / rows.Length;
            return new NdArray<float>(mean, 1, features);
        }
        return null;
    }

    private NdArray<float>? _background;
    private float[]? _expected;
    private readonly object _gate = new();

    /// <summary>The background rows as one array, shaped for the model.</summary>
    private NdArray<float>? BackgroundRows(Oracles.IForwardOracle oracle)
    {
        if (Options.Background is not { Length: > 0 } rows) return null;
        lock (_gate)
        {
            if (_background is null)
            {
                int f = rows[0].Length;
                var flat = new float[rows.Length * f];
                for (int r = 0; r < rows.Length; r++) rows[r].CopyTo(flat, r * f);
                _background = ReshapeForModel(oracle, new NdArray<float>(flat, rows.Length, f));
            }
            return _background;
        }
    }

    /// <summary>Mean model output per output index over the background (SHAP's base value for black-box methods).</summary>
    private float[] ExpectedOutputs(Oracles.IForwardOracle oracle)
    {
        lock (_gate)
        {
            if (_expected is not null) return _expected;
            var background = BackgroundRows(oracle) ?? throw new InvalidOperationException(
                $"Method '{Options.Method}' reports a base value over background rows, but ExplainOptions.Background is empty.");
            var outputs = oracle.Forward(background);
            var mean = new double[outputs.RowSize];
            for (int r = 0; r < outputs.Rows; r++)
            {
                var row = outputs.Row(r);
                for (int j = 0; j < mean.Length; j++) mean[j] += row[j];
            }
            return _expected = mean.Select(v => (float)(v / outputs.Rows)).ToArray();
        }
    }

    private Lazy<NdArray<long>?> _groupMask => _mask ??= new(() => Options.FeatureGroups is { } groups ? FeatureGroupSet.Mask(groups) : null);

    private Lazy<NdArray<long>?>? _mask;
}

/// <summary>The columns an explanation step appends.</summary>
internal enum ExtraColumn
{
    Attributions,
    Target,
    Delta,
    BaseValue,
    Interactions,
}
