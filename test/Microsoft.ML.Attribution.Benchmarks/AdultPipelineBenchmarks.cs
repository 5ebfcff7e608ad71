using Microsoft.ML.Attribution.TestData;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using Microsoft.ML.Data;

namespace Microsoft.ML.Attribution.Benchmarks;

/// <summary>
/// Batch TreeSHAP through the pipeline: <c>pipeline.Explain(mlContext)</c> with no options on ML.NET's adult sample shape
/// (<c>Workclass</c> and the 7-wide <c>Categories</c> vector one-hot encoded, the 6-wide <c>NumericFeatures</c> vector,
/// FastTree binary with 100 trees of 20 leaves): 14 source groups. The 500-row adult sample under /work/shared/data
/// (override with ADULT_DATA) is replicated to 10,000 cached rows; each iteration reads the <c>Attributions</c> column of
/// all of them through one cursor. Rows/s = 10,000 / mean time. Two jobs: one core (affinity 0x1 and
/// DOTNET_PROCESSOR_COUNT=1, so the explainer's block parallelism sees one processor) and two cores (affinity 0x3).
/// Run: <c>dotnet run -c Release --project test/Microsoft.ML.Attribution.Benchmarks -- --filter '*AdultPipeline*'</c>.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(CoresConfig))]
public class AdultPipelineBenchmarks
{
    private const int Rows = 10_000;

    private sealed class CoresConfig : ManualConfig
    {
        public CoresConfig()
        {
            AddJob(Job.Default.WithWarmupCount(3).WithIterationCount(10).WithAffinity(1).WithEnvironmentVariables(new EnvironmentVariable("DOTNET_PROCESSOR_COUNT", "1")).WithId("1 core"));
            AddJob(Job.Default.WithWarmupCount(3).WithIterationCount(10).WithAffinity(3).WithEnvironmentVariables(new EnvironmentVariable("DOTNET_PROCESSOR_COUNT", "2")).WithId("2 cores"));
        }
    }

    private IDataView _explained = null!;
    private PredictionEngine<AdultRow, ExplainedRow> _engine = null!;
    private AdultRow _row = null!;

    /// <summary>One row of the adult sample in ML.NET's sample shape.</summary>
    public sealed class AdultRow
    {
        /// <summary>Label.</summary>
        public bool Label { get; set; }

        /// <summary>Workclass (text, one-hot encoded).</summary>
        public string Workclass { get; set; } = "";

        /// <summary>Seven categoricals (one-hot encoded as one vector).</summary>
        [VectorType(7)]
        public string[] Categories { get; set; } = [];

        /// <summary>Six numeric columns.</summary>
        [VectorType(6)]
        public float[] NumericFeatures { get; set; } = [];
    }

    /// <summary>The explanation of one row.</summary>
    public sealed class ExplainedRow
    {
        /// <summary>One value per source slot (14).</summary>
        public float[] Attributions { get; set; } = [];

        /// <summary>The expected score.</summary>
        public float BaseValue { get; set; }
    }

    [GlobalSetup]
    public void Setup()
    {
        var (ml, data) = Load();
        var pipeline = AdultSample.Featurize(ml)
            .Append(ml.BinaryClassification.Trainers.FastTree(numberOfTrees: 100, numberOfLeaves: 20));
        var model = pipeline.Explain(ml).Fit(data);
        var rows = ml.Data.CreateEnumerable<AdultRow>(data, reuseRowObject: false).ToArray();
        var many = ml.Data.Cache(ml.Data.LoadFromEnumerable(Enumerable.Range(0, Rows).Select(i => rows[i % rows.Length])));
        _explained = model.Transform(many);
        _engine = ml.Model.CreatePredictionEngine<AdultRow, ExplainedRow>(model);
        _row = rows[17];
        int width = Explain();
        SingleRow();
        Console.WriteLine($"// adult pipeline: {rows.Length} source rows replicated to {Rows}; {width} attributions per row; " +
            $"processors seen: {Environment.ProcessorCount}");
    }

    /// <summary>The adult sample in ML.NET's sample shape.</summary>
    internal static (MLContext Ml, IDataView Data) Load()
    {
        string path = AdultSample.Find()
            ?? throw new FileNotFoundException($"Adult data not found (../shared/data next to the checkout, ATTRIBUTION_SHARED_DATA or ADULT_DATA); set ADULT_DATA to the adult.tiny.with-schema.txt file to run these benchmarks.");
        var ml = new MLContext(seed: 1);
        var data = AdultSample.Load(ml, path);
        return (ml, data);
    }

    [Benchmark(Description = "pipeline TreeSHAP, adult 14 groups, 10,000 rows")]
    public int Explain()
    {
        using var cursor = _explained.GetRowCursor([_explained.Schema["Attributions"]]);
        var getter = cursor.GetGetter<VBuffer<float>>(_explained.Schema["Attributions"]);
        VBuffer<float> value = default;
        int width = 0;
        while (cursor.MoveNext())
        {
            getter(ref value);
            width = value.Length;
        }
        return width;
    }

    [Benchmark(Description = "PredictionEngine TreeSHAP, adult, one row")]
    public float SingleRow() => _engine.Predict(_row).BaseValue;
}

/// <summary>
/// A quick rows/s look at <see cref="AdultPipelineBenchmarks"/> outside BenchmarkDotNet (best of 5, no statistics):
/// <c>dotnet run -c Release --project test/Microsoft.ML.Attribution.Benchmarks -- adultpipeline</c>.
/// </summary>
internal static class AdultPipelineProbe
{
    public static void Run()
    {
        var bench = new AdultPipelineBenchmarks();
        bench.Setup();
        double best = double.MaxValue, bestCpu = double.MaxValue;
        var process = System.Diagnostics.Process.GetCurrentProcess();
        for (int i = 0; i < 5; i++)
        {
            process.Refresh();
            var cpu = process.TotalProcessorTime;
            var watch = System.Diagnostics.Stopwatch.StartNew();
            bench.Explain();
            best = Math.Min(best, watch.Elapsed.TotalSeconds);
            process.Refresh();
            bestCpu = Math.Min(bestCpu, (process.TotalProcessorTime - cpu).TotalSeconds);
        }
        Console.WriteLine($"pipeline: {10_000 / best:N0} rows/s ({best * 1e3:F1} ms per 10,000 rows, best of 5, {Environment.ProcessorCount} processor(s)); " +
            $"{10_000 / bestCpu:N0} rows per CPU-second");
        var times = new double[20_000];
        for (int i = 0; i < times.Length; i++)
        {
            long start = System.Diagnostics.Stopwatch.GetTimestamp();
            bench.SingleRow();
            times[i] = System.Diagnostics.Stopwatch.GetElapsedTime(start).TotalMicroseconds;
        }
        Array.Sort(times);
        Console.WriteLine($"PredictionEngine single row: p50 {times[times.Length / 2]:F1} µs, p90 {times[times.Length * 9 / 10]:F1} µs");
    }
}
