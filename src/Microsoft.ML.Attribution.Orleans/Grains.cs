using Orleans.Concurrency;

namespace Microsoft.ML.Attribution.Orleans;

/// <summary>
/// One explanation job, keyed by its id: plans the partitions, hands them to workers across the cluster, retries those
/// lost with a silo or that threw, and keeps the plan in persisted grain state so that the job resumes after a restart.
/// </summary>
public interface IExplanationJobGrain : IGrainWithStringKey
{
    /// <summary>Starts the job, or resumes it when this id was submitted with the same job before.</summary>
    /// <exception cref="InvalidOperationException">The id was submitted with another job.</exception>
    Task<JobProgress> SubmitAsync(ExplanationJob job);

    /// <summary>Rows done of the total, rate, ETA and failed partitions (a call also resumes a job whose silo was lost).</summary>
    Task<JobProgress> GetProgressAsync();

    /// <summary>
    /// Stops dispatching partitions; those in flight finish and write their parts (a partition is bounded work, and a
    /// part written after its caller stopped listening would be on disk but not in the manifest), then the job is cancelled.
    /// </summary>
    Task<JobProgress> CancelAsync();
}

/// <summary>One try at one partition (keyed job/partition/attempt, so each try is placed afresh on a live silo).</summary>
public interface IPartitionGrain : IGrainWithStringKey
{
    /// <summary>Explains the partition on this silo's stateless workers and returns its part.</summary>
    Task<PartResult> ExplainAsync(ExplanationJob job, long totalRows, int partition, CancellationToken cancellation = default);
}

/// <summary>Explains partitions on the silo it runs on, with the silo's loaded models (stateless, one per core at most).</summary>
public interface IPartitionWorkerGrain : IGrainWithIntegerKey
{
    /// <summary>Explains the partition and writes its part.</summary>
    Task<PartResult> ExplainAsync(ExplanationJob job, long totalRows, int partition, CancellationToken cancellation = default);
}

/// <summary>Places a try at a partition on a silo and hands it to that silo's workers.</summary>
internal sealed class PartitionGrain : Grain, IPartitionGrain
{
    public async Task<PartResult> ExplainAsync(ExplanationJob job, long totalRows, int partition, CancellationToken cancellation)
    {
        try
        {
            return await GrainFactory.GetGrain<IPartitionWorkerGrain>(0).ExplainAsync(job, totalRows, partition, cancellation);
        }
        finally
        {
            DeactivateOnIdle();
        }
    }
}

/// <summary>The worker: the single-process engine, run off the grain scheduler (explaining is CPU-bound).</summary>
[StatelessWorker]
internal sealed class PartitionWorkerGrain(ExplanationModels models) : Grain, IPartitionWorkerGrain
{
    public Task<PartResult> ExplainAsync(ExplanationJob job, long totalRows, int partition, CancellationToken cancellation) =>
        Task.Run(() => PartitionExplainer.ExplainAsync(job, totalRows, partition, models, cancellation), cancellation);
}
