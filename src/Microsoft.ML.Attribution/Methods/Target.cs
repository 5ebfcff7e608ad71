using Microsoft.ML.Attribution.Oracles;
using Microsoft.ML.Attribution.Tensors;

namespace Microsoft.ML.Attribution.Methods;

/// <summary>
/// Which output element each row's attribution explains: a fixed index, one index per row, or each row's predicted
/// (argmax) output. Indices count over the flattened output row; a model with one output per row uses index 0.
/// </summary>
public sealed class Target
{
    private readonly int[]? _indices;

    private Target(int[]? indices) => _indices = indices;

    /// <summary>Each row's argmax output (the predicted class).</summary>
    public static Target Predicted { get; } = new(null);

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
        var outputs = _indices is null
            ? Batcher.ForwardRows(oracle, inputs, chunkRows)
            : oracle.Forward(new NdArray<float>(inputs.Data[..inputs.RowSize], [1, .. inputs.RowShape]));
        return (Resolve(oracle, inputs, chunkRows, _indices is null ? outputs : null, outputs.RowSize), outputs.RowSize);
    }

    /// <summary>Resolves to one index per row, validating ranges; runs the model when the prediction is needed.</summary>
    internal int[] Resolve(IForwardOracle oracle, NdArray<float> inputs, int chunkRows, NdArray<float>? knownOutputs = null, int? knownWidth = null)
    {
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

    /// <inheritdoc />
    public override string ToString() => _indices is null ? "predicted" : string.Join(",", _indices);
}
