using Microsoft.ML.Attribution.Tensors;

namespace Microsoft.ML.Attribution.Reports;

/// <summary>The kind of input a report explains, which decides how features are grouped and rows are drawn.</summary>
internal enum ReportModality
{
    /// <summary>Rows <c>[N, F]</c>: one feature per element.</summary>
    Tabular,

    /// <summary>Images <c>[N, C, H, W]</c>: one feature per channel; rows drawn as heat maps.</summary>
    Image,

    /// <summary>Token rows <c>[N, T]</c> or <c>[N, T, D]</c> with tokens given: one feature per token position.</summary>
    Text,
}

/// <summary>Everything a report shows, computed once (all rows through one method call).</summary>
internal sealed class ReportData
{
    /// <summary>The explained rows, <c>[N, …]</c>.</summary>
    public required NdArray<float> Inputs { get; init; }

    /// <summary>Each explained row's index in the caller's data.</summary>
    public required int[] RowIds { get; init; }

    /// <summary>Rows in the caller's data (before subsampling).</summary>
    public required int TotalRows { get; init; }

    /// <summary>The model's outputs <c>[N, K]</c> (what predictions and confidences are read from).</summary>
    public required NdArray<float> Outputs { get; init; }

    /// <summary>Attributions of each row's target, shaped like <see cref="Inputs"/>.</summary>
    public required NdArray<float> Attributions { get; init; }

    /// <summary>The explained output of each row.</summary>
    public required int[] Targets { get; init; }

    /// <summary>Per row, the explained output with no feature known (f(baseline) or E[f(X)]).</summary>
    public required double[] BaseValues { get; init; }

    /// <summary>Per row, the explained output at the row in the attribution's units; null when it is the base value
    /// plus the attributions' sum exactly (TreeSHAP).</summary>
    public double[]? Predictions { get; init; }

    /// <summary>Attributions of every output <c>[N, K, features]</c> when the method gives them at no extra cost (TreeSHAP).</summary>
    public NdArray<float>? AllOutputs { get; init; }

    /// <summary>True labels (class index or regression target) per row, or null.</summary>
    public float[]? Labels { get; init; }

    /// <summary>The method's name, as shown.</summary>
    public required string Method { get; init; }

    /// <summary>Method and data settings, as shown.</summary>
    public required List<(string Name, string Value)> Settings { get; init; }

    /// <summary>One name per feature group.</summary>
    public required IReadOnlyList<string> FeatureNames { get; init; }

    /// <summary>One name per output.</summary>
    public required IReadOnlyList<string> ClassNames { get; init; }

    /// <summary>Tabular, image or text.</summary>
    public required ReportModality Modality { get; init; }

    /// <summary>Original images aligned with <see cref="Inputs"/>, or null.</summary>
    public NdArray<float>? OriginalImages { get; init; }

    /// <summary>Tokens aligned with <see cref="Inputs"/>, or null.</summary>
    public IReadOnlyList<IReadOnlyList<string>>? Tokens { get; init; }

    /// <summary>Per row and feature, the value as people read it (a one-hot group's category, a number), or null.</summary>
    public string[][]? ValueTexts { get; init; }

    /// <summary>Features left out because they do not vary over the explained and background rows (so their attribution is 0).</summary>
    public IReadOnlyList<string>? HiddenFeatures { get; init; }

    /// <summary>What the base value is, in a few words for the waterfall's axis (e.g. "mean raw score"); null for "base value".</summary>
    public string? BaseValueLabel { get; init; }

    /// <summary>What the base value is, in a sentence for the summary table; null when not known.</summary>
    public string? BaseValueNote { get; init; }

    /// <summary>Seconds per phase so far.</summary>
    public required List<ReportTiming> Timings { get; init; }

    /// <summary>Exact TreeSHAP interaction values [M, F, F] of the rows <see cref="InteractionRows"/> (tree models), or null.</summary>
    public NdArray<float>? Interactions { get; init; }

