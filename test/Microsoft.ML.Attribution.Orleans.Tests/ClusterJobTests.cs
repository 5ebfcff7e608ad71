using System.Diagnostics;
using Microsoft.ML.Attribution.Methods;

namespace Microsoft.ML.Attribution.Orleans.Tests;

/// <summary>Jobs on a three-silo TestingHost cluster: silo loss, whole-cluster restart, poisoned partitions, cancel.</summary>
[TestClass]
public sealed class ClusterJobTests
{
    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    public async Task KernelShap_200kRows_SiloKilledMidJob_CompletesEveryRowOnce_BitIdenticalToSingleProcess()
    {
        using var fixtures = new JobFixtures();
        string input = fixtures.Input(200_000);
        var job = fixtures.KernelShapJob(input, "cluster", partitionRows: 10_000) with { MaxConcurrentPartitions = 3 };
        var clock = Stopwatch.StartNew();
        await LocalJobRunner.RunAsync(job with { OutputPath = Path.Combine(fixtures.Root, "local") });
        TestContext.WriteLine($"single process: {clock.Elapsed.TotalSeconds:F1} s");

        var cluster = await fixtures.StartClusterAsync();
        try
        {
            var grain = cluster.Client.GetGrain<IExplanationJobGrain>("kill");
            await grain.SubmitAsync(job);
            await JobFixtures.WaitAsync(grain, p => p.PartitionsDone >= 3);
            Assert.IsFalse((await grain.GetProgressAsync()).IsFinished, "the job finished before a silo could be killed; give it more partitions");
            await cluster.KillSiloAsync(cluster.SecondarySilos[0]);
            var progress = await JobFixtures.WaitAsync(grain);
            TestContext.WriteLine($"cluster: {progress}");
            Assert.AreEqual(JobStatus.Completed, progress.Status, progress.ToString());
            Assert.AreEqual(200_000, progress.RowsDone);
        }
        finally
        {
            await cluster.StopAllSilosAsync();
            await cluster.DisposeAsync();
        }
        var clustered = await JobFixtures.ReadOutputAsync(job.OutputPath);
        CollectionAssert.AreEqual(Enumerable.Range(0, 200_000).Select(i => (long)i).ToArray(), clustered.Rows, "each row exactly once, in order");
        JobFixtures.AssertBitIdentical(await JobFixtures.ReadOutputAsync(Path.Combine(fixtures.Root, "local")), clustered);
        Assert.IsFalse(Directory.EnumerateFiles(job.OutputPath, "*.tmp").Any(), "no temporary part left behind");
    }

    [TestMethod]
    public async Task TreeShap_FastTree_200kRows_OnThreeSilos_BitIdenticalToSingleProcess()
    {
        using var fixtures = new JobFixtures();
        var job = ExplanationJob.Create(fixtures.FastTreeModel(), "tree-shap", null, fixtures.Input(200_000), Path.Combine(fixtures.Root, "cluster"), 20_000);
        await LocalJobRunner.RunAsync(job with { OutputPath = Path.Combine(fixtures.Root, "local") });
        var cluster = await fixtures.StartClusterAsync();
        try
        {
            var grain = cluster.Client.GetGrain<IExplanationJobGrain>("trees");
            await grain.SubmitAsync(job);
            await JobFixtures.WaitAsync(grain, p => p.PartitionsDone >= 2);
            await cluster.KillSiloAsync(cluster.SecondarySilos[1]);
            var progress = await JobFixtures.WaitAsync(grain);
            Assert.AreEqual(JobStatus.Completed, progress.Status, progress.ToString());
        }
        finally
        {
            await cluster.StopAllSilosAsync();
            await cluster.DisposeAsync();
        }
        var clustered = await JobFixtures.ReadOutputAsync(job.OutputPath);
        Assert.AreEqual(200_000, clustered.Rows.Distinct().Count());
        JobFixtures.AssertBitIdentical(await JobFixtures.ReadOutputAsync(Path.Combine(fixtures.Root, "local")), clustered);
    }

