using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.ML.Attribution.Methods;

namespace Microsoft.ML.Attribution.Orleans;

/// <summary>
/// One explanation job: a model, a method with its options, an input table, an output folder and how the rows are cut
/// into partitions. The same job runs on a cluster (<see cref="IExplanationJobGrain"/>) or in one process
/// (<see cref="LocalJobRunner"/>) with the same result, bit for bit.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record ExplanationJob
{
    /// <summary>The model: an ONNX file, or an ML.NET model archive (.zip) such as a FastTree model saved with <c>mlContext.Model.Save</c>.</summary>
    [Id(0)] public required string ModelPath { get; init; }

    /// <summary>SHA-256 of the model file (hex); every silo checks the file it loads against it. <see cref="Create"/> fills it.</summary>
    [Id(1)] public required string ModelHash { get; init; }

    /// <summary>The registry's method name (<see cref="MethodRegistry"/>).</summary>
    [Id(2)] public required string Method { get; init; }

    /// <summary>The method's options in the registry's serialized form (<see cref="MethodOptionsJsonConverter"/>); null: the defaults.</summary>
    [Id(3)] public string? MethodOptions { get; init; }

    /// <summary>The input rows: a Parquet file, one numeric column per feature.</summary>
    [Id(4)] public required string InputPath { get; init; }

    /// <summary>The feature columns, in the model's order; null: every numeric column of the input.</summary>
    [Id(5)] public IReadOnlyList<string>? FeatureColumns { get; init; }

    /// <summary>The output folder: one Parquet part per partition and <c>manifest.json</c>.</summary>
    [Id(6)] public required string OutputPath { get; init; }

    /// <summary>Rows per partition.</summary>
    [Id(7)] public int PartitionRows { get; init; } = 10_000;

    /// <summary>The job's seed; each partition's draws use <see cref="PartitionSeeds.Derive"/>(seed, partition). Null: the options' seed.</summary>
    [Id(8)] public int? Seed { get; init; }

    /// <summary>The explained output index; null: each row's prediction.</summary>
    [Id(9)] public int? Target { get; init; }

    /// <summary>Rows × perturbations per model call (the method's internal batch size); null: the method's default.</summary>
    [Id(10)] public int? InternalBatchSize { get; init; }

    /// <summary>Tries per partition before it is reported failed (a silo lost mid-partition costs one).</summary>
    [Id(11)] public int MaxAttempts { get; init; } = 3;

    /// <summary>Partitions explained at once across the cluster.</summary>
    [Id(12)] public int MaxConcurrentPartitions { get; init; } = 8;

    /// <summary>
    /// A job for <paramref name="modelPath"/> with its content hash computed, and <paramref name="options"/> (null: the
    /// method's defaults) in the registry's serialized form.
    /// </summary>
    public static ExplanationJob Create(string modelPath, string method, MethodOptions? options, string inputPath, string outputPath,
        int partitionRows = 10_000, int? seed = null, int? target = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(partitionRows, 1);
        var registered = MethodRegistry.Get(method);
        if (options is not null && options.GetType() != registered.OptionsType)
            throw new ArgumentException($"Method '{method}' takes {registered.OptionsType.Name}, got {options.GetType().Name}.", nameof(options));
        if (!File.Exists(modelPath)) throw new FileNotFoundException($"Model file '{modelPath}' does not exist.", modelPath);
        if (!File.Exists(inputPath)) throw new FileNotFoundException($"Input file '{inputPath}' does not exist.", inputPath);
        return new ExplanationJob
        {
            ModelPath = Path.GetFullPath(modelPath),
            ModelHash = HashFile(modelPath),
            Method = method,
            MethodOptions = options is null ? null : JsonSerializer.Serialize(options, OptionsJson),
            InputPath = Path.GetFullPath(inputPath),
            OutputPath = Path.GetFullPath(outputPath),
            PartitionRows = partitionRows,
            Seed = seed,
            Target = target,
        };
    }

    /// <summary>The method's options read back from <see cref="MethodOptions"/>.</summary>
    public MethodOptions ReadOptions()
    {
        var method = MethodRegistry.Get(Method);
        if (MethodOptions is null) return method.CreateDefaultOptions();
        var options = JsonSerializer.Deserialize<MethodOptions>(MethodOptions, OptionsJson)
            ?? throw new JsonException($"Job options '{MethodOptions}' read as null.");
        return options.GetType() == method.OptionsType ? options
            : throw new ArgumentException($"Method '{Method}' takes {method.OptionsType.Name}; the job's options are a {options.GetType().Name}.");
    }

    /// <summary>SHA-256 of a file's bytes, lower-case hex.</summary>
    public static string HashFile(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    internal static readonly JsonSerializerOptions OptionsJson = new()
    {
        Converters = { new MethodOptionsJsonConverter(), new JsonStringEnumConverter() },
    };
}

/// <summary>Where a job stands.</summary>
public enum JobStatus
{
    /// <summary>Never submitted.</summary>
    None,

    /// <summary>Partitions are being explained.</summary>
    Running,

    /// <summary>Cancel asked; partitions in flight are finishing (each writes a whole part or nothing).</summary>
    Cancelling,

    /// <summary>Stopped by cancel; finished parts stay, the manifest lists them.</summary>
    Cancelled,

    /// <summary>Every partition explained.</summary>
    Completed,

    /// <summary>Every partition done or failed, and at least one failed (see <see cref="JobProgress.Failures"/>).</summary>
    CompletedWithFailures,
}

/// <summary>A partition that ran out of tries, with its last error.</summary>
[GenerateSerializer, Immutable]
public sealed record PartitionFailure([property: Id(0)] int Partition, [property: Id(1)] long FirstRow, [property: Id(2)] int Rows,
    [property: Id(3)] int Attempts, [property: Id(4)] string Error);

/// <summary>A job's progress: rows done of the total, rate, ETA and the partitions that failed.</summary>
[GenerateSerializer, Immutable]
public sealed record JobProgress
{
    /// <summary>Where the job stands.</summary>
    [Id(0)] public JobStatus Status { get; init; }

    /// <summary>Rows in the input.</summary>
    [Id(1)] public long TotalRows { get; init; }

    /// <summary>Rows whose part is written.</summary>
    [Id(2)] public long RowsDone { get; init; }

    /// <summary>Partitions in the plan.</summary>
    [Id(3)] public int Partitions { get; init; }

    /// <summary>Partitions whose part is written.</summary>
    [Id(4)] public int PartitionsDone { get; init; }

    /// <summary>Rows per second since the job (re)started on its current activation.</summary>
    [Id(5)] public double RowsPerSecond { get; init; }

    /// <summary>Time to the end at the current rate; null when unknown.</summary>
    [Id(6)] public TimeSpan? Eta { get; init; }

    /// <summary>Partitions that ran out of tries.</summary>
    [Id(7)] public IReadOnlyList<PartitionFailure> Failures { get; init; } = [];

    /// <summary>True once nothing more will run (completed, with or without failures, or cancelled).</summary>
    public bool IsFinished => Status is JobStatus.Completed or JobStatus.CompletedWithFailures or JobStatus.Cancelled;

    /// <inheritdoc />
    public override string ToString() =>
        $"{Status}: {RowsDone:N0}/{TotalRows:N0} rows, {PartitionsDone}/{Partitions} parts, {RowsPerSecond:N0} rows/s" +
        (Eta is { } eta ? $", ETA {eta:hh\\:mm\\:ss}" : "") + (Failures.Count > 0 ? $", {Failures.Count} failed" : "");
}
