using System.Security.Cryptography;
using Microsoft.ML.Attribution.Methods;
using Parquet;
using Parquet.Schema;

namespace Microsoft.ML.Attribution.Orleans;

/// <summary>
/// Parquet in and out: feature rows read from a numeric table by row range, and attribution parts written whole (to a
/// temporary name, then moved into place) with the row index, one column per feature, the delta and the target.
/// </summary>
public static class ParquetTables
{
    /// <summary>Name of the row-index column of a part.</summary>
    public const string RowColumn = "row";

    /// <summary>Name of the explained-output column of a part.</summary>
    public const string TargetColumn = "target";

    /// <summary>Name of the convergence-delta column of a part (null where the method has none).</summary>
    public const string DeltaColumn = "delta";

    private static readonly Type[] Numeric = [typeof(float), typeof(double), typeof(int), typeof(long), typeof(short), typeof(byte), typeof(bool)];

    /// <summary>Rows in a Parquet file and its numeric columns (the feature candidates), from the footer only.</summary>
    public static async Task<(long Rows, IReadOnlyList<string> NumericColumns)> DescribeAsync(string path, CancellationToken cancellation = default)
    {
        await using var reader = await ParquetReader.CreateAsync(path, cancellationToken: cancellation);
        long rows = 0;
        for (int g = 0; g < reader.RowGroupCount; g++)
        {
            using var group = reader.OpenRowGroupReader(g);
            rows += group.RowCount;
        }
        return (rows, reader.Schema.GetDataFields().Where(f => Numeric.Contains(f.ClrType)).Select(f => f.Name).ToArray());
    }

    /// <summary>Rows [<paramref name="firstRow"/>, +<paramref name="count"/>) of <paramref name="columns"/> as float32, row-major [count, columns].</summary>
    /// <exception cref="ArgumentException">A column is missing or not numeric, or the range passes the end of the table.</exception>
    public static async Task<float[]> ReadRowsAsync(string path, IReadOnlyList<string> columns, long firstRow, int count, CancellationToken cancellation = default)
    {
        await using var reader = await ParquetReader.CreateAsync(path, cancellationToken: cancellation);
        var fields = columns.Select(c => reader.Schema.GetDataFields().FirstOrDefault(f => f.Name == c)
            ?? throw new ArgumentException($"Input '{path}' has no column '{c}'; its columns: {string.Join(", ", reader.Schema.GetDataFields().Select(f => f.Name))}.")).ToArray();
        foreach (var f in fields)
        {
            if (!Numeric.Contains(f.ClrType) || f.MaxRepetitionLevel > 0)
                throw new ArgumentException($"Input column '{f.Name}' holds {f.ClrType.Name}{(f.MaxRepetitionLevel > 0 ? " lists" : "")}; features must be numeric scalars.");
        }
        int width = fields.Length;
        var result = new float[(long)count * width];
        long groupStart = 0, end = firstRow + count;
        int filled = 0;
        for (int g = 0; g < reader.RowGroupCount && groupStart < end; g++)
        {
            using var group = reader.OpenRowGroupReader(g);
            long groupEnd = groupStart + group.RowCount;
            if (groupEnd > firstRow)
            {
                int from = (int)Math.Max(0, firstRow - groupStart), to = (int)(Math.Min(end, groupEnd) - groupStart);
                for (int c = 0; c < width; c++)
                {
                    var values = await ReadColumnAsFloatAsync(group, fields[c], cancellation);
                    for (int r = from; r < to; r++) result[(long)(filled + r - from) * width + c] = values[r];
                }
                filled += to - from;
            }
            groupStart = groupEnd;
        }
        if (filled != count)
            throw new ArgumentException($"Input '{path}' has {groupStart} rows; rows {firstRow}..{end - 1} were asked for.");
        return result;
    }

