using System.IO.Compression;
using System.Text.Json;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;

namespace Microsoft.ML.Attribution.MLNet;

/// <summary>
/// The archive written by <c>mlContext.Attribution().Save</c>: a zip whose first entry, <c>format.json</c>, names the
/// format and its version; then <c>pipeline.zip</c> (the steps before the explainer, as ML.NET saves them),
/// <c>explainer.json</c> (the explainer's settings) and, when it explains ONNX, <c>model.onnx</c>.
/// </summary>
/// <remarks>
/// Saving writes a temporary file in the target directory and moves it into place only once complete, so a refused or
/// failed save leaves the directory as it was and never a truncated archive under the target name. Version 1 is the
/// first versioned format; archives without <c>format.json</c> (written before versioning) read as version 1.
/// </remarks>
internal static class ExplainedPipelineArchive
{
    /// <summary>The format name written in <c>format.json</c>.</summary>
    public const string FormatName = "Microsoft.ML.Attribution.ExplainedPipeline";

    /// <summary>The version this library writes, and the newest it reads.</summary>
    public const int CurrentVersion = 1;

    private const string FormatEntry = "format.json";
    private const string PipelineEntry = "pipeline.zip";
    private const string ExplainerEntry = "explainer.json";
    private const string OnnxEntry = "model.onnx";

    private static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true };

    internal sealed record FormatHeader(string Format, int Version);

    private sealed record SavedExplainer(string Kind, ExplainOptions Options);

    /// <summary>Writes <paramref name="head"/> + <paramref name="explainer"/> to <paramref name="path"/> atomically.</summary>
    public static void Save(MLContext mlContext, ITransformer head, AttributionTransformer explainer, DataViewSchema inputSchema, string path)
    {
        string full = Path.GetFullPath(path);
        string directory = Path.GetDirectoryName(full) ?? throw new ArgumentException($"'{path}' has no directory.", nameof(path));
        if (!Directory.Exists(directory)) throw new DirectoryNotFoundException($"Cannot save to '{full}': directory '{directory}' does not exist.");
        // Same directory as the target: File.Move is then a rename on one file system, so the archive appears whole or not at all.
        string temporary = Path.Combine(directory, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var file = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write))
            {
                try { Write(mlContext, head, explainer, inputSchema, file); }
                catch (NotSupportedException e)
                {
                    throw new NotSupportedException($"A step before the last one cannot be saved by ML.NET (only the last step may be an " +
                        $"explanation step); nothing was written to '{full}'. {e.Message}", e);
                }
            }
            File.Move(temporary, full, overwrite: true);
        }
        catch
        {
            try { File.Delete(temporary); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            throw;
        }
    }

    private static void Write(MLContext mlContext, ITransformer head, AttributionTransformer explainer, DataViewSchema inputSchema, Stream file)
    {
        using var archive = new ZipArchive(file, ZipArchiveMode.Create, leaveOpen: true);
        // The header goes first so that a reader learns the version before anything else.
        using (var stream = archive.CreateEntry(FormatEntry).Open())
            JsonSerializer.Serialize(stream, new FormatHeader(FormatName, CurrentVersion), JsonOptions);
        using (var stream = archive.CreateEntry(PipelineEntry).Open())
            mlContext.Model.Save(head, inputSchema, stream);
        var settings = new SavedExplainer(explainer.Model.OnnxBytes is not null ? "onnx" : "mlnet-predictor", explainer.Options);
        using (var stream = archive.CreateEntry(ExplainerEntry).Open())
            JsonSerializer.Serialize(stream, settings, JsonOptions);
        if (explainer.Model.OnnxBytes is { } bytes)
        {
            using var stream = archive.CreateEntry(OnnxEntry).Open();
            stream.Write(bytes);
        }
    }

    /// <summary>Reads an archive written by <see cref="Save"/>; refuses newer format versions by name.</summary>
    public static ITransformer Load(MLContext mlContext, IHost host, string path, out DataViewSchema inputSchema)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"Saved pipeline '{path}' does not exist.", path);
        using var archive = ZipFile.OpenRead(path);
        CheckFormat(archive, path);
        var pipelineEntry = archive.GetEntry(PipelineEntry) ?? throw new InvalidDataException($"'{path}' has no {PipelineEntry}: it was not written by Attribution().Save.");
        using var pipelineStream = new MemoryStream();
        using (var s = pipelineEntry.Open()) s.CopyTo(pipelineStream);
        pipelineStream.Position = 0;
        var head = mlContext.Model.Load(pipelineStream, out inputSchema);
        SavedExplainer settings;
        using (var s = (archive.GetEntry(ExplainerEntry) ?? throw new InvalidDataException($"'{path}' has no {ExplainerEntry}.")).Open())
            settings = JsonSerializer.Deserialize<SavedExplainer>(s, JsonOptions) ?? throw new InvalidDataException($"'{path}': {ExplainerEntry} is empty.");
        ExplainedModel model;
        if (settings.Kind == "onnx")
        {
            using var s = (archive.GetEntry(OnnxEntry) ?? throw new InvalidDataException($"'{path}' has no {OnnxEntry}.")).Open();
            using var bytes = new MemoryStream();
            s.CopyTo(bytes);
            model = ExplainedModel.Onnx(bytes.ToArray());
        }
        else if (settings.Kind == "mlnet-predictor")
        {
            model = ExplainedModel.MLNet(ExplainingEstimator.Predictor(head));
        }
        else
        {
            throw new InvalidDataException($"'{path}': {ExplainerEntry} names an unknown explained-model kind '{settings.Kind}' (expected 'onnx' or 'mlnet-predictor').");
        }
        var explainer = new AttributionTransformer(model, settings.Options, host);
        return new TransformerChain<ITransformer>(head, explainer);
    }

    private static void CheckFormat(ZipArchive archive, string path)
    {
        var entry = archive.GetEntry(FormatEntry);
        if (entry is null) return;
        FormatHeader? header;
        using (var s = entry.Open())
        {
            try { header = JsonSerializer.Deserialize<FormatHeader>(s, JsonOptions); }
            catch (JsonException e) { throw new InvalidDataException($"'{path}': {FormatEntry} is not valid JSON ({e.Message}).", e); }
        }
        if (header is null || header.Format != FormatName)
            throw new InvalidDataException($"'{path}': {FormatEntry} names format '{header?.Format}', expected '{FormatName}'.");
        if (header.Version > CurrentVersion)
            throw new InvalidDataException($"'{path}' was written in explained-pipeline format version {header.Version} by a newer " +
                $"Microsoft.ML.Attribution; this version reads format versions up to {CurrentVersion}. Upgrade the library to load it.");
        if (header.Version < 1)
            throw new InvalidDataException($"'{path}': {FormatEntry} has format version {header.Version}; versions start at 1.");
    }
}
