using Microsoft.ML.Attribution.Methods;
using Microsoft.ML.Attribution.Oracles;
using Microsoft.ML.Attribution.Tensors;

namespace Microsoft.ML.Attribution.Metrics;

/// <summary>The deletion and insertion curves of a set of rows and their areas.</summary>
/// <param name="Fractions">The fraction of features removed (deletion) or inserted (insertion) at each point, 0 … 1.</param>
/// <param name="Deletion">
/// <c>[N, points]</c>: the target output as the most-attributed features are replaced by the baseline, one more group of
/// features per point (starts at f(x), ends at f(baseline)).
/// </param>
/// <param name="Insertion">
/// <c>[N, points]</c>: the target output as the most-attributed features are put back into the baseline (starts at
/// f(baseline), ends at f(x)).
/// </param>
/// <param name="DeletionAuc">Per row, the trapezoidal area under the deletion curve over the fractions (lower is better).</param>
/// <param name="InsertionAuc">Per row, the area under the insertion curve (higher is better).</param>
/// <param name="Targets">The output index explained for each row.</param>
public sealed record DeletionInsertionCurves(float[] Fractions, NdArray<float> Deletion, NdArray<float> Insertion,
    float[] DeletionAuc, float[] InsertionAuc, int[] Targets);

/// <summary>
/// Deletion and insertion curves (Petsiuk et al. 2018, RISE; the basis of ROAR-style comparisons): features are ranked by
/// their attribution (the sum over a feature's elements, largest first) and removed from the input — set to the
/// baseline — one after another (deletion), or inserted into the baseline (insertion), while the target output is
/// recorded. A faithful attribution makes the deletion curve fall fast (small area) and the insertion curve rise fast
/// (large area). Features are elements, or groups given by a feature mask (tabular feature groups, image pixels across
/// channels, superpixels). All points of all rows go through the model together, in chunks of the internal batch size.
/// </summary>
public sealed class DeletionInsertion
{
    private readonly IForwardOracle _oracle;

    /// <summary>Measures attributions of <paramref name="oracle"/>'s outputs.</summary>
    public DeletionInsertion(IForwardOracle oracle) => _oracle = oracle ?? throw new ArgumentNullException(nameof(oracle));

    /// <summary>Computes both curves and their areas.</summary>
    /// <param name="inputs">Explained rows <c>[N, …]</c>.</param>
    /// <param name="attributions">Their attributions, shaped like <paramref name="inputs"/>.</param>
    /// <param name="baselines">
    /// The value a removed feature takes: one value, one row, or one per row; null for zeros. Pass the baseline the
    /// attribution method used.
    /// </param>
    /// <param name="target">The explained output per row; default each row's prediction.</param>
    /// <param name="featureMask">
    /// Feature ids 0 … M−1 per element, shaped like a row, <c>[1, …row]</c> or <c>[N, …row]</c>; for images <c>[C, H, W]</c>
    /// also <c>[H, W]</c>, <c>[1, H, W]</c> or <c>[1, 1, H, W]</c> (a pixel's channels form one feature). Null: every element is a feature.
    /// </param>
    /// <param name="steps">Points after the first (default one per feature); with fewer, each point removes ≈ M/steps features.</param>
    /// <param name="internalBatchSize">Model rows per call.</param>
    public DeletionInsertionCurves Compute(NdArray<float> inputs, NdArray<float> attributions, NdArray<float>? baselines = null,
        Target? target = null, NdArray<long>? featureMask = null, int? steps = null, int? internalBatchSize = null)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(attributions);
        _oracle.ValidateInput(inputs);
        if (!attributions.Shape.SequenceEqual(inputs.Shape))
            throw new ArgumentException($"Attributions shaped {attributions.ShapeText} do not match input '{_oracle.InputName}' shaped {inputs.ShapeText}.", nameof(attributions));
        if (steps is < 1) throw new ArgumentOutOfRangeException(nameof(steps), steps, "Deletion/insertion needs at least one step.");
        int rows = inputs.Rows, rowSize = inputs.RowSize;
        var fullBaselines = Baselines.Expand(baselines, inputs, _oracle.InputName);
        var masks = FeatureIds(featureMask, inputs);
        int features = masks.Max(m => m.Max()) + 1;

        // rank[r][element]: position of the element's feature in the row's order (0 = most attributed).
        var rank = new int[rows][];
        for (int r = 0; r < rows; r++)
        {
            var mask = masks[masks.Length == 1 ? 0 : r];
            var score = new double[features];
            var phi = attributions.Row(r);
            for (int j = 0; j < rowSize; j++) score[mask[j]] += phi[j];
            var order = Enumerable.Range(0, features).OrderByDescending(f => score[f]).ThenBy(f => f).ToArray();
            var position = new int[features];
            for (int p = 0; p < features; p++) position[order[p]] = p;
            rank[r] = mask.Select(f => position[f]).ToArray();
        }

