using Microsoft.ML.Attribution.Tensors;

namespace Microsoft.ML.Attribution.Methods;

/// <summary>Baselines as Captum accepts them: none (zeros), one value, one row, or one row per input row.</summary>
internal static class Baselines
{
    /// <summary>Expands <paramref name="baselines"/> to the full shape of <paramref name="inputs"/>.</summary>
    public static NdArray<float> Expand(NdArray<float>? baselines, NdArray<float> inputs, string inputName)
    {
        if (baselines is null) return new NdArray<float>(inputs.Shape);
        if (baselines.Shape.SequenceEqual(inputs.Shape)) return baselines;
        var result = new NdArray<float>(inputs.Shape);
        if (baselines.Length == 1)
        {
            Array.Fill(result.Data, baselines.Data[0]);
            return result;
        }
        bool oneRow = baselines.Shape.SequenceEqual(inputs.RowShape) ||
                      (baselines.Rank == inputs.Rank && baselines.Shape[0] == 1 && baselines.RowShape.SequenceEqual(inputs.RowShape));
        if (!oneRow)
            throw new ArgumentException($"Baselines shaped {baselines.ShapeText} do not fit input '{inputName}' shaped {inputs.ShapeText}: " +
                $"give one value, one row {NdArray<float>.FormatShape([1, .. inputs.RowShape])}, or {inputs.ShapeText}.");
        for (int r = 0; r < inputs.Rows; r++) baselines.Data.AsSpan(0, inputs.RowSize).CopyTo(result.Row(r));
        foreach (var v in baselines.Data)
        {
            if (!float.IsFinite(v)) throw new ArgumentException($"Baselines for input '{inputName}' hold {v}; baselines must be finite.");
        }
        return result;
    }
}