    /// <summary>The rows (indices into these rows) that <see cref="Interactions"/> holds, in order.</summary>
    public int[]? InteractionRows { get; init; }

    /// <summary>The faithfulness section's rows (one per method), or null when it is off.</summary>
    public IReadOnlyList<FaithfulnessRow>? Faithfulness { get; init; }

    /// <summary>Explained rows the faithfulness section scored.</summary>
    public int FaithfulnessRows { get; init; }

    public int Rows => Inputs.Rows;

    public int OutputCount => Outputs.RowSize;

    /// <summary>Feature groups per row: elements for tabular rows, axis 1 (channel or token) otherwise.</summary>
    public int FeatureCount => Modality == ReportModality.Tabular ? Inputs.RowSize : Inputs.Shape[1];

    /// <summary>Per feature, the signed attribution of one row: the element, or the sum over the group.</summary>
    public double[] Signed(int row) => Group(Attributions.Row(row), absolute: false);

    /// <summary>Per feature, the magnitude of one row's attribution: |element| for tabular and text (|token sum|),
    /// the sum of |pixel| per channel for images (so opposite signs within a channel do not cancel).</summary>
    public double[] Magnitude(int row)
    {
        if (Modality == ReportModality.Image) return Group(Attributions.Row(row), absolute: true);
        var signed = Signed(row);
        for (int j = 0; j < signed.Length; j++) signed[j] = Math.Abs(signed[j]);
        return signed;
    }

    /// <summary>The same grouping over any row of the input's shape (e.g. one output's attributions).</summary>
    public double[] Group(ReadOnlySpan<float> row, bool absolute)
    {
        int f = FeatureCount, per = row.Length / f;
        var result = new double[f];
        for (int i = 0; i < row.Length; i++) result[i / per] += absolute ? Math.Abs(row[i]) : row[i];
        return result;
    }

    /// <summary>Mean magnitude and mean signed attribution per feature over the given rows (all rows by default).</summary>
    public (double[] MeanAbsolute, double[] Mean) Importance(IEnumerable<int>? rows = null)
    {
        int f = FeatureCount, n = 0;
        var abs = new double[f];
        var signed = new double[f];
        foreach (int r in rows ?? Enumerable.Range(0, Rows))
        {
            var s = Signed(r);
            var m = Magnitude(r);
            for (int j = 0; j < f; j++) { abs[j] += m[j]; signed[j] += s[j]; }
            n++;
        }
        for (int j = 0; j < f; j++) { abs[j] /= Math.Max(n, 1); signed[j] /= Math.Max(n, 1); }
        return (abs, signed);
    }

    /// <summary>Per output k, mean magnitude per feature: of output k's own attributions over all rows when
    /// <see cref="AllOutputs"/> is known, else of the rows whose explained output is k. Null where no row explains k.</summary>
    public double[]?[] PerClassImportance()
    {
        int k = OutputCount, f = FeatureCount;
        var result = new double[]?[k];
        if (AllOutputs is { } all)
        {
            int width = all.Shape[2];
            for (int c = 0; c < k; c++)
            {
                var sum = new double[f];
                for (int r = 0; r < Rows; r++)
                {
                    var slice = all.Data.AsSpan((r * k + c) * width, width);
                    var g = Modality == ReportModality.Image ? Group(slice, true) : Group(slice, false);
                    for (int j = 0; j < f; j++) sum[j] += Math.Abs(g[j]);
                }
                for (int j = 0; j < f; j++) sum[j] /= Math.Max(Rows, 1);
                result[c] = sum;
            }
            return result;
        }
        for (int c = 0; c < k; c++)
        {
            int cls = c;
            var rows = Enumerable.Range(0, Rows).Where(r => Targets[r] == cls).ToArray();
            if (rows.Length > 0) result[c] = Importance(rows).MeanAbsolute;
        }
        return result;
    }
}
