using System.Globalization;
using System.IO.Compression;
using System.Text.Json;
using Microsoft.ML.Attribution.Tensors;

namespace Microsoft.ML.Attribution.Cli;

/// <summary>An array read from a data file: float or integer elements, the dtype the file held, and CSV column names.</summary>
internal sealed record DataArray(string Path, string Dtype, NdArray<float>? Floats, NdArray<long>? Ints, string[]? ColumnNames = null)
{
    public bool IsInteger => Ints is not null;

    public int[] Shape => Floats?.Shape ?? Ints!.Shape;

    public string ShapeText => NdArray<float>.FormatShape(Shape);

    public DataArray Reshape(int[] shape) => this with { Floats = Floats?.Reshape(shape), Ints = Ints?.Reshape(shape) };

    /// <summary>The same array as integers (whole-number floats accepted), for feature masks.</summary>
    public DataArray ToIntegers(string option)
    {
        if (Floats is null) return this;
        var ints = new long[Floats.Length];
        for (int i = 0; i < ints.Length; i++)
        {
            float v = Floats.Data[i];
            if (v != MathF.Round(v))
                throw new UsageException($"--{option} '{Path}' must hold integers; element {i} is {v.ToString(System.Globalization.CultureInfo.InvariantCulture)}");
            ints[i] = (long)v;
        }
        return this with { Floats = null, Ints = new NdArray<long>(ints, Floats.Shape) };
    }
}

/// <summary>
/// Data files by extension: <c>.npy</c>, <c>.npz</c> (several named arrays), <c>.csv</c> (rows, an optional header of
/// column names) and <c>.json</c> (nested arrays, or an object of named nested arrays). Outputs are written to
/// <c>&lt;file&gt;.partial</c> and moved into place, so an interrupted run leaves no file behind.
/// </summary>
internal static class DataFiles
{
    public static readonly string[] Extensions = [".npy", ".npz", ".csv", ".json", ".parquet"];

    /// <summary>The lower-case extension, or a usage error naming the option and the file.</summary>
    public static string Extension(string path, string option)
    {
        string ext = System.IO.Path.GetExtension(path).ToLowerInvariant();
        return Extensions.Contains(ext) ? ext : throw new UsageException(
            $"--{option} '{path}' has {(ext.Length == 0 ? "no extension" : $"the unknown extension '{ext}'")}; use one of {string.Join(", ", Extensions)}");
    }

    /// <summary>Checks an output path before any work: a known extension and an existing directory.</summary>
    public static void CheckOutput(string path, string option)
    {
        Extension(path, option);
        string directory = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!;
        if (!Directory.Exists(directory))
            throw new UsageException($"--{option} '{path}': the directory '{directory}' does not exist");
        if (Directory.Exists(path)) throw new UsageException($"--{option} '{path}' is a directory; give a file name");
    }

    /// <summary>Checks an input path before any work: a known extension and an existing file.</summary>
    public static void CheckInput(string path, string option)
    {
        Extension(path, option);
        if (!File.Exists(path)) throw new UsageException($"--{option} file '{path}' does not exist");
    }

    /// <summary>
    /// Reads an array; <paramref name="preferred"/> names the array to take from an .npz or a JSON object holding several.
    /// <paramref name="integers"/>: text formats (.csv, .json) are read as int64 (whole numbers only), else float32.
    /// </summary>
    public static DataArray Read(string path, string option, IReadOnlyList<string> preferred, bool integers) => Extension(path, option) switch
    {
        ".npy" => ReadNpy(path, path, option),
        ".npz" => ReadNpz(path, option, preferred),
        ".csv" => ReadCsv(path, option, integers),
        ".parquet" => ParquetData.Read(path, option),
        _ => ReadJson(path, option, preferred, integers),
    };

    /// <summary>NumPy's dtype name for an .npy descr.</summary>
    public static string DtypeName(string descr) => descr switch
    {
        "<f4" => "float32",
        "<f8" => "float64",
        "<f2" => "float16",
        "<i8" => "int64",
        "<i4" => "int32",
        "<i2" => "int16",
        "<i1" => "int8",
        "<u1" => "uint8",
        "<b1" => "bool",
        _ => descr,
    };

