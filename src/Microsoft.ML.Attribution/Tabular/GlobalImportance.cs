using Microsoft.ML.Attribution.Tensors;

namespace Microsoft.ML.Attribution.Tabular;

/// <summary>One feature's global importance: the mean absolute SHAP value over the explained rows.</summary>
/// <param name="Feature">Feature index.</param>
/// <param name="Name">Feature name.</param>
/// <param name="MeanAbsoluteShap">Mean of |φ| over rows.</param>
/// <param name="MeanShap">Mean of φ over rows (the direction of the average effect).</param>
public sealed record FeatureImportance(int Feature, string Name, double MeanAbsoluteShap, double MeanShap);

/// <summary>Global feature importance from per-row attributions (the usual SHAP summary: mean |φ| per feature).</summary>
public static class GlobalImportance
{
    /// <summary>Importance of each feature for one output, most important first.</summary>
    /// <param name="result">TreeSHAP values.</param>
    /// <param name="featureNames">Names (e.g. an oracle's slot names); default <c>f0, f1, …</c>.</param>
    /// <param name="output">Which output (class) to summarise.</param>
    public static IReadOnlyList<FeatureImportance> FromShap(TreeShapResult result, IReadOnlyList<string>? featureNames = null, int output = 0)
    {
        ArgumentNullException.ThrowIfNull(result);
        return FromAttributions(result.ForOutput(output), featureNames);
    }

    /// <summary>Importance of each column of <c>[n, F]</c> attributions, most important first.</summary>
    public static IReadOnlyList<FeatureImportance> FromAttributions(NdArray<float> attributions, IReadOnlyList<string>? featureNames = null)
    {
        ArgumentNullException.ThrowIfNull(attributions);
        if (attributions.Rank != 2 || attributions.Rows == 0)
            throw new ArgumentException($"Attributions must be [n, F] with n ≥ 1; got {attributions.ShapeText}.", nameof(attributions));
        int n = attributions.Rows, f = attributions.Shape[1];
        if (featureNames is not null && featureNames.Count != f)
            throw new ArgumentException($"{featureNames.Count} feature names for {f} features.", nameof(featureNames));
        var absolute = new double[f];
        var signed = new double[f];
        for (int r = 0; r < n; r++)
        {
            var row = attributions.Row(r);
            for (int j = 0; j < f; j++)
            {
                absolute[j] += Math.Abs(row[j]);
                signed[j] += row[j];
            }
        }
        return Enumerable.Range(0, f)
            .Select(j => new FeatureImportance(j, featureNames?[j] ?? $"f{j}", absolute[j] / n, signed[j] / n))
            .OrderByDescending(i => i.MeanAbsoluteShap)
            .ToArray();
    }
}
