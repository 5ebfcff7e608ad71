using Microsoft.ML.Attribution.TestData;
using BenchmarkDotNet.Attributes;
using Microsoft.ML.Attribution.Tabular;
using Microsoft.ML.Attribution.Tensors;
using Microsoft.ML.Data;

namespace Microsoft.ML.Attribution.Benchmarks;

/// <summary>
/// Exact path-dependent TreeSHAP on an adult-census FastTree binary model (100 trees, 20 leaves): 8 text columns one-hot
/// encoded plus 6 numeric columns, explained per slot or per source column (14 groups). The data is the 500-row
/// adult sample under /work/shared/data/datasets (override with ADULT_DATA); its rows are replicated to 10,000
/// explained rows. The benchmark is skipped with a message when the file is absent. Rows/s = 10,000 / mean time.
/// </summary>
[MemoryDiagnoser]
public class AdultTreeShapBenchmarks
{
    private const int Rows = 10_000;
    private TreeShap _grouped = null!;
    private TreeShap _slots = null!;
    private TreeShap _recursive = null!;
    private NdArray<float> _rows = null!;
    private NdArray<float> _interactionRows = null!;
    private double[] _single = null!;

    /// <summary>Most threads Explain may use.</summary>
    [Params(1, 2)]
    public int Threads { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        string path = AdultSample.Find()
            ?? throw new FileNotFoundException($"Adult data not found (../shared/data next to the checkout, ATTRIBUTION_SHARED_DATA or ADULT_DATA); set ADULT_DATA to the adult.tiny.with-schema.txt file to run these benchmarks.");
        var (shap, rows, groups, slots) = Build(path);
        _grouped = new TreeShap(shap, rows, groupOfSlot: groups);
        _slots = new TreeShap(shap, rows);
        _recursive = new TreeShap(shap, rows, groupOfSlot: groups) { UseLeafTables = false };
        var replicated = new float[Rows * slots];
        for (int r = 0; r < Rows; r++) rows.Row(r % rows.Rows).CopyTo(replicated.AsSpan(r * slots, slots));
        _rows = new NdArray<float>(replicated, Rows, slots);
        _interactionRows = new NdArray<float>(replicated[..(1_000 * slots)], 1_000, slots);
        _single = new double[_grouped.PlayerCount];
        Console.WriteLine($"// adult: {rows.Rows} rows, {slots} slots in {_grouped.PlayerCount} groups, {shap.TreeCount} trees; " +
            $"leaf tables {_grouped.TableBytes / 1e6:F2} MB (grouped), {_slots.TableBytes / 1e6:F2} MB (per slot)");
    }

    /// <summary>Trains the model on the adult sample and returns its trees, the feature rows and the slot → column map.</summary>
    internal static (TreeEnsemble Trees, NdArray<float> Rows, int[] Groups, int Slots) Build(string path)
    {
        var ml = new MLContext(seed: 1);
        string[] text = ["Workclass", "education", "marital", "occupation", "relationship", "ethnicity", "sex", "country"];
        string[] numeric = ["age", "fnlwgt", "educationNum", "capitalGain", "capitalLoss", "hoursPerWeek"];
        var columns = new List<TextLoader.Column> { new("Label", DataKind.Boolean, 0) };
        columns.AddRange(text.Select((c, i) => new TextLoader.Column(c, DataKind.String, 1 + i)));
        columns.AddRange(numeric.Select((c, i) => new TextLoader.Column(c, DataKind.Single, 9 + i)));
        // The file opens with '#@' schema lines; a copy without them loads with the header row as the header.
        string plain = Path.Combine(Path.GetTempPath(), $"adult-{Environment.ProcessId}.tsv");
        File.WriteAllLines(plain, File.ReadLines(path).Where(l => !l.StartsWith('#')));
        var data = ml.Data.LoadFromTextFile(plain, [.. columns], separatorChar: '\t', hasHeader: true);
        var pipeline = ml.Transforms.Categorical.OneHotEncoding([.. text.Select(c => new InputOutputColumnPair(c))])
            .Append(ml.Transforms.Concatenate("Features", [.. text, .. numeric]))
            .Append(ml.BinaryClassification.Trainers.FastTree(numberOfTrees: 100, numberOfLeaves: 20, minimumExampleCountPerLeaf: 2));
        var model = pipeline.Fit(data);
        var transformed = model.Transform(data);
        var groups = new List<int>();
        foreach (var (name, g) in text.Concat(numeric).Select((c, i) => (c, i)))
        {
            int size = transformed.Schema[name].Type is VectorDataViewType v ? v.Size : 1;
            groups.AddRange(Enumerable.Repeat(g, size));
        }
        var features = transformed.GetColumn<float[]>("Features").ToArray();
        File.Delete(plain);
        int slots = features[0].Length;
        if (slots != groups.Count) throw new InvalidOperationException($"Features has {slots} slots but the columns add up to {groups.Count}.");
        return (TreeEnsemble.FromTransformer(model), new NdArray<float>(features.SelectMany(f => f).ToArray(), features.Length, slots), [.. groups], slots);
    }

