using Microsoft.ML.Attribution.TestData;
using BenchmarkDotNet.Attributes;
using Microsoft.ML.Attribution.Methods;
using Microsoft.ML.Attribution.MLNet;
using Microsoft.ML.Attribution.Oracles;
using Microsoft.ML.Attribution.Tabular;
using Microsoft.ML.Attribution.Tensors;
using Microsoft.ML.Data;

namespace Microsoft.ML.Attribution.Benchmarks;

/// <summary>
/// Kernel SHAP over the 14 source-column groups vs over every slot, with the same number of coalitions, on the adult
/// chain in ML.NET's sample shape (one-hot <c>Workclass</c>, one-hot 7-wide <c>Categories</c> vector, 6-wide
/// <c>NumericFeatures</c> vector; FastTree binary, 50 trees × 20 leaves) scored through ML.NET (<see cref="MLNetForwardOracle"/>
/// on the predictor). Measured: that shape gives 503 slots on the 500-row sample (Workclass 7; the one-hot
/// Categories vector keeps one dictionary of 70 values for all 7 of its slots, so 7 × 70 = 490; 6 numeric), in 14
/// groups. 10 explained rows, 20 background rows (interventional expectation), target the Score.
/// Setup prints the error of each variant against exact interventional TreeSHAP over the same background: the mean
/// over rows of Σ |Kernel SHAP − exact| (L1 per row), for groups against the exact group values (TreeSHAP with groups as
/// players) and for slots against the exact slot values; slots summed into groups are compared with the group values too.
/// Data: /work/shared/data/datasets/adult.tiny.with-schema.txt (override with ADULT_DATA).
/// </summary>
[MemoryDiagnoser]
[SimpleJob(launchCount: 1, warmupCount: 1, iterationCount: 5)]
public class KernelShapGroupsBenchmarks
{
    private const int Explained = 10, BackgroundRows = 20;
    private MLNetForwardOracle _oracle = null!;
    private NdArray<float> _rows = null!;
    private NdArray<float> _background = null!;
    private NdArray<long> _mask = null!;

    /// <summary>Coalitions per row (including the full and the empty one).</summary>
    [Params(200, 1000)]
    public int Samples { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var (oracle, trees, features, groups) = Build();
        _oracle = oracle;
        _rows = Take(features, Enumerable.Range(0, Explained).Select(i => i * 7).ToArray());
        _background = Take(features, Enumerable.Range(0, BackgroundRows).Select(i => 3 + i * 11).ToArray());
        _mask = FeatureGroupSet.Mask(groups);
        int f = features.RowSize;

        var exactGroups = TreeShapRun.Explain(trees, _rows, _background, TreeShapAlgorithm.Interventional, _mask, Target.Class(0)).Attributions;
        var exactSlots = TreeShapRun.Explain(trees, _rows, _background, TreeShapAlgorithm.Interventional, null, Target.Class(0)).Attributions;
        var grouped = Groups();
        var slots = Slots();
        double groupError = 0, slotError = 0, slotsAsGroupsError = 0;
        for (int r = 0; r < Explained; r++)
        {
            foreach (var g in groups)
            {
                double exact = exactGroups.Row(r)[g.Slots[0]];
                groupError += Math.Abs(grouped.Attributions.Row(r)[g.Slots[0]] - exact);
                slotsAsGroupsError += Math.Abs(g.Slots.Sum(j => (double)slots.Attributions.Row(r)[j]) - exact);
            }
            for (int j = 0; j < f; j++) slotError += Math.Abs(slots.Attributions.Row(r)[j] - exactSlots.Row(r)[j]);
        }
        double scale = 0;
        for (int r = 0; r < Explained; r++) for (int j = 0; j < f; j++) scale += Math.Abs(exactSlots.Row(r)[j]);
        Console.WriteLine($"// adult sample shape: {f} slots in {groups.Count} groups ({string.Join(", ", groups.Select(g => $"{g.Name}:{g.Slots.Length}"))}); " +
            $"{trees.TreeCount} trees; {Explained} rows, {BackgroundRows} background rows, {Samples} samples");
        Console.WriteLine($"// L1 error per row vs exact interventional TreeSHAP: groups {groupError / Explained:F4}, slots {slotError / Explained:F4}, " +
            $"slots summed into groups (vs exact group values) {slotsAsGroupsError / Explained:F4}; mean Σ|exact slot values| per row {scale / Explained:F4}");
    }

    /// <summary>Trains the chain on the adult sample in ML.NET's sample shape; returns the oracle, trees, feature rows and source groups.</summary>
    internal static (MLNetForwardOracle Oracle, TreeEnsemble Trees, NdArray<float> Features, List<FeatureGroup> Groups) Build()
    {
        string path = AdultSample.Find()
            ?? throw new FileNotFoundException($"Adult data not found (../shared/data next to the checkout, ATTRIBUTION_SHARED_DATA or ADULT_DATA); set ADULT_DATA to the adult.tiny.with-schema.txt file to run this benchmark.");
        var ml = new MLContext(seed: 1);
        var data = AdultSample.Load(ml, path);
        var featurizer = AdultSample.Featurize(ml)
            .Fit(data);
        var featurized = featurizer.Transform(data);
        var predictor = ml.BinaryClassification.Trainers.FastTree(numberOfTrees: 50, numberOfLeaves: 20).Fit(featurized);
        var oracle = new MLNetForwardOracle(predictor, featurized.Schema, "Features", "Score");
        var groups = FeatureGroupSet.FromSchema(featurized.Schema["Features"], data.Schema)
            ?? throw new InvalidOperationException("The Features column carries no slot names.");
        return (oracle, TreeEnsemble.FromTransformer(predictor), oracle.ReadFeatures(featurized), groups);
    }

    private static NdArray<float> Take(NdArray<float> rows, int[] ids)
    {
        var taken = new NdArray<float>(ids.Length, rows.RowSize);
        for (int i = 0; i < ids.Length; i++) rows.Row(ids[i] % rows.Rows).CopyTo(taken.Row(i));
        return taken;
    }

    [Benchmark(Baseline = true, Description = "KernelSHAP over 14 source-column groups")]
    public AttributionResult Groups() =>
        new KernelShap(_oracle).Attribute(_rows, target: Target.Class(0), featureMask: _mask, samples: Samples, seed: 1, background: _background);

    [Benchmark(Description = "KernelSHAP over every slot")]
    public AttributionResult Slots() =>
        new KernelShap(_oracle).Attribute(_rows, target: Target.Class(0), samples: Samples, seed: 1, background: _background);
}

/// <summary>The errors of <see cref="KernelShapGroupsBenchmarks"/> without BenchmarkDotNet (one run each; no timings): <c>-- kshapgroups</c>.</summary>
internal static class KernelShapGroupsProbe
{
    public static void Run()
    {
        foreach (int samples in new[] { 200, 1000 })
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            new KernelShapGroupsBenchmarks { Samples = samples }.Setup();
            Console.WriteLine($"// setup + both variants once: {clock.Elapsed.TotalSeconds:F1} s");
        }
    }
}
