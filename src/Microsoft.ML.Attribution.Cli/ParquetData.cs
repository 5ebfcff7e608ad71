using Microsoft.ML.Attribution.Methods;
using Microsoft.ML.Attribution.Orleans;
using Microsoft.ML.Attribution.Tensors;

namespace Microsoft.ML.Attribution.Cli;

/// <summary>
/// <c>.parquet</c> for <c>--input</c> (every numeric column a feature, column names kept) and <c>--out</c> (the layout of
/// a cluster job's parts: <c>row</c>, one column per feature, <c>delta</c>, <c>target</c>).
/// </summary>
internal static class ParquetData
{
    public static DataArray Read(string path, string option)
    {
        var (rows, columns) = ParquetTables.DescribeAsync(path).GetAwaiter().GetResult();
        if (columns.Count == 0) throw new UsageException($"--{option} '{path}' has no numeric column");
        var data = ParquetTables.ReadRowsAsync(path, columns, 0, checked((int)rows)).GetAwaiter().GetResult();
        return new DataArray(path, "float32", new NdArray<float>(data, checked((int)rows), columns.Count), null, [.. columns]);
    }

    public static void Write(string path, IReadOnlyList<AttributionMap> maps, string[]? columnNames)
    {
        if (maps.Count != 1) throw new UsageException($"'{path}': a .parquet output holds one target; use .npz or .npy for --target all");
        var map = maps[0];
        int width = map.Attributions.RowSize;
        var names = columnNames?.Length == width ? columnNames : Enumerable.Range(0, width).Select(i => $"f{i}").ToArray();
        var flat = map.Attributions.Reshape(map.Attributions.Rows, width);
        ParquetTables.WritePartAsync(path, 0, names, new AttributionResult(flat, map.Targets, map.Delta)).GetAwaiter().GetResult();
    }
}
