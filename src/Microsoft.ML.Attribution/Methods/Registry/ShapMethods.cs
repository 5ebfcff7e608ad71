using System.Runtime.CompilerServices;
using Microsoft.ML.Attribution.Tabular;
using Microsoft.ML.Attribution.Tensors;

namespace Microsoft.ML.Attribution.Methods;

/// <summary>
/// The exact SHAP methods (trees, linear models) in the registry's call shape: values per feature group
/// (<see cref="MethodInputs.FeatureMask"/>, one mask row [F] of group ids, or one per row), the expected output per row as
/// <see cref="AttributionResult.BaseValues"/>, and the explained output per row.
/// </summary>
internal static class TreeShapRun
{
    // TreeShap precomputes per (model, background); the same model explained block after block reuses it.
    private static readonly ConditionalWeakTable<TreeEnsemble, Dictionary<(NdArray<float>?, TreeShapAlgorithm, string), TreeShap>> Explainers = new();

    public static TreeShap For(TreeEnsemble trees, NdArray<float>? background, TreeShapAlgorithm algorithm, int features, int[]? groupOfSlot)
    {
        var perModel = Explainers.GetOrCreateValue(trees);
        lock (perModel)
        {
            var key = (background, algorithm, groupOfSlot is null ? "" : string.Join(",", groupOfSlot));
            if (!perModel.TryGetValue(key, out var explainer))
            {
                // Path-dependent TreeSHAP weighs each split by the share of data that went each way; ML.NET keeps no node
                // counts, so with no background every split is weighed evenly (one all-zero row would not reach every node).
                perModel[key] = explainer = new TreeShap(trees, background ?? new NdArray<float>(1, features), algorithm, groupOfSlot);
            }
            return explainer;
        }
    }

    /// <summary>TreeSHAP of every row for its target output; with a shared mask the groups are the players.</summary>
    /// <param name="trees">The ensemble.</param>
    /// <param name="rows">Rows [n, F].</param>
    /// <param name="background">Covers (path-dependent) or reference rows (interventional); null: even splits.</param>
    /// <param name="algorithm">The value function.</param>
    /// <param name="featureMask">Group id per slot (one row, or one per row), or null.</param>
    /// <param name="target">Output per row; null: 0 for one output, else each row's highest raw score.</param>
    /// <param name="perGroup">With a shared mask, return one value per group ([n, groups]) rather than spreading each
    /// group's value over its slots ([n, F]).</param>
    public static AttributionResult Explain(TreeEnsemble trees, NdArray<float> rows, NdArray<float>? background, TreeShapAlgorithm algorithm,
        NdArray<long>? featureMask, Target? target, bool perGroup = false)
    {
        if (rows.Rank != 2) rows = rows.Reshape(rows.Rows, rows.RowSize);
        int n = rows.Rows, k = trees.OutputCount, f = rows.RowSize;
        // A mask shared by every row makes the groups the players: TreeSHAP over relabelled splits gives the exact Shapley
        // values of the group game (not only sums of slot values). A per-row mask falls back to summing slot values.
        int[]? groupOfSlot = featureMask is not null && featureMask.Length == f ? featureMask.Data.Select(g => checked((int)g)).ToArray() : null;
        var explainer = For(trees, background, algorithm, f, groupOfSlot);
        var result = explainer.Explain(rows);
        int p = explainer.PlayerCount;
        var targets = target?.Explicit(n) ?? (k == 1 ? new int[n] : Enumerable.Range(0, n).Select(r => ArgMax(trees.Evaluate(rows.Row(r)))).ToArray());
        if (perGroup && groupOfSlot is not null && k == 1)
        {
            // The players are the groups and there is one output: the engine's [n, 1, G] values are the answer as they are.
            if (targets.Any(t => t != 0)) throw new ArgumentOutOfRangeException(nameof(target), $"Target {targets.First(t => t != 0)} is not an output of the model (0..0).");
            var expected = new float[n];
            Array.Fill(expected, (float)result.ExpectedValues[0]);
            return new AttributionResult(result.Values.Reshape(n, p), targets, BaseValues: expected);
        }
        int width = perGroup && groupOfSlot is not null ? p : f;
        var values = new NdArray<float>(n, width);
        var baseValues = new float[n];
        for (int r = 0; r < n; r++)
        {
            if (targets[r] < 0 || targets[r] >= k) throw new ArgumentOutOfRangeException(nameof(target), $"Row {r}: target {targets[r]} is not an output of the model (0..{k - 1}).");
            var players = result.Values.Data.AsSpan((r * k + targets[r]) * p, p);
            var row = values.Row(r);
            // Masked attributions come back shaped like the input, each slot holding its group's value (Captum's shape).
            if (width == p) players.CopyTo(row);
            else for (int j = 0; j < f; j++) row[j] = groupOfSlot is null ? players[j] : players[groupOfSlot[j]];
            baseValues[r] = (float)result.ExpectedValues[targets[r]];
        }
        return new AttributionResult(groupOfSlot is null ? Groups.SpreadSums(values, featureMask) : values, targets, BaseValues: baseValues);
    }

