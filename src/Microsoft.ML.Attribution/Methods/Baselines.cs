using Microsoft.ML.Attribution.Tensors;

namespace Microsoft.ML.Attribution.Methods;

/// <summary>Baselines as Captum accepts them: none (zeros), one value, one row, or one row per input row.</summary>
internal static class Baselines
{
    /// <summary>
    /// Expands <paramref name="baselines"/> to the full shape of <paramref name="inputs"/> (float values, or int64 token
    /// ids for text models, where zeros mean the id 0).
    /// </summary>
    public static NdArray<T> Expand<T>(NdArray<T>? baselines, NdArray<T> inputs, string inputName) where T : unmanaged
    {
        if (baselines is null) return new NdArray<T>(inputs.Shape);
        if (baselines.Data is float[] values)
        {
            foreach (var v in values)
            {
                if (!float.IsFinite(v)) throw new ArgumentException($"Baselines for input '{inputName}' hold {v}; baselines must be finite.");
            }
        }
        if (baselines.Shape.SequenceEqual(inputs.Shape)) return baselines;
        var result = new NdArray<T>(inputs.Shape);
        if (baselines.Length == 1)
        {
            Array.Fill(result.Data, baselines.Data[0]);
            return result;
        }
        bool oneRow = baselines.Shape.SequenceEqual(inputs.RowShape) ||
                      (baselines.Rank == inputs.Rank && baselines.Shape[0] == 1 && baselines.RowShape.SequenceEqual(inputs.RowShape));
        if (!oneRow)
            throw new ArgumentException($"Baselines shaped {baselines.ShapeText} do not fit input '{inputName}' shaped {inputs.ShapeText}: " +
                $"give one value, one row {NdArray<T>.FormatShape([1, .. inputs.RowShape])}, or {inputs.ShapeText}.");
        for (int r = 0; r < inputs.Rows; r++) baselines.Data.AsSpan(0, inputs.RowSize).CopyTo(result.Row(r));
        return result;
    }
}