    [Benchmark(Description = "adult TreeSHAP, 14 groups, 10,000 rows")]
    public TreeShapResult Grouped() => _grouped.Explain(_rows, Threads);

    [Benchmark(Description = "adult TreeSHAP, per slot, 10,000 rows")]
    public TreeShapResult PerSlot() => _slots.Explain(_rows, Threads);

    [Benchmark(Description = "adult TreeSHAP, 14 groups, recursive (before), 10,000 rows")]
    public TreeShapResult GroupedRecursive() => _recursive.Explain(_rows, Threads);

    [Benchmark(Description = "adult interaction values, 14 groups, 1,000 rows")]
    public TreeShapInteractionResult Interactions() => _grouped.ExplainInteractions(_interactionRows, Threads);

    [Benchmark(Description = "adult TreeSHAP, one row (ExplainRow), 14 groups")]
    public double SingleRow()
    {
        _grouped.ExplainRow(_rows.Row(17), _single);
        return _single[0];
    }
}

/// <summary>
/// A quick rows/s probe of the same adult model outside BenchmarkDotNet (no statistics: use it for a first look, and
/// the benchmark class for numbers): <c>dotnet run -c Release --project test/Microsoft.ML.Attribution.Benchmarks -- treeshap</c>.
/// </summary>
internal static class AdultTreeShapProbe
{
    public static void Run()
    {
        var bench = new AdultTreeShapBenchmarks { Threads = 1 };
        bench.Setup();
        foreach (int threads in new[] { 1, 2 })
        {
            bench.Threads = threads;
            Report($"grouped, {threads} thread(s)", 10_000, () => bench.Grouped());
            Report($"per slot, {threads} thread(s)", 10_000, () => bench.PerSlot());
            Report($"recursive grouped, {threads} thread(s)", 10_000, () => bench.GroupedRecursive());
            Report($"interactions grouped, {threads} thread(s)", 1_000, () => bench.Interactions());
        }
        Report("single row", 1, () => bench.SingleRow());
    }

    private static void Report(string what, int rows, Func<object> action)
    {
        action();
        var best = double.MaxValue;
        var bestCpu = double.MaxValue;
        var process = System.Diagnostics.Process.GetCurrentProcess();
        for (int i = 0; i < 5; i++)
        {
            process.Refresh();
            var cpu = process.TotalProcessorTime;
            var watch = System.Diagnostics.Stopwatch.StartNew();
            int repeat = rows == 1 ? 10_000 : 1;
            for (int k = 0; k < repeat; k++) action();
            best = Math.Min(best, watch.Elapsed.TotalSeconds / repeat);
            process.Refresh();
            bestCpu = Math.Min(bestCpu, (process.TotalProcessorTime - cpu).TotalSeconds / repeat);
        }
        // CPU seconds (all threads) are what a shared, loaded machine cannot hide: rows per CPU-second compares builds.
        Console.WriteLine($"{what}: {rows / best:N0} rows/s ({best * 1e3:F3} ms per call, best of 5); {rows / bestCpu:N0} rows per CPU-second");
    }
}