    [TestMethod]
    public async Task WholeClusterRestart_ResumesFromPersistedState_WithoutRedoingFinishedParts()
    {
        using var fixtures = new JobFixtures();
        var job = fixtures.KernelShapJob(fixtures.Input(60_000), "cluster", partitionRows: 2_000) with { MaxConcurrentPartitions = 1 };
        var cluster = await fixtures.StartClusterAsync();
        Dictionary<string, DateTime> finished;
        try
        {
            var grain = cluster.Client.GetGrain<IExplanationJobGrain>("restart");
            await grain.SubmitAsync(job);
            var halfway = await JobFixtures.WaitAsync(grain, p => p.PartitionsDone >= 10);
            Assert.IsFalse(halfway.IsFinished, "the job finished before the restart; give it more partitions");
        }
        finally
        {
            await cluster.StopAllSilosAsync();
            await cluster.DisposeAsync();
        }
        // Parts the persisted plan has as done must be kept as they are.
        await Task.Delay(500);
        finished = Directory.EnumerateFiles(job.OutputPath, "part-*.parquet").ToDictionary(f => f, File.GetLastWriteTimeUtc);
        Assert.IsTrue(finished.Count is >= 10 and < 30, $"{finished.Count} parts before the restart");

        cluster = await fixtures.StartClusterAsync();
        try
        {
            var grain = cluster.Client.GetGrain<IExplanationJobGrain>("restart");
            var resumed = await grain.GetProgressAsync();
            Assert.AreEqual(JobStatus.Running, resumed.Status);
            Assert.IsTrue(resumed.PartitionsDone >= 10, $"resumed at {resumed}");
            var progress = await JobFixtures.WaitAsync(grain);
            Assert.AreEqual(JobStatus.Completed, progress.Status, progress.ToString());
        }
        finally
        {
            await cluster.StopAllSilosAsync();
            await cluster.DisposeAsync();
        }
        foreach (var (file, written) in finished)
            Assert.AreEqual(written, File.GetLastWriteTimeUtc(file), $"{Path.GetFileName(file)} was written again after the restart");
        var output = await JobFixtures.ReadOutputAsync(job.OutputPath);
        CollectionAssert.AreEqual(Enumerable.Range(0, 60_000).Select(i => (long)i).ToArray(), output.Rows);
        await LocalJobRunner.RunAsync(job with { OutputPath = Path.Combine(fixtures.Root, "local") });
        JobFixtures.AssertBitIdentical(await JobFixtures.ReadOutputAsync(Path.Combine(fixtures.Root, "local")), output);
    }

    [TestMethod]
    public async Task PoisonedPartition_IsRetriedThenReportedFailed_WhileTheRestFinish()
    {
        using var fixtures = new JobFixtures();
        var job = fixtures.KernelShapJob(fixtures.Input(20_000, poisoned: 7_123), "cluster", partitionRows: 2_000) with { MaxAttempts = 2 };
        var cluster = await fixtures.StartClusterAsync();
        try
        {
            var grain = cluster.Client.GetGrain<IExplanationJobGrain>("poison");
            await grain.SubmitAsync(job);
            var progress = await JobFixtures.WaitAsync(grain);
            Assert.AreEqual(JobStatus.CompletedWithFailures, progress.Status, progress.ToString());
            var failure = progress.Failures.Single();
            Assert.AreEqual(3, failure.Partition);
            Assert.AreEqual(6_000, failure.FirstRow);
            Assert.AreEqual(2, failure.Attempts);
            StringAssert.Contains(failure.Error, "Row 7123, column 'b' is NaN");
            Assert.AreEqual(18_000, progress.RowsDone);
        }
        finally
        {
            await cluster.StopAllSilosAsync();
            await cluster.DisposeAsync();
        }
        var manifest = JobManifest.Read(job.OutputPath)!;
        Assert.AreEqual(JobStatus.CompletedWithFailures, manifest.Status);
        Assert.AreEqual(9, manifest.Parts.Count);
        Assert.AreEqual(3, manifest.Failures.Single().Partition);
        Assert.IsFalse(File.Exists(Path.Combine(job.OutputPath, PartitionPlan.PartName(3))));
    }

    [TestMethod]
    public async Task Cancel_StopsTheJob_LeavingOnlyWholeParts()
    {
        using var fixtures = new JobFixtures();
        var job = fixtures.KernelShapJob(fixtures.Input(100_000), "cluster", partitionRows: 2_000) with { MaxConcurrentPartitions = 2 };
        var cluster = await fixtures.StartClusterAsync();
        try
        {
            var grain = cluster.Client.GetGrain<IExplanationJobGrain>("cancel");
            await grain.SubmitAsync(job);
            await JobFixtures.WaitAsync(grain, p => p.PartitionsDone >= 2);
            var cancelling = await grain.CancelAsync();
            Assert.IsTrue(cancelling.Status is JobStatus.Cancelling or JobStatus.Cancelled, cancelling.ToString());
            var progress = await JobFixtures.WaitAsync(grain, timeout: TimeSpan.FromSeconds(60));
            Assert.AreEqual(JobStatus.Cancelled, progress.Status);
            Assert.IsTrue(progress.RowsDone < 100_000, progress.ToString());
            await Task.Delay(1_000);
            Assert.AreEqual(progress, await grain.GetProgressAsync() with { RowsPerSecond = progress.RowsPerSecond, Eta = progress.Eta, Failures = progress.Failures },
                "nothing runs after a cancel");
        }
        finally
        {
            await cluster.StopAllSilosAsync();
            await cluster.DisposeAsync();
        }
        var manifest = JobManifest.Read(job.OutputPath)!;
        Assert.AreEqual(JobStatus.Cancelled, manifest.Status);
        Assert.IsFalse(Directory.EnumerateFiles(job.OutputPath, "*.tmp").Any());
        var parts = Directory.EnumerateFiles(job.OutputPath, "part-*.parquet").Select(Path.GetFileName).Order().ToArray();
        CollectionAssert.AreEqual(manifest.Parts.Select(p => p.File).Order().ToArray(), parts, "every part on disk is listed, each whole");
        _ = await JobFixtures.ReadOutputAsync(job.OutputPath);
    }
}