    private static int ArgMax(double[] values)
    {
        int best = 0;
        for (int i = 1; i < values.Length; i++) if (values[i] > values[best]) best = i;
        return best;
    }
}

/// <summary>Feature groups given as a mask of group ids per slot (Captum's feature_mask).</summary>
internal static class Groups
{
    /// <summary>
    /// Per-slot values [n, F] → each slot holds its group's total (Captum's shape for masked attributions). Exact for
    /// additive explanations: linear SHAP, and TreeSHAP's efficiency (the groups still add up to the output).
    /// </summary>
    public static NdArray<float> SpreadSums(NdArray<float> values, NdArray<long>? mask)
    {
        if (mask is null) return values;
        int n = values.Rows, f = values.RowSize;
        if (mask.Length != f && mask.Length != (long)n * f)
            throw new ArgumentException($"The feature mask has {mask.Length} entries; it must have one per slot ({f}) or one per slot of every row ({n * f}).");
        if (mask.Data.Any(g => g < 0)) throw new ArgumentException("Feature-mask group ids must be non-negative.");
        var spread = new NdArray<float>(n, f);
        var totals = new Dictionary<long, double>();
        for (int r = 0; r < n; r++)
        {
            var ids = mask.Data.AsSpan(mask.Length == f ? 0 : r * f, f);
            var row = values.Row(r);
            totals.Clear();
            for (int j = 0; j < f; j++) totals[ids[j]] = totals.GetValueOrDefault(ids[j]) + row[j];
            var target = spread.Row(r);
            for (int j = 0; j < f; j++) target[j] = (float)totals[ids[j]];
        }
        return spread;
    }
}

/// <summary>A linear model's weights: output k = Σ_j W[k, j]·x_j + Bias[k] (ML.NET SDCA, L-BFGS, OLS, … before any calibrator).</summary>
public sealed class LinearModel
{
    /// <summary>Creates a linear model from weights [outputs, F] and biases [outputs].</summary>
    public LinearModel(float[][] weights, float[] bias)
    {
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(bias);
        if (weights.Length == 0 || weights.Length != bias.Length) throw new ArgumentException($"{weights.Length} weight rows for {bias.Length} biases.");
        if (weights.Any(w => w.Length != weights[0].Length)) throw new ArgumentException("Every output needs the same number of weights.");
        Weights = weights;
        Bias = bias;
    }

    /// <summary>Weights per output.</summary>
    public IReadOnlyList<float[]> Weights { get; }

    /// <summary>Bias per output.</summary>
    public IReadOnlyList<float> Bias { get; }

    /// <summary>Number of features.</summary>
    public int FeatureCount => Weights[0].Length;

    /// <summary>
    /// Exact SHAP values with independent features: φ_j = w_j·(x_j − E[x_j]) over the background, base value
    /// w·E[x] + b; summed over each feature group (exact: the game is additive).
    /// </summary>
    public AttributionResult Explain(NdArray<float> rows, NdArray<float> background, NdArray<long>? featureMask, Target? target)
    {
        int n = rows.Rows, f = rows.RowSize;
        if (f != FeatureCount) throw new ArgumentException($"Rows have {f} features; the linear model has {FeatureCount} weights.");
        if (background.RowSize != f) throw new ArgumentException($"Background rows have {background.RowSize} features; the linear model has {f}.");
        var mean = new double[f];
        for (int b = 0; b < background.Rows; b++)
        {
            var row = background.Row(b);
            for (int j = 0; j < f; j++) mean[j] += row[j];
        }
        for (int j = 0; j < f; j++) mean[j] /= Math.Max(1, background.Rows);
        var targets = target?.Explicit(n) ?? Enumerable.Range(0, n).Select(r => ArgMax(rows.Row(r))).ToArray();
        var values = new NdArray<float>(n, f);
        var baseValues = new float[n];
        for (int r = 0; r < n; r++)
        {
            int k = targets[r];
            if (k < 0 || k >= Weights.Count) throw new ArgumentOutOfRangeException(nameof(target), $"Row {r}: target {k} is not an output of the model (0..{Weights.Count - 1}).");
            var w = Weights[k];
            var x = rows.Row(r);
            var phi = values.Row(r);
            double expected = Bias[k];
            for (int j = 0; j < f; j++)
            {
                phi[j] = (float)(w[j] * (x[j] - mean[j]));
                expected += w[j] * mean[j];
            }
            baseValues[r] = (float)expected;
        }
        return new AttributionResult(Groups.SpreadSums(values, featureMask), targets, BaseValues: baseValues);
    }

    private int ArgMax(ReadOnlySpan<float> x)
    {
        if (Weights.Count == 1) return 0;
        int best = 0;
        double bestScore = double.NegativeInfinity;
        for (int k = 0; k < Weights.Count; k++)
        {
            double s = Bias[k];
            for (int j = 0; j < x.Length; j++) s += Weights[k][j] * x[j];
            if (s > bestScore) (best, bestScore) = (k, s);
        }
        return best;
    }
}
