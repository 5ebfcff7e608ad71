using Microsoft.ML.Attribution.Tensors;

namespace Microsoft.ML.Attribution.Tabular;

/// <summary>Which exact TreeSHAP value function was used.</summary>
public enum TreeShapAlgorithm
{
    /// <summary>
    /// Path-dependent TreeSHAP (Lundberg, Erion &amp; Lee 2018, "Consistent Individualized Feature Attribution for Tree
    /// Ensembles", Algorithm 2): v(S) = E[f(x) | x_S] where a split on a feature outside S sends the expectation down
    /// both children weighted by node cover. ML.NET stores no cover, so covers come from routing the background rows
    /// through the trees; a node no background row reaches splits its weight evenly between its children.
    /// O(T·L·D²) per row.
    /// </summary>
    PathDependent,

    /// <summary>
    /// Interventional TreeSHAP: v(S) = mean over background rows z of f(x_S, z_rest). Exact, O(T·L·B) per row: for one
    /// z a leaf is reached iff every feature in A (where x's branch was needed) is in S and none in B (z's branch) is,
    /// and that game's Shapley values are v·(|A|−1)!|B|!/(|A|+|B|)! for A and −v·|A|!(|B|−1)!/(|A|+|B|)! for B.
    /// </summary>
    Interventional,
}

/// <summary>Exact SHAP values of an ML.NET tree ensemble's raw score.</summary>
/// <param name="Values">SHAP values <c>[n, outputs, F]</c>.</param>
/// <param name="ExpectedValues">Per output, the value with no feature known (the background's expected raw score).</param>
/// <param name="Algorithm">The value function used.</param>
/// <param name="Explained">What the explained outputs are (see <see cref="TreeEnsemble.Explained"/>).</param>
public sealed record TreeShapResult(NdArray<float> Values, double[] ExpectedValues, TreeShapAlgorithm Algorithm, string Explained)
{
    /// <summary>The SHAP values of one output as <c>[n, F]</c>.</summary>
    public NdArray<float> ForOutput(int output)
    {
        int n = Values.Shape[0], k = Values.Shape[1], f = Values.Shape[2];
        if (output < 0 || output >= k) throw new ArgumentOutOfRangeException(nameof(output), $"Output {output} is not in 0..{k - 1}.");
        var result = new NdArray<float>(n, f);
        for (int r = 0; r < n; r++) Values.Data.AsSpan((r * k + output) * f, f).CopyTo(result.Row(r));
        return result;
    }
}

/// <summary>
/// Exact TreeSHAP for ML.NET tree ensembles: per row and output, SHAP values φ with
/// <c>Σφ + ExpectedValue = raw score</c> (to float rounding).
/// </summary>
public sealed class TreeShap
{
    private readonly TreeEnsemble _model;
    private readonly NdArray<float> _background;
    private readonly double[][]? _ratios;
    private readonly double[] _expected;

    /// <summary>Prepares TreeSHAP over a background (e.g. a sample of the training data's feature vectors).</summary>
    /// <param name="model">The trees.</param>
    /// <param name="background">Background rows <c>[B, F]</c>: they give the node covers (path-dependent) or are the
    /// reference distribution (interventional).</param>
    /// <param name="algorithm">The value function.</param>
    public TreeShap(TreeEnsemble model, NdArray<float> background, TreeShapAlgorithm algorithm = TreeShapAlgorithm.PathDependent)
    {
        _model = model ?? throw new ArgumentNullException(nameof(model));
        _background = background ?? throw new ArgumentNullException(nameof(background));
        if (background.Rank != 2 || background.Rows == 0)
            throw new ArgumentException($"Background must be [B, F] with B ≥ 1; got {background.ShapeText}.", nameof(background));
        model.RequireWidth(background.Shape[1]);
        Algorithm = algorithm;
        FeatureCount = background.Shape[1];
        _expected = (double[])model.Bias.Clone();
        if (algorithm == TreeShapAlgorithm.PathDependent)
        {
            var covers = model.Trees.Select(t => Covers(t, background)).ToArray();
            for (int t = 0; t < model.Trees.Length; t++)
                _expected[model.Trees[t].Output] += PathDependentTreeShap.ExpectedValue(model.Trees[t], covers[t]);
            _ratios = model.Trees.Select((t, i) => PathDependentTreeShap.Ratios(t, covers[i])).ToArray();
        }
        else
        {
            for (int b = 0; b < background.Rows; b++)
            {
                var row = background.Row(b);
                foreach (var tree in model.Trees) _expected[tree.Output] += tree.Value[tree.Leaf(row)] / background.Rows;
            }
        }
    }

