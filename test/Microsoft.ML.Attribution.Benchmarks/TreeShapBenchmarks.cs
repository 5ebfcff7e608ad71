using BenchmarkDotNet.Attributes;
using Microsoft.ML.Attribution.Tabular;
using Microsoft.ML.Attribution.Tensors;
using Microsoft.ML.Data;

namespace Microsoft.ML.Attribution.Benchmarks;

/// <summary>
/// Exact TreeSHAP on a 100-tree FastTree regression model (≤ 20 leaves per tree) trained on the wine data
/// (13 features). 10,000 explained rows are the 178 wine rows repeated with a small deterministic jitter; covers and the
/// interventional background come from the 178 training rows. Rows are processed in parallel on all cores.
/// </summary>
[MemoryDiagnoser]
public class TreeShapBenchmarks
{
    private TreeShap _pathDependent = null!;
    private TreeShap _interventional = null!;
    private NdArray<float> _rows = null!;
    private NdArray<float> _thousand = null!;

    [GlobalSetup]
    public void Setup()
    {
        var ml = new MLContext(seed: 1);
        string path = Path.Combine(AppContext.BaseDirectory, "Data", "wine.csv");
        var data = ml.Data.LoadFromTextFile(path, [
            new TextLoader.Column("Features", DataKind.Single, 0, 12),
            new TextLoader.Column("Label", DataKind.Single, 13),
        ], separatorChar: ',', hasHeader: true);
        var model = ml.Regression.Trainers.FastTree(numberOfTrees: 100, numberOfLeaves: 20, minimumExampleCountPerLeaf: 2).Fit(data);
        var trees = TreeEnsemble.FromTransformer(model);
        var wine = data.GetColumn<float[]>("Features").ToArray();
        var background = new NdArray<float>(wine.SelectMany(r => r).ToArray(), wine.Length, 13);
        var random = new Random(7);
        var rows = new float[10_000 * 13];
        for (int i = 0; i < rows.Length; i++) rows[i] = wine[i / 13 % wine.Length][i % 13] * (1 + 0.05f * (float)(random.NextDouble() - 0.5));
        _rows = new NdArray<float>(rows, 10_000, 13);
        _thousand = new NdArray<float>(rows[..(1_000 * 13)], 1_000, 13);
        _pathDependent = new TreeShap(trees, background, TreeShapAlgorithm.PathDependent);
        var twenty = new NdArray<float>(background.Data[..(20 * 13)], 20, 13);
        _interventional = new TreeShap(trees, twenty, TreeShapAlgorithm.Interventional);
    }

    [Benchmark(Description = "TreeSHAP path-dependent, 100 trees × 10,000 rows")]
    public TreeShapResult PathDependent() => _pathDependent.Explain(_rows);

    [Benchmark(Description = "TreeSHAP interventional, 100 trees × 1,000 rows × 20 background rows")]
    public TreeShapResult Interventional() => _interventional.Explain(_thousand);
}
