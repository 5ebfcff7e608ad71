using Microsoft.ML.Attribution.Methods;

namespace Microsoft.ML.Attribution.Orleans.Tests;

[TestClass]
public sealed class LocalJobRunnerTests
{
    [TestMethod]
    public async Task LocalRun_WritesOnePartPerPartition_WithEveryRowOnce()
    {
        using var fixtures = new JobFixtures();
        var job = fixtures.KernelShapJob(fixtures.Input(2_500), "out", partitionRows: 1_000);
        var manifest = await LocalJobRunner.RunAsync(job);
        Assert.AreEqual(3, manifest.Parts.Count);
        Assert.AreEqual(2_500, manifest.RowsWritten);
        var output = await JobFixtures.ReadOutputAsync(job.OutputPath);
        CollectionAssert.AreEqual(Enumerable.Range(0, 2_500).Select(i => (long)i).ToArray(), output.Rows);
        CollectionAssert.AreEqual(JobFixtures.Features, output.Features.ToArray());
        Assert.IsTrue(output.Targets.All(t => t == 0));
        Assert.IsTrue(output.Attributions.Any(a => a != 0));
        Assert.IsFalse(Directory.EnumerateFiles(job.OutputPath, "*.tmp").Any());
    }

    [TestMethod]
    public async Task PartitionSeeds_DifferPerPartition_AndTheSameSeedGivesTheSameParts()
    {
        using var fixtures = new JobFixtures();
        string input = fixtures.Input(2_000);
        var first = fixtures.KernelShapJob(input, "a", partitionRows: 1_000);
        await LocalJobRunner.RunAsync(first);
        await LocalJobRunner.RunAsync(first with { OutputPath = Path.Combine(fixtures.Root, "b") });
        JobFixtures.AssertBitIdentical(await JobFixtures.ReadOutputAsync(first.OutputPath), await JobFixtures.ReadOutputAsync(Path.Combine(fixtures.Root, "b")));
        Assert.AreNotEqual(PartitionSeeds.Derive(42, 0), PartitionSeeds.Derive(42, 1));
        var options = (KernelShapOptions)PartitionSeeds.ForPartition(new KernelShapOptions { Samples = 9, Seed = 5 }, 3);
        Assert.AreEqual(9, options.Samples);
        Assert.AreEqual(PartitionSeeds.Derive(5, 3), options.Seed);
    }

    [TestMethod]
    public async Task OutputFolder_OfAnotherJob_IsRefused()
    {
        using var fixtures = new JobFixtures();
        string input = fixtures.Input(500);
        var job = fixtures.KernelShapJob(input, "out", partitionRows: 500);
        await LocalJobRunner.RunAsync(job);
        var other = job with { Seed = 43 };
        var e = await Assert.ThrowsExactlyAsync<InvalidOperationException>(() => LocalJobRunner.RunAsync(other));
        StringAssert.Contains(e.Message, "another job");
    }

    [TestMethod]
    public async Task TreeShap_OnFastTreeArchive_AddsUpToThePrediction()
    {
        using var fixtures = new JobFixtures();
        var job = ExplanationJob.Create(fixtures.FastTreeModel(), "tree-shap", null, fixtures.Input(300), Path.Combine(fixtures.Root, "trees"), 100);
        await LocalJobRunner.RunAsync(job);
        var output = await JobFixtures.ReadOutputAsync(job.OutputPath);
        Assert.AreEqual(300, output.Rows.Length);
        Assert.IsTrue(output.Attributions.Any(a => a != 0));
    }
}
