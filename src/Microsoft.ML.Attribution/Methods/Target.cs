using Microsoft.ML.Attribution.Oracles;
using Microsoft.ML.Attribution.Tensors;

namespace Microsoft.ML.Attribution.Methods;

/// <summary>
/// Which output element each row's attribution explains: a fixed index, one index per row, each row's predicted
/// (argmax) output, or every output index (<see cref="All"/>). Indices count over the flattened output row; a model
/// with one output per row uses index 0. The output tensor itself is the oracle's (its <c>outputName</c>); to explain
/// a slice sum, a mean or another scalar of it, append an <see cref="OutputReduction"/> to the model.
/// </summary>
public sealed class Target
{
    private readonly int[]? _indices;
    private readonly bool _all;

    private Target(int[]? indices, bool all = false)
    {
        _indices = indices;
        _all = all;
    }

    /// <summary>Each row's argmax output (the predicted class).</summary>
    public static Target Predicted { get; } = new(null);

    /// <summary>
    /// Every output index: one map per index, stacked as <c>[N, C, …]</c> (C outputs per row) — what Captum returns for a
    /// multi-output model given no target (its <c>[N·C, …]</c> maps reshaped). Runs through
    /// <see cref="AttributionMethod.Attribute"/> (the registry, the CLI's <c>--target all</c>) or <see cref="ForEachOutput"/>;
    /// the method classes take one target per row.
    /// </summary>
    public static Target All { get; } = new(null, all: true);

    /// <summary>True for <see cref="All"/>.</summary>
    public bool IsAll => _all;

