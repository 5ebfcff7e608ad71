using Microsoft.ML.Data;

namespace Microsoft.ML.Attribution.Oracles;

/// <summary>The output column an ML.NET oracle reads: a Single (one output) or a known-size vector of Single (one per class).</summary>
internal sealed class ScoreColumn
{
    private ScoreColumn(string name, int outputs, bool isVector)
    {
        Name = name;
        Outputs = outputs;
        IsVector = isVector;
    }

    public string Name { get; }

    /// <summary>Outputs per row: 1 for a scalar score, the vector size otherwise.</summary>
    public int Outputs { get; }

    public bool IsVector { get; }

    /// <summary>Finds the column in the model's output schema, or names what the model does output.</summary>
    public static ScoreColumn Find(DataViewSchema outputSchema, string name)
    {
        var column = outputSchema.GetColumnOrNull(name);
        if (column is null)
            throw new ArgumentException($"The model outputs no column '{name}'; its output columns are " +
                $"{string.Join(", ", outputSchema.Where(c => !c.IsHidden).Select(c => $"'{c.Name}' ({c.Type})"))}.", nameof(name));
        var type = column.Value.Type;
        if (type == NumberDataViewType.Single) return new ScoreColumn(name, 1, false);
        if (type is VectorDataViewType { IsKnownSize: true } vector && vector.ItemType == NumberDataViewType.Single)
            return new ScoreColumn(name, vector.Size, true);
        throw new ArgumentException($"Output column '{name}' has type {type}, expected Single or known-size Vector<Single>.", nameof(name));
    }

    /// <summary>Reads the column from the first <paramref name="rows"/> rows of a scored view with one cursor.</summary>
    public float[] Read(IDataView scored, int rows)
    {
        var column = scored.Schema[Name];
        var result = new float[rows * Outputs];
        using var cursor = scored.GetRowCursor([column]);
        int r = 0;
        if (IsVector)
        {
            var getter = cursor.GetGetter<VBuffer<float>>(column);
            VBuffer<float> buffer = default;
            while (r < rows && cursor.MoveNext())
            {
                getter(ref buffer);
                buffer.CopyTo(result, r * Outputs);
                r++;
            }
        }
        else
        {
            var getter = cursor.GetGetter<float>(column);
            float value = 0;
            while (r < rows && cursor.MoveNext())
            {
                getter(ref value);
                result[r++] = value;
            }
        }
        if (r != rows)
            throw new InvalidOperationException($"The model returned {r} rows of '{Name}' for a batch of {rows}; a transformer in the chain filters rows.");
        return result;
    }
}
