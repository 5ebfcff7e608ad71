using System.Reflection;

namespace Microsoft.ML.Attribution.MLNet;

/// <summary>
/// The refusal of <c>mlContext.Model.Save</c> on a chain holding an explanation step. ML.NET (checked on 6.0.0) opens
/// the target before asking any transformer to save: <c>Model.Save(model, schema, filePath)</c> has already created
/// the file, and when our step throws, ML.NET's disposal still closes the zip, leaving an incomplete model of the steps
/// before ours (about 1 kB) at that path. The file belongs to the caller's stream, so it is not deleted here (with the
/// Stream overload it is the caller's own stream); the message names it so the caller can.
/// </summary>
internal static class ModelSaveRefusal
{
    /// <summary>The exception thrown from <c>ICanSaveModel.Save</c>, naming the partial file when it can be found.</summary>
    public static NotSupportedException Create(ModelSaveContext context)
    {
        string? path = TargetFile(context);
        string left = path is null
            ? " ML.NET has already opened its target: a file it created holds an incomplete model and can be deleted."
            : $" The target '{path}' now holds an incomplete model and can be deleted.";
        return new NotSupportedException("ML.NET cannot save third-party transformers; save the pipeline with " +
            "mlContext.Attribution().Save(model, inputSchema, path) and load it with mlContext.Attribution().Load(path, out schema)." + left);
    }

    /// <summary>
    /// The file under ML.NET's repository writer, found by walking its private fields a few levels deep (no public API
    /// exposes it); null when ML.NET's internals differ or the target is not a file.
    /// </summary>
    internal static string? TargetFile(ModelSaveContext context)
    {
        try
        {
            var seen = new HashSet<object>(ReferenceEqualityComparer.Instance);
            var level = new List<object> { context };
            for (int depth = 0; depth < 4 && level.Count > 0; depth++)
            {
                var next = new List<object>();
                foreach (var item in level)
                {
                    if (!seen.Add(item)) continue;
                    // The zip's own stream: ML.NET also holds temporary FileStreams (one per entry, under the temp folder).
                    if (item is System.IO.Compression.ZipArchive zip) return Fields(zip).OfType<FileStream>().FirstOrDefault()?.Name;
                    next.AddRange(Fields(item));
                }
                level = next;
            }
        }
        catch (Exception e) when (e is FieldAccessException or TargetException or NotSupportedException)
        {
        }
        return null;
    }

    private static IEnumerable<object> Fields(object item)
    {
        var values = new List<object>();
        for (var type = item.GetType(); type is not null && type != typeof(object); type = type.BaseType)
        {
            foreach (var field in type.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
            {
                if (field.FieldType.IsValueType || field.FieldType == typeof(string)) continue;
                if (field.GetValue(item) is { } value) values.Add(value);
            }
        }
        return values;
    }
}