    private static async Task<float[]> ReadColumnAsFloatAsync(ParquetRowGroupReader group, DataField field, CancellationToken cancellation)
    {
        int n = checked((int)group.RowCount);
        if (field.IsNullable) return field.ClrType switch
        {
            var t when t == typeof(float) => await Nullable<float>(v => v),
            var t when t == typeof(double) => await Nullable<double>(v => (float)v),
            var t when t == typeof(int) => await Nullable<int>(v => v),
            var t when t == typeof(long) => await Nullable<long>(v => v),
            var t when t == typeof(short) => await Nullable<short>(v => v),
            var t when t == typeof(byte) => await Nullable<byte>(v => v),
            _ => await Nullable<bool>(v => v ? 1f : 0f),
        };
        return field.ClrType switch
        {
            var t when t == typeof(float) => await Plain<float>(v => v),
            var t when t == typeof(double) => await Plain<double>(v => (float)v),
            var t when t == typeof(int) => await Plain<int>(v => v),
            var t when t == typeof(long) => await Plain<long>(v => v),
            var t when t == typeof(short) => await Plain<short>(v => v),
            var t when t == typeof(byte) => await Plain<byte>(v => v),
            _ => await Plain<bool>(v => v ? 1f : 0f),
        };

        async Task<float[]> Plain<T>(Func<T, float> convert) where T : struct
        {
            var buffer = new T[n];
            await group.ReadAsync(field, buffer.AsMemory(), null, cancellation);
            return typeof(T) == typeof(float) ? (float[])(object)buffer : Array.ConvertAll(buffer, v => convert(v));
        }

        async Task<float[]> Nullable<T>(Func<T, float> convert) where T : struct
        {
            var buffer = new T?[n];
            await group.ReadAsync(field, buffer.AsMemory(), null, cancellation);
            return Array.ConvertAll(buffer, v => v is { } x ? convert(x) : float.NaN);
        }
    }

    /// <summary>Writes a table of float columns (and any extra columns) as one row group, to a temporary name moved into place.</summary>
    public static async Task WriteRowsAsync(string path, IReadOnlyList<string> columns, float[] rows, CancellationToken cancellation = default)
    {
        int width = columns.Count, n = rows.Length / Math.Max(1, width);
        var fields = columns.Select(c => new DataField<float>(c)).ToArray();
        await WriteAtomicallyAsync(path, async stream =>
        {
            await using var writer = await ParquetWriter.CreateAsync(new ParquetSchema(fields), stream, cancellationToken: cancellation);
            using var group = writer.CreateRowGroup();
            for (int c = 0; c < width; c++)
            {
                var column = new float[n];
                for (int r = 0; r < n; r++) column[r] = rows[(long)r * width + c];
                await group.WriteAsync<float>(fields[c], column, null, null, cancellation);
            }
        }, cancellation);
    }

    /// <summary>
    /// Writes one attribution part: <c>row</c> (int64, the input row index), one float32 column per feature (named after
    /// <paramref name="featureNames"/>), <c>delta</c> (float32, null where the method has no convergence delta) and
    /// <c>target</c> (int32). Written to a unique temporary name and moved over <paramref name="path"/>, so a reader never
    /// sees half a part and a retried partition replaces, never adds to, what an earlier try wrote.
    /// </summary>
    /// <returns>The part's SHA-256 (hex).</returns>
    public static async Task<string> WritePartAsync(string path, long firstRow, IReadOnlyList<string> featureNames, AttributionResult result,
        CancellationToken cancellation = default)
    {
        var attributions = result.Attributions;
        int n = attributions.Rows, width = attributions.RowSize;
        if (width != featureNames.Count)
            throw new ArgumentException($"The method returned {width} values per row for {featureNames.Count} features ({string.Join(", ", featureNames)}).");
        var rowField = new DataField<long>(RowColumn);
        var featureFields = featureNames.Select(f => new DataField<float>(f)).ToArray();
        var deltaField = new DataField<float?>(DeltaColumn);
        var targetField = new DataField<int>(TargetColumn);
        await WriteAtomicallyAsync(path, async stream =>
        {
            await using var writer = await ParquetWriter.CreateAsync(new ParquetSchema([rowField, .. featureFields, deltaField, targetField]), stream,
                cancellationToken: cancellation);
            using var group = writer.CreateRowGroup();
            var rowIndex = new long[n];
            for (int r = 0; r < n; r++) rowIndex[r] = firstRow + r;
            await group.WriteAsync<long>(rowField, rowIndex, null, null, cancellation);
            var column = new float[n];
            for (int c = 0; c < width; c++)
            {
                for (int r = 0; r < n; r++) column[r] = attributions.Data[(long)r * width + c];
                await group.WriteAsync<float>(featureFields[c], column, null, null, cancellation);
            }
            var delta = new float?[n];
            if (result.ConvergenceDelta is { } d) for (int r = 0; r < n; r++) delta[r] = d[r];
            await group.WriteAsync<float>(deltaField, delta, null, null, cancellation);
            await group.WriteAsync<int>(targetField, result.Targets, null, null, cancellation);
        }, cancellation);
        return ExplanationJob.HashFile(path);
    }