    private static DataArray ReadNpy(string file, string shownPath, string option)
    {
        var header = Npy.ReadHeader(file);
        string dtype = DtypeName(header.Descr);
        return dtype switch
        {
            "float32" or "float64" => new DataArray(shownPath, dtype, Npy.ReadFloat(file), null),
            "int32" or "int64" => new DataArray(shownPath, dtype, null, Npy.ReadInt64(file)),
            _ => throw new UsageException($"--{option} '{shownPath}' holds {dtype}; use float32 or float64 rows (int64 or int32 for token ids)"),
        };
    }

    private static DataArray ReadNpz(string path, string option, IReadOnlyList<string> preferred)
    {
        using var zip = ZipFile.OpenRead(path);
        var arrays = zip.Entries.Where(e => e.FullName.EndsWith(".npy", StringComparison.Ordinal)).ToList();
        string Name(ZipArchiveEntry e) => e.FullName[..^4];
        var entry = arrays.Count == 1 ? arrays[0]
            : preferred.Select(p => arrays.FirstOrDefault(e => Name(e) == p)).FirstOrDefault(e => e is not null)
            ?? throw new UsageException($"--{option} '{path}' holds the arrays {string.Join(", ", arrays.Select(Name))}; " +
                $"name one of them {string.Join(" or ", preferred.Select(p => $"'{p}'"))}, or keep one array in the file");
        string temp = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"mlnet-explain-{Guid.NewGuid():N}.npy");
        try
        {
            entry.ExtractToFile(temp);
            return ReadNpy(temp, $"{path}[{Name(entry)}]", option);
        }
        finally
        {
            File.Delete(temp);
        }
    }

    private static DataArray ReadCsv(string path, string option, bool integers)
    {
        var lines = File.ReadAllLines(path).Where(l => l.Trim().Length > 0).ToList();
        string[]? header = null;
        if (lines.Count > 0 && lines[0].Split(',').Any(f => !double.TryParse(f, NumberStyles.Float, CultureInfo.InvariantCulture, out _)))
        {
            header = lines[0].Split(',').Select(f => f.Trim().Trim('"')).ToArray();
            lines.RemoveAt(0);
        }
        int columns = header?.Length ?? (lines.Count > 0 ? lines[0].Split(',').Length : 0);
        var values = new double[lines.Count * columns];
        for (int r = 0; r < lines.Count; r++)
        {
            var fields = lines[r].Split(',');
            if (fields.Length != columns)
                throw new UsageException($"--{option} '{path}': data row {r} has {fields.Length} fields, the first {(header is null ? "row" : "line (the header)")} has {columns}");
            for (int c = 0; c < columns; c++)
            {
                if (!double.TryParse(fields[c], NumberStyles.Float, CultureInfo.InvariantCulture, out values[r * columns + c]))
                    throw new UsageException($"--{option} '{path}': data row {r}, column {(header is null ? c.ToString(CultureInfo.InvariantCulture) : $"'{header[c]}'")} " +
                        $"holds '{fields[c].Trim()}', not a number");
            }
        }
        var array = Numbers(path, option, values, [lines.Count, columns], integers);
        return array with { ColumnNames = header };
    }

    private static DataArray ReadJson(string path, string option, IReadOnlyList<string> preferred, bool integers)
    {
        using var document = JsonDocument.Parse(File.ReadAllText(path));
        var root = document.RootElement;
        if (root.ValueKind == JsonValueKind.Object)
        {
            var names = root.EnumerateObject().Select(p => p.Name).ToList();
            string name = names.Count == 1 ? names[0] : preferred.FirstOrDefault(names.Contains) ?? throw new UsageException(
                $"--{option} '{path}' holds the arrays {string.Join(", ", names)}; name one of them {string.Join(" or ", preferred.Select(p => $"'{p}'"))}");
            root = root.GetProperty(name);
        }
        var shape = new List<int>();
        for (var e = root; e.ValueKind == JsonValueKind.Array; e = e.GetArrayLength() > 0 ? e[0] : default) shape.Add(e.GetArrayLength());
        if (shape.Count == 0) throw new UsageException($"--{option} '{path}' holds no array (a JSON array of rows, or an object of named arrays)");
        var values = new List<double>();
        void Walk(JsonElement e, int depth)
        {
            if (depth == shape.Count)
            {
                if (e.ValueKind != JsonValueKind.Number)
                    throw new UsageException($"--{option} '{path}' is not a rectangular array of numbers (found {e.ValueKind} at depth {depth})");
                values.Add(e.GetDouble());
                return;
            }
            if (e.ValueKind != JsonValueKind.Array || e.GetArrayLength() != shape[depth])
                throw new UsageException($"--{option} '{path}' is ragged: every array at depth {depth} must have {shape[depth]} elements");
            foreach (var child in e.EnumerateArray()) Walk(child, depth + 1);
        }
        Walk(root, 0);
        return Numbers(path, option, values.ToArray(), shape.ToArray(), integers);
    }

    private static DataArray Numbers(string path, string option, double[] values, int[] shape, bool integers)
    {
        if (!integers) return new DataArray(path, "float32", new NdArray<float>(values.Select(v => (float)v).ToArray(), shape), null);
        var ints = new long[values.Length];
        for (int i = 0; i < values.Length; i++)
        {
            if (values[i] != Math.Round(values[i]))
                throw new UsageException($"--{option} '{path}': element {i} is {values[i].ToString(CultureInfo.InvariantCulture)}; the model takes integer token ids");
            ints[i] = (long)values[i];
        }
        return new DataArray(path, "int64", null, new NdArray<long>(ints, shape));
    }

    /// <summary>
    /// Writes through <c>&lt;path&gt;.partial</c>, moved into place only if the run was not cancelled; the partial file is
    /// removed on any failure.
    /// </summary>
    public static void WriteAtomically(string path, Action<string> write, CancellationToken cancellation)
    {
        string partial = path + ".partial";
        Interrupt.Track(partial);
        try
        {
            write(partial);
            Interrupt.Commit(partial, path, cancellation);
        }
        finally
        {
            if (File.Exists(partial)) File.Delete(partial);
            Interrupt.Untrack(partial);
        }
    }

    /// <summary>An .npz archive of named arrays (NumPy's <c>np.load</c> reads each by name).</summary>
    public static void WriteNpz(string path, IEnumerable<(string Name, Action<string> Write)> arrays)
    {
        using var stream = File.Create(path);
        using var zip = new ZipArchive(stream, ZipArchiveMode.Create);
        foreach (var (name, write) in arrays)
        {
            string temp = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"mlnet-explain-{Guid.NewGuid():N}.npy");
            try
            {
                write(temp);
                zip.CreateEntryFromFile(temp, name + ".npy", CompressionLevel.Fastest);
            }
            finally
            {
                File.Delete(temp);
            }
        }
    }

    /// <summary>A nested JSON array of the given shape.</summary>
    public static void WriteNested(Utf8JsonWriter json, ReadOnlySpan<float> data, ReadOnlySpan<int> shape)
    {
        json.WriteStartArray();
        if (shape.Length <= 1)
        {
            foreach (float v in data) WriteNumber(json, v);
        }
        else
        {
            int inner = data.Length / Math.Max(1, shape[0]);
            for (int i = 0; i < shape[0]; i++) WriteNested(json, data.Slice(i * inner, inner), shape[1..]);
        }
        json.WriteEndArray();
    }

    /// <summary>A float as JSON (NaN and infinities, which JSON lacks, as null).</summary>
    public static void WriteNumber(Utf8JsonWriter json, float value)
    {
        if (float.IsFinite(value)) json.WriteNumberValue(value);
        else json.WriteNullValue();
    }
}
