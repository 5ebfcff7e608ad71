using System.Reflection;
using Microsoft.ML.Attribution.Methods;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;

namespace Microsoft.ML.Attribution.MLNet;

/// <summary>
/// The estimator of an explanation step: nothing to train; <see cref="Fit"/> checks the schema and returns the
/// <see cref="AttributionTransformer"/>.
/// </summary>
public sealed class AttributionEstimator : IEstimator<AttributionTransformer>
{
    private readonly ExplainedModel _model;
    private readonly ExplainOptions _options;
    private readonly IHost? _host;

    internal AttributionEstimator(ExplainedModel model, ExplainOptions options, IHost? host)
    {
        _model = model;
        _options = options.Clone();
        if (_options.Method is null) (_options.Method, _options.MethodReason) = model.ChooseMethod(_options.Output);
        _options.Validate(model.Kind);
        _host = host;
    }

    /// <summary>Cancels explanation between blocks.</summary>
    public CancellationToken Cancellation { get; init; }

    /// <summary>Training rows routed through the trees to weigh path-dependent TreeSHAP's splits.</summary>
    internal const int TreeCoverRows = 1000;

    /// <summary>The method this step runs (chosen from the model when not given).</summary>
    public string Method => _options.Method!;

    /// <inheritdoc />
    public AttributionTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var options = _options;
        var method = options.MethodInfo;
        bool needsBackground = method.Has(MethodCapabilities.Background) || options.BaselineSource == BaselineSource.BackgroundMean;
        if (needsBackground && options.Background is null && input.Schema.GetColumnOrNull(options.InputColumnName) is { Type: VectorDataViewType { ItemType: var item } }
            && item == NumberDataViewType.Single)
        {
            options = options.Clone();
            // Path-dependent TreeSHAP weighs splits by the data that reached them: a larger sample gives truer covers.
            int size = method.Has(MethodCapabilities.ExactForTrees) ? Math.Max(options.BackgroundSize, TreeCoverRows) : options.BackgroundSize;
            options.Background = Background.Sample(input, options.InputColumnName, size, options.BackgroundSeed);
        }
        if (_host is not null)
        {
            using var channel = _host.Start("Attribution");
            channel.Info(MessageSensitivity.None, $"Explaining with {options.Method}{(options.MethodReason is { } why ? $": {why}" : "")}.");
        }
        var transformer = new AttributionTransformer(_model, options, _host) { Cancellation = Cancellation };
        transformer.GetOutputSchema(input.Schema);
        return transformer;
    }

    /// <inheritdoc />
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        var columns = inputSchema.ToDictionary(c => c.Name);
        if (!columns.TryGetValue(_options.InputColumnName, out var input))
            throw new ArgumentOutOfRangeException(nameof(inputSchema), $"Column '{_options.InputColumnName}' not found.");
        bool ids = _options.Layer is not null && input.ItemType == NumberDataViewType.Int64;
        if (input.Kind != SchemaShape.Column.VectorKind.Vector || (input.ItemType != NumberDataViewType.Single && !ids))
            throw new ArgumentOutOfRangeException(nameof(inputSchema), $"Column '{_options.InputColumnName}' has type {input.ItemType} ({input.Kind}), expected known-size Vector<Single>" +
                (_options.Layer is null ? "." : " (or Vector<Int64> of token ids for layer methods)."));
        columns[_options.OutputColumnName] = SchemaShapeColumns.Create(_options.OutputColumnName, SchemaShape.Column.VectorKind.Vector, NumberDataViewType.Single);
        var perRank = _options.TopK > 1 || _options.AllOutputs ? SchemaShape.Column.VectorKind.Vector : SchemaShape.Column.VectorKind.Scalar;
        columns[_options.TargetOutputColumnName] = SchemaShapeColumns.Create(_options.TargetOutputColumnName, perRank, NumberDataViewType.Int32);
        if (_options.HasDelta)
            columns[_options.DeltaColumnName] = SchemaShapeColumns.Create(_options.DeltaColumnName, perRank, NumberDataViewType.Single);
        if (_options.HasBaseValue)
            columns[_options.BaseValueColumnName] = SchemaShapeColumns.Create(_options.BaseValueColumnName, perRank, NumberDataViewType.Single);
        if (_options.Interactions)
            columns[_options.InteractionsColumnName] = SchemaShapeColumns.Create(_options.InteractionsColumnName, SchemaShape.Column.VectorKind.Vector, NumberDataViewType.Single);
        if (_options.TargetColumnName is { } target && !columns.ContainsKey(target))
            throw new ArgumentOutOfRangeException(nameof(inputSchema), $"ExplainOptions.TargetColumnName: column '{target}' not found.");
        return new SchemaShape(columns.Values);
    }
}

/// <summary>
/// SchemaShape.Column has only an internal constructor, yet estimator chains call GetOutputSchema; this is the one place
/// that reaches it (by reflection), failing with a clear message if ML.NET changes it.
/// </summary>
internal static class SchemaShapeColumns
{
    private static readonly ConstructorInfo? Constructor = typeof(SchemaShape.Column).GetConstructors(BindingFlags.Instance | BindingFlags.NonPublic | BindingFlags.Public)
        .FirstOrDefault(c => c.GetParameters().Length >= 4 && c.GetParameters()[0].ParameterType == typeof(string));

    private static readonly MethodInfo? FromSchema = typeof(SchemaShape).GetMethod("Create", BindingFlags.Static | BindingFlags.NonPublic | BindingFlags.Public,
        [typeof(DataViewSchema)]);

    /// <summary>The shape of a data view's schema (annotations included), as ML.NET's own estimators see it.</summary>
    public static SchemaShape Of(DataViewSchema schema) =>
        (SchemaShape)(FromSchema ?? throw new NotSupportedException("This ML.NET version does not expose SchemaShape.Create(DataViewSchema) as expected."))
            .Invoke(null, [schema])!;

    public static SchemaShape.Column Create(string name, SchemaShape.Column.VectorKind kind, DataViewType itemType)
    {
        if (Constructor is null) throw new NotSupportedException("This ML.NET version does not expose SchemaShape.Column's constructor as expected.");
        var parameters = Constructor.GetParameters();
        var args = new object?[parameters.Length];
        args[0] = name;
        args[1] = kind;
        args[2] = itemType;
        args[3] = false;
        for (int i = 4; i < args.Length; i++) args[i] = parameters[i].HasDefaultValue ? parameters[i].DefaultValue : null;
        return (SchemaShape.Column)Constructor.Invoke(args);
    }
}
