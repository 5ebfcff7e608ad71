using Orleans.Concurrency;
using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace Microsoft.ML.Attribution.Orleans;

/// <summary>
/// The job grain. Reentrant: progress and cancel calls interleave with the dispatch loop, which runs on the grain's
/// scheduler (one turn at a time, so the state needs no lock).
/// </summary>
[Reentrant]
internal sealed class ExplanationJobGrain(
    [PersistentState("job", ExplanationJobs.StorageName)] IPersistentState<ExplanationJobState> state,
    ILogger<ExplanationJobGrain> logger) : Grain, IExplanationJobGrain
{
    private Task? _driver;
    private readonly Stopwatch _clock = new();
    private long _rowsAtStart;

    private ExplanationJobState S => state.State;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (S.Status is JobStatus.Running or JobStatus.Cancelling) StartDriver();
        return Task.CompletedTask;
    }

    public async Task<JobProgress> SubmitAsync(ExplanationJob job)
    {
        ArgumentNullException.ThrowIfNull(job);
        if (S.Job is not null)
        {
            if (JsonSerializer.Serialize(S.Job) != JsonSerializer.Serialize(job))
                throw new InvalidOperationException($"Job '{this.GetPrimaryKeyString()}' was submitted with another job ({S.Job.Method} on {S.Job.InputPath}); use a new id.");
            if (S.Status is JobStatus.Running or JobStatus.Cancelling) StartDriver();
            return Progress();
        }
        JobManifest.ClaimOutput(job);
        long total = await ParquetTables.CountRowsAsync(job.InputPath);
        S.Job = job;
        S.TotalRows = total;
        S.Status = JobStatus.Running;
        S.Partitions = Enumerable.Range(0, PartitionPlan.Count(total, job.PartitionRows)).Select(_ => new PartitionState()).ToList();
        await state.WriteStateAsync();
        logger.LogInformation("Job {Job}: {Rows} rows in {Partitions} partitions of {PartitionRows}", this.GetPrimaryKeyString(), total, S.Partitions.Count, job.PartitionRows);
        StartDriver();
        return Progress();
    }

    public Task<JobProgress> GetProgressAsync() => Task.FromResult(Progress());

    public async Task<JobProgress> CancelAsync()
    {
        if (S.Status == JobStatus.Running)
        {
            S.Status = JobStatus.Cancelling;
            await state.WriteStateAsync();
            if (_driver is null) StartDriver();
        }
        else if (S.Status == JobStatus.None)
        {
            throw new InvalidOperationException($"Job '{this.GetPrimaryKeyString()}' was never submitted.");
        }
        return Progress();
    }

    private void StartDriver()
    {
        if (_driver is not null) return;
        // Partitions in flight on an earlier activation (lost with its silo, or the whole cluster) are tried again.
        foreach (var p in S.Partitions.Where(p => p.Status == PartitionStatus.Running)) p.Status = PartitionStatus.Pending;
        _rowsAtStart = RowsDone;
        _clock.Restart();
        // The loop keeps the activation busy; without this an idle collector could deactivate it between progress calls.
        DelayDeactivation(TimeSpan.FromDays(7));
        _driver = DriveAsync();
    }

    private async Task DriveAsync()
    {
        var job = S.Job!;
        var inFlight = new Dictionary<Task<PartResult>, int>();
        try
        {
            while (true)
            {
                while (S.Status == JobStatus.Running && inFlight.Count < job.MaxConcurrentPartitions && NextPending() is int p)
                {
                    var partition = S.Partitions[p];
                    partition.Status = PartitionStatus.Running;
                    partition.Attempts++;
                    var worker = GrainFactory.GetGrain<IPartitionGrain>($"{this.GetPrimaryKeyString()}/{p}/{partition.Attempts}");
                    inFlight[worker.ExplainAsync(job, S.TotalRows, p)] = p;
                }
                if (inFlight.Count == 0) break;
                var finished = await Task.WhenAny(inFlight.Keys);
                int index = inFlight[finished];
                inFlight.Remove(finished);
                var entry = S.Partitions[index];
                try
                {
                    entry.Result = await finished;
                    entry.Status = PartitionStatus.Done;
                    entry.Error = null;
                }
                catch (Exception e) when (S.Status == JobStatus.Cancelling)
                {
                    logger.LogDebug(e, "Job {Job}: partition {Partition} stopped by cancel", this.GetPrimaryKeyString(), index);
                    entry.Status = PartitionStatus.Pending;
                }
                catch (Exception e)
                {
                    entry.Error = $"{e.GetType().Name}: {e.Message}";
                    entry.Status = entry.Attempts >= job.MaxAttempts ? PartitionStatus.Failed : PartitionStatus.Pending;
                    logger.LogWarning("Job {Job}: partition {Partition} try {Attempt} failed: {Error}", this.GetPrimaryKeyString(), index, entry.Attempts, entry.Error);
                }
                await state.WriteStateAsync();
            }
            S.Status = S.Status == JobStatus.Cancelling ? JobStatus.Cancelled
                : S.Partitions.Any(p => p.Status == PartitionStatus.Failed) ? JobStatus.CompletedWithFailures : JobStatus.Completed;
            await state.WriteStateAsync();
            await new JobManifest
            {
                Job = job,
                Status = S.Status,
                TotalRows = S.TotalRows,
                Parts = S.Partitions.Where(p => p.Result is not null).Select(p => p.Result!).ToArray(),
                Failures = Failures(),
            }.WriteAsync();
            logger.LogInformation("Job {Job}: {Status}", this.GetPrimaryKeyString(), S.Status);
        }
        catch (Exception e)
        {
            // Most often a stale activation whose state write lost to a newer one (the etag moved on): the newer one drives.
            logger.LogError(e, "Job {Job}: dispatch loop stopped", this.GetPrimaryKeyString());
            _driver = null;
            DeactivateOnIdle();
        }
        finally
        {
            if (S.Status is JobStatus.Completed or JobStatus.CompletedWithFailures or JobStatus.Cancelled) DelayDeactivation(TimeSpan.Zero);
        }
    }

    private int? NextPending()
    {
        int i = S.Partitions.FindIndex(p => p.Status == PartitionStatus.Pending);
        return i < 0 ? null : i;
    }

    private long RowsDone => S.Partitions.Sum(p => (long)(p.Result?.Rows ?? 0));

    private PartitionFailure[] Failures() => S.Partitions.Select((p, i) => (p, i)).Where(x => x.p.Status == PartitionStatus.Failed)
        .Select(x =>
        {
            var (first, rows) = PartitionPlan.Range(S.TotalRows, S.Job!.PartitionRows, x.i);
            return new PartitionFailure(x.i, first, rows, x.p.Attempts, x.p.Error ?? "");
        }).ToArray();

    private JobProgress Progress()
    {
        long done = RowsDone;
        double seconds = _clock.Elapsed.TotalSeconds;
        double rate = seconds > 0 ? (done - _rowsAtStart) / seconds : 0;
        long remaining = S.TotalRows - done - Failures().Sum(f => (long)f.Rows);
        return new JobProgress
        {
            Status = S.Status,
            TotalRows = S.TotalRows,
            RowsDone = done,
            Partitions = S.Partitions.Count,
            PartitionsDone = S.Partitions.Count(p => p.Status == PartitionStatus.Done),
            RowsPerSecond = rate,
            Eta = rate > 0 && S.Status == JobStatus.Running ? TimeSpan.FromSeconds(remaining / rate) : null,
            Failures = Failures(),
        };
    }
}
