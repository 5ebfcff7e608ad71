using Microsoft.ML.Attribution.Methods;
using Microsoft.ML.Data;
using Orleans.TestingHost;

namespace Microsoft.ML.Attribution.Orleans.Tests;

/// <summary>Inputs, models and clusters for the job tests; everything under one temporary folder per test.</summary>
internal sealed class JobFixtures : IDisposable
{
    public JobFixtures()
    {
        Root = Path.Combine(Path.GetTempPath(), "attr-orleans-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(Root);
    }

    public string Root { get; }

    public string State => Path.Combine(Root, "state");

    public static string ToyModel => Path.Combine(AppContext.BaseDirectory, "Data", "toy.onnx");

    public static readonly string[] Features = ["a", "b", "c"];

    /// <summary>A Parquet table of <paramref name="rows"/> rows × 3 features; <paramref name="poisoned"/> rows get a NaN.</summary>
    public string Input(int rows, int seed = 7, params long[] poisoned)
    {
        var random = new Random(seed);
        var data = new float[rows * 3];
        for (int i = 0; i < data.Length; i++) data[i] = (float)(random.NextDouble() * 4 - 2);
        foreach (long r in poisoned) data[r * 3 + 1] = float.NaN;
        string path = Path.Combine(Root, $"input-{rows}-{poisoned.Length}.parquet");
        ParquetTables.WriteRowsAsync(path, Features, data).GetAwaiter().GetResult();
        return path;
    }

    /// <summary>A small FastTree regression model over a 3-slot "Features" vector, saved as an ML.NET archive.</summary>
    public string FastTreeModel()
    {
        var ml = new MLContext(seed: 1);
        var random = new Random(3);
        var rows = Enumerable.Range(0, 500).Select(_ =>
        {
            var x = new[] { (float)(random.NextDouble() * 4 - 2), (float)(random.NextDouble() * 4 - 2), (float)(random.NextDouble() * 4 - 2) };
            return new Row { Features = x, Label = x[0] * 2 + (x[1] > 0 ? 1 : -1) + x[0] * x[2] };
        }).ToList();
        var data = ml.Data.LoadFromEnumerable(rows);
        var model = ml.Regression.Trainers.FastTree(numberOfLeaves: 4, numberOfTrees: 10, minimumExampleCountPerLeaf: 5).Fit(data);
        string path = Path.Combine(Root, "fasttree.zip");
        ml.Model.Save(model, data.Schema, path);
        return path;
    }

    public sealed class Row
    {
        [VectorType(3)] public float[] Features { get; set; } = [];

        public float Label { get; set; }
    }

    public ExplanationJob KernelShapJob(string input, string output, int partitionRows, int samples = 8) =>
        ExplanationJob.Create(ToyModel, "kernel-shap", new KernelShapOptions { Samples = samples }, input, Path.Combine(Root, output),
            partitionRows, seed: 42, target: 0);

    /// <summary>A cluster of <paramref name="silos"/> silos keeping job plans in <see cref="State"/>.</summary>
    public async Task<TestCluster> StartClusterAsync(int silos = 3)
    {
        var builder = new TestClusterBuilder((short)silos);
        builder.Properties["StateDirectory"] = State;
        builder.AddSiloBuilderConfigurator<SiloConfigurator>();
        var cluster = builder.Build();
        await cluster.DeployAsync();
        return cluster;
    }

    private sealed class SiloConfigurator : ISiloConfigurator
    {
        public void Configure(ISiloBuilder silo) => silo.AddExplanationJobs().AddExplanationJobFileStorage(silo.Configuration["StateDirectory"]!);
    }

    /// <summary>Polls the job until <paramref name="until"/> holds (or it finishes), failing after <paramref name="timeout"/>.</summary>
    public static async Task<JobProgress> WaitAsync(IExplanationJobGrain job, Func<JobProgress, bool>? until = null, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromMinutes(4));
        while (true)
        {
            var progress = await job.GetProgressAsync();
            if (progress.IsFinished || until?.Invoke(progress) == true) return progress;
            if (DateTime.UtcNow > deadline) Assert.Fail($"Job did not get there in time: {progress}");
            await Task.Delay(100);
        }
    }

    /// <summary>Every part of an output folder, concatenated in partition order.</summary>
    public static async Task<ParquetTables.Part> ReadOutputAsync(string output)
    {
        var manifest = JobManifest.Read(output) ?? throw new AssertFailedException($"No manifest in {output}.");
        var parts = new List<ParquetTables.Part>();
        foreach (var p in manifest.Parts.OrderBy(p => p.Partition))
        {
            string file = Path.Combine(output, p.File);
            Assert.AreEqual(p.Sha256, ExplanationJob.HashFile(file), $"{p.File}: checksum differs from the manifest");
            parts.Add(await ParquetTables.ReadPartAsync(file));
        }
        return new ParquetTables.Part([.. parts.SelectMany(p => p.Rows)], parts[0].Features, [.. parts.SelectMany(p => p.Attributions)],
            [.. parts.SelectMany(p => p.Delta)], [.. parts.SelectMany(p => p.Targets)]);
    }

    /// <summary>Same rows, same features, and every attribution, delta and target equal bit for bit.</summary>
    public static void AssertBitIdentical(ParquetTables.Part expected, ParquetTables.Part actual)
    {
        CollectionAssert.AreEqual(expected.Features.ToArray(), actual.Features.ToArray());
        CollectionAssert.AreEqual(expected.Rows, actual.Rows);
        CollectionAssert.AreEqual(expected.Targets, actual.Targets);
        Assert.AreEqual(expected.Attributions.Length, actual.Attributions.Length);
        for (int i = 0; i < expected.Attributions.Length; i++)
        {
            if (BitConverter.SingleToInt32Bits(expected.Attributions[i]) != BitConverter.SingleToInt32Bits(actual.Attributions[i]))
                Assert.Fail($"Attribution {i} (row {i / expected.Features.Count}): {expected.Attributions[i]:R} vs {actual.Attributions[i]:R}");
        }
        CollectionAssert.AreEqual(expected.Delta, actual.Delta);
    }

    public void Dispose()
    {
        try { Directory.Delete(Root, recursive: true); }
        catch (IOException) { }
    }
}
