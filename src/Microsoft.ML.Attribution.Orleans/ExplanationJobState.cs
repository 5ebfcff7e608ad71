namespace Microsoft.ML.Attribution.Orleans;

/// <summary>Where one partition stands.</summary>
public enum PartitionStatus
{
    /// <summary>Not started, or to be retried.</summary>
    Pending,

    /// <summary>A try is in flight.</summary>
    Running,

    /// <summary>Its part is written.</summary>
    Done,

    /// <summary>Out of tries.</summary>
    Failed,
}

/// <summary>One partition in the job's persisted state.</summary>
[GenerateSerializer]
public sealed class PartitionState
{
    /// <summary>Where it stands.</summary>
    [Id(0)] public PartitionStatus Status { get; set; }

    /// <summary>Tries started.</summary>
    [Id(1)] public int Attempts { get; set; }

    /// <summary>The last try's error.</summary>
    [Id(2)] public string? Error { get; set; }

    /// <summary>The part, once written.</summary>
    [Id(3)] public PartResult? Result { get; set; }
}

/// <summary>The persisted state of an <see cref="IExplanationJobGrain"/>: the job and its plan.</summary>
[GenerateSerializer]
public sealed class ExplanationJobState
{
    /// <summary>The job; null until submitted.</summary>
    [Id(0)] public ExplanationJob? Job { get; set; }

    /// <summary>Where the job stands.</summary>
    [Id(1)] public JobStatus Status { get; set; }

    /// <summary>Rows in the input.</summary>
    [Id(2)] public long TotalRows { get; set; }

    /// <summary>One entry per partition.</summary>
    [Id(3)] public List<PartitionState> Partitions { get; set; } = [];
}
