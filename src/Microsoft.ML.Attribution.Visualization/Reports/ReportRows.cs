using Microsoft.ML.Attribution.Tensors;

namespace Microsoft.ML.Attribution.Reports;

/// <summary>One group of rows a report explains one by one.</summary>
/// <param name="Id">HTML id of the section.</param>
/// <param name="Heading">Section heading.</param>
/// <param name="Note">One sentence on how the rows were chosen.</param>
/// <param name="Rows">Row positions in the report's data, in display order.</param>
internal sealed record RowGroup(string Id, string Heading, string Note, int[] Rows);

/// <summary>Predictions, confidences and the row groups (most/least confident, errors) of a report.</summary>
internal static class ReportRows
{
    /// <summary>Each row's argmax output (0 for single-output models).</summary>
    public static int[] Predicted(NdArray<float> outputs)
    {
        var result = new int[outputs.Rows];
        for (int r = 0; r < outputs.Rows; r++)
        {
            var row = outputs.Row(r);
            int best = 0;
            for (int j = 1; j < row.Length; j++) if (row[j] > row[best]) best = j;
            result[r] = best;
        }
        return result;
    }

    /// <summary>
    /// Per row, the probability of the predicted output: the outputs themselves when they already are a distribution
    /// (non-negative, summing to 1), their softmax otherwise (logits). Single-output models get their score.
    /// </summary>
    public static double[] Confidence(NdArray<float> outputs)
    {
        int k = outputs.RowSize;
        var result = new double[outputs.Rows];
        for (int r = 0; r < outputs.Rows; r++)
        {
            var row = outputs.Row(r);
            if (k == 1) { result[r] = row[0]; continue; }
            double sum = 0, max = double.NegativeInfinity;
            bool distribution = true;
            foreach (var v in row) { sum += v; max = Math.Max(max, v); distribution &= v >= 0 && v <= 1; }
            if (distribution && Math.Abs(sum - 1) < 1e-3) { result[r] = max; continue; }
            double z = 0;
            foreach (var v in row) z += Math.Exp(v - max);
            result[r] = 1 / z;
        }
        return result;
    }

    /// <summary>True when labels look like binary classes (all 0 or 1) for a single-output model.</summary>
    public static bool IsBinary(float[] labels) => labels.All(l => l == 0 || l == 1);

    /// <summary>The decision threshold of a single-output binary model: 0.5 for probabilities, 0 for margins.</summary>
    public static double Threshold(NdArray<float> outputs) => outputs.Data.All(v => v >= 0 && v <= 1) ? 0.5 : 0;

    /// <summary>The groups of rows to explain one by one.</summary>
    public static List<RowGroup> Groups(ReportData data, int topK)
    {
        var groups = new List<RowGroup>();
        if (topK == 0 || data.Rows == 0) return groups;
        var confidence = Confidence(data.Outputs);
        var predicted = Predicted(data.Outputs);
        var all = Enumerable.Range(0, data.Rows);
        bool multi = data.OutputCount > 1;
        if (multi)
        {
            groups.Add(new("most-confident", "Most confident predictions", $"The {topK} rows with the highest probability of the predicted class.",
                all.OrderByDescending(r => confidence[r]).ThenBy(r => r).Take(topK).ToArray()));
            groups.Add(new("least-confident", "Least confident predictions", $"The {topK} rows with the lowest probability of the predicted class.",
                all.OrderBy(r => confidence[r]).ThenBy(r => r).Take(topK).ToArray()));
        }
        else
        {
            groups.Add(new("most-confident", "Highest predictions", $"The {topK} rows with the highest score.",
                all.OrderByDescending(r => confidence[r]).ThenBy(r => r).Take(topK).ToArray()));
            groups.Add(new("least-confident", "Lowest predictions", $"The {topK} rows with the lowest score.",
                all.OrderBy(r => confidence[r]).ThenBy(r => r).Take(topK).ToArray()));
        }
        if (data.Labels is not { } labels) return groups;

        int[] errors;
        string note;
        if (multi)
        {
            var wrong = all.Where(r => !float.IsNaN(labels[r]) && (int)labels[r] != predicted[r]).ToArray();
            errors = wrong.OrderByDescending(r => confidence[r]).ThenBy(r => r).Take(topK).ToArray();
            note = $"{wrong.Length} of {data.Rows} rows are misclassified; the {errors.Length} most confidently wrong are shown.";
        }
        else if (IsBinary(labels))
        {
            double threshold = Threshold(data.Outputs);
            var wrong = all.Where(r => (data.Outputs.Data[r] > threshold) != (labels[r] == 1)).ToArray();
            errors = wrong.OrderByDescending(r => Math.Abs(data.Outputs.Data[r] - threshold)).ThenBy(r => r).Take(topK).ToArray();
            note = $"{wrong.Length} of {data.Rows} rows are on the wrong side of the threshold {threshold}; the {errors.Length} furthest are shown.";
        }
        else
        {
            errors = all.Where(r => !float.IsNaN(labels[r])).OrderByDescending(r => Math.Abs(data.Outputs.Data[r] - labels[r])).ThenBy(r => r).Take(topK).ToArray();
            note = $"The {errors.Length} rows with the largest |prediction − label|.";
        }
        groups.Add(new("errors", "Errors", note, errors));
        return groups;
    }

    /// <summary>A seeded sample of <paramref name="count"/> of <paramref name="total"/> indices in ascending order
    /// (all of them when count ≥ total).</summary>
    public static int[] Sample(int total, int count, int seed)
    {
        if (count >= total) return Enumerable.Range(0, total).ToArray();
        var indices = Enumerable.Range(0, total).ToArray();
        new Random(seed).Shuffle(indices);
        var picked = indices[..count];
        Array.Sort(picked);
        return picked;
    }

    /// <summary>The rows of <paramref name="source"/> at <paramref name="rows"/>.</summary>
    public static NdArray<float> Take(NdArray<float> source, int[] rows)
    {
        var result = new NdArray<float>([rows.Length, .. source.RowShape]);
        for (int i = 0; i < rows.Length; i++) source.Row(rows[i]).CopyTo(result.Row(i));
        return result;
    }

    /// <summary>The mean of the rows, as one row <c>[1, …]</c>.</summary>
    public static NdArray<float> MeanRow(NdArray<float> rows)
    {
        var mean = new double[rows.RowSize];
        for (int r = 0; r < rows.Rows; r++)
        {
            var row = rows.Row(r);
            for (int j = 0; j < mean.Length; j++) mean[j] += row[j];
        }
        return new NdArray<float>(mean.Select(m => (float)(m / Math.Max(rows.Rows, 1))).ToArray(), [1, .. rows.RowShape]);
    }
}
