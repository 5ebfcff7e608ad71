using System.Reflection;
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
        _options.Validate(model.HasGradients);
        _host = host;
    }

    /// <summary>Cancels explanation between blocks.</summary>
    public CancellationToken Cancellation { get; init; }

    /// <inheritdoc />
    public AttributionTransformer Fit(IDataView input)
    {
        var transformer = new AttributionTransformer(_model, _options, _host) { Cancellation = Cancellation };
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
        var perRank = _options.TopK > 1 ? SchemaShape.Column.VectorKind.Vector : SchemaShape.Column.VectorKind.Scalar;
        columns[_options.TargetOutputColumnName] = SchemaShapeColumns.Create(_options.TargetOutputColumnName, perRank, NumberDataViewType.Int32);
        if (_options.HasDelta)
            columns[_options.DeltaColumnName] = SchemaShapeColumns.Create(_options.DeltaColumnName, perRank, NumberDataViewType.Single);
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