    /// <summary>
    /// Runs <paramref name="attribute"/> once per output index of <paramref name="model"/> (its width read from one
    /// forward pass of the first row) and stacks the maps as <c>[N, C, …]</c>. The result's targets and convergence
    /// deltas are per (row, index), row-major: entry <c>r·C + c</c> is row r's map for index c.
    /// </summary>
    /// <param name="model">The model (its output width is the number of maps).</param>
    /// <param name="rows">The rows to explain (only the first is run here).</param>
    /// <param name="attribute">One attribution run for a fixed target.</param>
    public static AttributionResult ForEachOutput(IForwardOracle model, NdArray<float> rows, Func<Target, AttributionResult> attribute)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentNullException.ThrowIfNull(attribute);
        int width = OutputCount(model, rows);
        return Stack(Enumerable.Range(0, width).Select(c => attribute(Class(c))).ToArray());
    }

    /// <summary>The number of output indices per row (the maps <see cref="All"/> gives), from one forward pass of the first row.</summary>
    /// <param name="model">The model.</param>
    /// <param name="rows">Rows of its input (at least one).</param>
    public static int OutputCount(IForwardOracle model, NdArray<float> rows)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(rows);
        if (rows.Rows == 0) throw new ArgumentException("No rows to explain.", nameof(rows));
        return model.Forward(new NdArray<float>(rows.Data[..rows.RowSize], [1, .. rows.RowShape])).RowSize;
    }

    /// <summary>Stacks one result per output index (each <c>[N, …]</c>) into <c>[N, C, …]</c>.</summary>
    internal static AttributionResult Stack(IReadOnlyList<AttributionResult> perOutput)
    {
        int classes = perOutput.Count;
        var first = perOutput[0].Attributions;
        int rows = first.Rows, rowSize = first.RowSize;
        var stacked = new NdArray<float>([rows, classes, .. first.RowShape]);
        var targets = new int[rows * classes];
        float[]? delta = perOutput.All(p => p.ConvergenceDelta is not null) ? new float[rows * classes] : null;
        for (int c = 0; c < classes; c++)
        {
            var map = perOutput[c].Attributions;
            if (!map.Shape.SequenceEqual(first.Shape))
                throw new InvalidOperationException($"The map of output {c} is shaped {map.ShapeText}, the first {first.ShapeText}.");
            for (int r = 0; r < rows; r++)
            {
                map.Row(r).CopyTo(stacked.Data.AsSpan((r * classes + c) * rowSize, rowSize));
                targets[r * classes + c] = c;
                if (delta is not null) delta[r * classes + c] = perOutput[c].ConvergenceDelta![r];
            }
        }
        return new AttributionResult(stacked, targets, delta);
    }

    /// <summary>The same output index for every row.</summary>
    public static Target Class(int index) => new([index]);

    /// <summary>One output index per row.</summary>
    public static Target PerRow(params int[] indices)
    {
        ArgumentNullException.ThrowIfNull(indices);
        return new((int[])indices.Clone());
    }

    /// <summary>The explicit index of every row (count checked), or null for <see cref="Predicted"/>; ranges are the caller's to check.</summary>
    internal int[]? Explicit(int rows)
    {
        RejectAll();
        if (_indices is null) return null;
        if (_indices.Length != 1 && _indices.Length != rows)
            throw new ArgumentException($"{_indices.Length} targets were given for {rows} rows; give one target, or one per row.");
        return _indices.Length == 1 ? Enumerable.Repeat(_indices[0], rows).ToArray() : (int[])_indices.Clone();
    }

    /// <summary>
    /// One index per row and the number of outputs per row. Runs the model on every row only when the prediction is
    /// needed; for explicit targets one row tells the output width.
    /// </summary>
    internal (int[] Targets, int OutputSize) ResolveWithWidth(IForwardOracle oracle, NdArray<float> inputs, int chunkRows)
    {
        RejectAll();
        var outputs = _indices is null
            ? Batcher.ForwardRows(oracle, inputs, chunkRows)
            : oracle.Forward(new NdArray<float>(inputs.Data[..inputs.RowSize], [1, .. inputs.RowShape]));
        return (Resolve(oracle, inputs, chunkRows, _indices is null ? outputs : null, outputs.RowSize), outputs.RowSize);
    }

    /// <summary>Resolves to one index per row, validating ranges; runs the model when the prediction is needed.</summary>
    internal int[] Resolve(IForwardOracle oracle, NdArray<float> inputs, int chunkRows, NdArray<float>? knownOutputs = null, int? knownWidth = null)
    {
        RejectAll();
        int rows = inputs.Rows;
        if (_indices is not null && _indices.Length != 1 && _indices.Length != rows)
            throw new ArgumentException($"{_indices.Length} targets were given for {rows} rows; give one target, or one per row.");
        if (_indices is null)
        {
            var outputs = knownOutputs ?? Batcher.ForwardRows(oracle, inputs, chunkRows);
            var result = new int[rows];
            for (int r = 0; r < rows; r++)
            {
                var row = outputs.Row(r);
                int best = 0;
                for (int j = 1; j < row.Length; j++) if (row[j] > row[best]) best = j;
                result[r] = best;
            }
            return result;
        }
        int outputSize = knownOutputs?.RowSize ?? knownWidth
            ?? oracle.Forward(new NdArray<float>(inputs.Data[..inputs.RowSize], [1, .. inputs.RowShape])).RowSize;
        var targets = _indices.Length == 1 ? Enumerable.Repeat(_indices[0], rows).ToArray() : _indices;
        for (int r = 0; r < rows; r++)
        {
            if (targets[r] < 0 || targets[r] >= outputSize)
                throw new ArgumentOutOfRangeException(nameof(Target),
                    $"Target {targets[r]} (row {r}) is out of range: output '{oracle.OutputName}' has {outputSize} value(s) per row.");
        }
        return (int[])targets.Clone();
    }

    private void RejectAll()
    {
        if (_all)
            throw new ArgumentException("Target.All gives one map per output index: run it through MethodRegistry (AttributionMethod.Attribute) " +
                "or Target.ForEachOutput; a method class takes one target per row.", nameof(Target));
    }

    /// <inheritdoc />
    public override string ToString() => _all ? "all" : _indices is null ? "predicted" : string.Join(",", _indices);
}