    /// <summary>A part read back: row indices, attributions [rows, features], deltas (null entries where none) and targets.</summary>
    public sealed record Part(long[] Rows, IReadOnlyList<string> Features, float[] Attributions, float?[] Delta, int[] Targets);

    /// <summary>Reads a part written by <see cref="WritePartAsync"/>.</summary>
    public static async Task<Part> ReadPartAsync(string path, CancellationToken cancellation = default)
    {
        await using var reader = await ParquetReader.CreateAsync(path, cancellationToken: cancellation);
        var fields = reader.Schema.GetDataFields();
        var features = fields.Where(f => f.Name is not (RowColumn or DeltaColumn or TargetColumn)).ToArray();
        var rows = new List<long>();
        var attributions = new List<float>();
        var delta = new List<float?>();
        var targets = new List<int>();
        for (int g = 0; g < reader.RowGroupCount; g++)
        {
            using var group = reader.OpenRowGroupReader(g);
            int n = checked((int)group.RowCount);
            var rowBuffer = new long[n];
            await group.ReadAsync(fields.Single(f => f.Name == RowColumn), rowBuffer.AsMemory(), null, cancellation);
            var columns = new float[features.Length][];
            for (int c = 0; c < features.Length; c++)
            {
                columns[c] = new float[n];
                await group.ReadAsync(features[c], columns[c].AsMemory(), null, cancellation);
            }
            var deltaBuffer = new float?[n];
            await group.ReadAsync(fields.Single(f => f.Name == DeltaColumn), deltaBuffer.AsMemory(), null, cancellation);
            var targetBuffer = new int[n];
            await group.ReadAsync(fields.Single(f => f.Name == TargetColumn), targetBuffer.AsMemory(), null, cancellation);
            rows.AddRange(rowBuffer);
            for (int r = 0; r < n; r++) for (int c = 0; c < features.Length; c++) attributions.Add(columns[c][r]);
            delta.AddRange(deltaBuffer);
            targets.AddRange(targetBuffer);
        }
        return new Part(rows.ToArray(), features.Select(f => f.Name).ToArray(), attributions.ToArray(), delta.ToArray(), targets.ToArray());
    }

    /// <summary>Rows in a Parquet file (footer only).</summary>
    public static async Task<long> CountRowsAsync(string path, CancellationToken cancellation = default) => (await DescribeAsync(path, cancellation)).Rows;

    /// <summary>Writes through <paramref name="write"/> to a unique temporary name next to <paramref name="path"/>, then moves it over <paramref name="path"/>.</summary>
    internal static async Task WriteAtomicallyAsync(string path, Func<Stream, Task> write, CancellationToken cancellation)
    {
        string temporary = $"{path}.{Guid.NewGuid():N}.tmp";
        try
        {
            await using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true))
            {
                await write(stream);
                await stream.FlushAsync(cancellation);
            }
            cancellation.ThrowIfCancellationRequested();
            File.Move(temporary, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(temporary)) File.Delete(temporary);
        }
    }

    internal static string Sha256(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));
}
