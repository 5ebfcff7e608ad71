using System.Text.Json;
using System.Text.Json.Serialization;

namespace Microsoft.ML.Attribution.Orleans;

/// <summary>
/// <c>manifest.json</c> of a job's output folder: the job, its status, and every part written with its row range and
/// SHA-256; partitions that failed are listed with their error. Written to a temporary name and moved into place.
/// </summary>
public sealed record JobManifest
{
    /// <summary>File name of the manifest in the output folder.</summary>
    public const string FileName = "manifest.json";

    /// <summary>The job.</summary>
    public required ExplanationJob Job { get; init; }

    /// <summary>Where the job stands.</summary>
    [JsonConverter(typeof(JsonStringEnumConverter<JobStatus>))]
    public JobStatus Status { get; init; }

    /// <summary>Rows in the input.</summary>
    public long TotalRows { get; init; }

    /// <summary>Rows in the parts listed.</summary>
    public long RowsWritten => Parts.Sum(p => (long)p.Rows);

    /// <summary>The parts, by partition.</summary>
    public IReadOnlyList<PartResult> Parts { get; init; } = [];

    /// <summary>Partitions that ran out of tries.</summary>
    public IReadOnlyList<PartitionFailure> Failures { get; init; } = [];

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    /// <summary>Writes the manifest into the job's output folder.</summary>
    public Task WriteAsync(CancellationToken cancellation = default) =>
        ParquetTables.WriteAtomicallyAsync(Path.Combine(Job.OutputPath, FileName),
            stream => JsonSerializer.SerializeAsync(stream, this with { Parts = Parts.OrderBy(p => p.Partition).ToArray() }, Json, cancellation), cancellation);

    /// <summary>The manifest of an output folder, or null when there is none.</summary>
    public static JobManifest? Read(string outputPath)
    {
        string path = Path.Combine(outputPath, FileName);
        return File.Exists(path) ? JsonSerializer.Deserialize<JobManifest>(File.ReadAllText(path), Json) : null;
    }

    /// <summary>
    /// Checks that <paramref name="job"/> may write to its output folder: the folder is created, and a job recorded
    /// there before (<c>job.json</c>) must be the same job, so that a resumed job never mixes its parts with another's.
    /// </summary>
    /// <exception cref="InvalidOperationException">The folder holds another job's output.</exception>
    public static void ClaimOutput(ExplanationJob job)
    {
        Directory.CreateDirectory(job.OutputPath);
        string path = Path.Combine(job.OutputPath, "job.json");
        string text = JsonSerializer.Serialize(job, Json);
        if (File.Exists(path))
        {
            if (File.ReadAllText(path) != text)
                throw new InvalidOperationException($"Output folder '{job.OutputPath}' holds another job's parts (its job.json differs); use an empty folder.");
            return;
        }
        string temporary = $"{path}.{Guid.NewGuid():N}.tmp";
        File.WriteAllText(temporary, text);
        File.Move(temporary, path, overwrite: true);
    }
}
