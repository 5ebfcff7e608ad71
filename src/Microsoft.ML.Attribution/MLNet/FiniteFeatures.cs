using Microsoft.ML.Attribution.Tensors;
using Microsoft.ML.Data;

namespace Microsoft.ML.Attribution.MLNet;

/// <summary>
/// The library's one policy on NaN and ±∞ in explained features, the same for every gradient and perturbation method:
/// such a value stops the explanation with an error naming the row, the column and the slot (with its slot name when
/// the column has one). A gradient through NaN is NaN, and a perturbation method would mix the value into every
/// coalition's output, so any attribution computed from it would be silently meaningless. The check runs once per
/// block, before any model call. Tree methods are exempt: they follow the model's own missing-value routing.
/// </summary>
internal static class FiniteFeatures
{
    /// <summary>Whether <paramref name="method"/> follows the model's own missing-value semantics instead (tree methods).</summary>
    internal static bool ModelHandlesMissing(string? method) =>
        method is not null && Methods.MethodRegistry.Find(method)?.Has(Methods.MethodCapabilities.ExactForTrees) == true;

    /// <summary>
    /// Throws <see cref="InvalidOperationException"/> at the first non-finite value of <paramref name="rows"/>, whose
    /// first row is row <paramref name="firstRow"/> of the data.
    /// </summary>
    public static void Check(ExplainOptions options, DataViewSchema.Column column, NdArray<float> rows, long firstRow)
    {
        if (ModelHandlesMissing(options.Method)) return;
        var data = rows.Data;
        int f = rows.RowSize;
        int count = rows.Rows * f;
        for (int i = 0; i < count; i++)
        {
            if (float.IsFinite(data[i])) continue;
            int row = i / f, slot = i % f;
            throw new InvalidOperationException($"Row {firstRow + row}: column '{column.Name}' slot {slot}{SlotName(column, slot)} is {data[i]}; " +
                $"method '{options.Method}' needs finite features (NaN and ±∞ are refused: impute or filter the rows first).");
        }
    }

    private static string SlotName(DataViewSchema.Column column, int slot)
    {
        if (column.Annotations.Schema.GetColumnOrNull("SlotNames") is null) return "";
        VBuffer<ReadOnlyMemory<char>> names = default;
        column.GetSlotNames(ref names);
        string name = slot < names.Length ? names.GetItemOrDefault(slot).ToString() : "";
        return name.Length == 0 ? "" : $" ('{name}')";
    }
}
