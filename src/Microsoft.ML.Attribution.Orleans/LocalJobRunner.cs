namespace Microsoft.ML.Attribution.Orleans;

/// <summary>
/// The single-process path of a job: the same partitions, seeds and parts as on a cluster, explained one after the
/// other in this process. Its output is the reference a cluster's output equals bit for bit.
/// </summary>
public static class LocalJobRunner
{
    /// <summary>Explains every partition of <paramref name="job"/> and writes its parts and manifest.</summary>
    /// <param name="job">The job.</param>
    /// <param name="models">Loaded models to reuse; null: a new set.</param>
    /// <param name="progress">Rows done after each partition.</param>
    /// <param name="cancellation">Checked between partitions and before each part is moved into place.</param>
    public static async Task<JobManifest> RunAsync(ExplanationJob job, ExplanationModels? models = null, IProgress<long>? progress = null,
        CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(job);
        models ??= new ExplanationModels();
        JobManifest.ClaimOutput(job);
        long total = await ParquetTables.CountRowsAsync(job.InputPath, cancellation);
        var parts = new List<PartResult>();
        long done = 0;
        for (int p = 0; p < PartitionPlan.Count(total, job.PartitionRows); p++)
        {
            cancellation.ThrowIfCancellationRequested();
            var part = await PartitionExplainer.ExplainAsync(job, total, p, models, cancellation);
            parts.Add(part);
            progress?.Report(done += part.Rows);
        }
        var manifest = new JobManifest { Job = job, Status = JobStatus.Completed, TotalRows = total, Parts = parts };
        await manifest.WriteAsync(cancellation);
        return manifest;
    }
}