    /// <summary>The value function used.</summary>
    public TreeShapAlgorithm Algorithm { get; }

    /// <summary>Width of the rows explained.</summary>
    public int FeatureCount { get; }

    /// <summary>Per output, the expected raw score (the SHAP base value).</summary>
    public IReadOnlyList<double> ExpectedValues => _expected;

    /// <summary>SHAP values of every row (rows are processed in parallel).</summary>
    /// <param name="rows">Rows <c>[n, F]</c>, finite.</param>
    public TreeShapResult Explain(NdArray<float> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        if (rows.Rank != 2 || rows.Shape[1] != FeatureCount)
            throw new ArgumentException($"Rows must be [n, {FeatureCount}] like the background; got {rows.ShapeText}.", nameof(rows));
        for (int i = 0; i < rows.Length; i++)
        {
            if (!float.IsFinite(rows.Data[i]))
                throw new ArgumentException($"Row {i / FeatureCount} feature {i % FeatureCount} is {rows.Data[i]}: ML.NET's missing-value routing is not public, impute first.", nameof(rows));
        }
        int n = rows.Rows, k = _model.OutputCount, f = FeatureCount;
        var phi = new double[(long)n * k * f];
        int depth = _model.Trees.Length == 0 ? 0 : _model.Trees.Max(t => t.Depth);
        // Blocks of rows per task keep scratch buffers per thread and the scheduling overhead small.
        int block = Math.Max(1, Math.Min(256, n / (4 * Environment.ProcessorCount) + 1));
        Parallel.For(0, (n + block - 1) / block, () => Algorithm == TreeShapAlgorithm.PathDependent
                ? (object)new PathDependentTreeShap(depth) : new InterventionalTreeShap(depth, f),
            (b, _, scratch) =>
            {
                for (int r = b * block; r < Math.Min(n, (b + 1) * block); r++)
                {
                    var x = rows.Row(r);
                    var output = phi.AsSpan(r * k * f, k * f);
                    for (int t = 0; t < _model.Trees.Length; t++)
                    {
                        var tree = _model.Trees[t];
                        var target = output.Slice(tree.Output * f, f);
                        if (scratch is PathDependentTreeShap pd) pd.Add(tree, _ratios![t], x, target);
                        else ((InterventionalTreeShap)scratch).Add(tree, x, _background, target);
                    }
                }
                return scratch;
            }, _ => { });
        var values = new float[phi.Length];
        for (int i = 0; i < phi.Length; i++) values[i] = (float)phi[i];
        return new TreeShapResult(new NdArray<float>(values, n, k, f), (double[])_expected.Clone(), Algorithm, _model.Explained);
    }

    /// <summary>Number of background rows reaching each node.</summary>
    internal static double[] Covers(Tree tree, NdArray<float> background)
    {
        var cover = new double[tree.NodeCount];
        for (int b = 0; b < background.Rows; b++)
        {
            var row = background.Row(b);
            int node = 0;
            cover[0]++;
            while (!tree.IsLeaf(node))
            {
                node = row[tree.Feature[node]] <= tree.Threshold[node] ? tree.Left[node] : tree.Right[node];
                cover[node]++;
            }
        }
        return cover;
    }

    /// <summary>Share of a node's weight that flows to <paramref name="child"/> when its split feature is unknown.</summary>
    internal static double CoverRatio(double[] cover, int node, int child) =>
        cover[node] > 0 ? cover[child] / cover[node] : 0.5;
}
