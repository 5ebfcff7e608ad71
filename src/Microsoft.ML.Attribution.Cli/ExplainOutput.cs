using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.ML.Attribution.Tensors;

namespace Microsoft.ML.Attribution.Cli;

/// <summary>
/// The attribution maps of one run, written by extension: <c>.npy</c> (the map [N, …]; with <c>--target all</c> stacked
/// as [N, C, …]), <c>.npz</c> (<c>attributions</c>, <c>target</c>, <c>delta</c>; with all, <c>attributions_c</c> and
/// <c>delta_c</c> per class c), <c>.csv</c> (one line per row and target: <c>row,target[,delta]</c> then one column per
/// attributed element, named after the input CSV's header where there is one) and <c>.json</c>.
/// </summary>
internal sealed class ExplainOutput(string method, string target, IReadOnlyList<AttributionMap> maps, string[]? columnNames, string arrayName = "attributions")
{
    private NdArray<float> First => maps[0].Attributions;

    public string ShapeText => maps.Count == 1 ? First.ShapeText : NdArray<float>.FormatShape([First.Rows, maps.Count, .. First.RowShape]);

    public void Write(string path, string extension)
    {
        switch (extension)
        {
            case ".npy": Npy.Write(path, Stacked()); break;
            case ".npz": WriteNpz(path); break;
            case ".csv": WriteCsv(path); break;
            case ".parquet": ParquetData.Write(path, maps, columnNames); break;
            default: WriteJson(path); break;
        }
    }

    /// <summary>The convergence deltas alone, in the same format ([N], or [N, C] for all).</summary>
    public void WriteDelta(string path, string extension)
    {
        var deltas = maps.Select(m => m with
        {
            Attributions = new NdArray<float>(m.Delta ?? throw new InvalidOperationException($"method {method} returned no convergence delta"), m.Delta.Length),
            Delta = null,
        }).ToList();
        new ExplainOutput(method, target, deltas, null, "delta").Write(path, extension);
    }

    private NdArray<float> Stacked()
    {
        if (maps.Count == 1) return First;
        int rows = First.Rows, size = First.RowSize, classes = maps.Count;
        var data = new float[rows * classes * size];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < classes; c++)
                maps[c].Attributions.Row(r).CopyTo(data.AsSpan((r * classes + c) * size, size));
        return new NdArray<float>(data, [rows, classes, .. First.RowShape]);
    }

    private void WriteNpz(string path)
    {
        var arrays = new List<(string, Action<string>)>();
        foreach (var map in maps)
        {
            string suffix = map.Class is int c ? $"_{c}" : "";
            arrays.Add((arrayName + suffix, p => Npy.Write(p, map.Attributions)));
            if (map.Class is null)
                arrays.Add(("target", p => Npy.Write(p, new NdArray<long>(map.Targets.Select(t => (long)t).ToArray(), map.Targets.Length))));
            if (map.Delta is { } delta) arrays.Add(("delta" + suffix, p => Npy.Write(p, new NdArray<float>(delta, delta.Length))));
        }
        DataFiles.WriteNpz(path, arrays);
    }

    private string[] ColumnNames()
    {
        int size = First.RowSize;
        if (columnNames is not null && columnNames.Length == size) return columnNames;
        var shape = First.RowShape;
        var names = new string[size];
        for (int i = 0; i < size; i++)
        {
            var index = new int[shape.Length];
            for (int d = shape.Length - 1, rest = i; d >= 0; d--) { index[d] = rest % shape[d]; rest /= shape[d]; }
            names[i] = shape.Length == 0 ? arrayName : $"{arrayName}[{string.Join(",", index)}]";
        }
        return names;
    }

    private void WriteCsv(string path)
    {
        static string Quote(string s) => s.Contains(',') || s.Contains('"') ? "\"" + s.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : s;
        static string Number(float v) => v.ToString("R", CultureInfo.InvariantCulture);
        bool hasDelta = maps.Any(m => m.Delta is not null);
        using var writer = new StreamWriter(path, false, new UTF8Encoding(false));
        writer.WriteLine(string.Join(",", new[] { "row", "target" }.Concat(hasDelta ? ["delta"] : []).Concat(ColumnNames().Select(Quote))));
        for (int r = 0; r < First.Rows; r++)
        {
            foreach (var map in maps)
            {
                var line = new StringBuilder();
                line.Append(r.ToString(CultureInfo.InvariantCulture)).Append(',').Append(map.Targets.Length > r ? map.Targets[r].ToString(CultureInfo.InvariantCulture) : "");
                if (hasDelta) line.Append(',').Append(map.Delta is { } d ? Number(d[r]) : "");
                foreach (float v in map.Attributions.Row(r)) line.Append(',').Append(Number(v));
                writer.WriteLine(line);
            }
        }
    }

    private void WriteJson(string path)
    {
        using var stream = File.Create(path);
        using var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = false });
        json.WriteStartObject();
        json.WriteString("method", method);
        json.WriteString("target", target);
        json.WriteStartArray("shape");
        foreach (int d in First.Shape) json.WriteNumberValue(d);
        json.WriteEndArray();
        json.WriteStartArray("results");
        foreach (var map in maps)
        {
            json.WriteStartObject();
            if (map.Class is int c) json.WriteNumber("class", c);
            json.WriteStartArray("targets");
            foreach (int t in map.Targets) json.WriteNumberValue(t);
            json.WriteEndArray();
            if (map.Delta is { } delta)
            {
                json.WriteStartArray("delta");
                foreach (float v in delta) DataFiles.WriteNumber(json, v);
                json.WriteEndArray();
            }
            json.WritePropertyName(arrayName);
            DataFiles.WriteNested(json, map.Attributions.Data, map.Attributions.Shape);
            json.WriteEndObject();
        }
        json.WriteEndArray();
        json.WriteEndObject();
    }
}