        int pointsAfterFirst = Math.Min(steps ?? features, features), points = pointsAfterFirst + 1;
        var removedAt = Enumerable.Range(0, points).Select(k => (int)Math.Round((double)k * features / pointsAfterFirst)).ToArray();
        int chunk = Batcher.ChunkRows(_oracle, internalBatchSize, rowSize);
        var targets = (target ?? Target.Predicted).Resolve(_oracle, inputs, chunk);

        // Item = (row, curve, point): curve 0 deletes from the input, curve 1 inserts into the baseline.
        var deletion = new NdArray<float>(rows, points);
        var insertion = new NdArray<float>(rows, points);
        Batcher.Forward(_oracle, rows * 2 * points, inputs.RowShape, chunk, (i, dst) =>
        {
            int r = i / (2 * points), curve = i / points % 2, removed = removedAt[i % points];
            var x = inputs.Row(r);
            var b = fullBaselines.Row(r);
            var ranks = rank[r];
            for (int j = 0; j < rowSize; j++) dst[j] = (ranks[j] < removed) == (curve == 0) ? b[j] : x[j];
        }, (i, output) =>
        {
            int r = i / (2 * points), curve = i / points % 2, k = i % points;
            (curve == 0 ? deletion : insertion).Data[r * points + k] = output[targets[r]];
        });

        var fractions = removedAt.Select(n => (float)n / features).ToArray();
        return new DeletionInsertionCurves(fractions, deletion, insertion, Areas(deletion, fractions), Areas(insertion, fractions), targets);
    }

    private static float[] Areas(NdArray<float> curves, float[] fractions)
    {
        var result = new float[curves.Rows];
        for (int r = 0; r < curves.Rows; r++)
        {
            var y = curves.Row(r);
            double area = 0;
            for (int k = 1; k < y.Length; k++) area += (fractions[k] - (double)fractions[k - 1]) * (y[k] + (double)y[k - 1]) / 2;
            result[r] = (float)area;
        }
        return result;
    }

    /// <summary>Feature id per element, for one row (shared) or per row, checked.</summary>
    private int[][] FeatureIds(NdArray<long>? featureMask, NdArray<float> inputs)
    {
        int rows = inputs.Rows, rowSize = inputs.RowSize;
        if (featureMask is null) return [Enumerable.Range(0, rowSize).ToArray()];
        int[][] result;
        var rowShape = inputs.RowShape;
        if (featureMask.Length == rowSize && (featureMask.Shape.SequenceEqual(rowShape) || featureMask.Shape.SequenceEqual([1, .. rowShape])))
            result = [featureMask.Data.Select(v => checked((int)v)).ToArray()];
        else if (featureMask.Shape.SequenceEqual(inputs.Shape))
            result = Enumerable.Range(0, rows).Select(r => featureMask.Row(r).ToArray().Select(v => checked((int)v)).ToArray()).ToArray();
        else if (rowShape.Length == 3 && featureMask.Length == (long)rowShape[1] * rowShape[2]
                 && featureMask.Shape.Where(d => d != 1).SequenceEqual(rowShape[1..].Where(d => d != 1))
                 && featureMask.Shape.Length >= 2 && featureMask.Shape[^2] == rowShape[1] && featureMask.Shape[^1] == rowShape[2])
        {
            int plane = rowShape[1] * rowShape[2];
            result = [Enumerable.Range(0, rowSize).Select(j => checked((int)featureMask.Data[j % plane])).ToArray()];
        }
        else
            throw new ArgumentException($"Feature mask shaped {featureMask.ShapeText} does not fit input '{_oracle.InputName}' shaped {inputs.ShapeText}: " +
                $"give {NdArray<float>.FormatShape(rowShape)}, {NdArray<float>.FormatShape([1, .. rowShape])}, {inputs.ShapeText}" +
                (rowShape.Length == 3 ? $", or an [H, W] plane {NdArray<float>.FormatShape(rowShape[1..])} shared by the channels." : "."), nameof(featureMask));
        foreach (var mask in result)
        {
            int max = mask.Max();
            if (mask.Min() < 0) throw new ArgumentException($"Feature mask of input '{_oracle.InputName}' holds a negative id; ids run 0 … M−1.", nameof(featureMask));
            var seen = new bool[max + 1];
            foreach (int f in mask) seen[f] = true;
            int missing = Array.IndexOf(seen, false);
            if (missing >= 0) throw new ArgumentException($"Feature mask of input '{_oracle.InputName}' skips id {missing}; ids run 0 … {max} with none missing.", nameof(featureMask));
        }
        if (result.Length > 1 && result.Select(m => m.Max()).Distinct().Count() > 1)
            throw new ArgumentException($"Per-row feature masks of input '{_oracle.InputName}' must have the same number of features.", nameof(featureMask));
        return result;
    }
}
