using System.Globalization;
using System.Xml.Linq;
using Microsoft.ML.Attribution.Tensors;

namespace Microsoft.ML.Attribution.Visualization;

/// <summary>How <see cref="TabularCharts.Heatmap"/> and <see cref="TabularCharts.StackedForcePlot"/> order their rows.</summary>
public enum RowOrder
{
    /// <summary>As given.</summary>
    Given,

    /// <summary>By the explained output, lowest first.</summary>
    Prediction,

    /// <summary>Similar explanations side by side: a nearest-neighbour chain over the attribution vectors, starting at the
    /// row with the lowest output (a cheap stand-in for SHAP's hierarchical-clustering order).</summary>
    Similarity,
}

// The SHAP plots beyond bar, beeswarm and waterfall: force (one row and stacked), dependence, heatmap, decision, and the
// interaction summary. Each mark carries its numbers in data-* attributes so tests (and people) can check them.
public static partial class TabularCharts
{
    /// <summary>
    /// SHAP's force plot for one row: one horizontal band on the output axis from the base value to f(x). Red segments
    /// (positive attributions) push from the left up to f(x), blue ones (negative) push from the right down to it; the
    /// largest sit next to f(x). The segments' values sum to f(x) − base value exactly.
    /// </summary>
    /// <param name="featureNames">One name per feature.</param>
    /// <param name="attributions">The row's attributions.</param>
    /// <param name="baseValue">The output with no feature known (see <see cref="TabularChartOptions.BaseValueLabel"/>).</param>
    /// <param name="featureValueTexts">The row's values as people read them, shown under the segments; null for names only.</param>
    /// <param name="options">Layout; null for defaults.</param>
    public static string ForcePlot(IReadOnlyList<string> featureNames, IReadOnlyList<float> attributions, double baseValue,
        IReadOnlyList<string>? featureValueTexts = null, TabularChartOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(featureNames);
        ArgumentNullException.ThrowIfNull(attributions);
        var o = Check(options);
        if (featureNames.Count != attributions.Count)
            throw new ArgumentException($"{featureNames.Count} feature names for {attributions.Count} attributions.", nameof(featureNames));
        if (featureValueTexts is not null && featureValueTexts.Count != attributions.Count)
            throw new ArgumentException($"{featureValueTexts.Count} feature value texts for {attributions.Count} attributions.", nameof(featureValueTexts));
        var segments = ForceSegments(attributions, baseValue, out double fx);
        double lo = Math.Min(baseValue, segments.Select(s => Math.Min(s.Start, s.End)).DefaultIfEmpty(baseValue).Min());
        double hi = Math.Max(baseValue, segments.Select(s => Math.Max(s.Start, s.End)).DefaultIfEmpty(baseValue).Max());
        if (hi == lo) { hi += 1; lo -= 1; }
        double pad = (hi - lo) * 0.08;
        lo -= pad; hi += pad;
        double left = 20, plotW = o.Width - 40, top = o.Title is null ? 40 : 60, band = 28;
        double X(double v) => left + (v - lo) / (hi - lo) * plotW;
        var svg = Begin(o, top + band + 110);
        svg.Add(Svg.Text(X(fx), top - 22, $"f(x) = {Svg.Label(fx)}", "middle", "prediction-label"));
        svg.Add(Svg.Line(X(fx), top - 12, X(fx), top + band + 4, Axis, null, "prediction"));
        svg.Add(Svg.Line(X(baseValue), top - 4, X(baseValue), top + band + 4, Faint, "3,3", "expected"));
        svg.Add(Svg.Text(X(baseValue), top + band + 52, $"{o.BaseValueLabel} = {Svg.Label(baseValue)}", "middle", "expected-label", Faint));
        foreach (var (j, v, s, e) in segments)
        {
            double x0 = Math.Min(X(s), X(e)), x1 = Math.Max(X(s), X(e));
            string color = v >= 0 ? Positive : Negative;
            string label = featureValueTexts is null ? featureNames[j] : $"{featureNames[j]} = {Shorten(featureValueTexts[j], 30)}";
            var rect = Svg.Rect(x0, top, x1 - x0, band, color, "segment");
            rect.Add(new XAttribute("stroke", "white"), new XAttribute("stroke-width", "1"), new XAttribute("data-feature", featureNames[j]),
                new XAttribute("data-value", Svg.N(v)), new XAttribute("data-start", Svg.N(s)), new XAttribute("data-end", Svg.N(e)),
                Svg.Title($"{label}: {(v >= 0 ? "+" : "")}{Svg.Label(v)}"));
            svg.Add(rect);
            if (x1 - x0 > Math.Min(Svg.TextWidth(label), 160) + 6)
                svg.Add(Svg.Text((x0 + x1) / 2, top + band + 14, Shorten(label, (int)((x1 - x0) / 7)), "middle", "segment-label", color, 11));
        }
        AddAxis(svg, left, plotW, top + band + 26, lo, hi, null);
        svg.Add(Svg.Text(left, top - 22, "higher ⟶", "start", "legend", Positive, 11));
        svg.Add(Svg.Text(left + plotW, top - 22, "⟵ lower", "end", "legend", Negative, 11));
        return svg.ToString(SaveOptions.DisableFormatting);
    }

    /// <summary>Segments of a force plot: (feature, value, start, end); positives end at f(x) from the left, negatives from the right.</summary>
    internal static List<(int Feature, double Value, double Start, double End)> ForceSegments(IReadOnlyList<float> attributions, double baseValue, out double fx)
    {
        double positive = 0, negative = 0;
        foreach (var a in attributions) { if (a > 0) positive += a; else negative += a; }
        fx = baseValue + positive + negative;
        var result = new List<(int, double, double, double)>();
        // Positives: from f(x) − P up to f(x), smallest first so the largest touches f(x).
        double at = fx - positive;
        foreach (int j in Enumerable.Range(0, attributions.Count).Where(j => attributions[j] > 0).OrderBy(j => attributions[j]).ThenBy(j => j))
        {
            result.Add((j, attributions[j], at, at + attributions[j]));
            at += attributions[j];
        }
        at = fx - negative;
        foreach (int j in Enumerable.Range(0, attributions.Count).Where(j => attributions[j] < 0).OrderBy(j => -attributions[j]).ThenBy(j => j))
        {
            result.Add((j, attributions[j], at, at + attributions[j]));
            at += attributions[j];
        }
        return result;
    }

    /// <summary>
    /// Force plots of many rows side by side (SHAP's stacked force plot, turned into columns): x is the row (in
    /// <paramref name="order"/>), y the output; each row's column stacks its red segments up to f(x) from below and its blue
    /// ones down to f(x) from above, so the line through the columns is the model's output. The <c>MaxFeatures − 1</c>
    /// features of largest mean |attribution| keep their own colour shade; the rest are one "other features" segment.
    /// </summary>
    /// <param name="attributions">[N, F] attributions.</param>
    /// <param name="baseValue">The base value (one for all rows).</param>
    /// <param name="featureNames">F names.</param>
    /// <param name="order">Row order. Default: by prediction.</param>
    /// <param name="options">Layout; null for defaults.</param>
    public static string StackedForcePlot(NdArray<float> attributions, double baseValue, IReadOnlyList<string> featureNames,
        RowOrder order = RowOrder.Prediction, TabularChartOptions? options = null)
    {
        var (o, n, f, outputs, rows, importance) = RowsInOrder(attributions, featureNames, baseValue, order, options);
        var kept = Enumerable.Range(0, f).OrderByDescending(j => importance[j]).ThenBy(j => j).Take(f > o.MaxFeatures ? o.MaxFeatures - 1 : f).ToArray();
        var keptSet = kept.ToHashSet();
        var columns = rows.Select(r =>
        {
            var values = kept.Select(j => attributions.Data[r * f + j]).ToList();
            if (kept.Length < f) values.Add((float)Enumerable.Range(0, f).Where(j => !keptSet.Contains(j)).Sum(j => (double)attributions.Data[r * f + j]));
            return ForceSegments(values, baseValue, out _);
        }).ToArray();
        double lo = baseValue, hi = baseValue;
        foreach (var c in columns) foreach (var s in c) { lo = Math.Min(lo, Math.Min(s.Start, s.End)); hi = Math.Max(hi, Math.Max(s.Start, s.End)); }
        if (hi == lo) { hi += 1; lo -= 1; }
        double pad = (hi - lo) * 0.05;
        lo -= pad; hi += pad;
        double left = 60, top = o.Title is null ? 10 : 34, plotH = 300, plotW = o.Width - left - 20, colW = plotW / Math.Max(n, 1);
        double Y(double v) => top + (hi - v) / (hi - lo) * plotH;
        var svg = Begin(o, top + plotH + 50);
        svg.Add(Svg.Line(left, Y(baseValue), left + plotW, Y(baseValue), Faint, "3,3", "expected"));
        for (int i = 0; i < rows.Length; i++)
        {
            foreach (var (j, v, s, e) in columns[i])
            {
                string name = j < kept.Length ? featureNames[kept[j]] : "other features";
                var rect = Svg.Rect(left + i * colW, Math.Min(Y(s), Y(e)), Math.Max(colW, 0.5), Math.Abs(Y(e) - Y(s)), Shade(v >= 0 ? Positive : Negative, j, kept.Length + 1), "segment");
                rect.Add(new XAttribute("data-row", rows[i]), new XAttribute("data-feature", name), new XAttribute("data-value", Svg.N(v)), Svg.Title($"row {rows[i]}, {name}: {Svg.Label(v)}"));
                svg.Add(rect);
            }
        }
        var line = new XElement(Svg.Ns + "polyline", new XAttribute("fill", "none"), new XAttribute("stroke", Axis), new XAttribute("stroke-width", "1.5"), new XAttribute("class", "output"),
            new XAttribute("points", string.Join(" ", rows.Select((r, i) => $"{Svg.N(left + (i + 0.5) * colW)},{Svg.N(Y(outputs[r]))}"))));
        svg.Add(line);
        AddYAxis(svg, left, top, plotH, lo, hi, "output");
        svg.Add(Svg.Text(left + plotW / 2, top + plotH + 16, $"{n} rows, ordered by {OrderName(order)}", "middle", "caption"));
        svg.Add(Svg.Text(left + plotW, Y(baseValue) - 8, $"{o.BaseValueLabel} = {Svg.Label(baseValue)}", "end", "expected-label", Faint, 11));
        return svg.ToString(SaveOptions.DisableFormatting);
    }

    /// <summary>
    /// SHAP's dependence plot: one dot per row at (value of feature <paramref name="feature"/>, its attribution), coloured by
    /// the value of a second feature — <paramref name="colorBy"/>, or when null the feature that interacts most (the largest
    /// mean |interaction| in <paramref name="interactions"/> when given, e.g. TreeSHAP interaction values; else the feature
    /// whose values best explain the spread of the attribution at equal values, as SHAP's approximate_interactions).
    /// </summary>
    /// <param name="featureValues">[N, F] feature values.</param>
    /// <param name="attributions">[N, F] attributions.</param>
    /// <param name="featureNames">F names.</param>
    /// <param name="feature">The feature plotted.</param>
    /// <param name="colorBy">The colouring feature; null to pick the strongest interaction; −1 for none.</param>
    /// <param name="interactions">Mean |interaction| [F, F] (from TreeSHAP interaction values), or null.</param>
    /// <param name="options">Layout; null for defaults.</param>
    public static string DependencePlot(NdArray<float> featureValues, NdArray<float> attributions, IReadOnlyList<string> featureNames, int feature,
        int? colorBy = null, double[,]? interactions = null, TabularChartOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(featureValues);
        ArgumentNullException.ThrowIfNull(attributions);
        ArgumentNullException.ThrowIfNull(featureNames);
        var o = Check(options);
        var (n, f) = RowsAndFeatures(attributions, nameof(attributions));
        if (featureValues.Length != attributions.Length)
            throw new ArgumentException($"Feature values of shape {featureValues.ShapeText} do not match attributions of shape {attributions.ShapeText}.", nameof(featureValues));
        if (featureNames.Count != f) throw new ArgumentException($"{featureNames.Count} feature names for attributions of shape {attributions.ShapeText}.", nameof(featureNames));
        if (feature < 0 || feature >= f) throw new ArgumentOutOfRangeException(nameof(feature), feature, $"Feature {feature} is out of range: there are {f} features.");
        if (interactions is not null && (interactions.GetLength(0) != f || interactions.GetLength(1) != f))
            throw new ArgumentException($"Interactions are [{interactions.GetLength(0)}, {interactions.GetLength(1)}]; expected [{f}, {f}].", nameof(interactions));
        int color = colorBy ?? StrongestInteraction(featureValues, attributions, feature, interactions);
        if (color >= f || color < -1) throw new ArgumentOutOfRangeException(nameof(colorBy), colorBy, $"colorBy must be a feature index below {f}, or −1 for none.");

        var xs = Enumerable.Range(0, n).Select(r => (double)featureValues.Data[r * f + feature]).ToArray();
        var ys = Enumerable.Range(0, n).Select(r => (double)attributions.Data[r * f + feature]).ToArray();
        var (xlo, xhi) = Range(xs);
        var (ylo, yhi) = Range(ys.Append(0));
        double left = 70, top = o.Title is null ? 10 : 34, plotH = 300, plotW = o.Width - left - (color >= 0 ? 90 : 20);
        double X(double v) => left + (v - xlo) / (xhi - xlo) * plotW;
        double Y(double v) => top + (yhi - v) / (yhi - ylo) * plotH;
        var svg = Begin(o, top + plotH + 50);
        svg.Add(Svg.Line(left, Y(0), left + plotW, Y(0), "#dddddd", null, "zero"));
        var (clo, chi) = color >= 0 ? PercentileRange(featureValues, n, f, color) : (0, 0);
        for (int r = 0; r < n; r++)
        {
            if (!double.IsFinite(xs[r]) || !double.IsFinite(ys[r])) continue;
            float cv = color >= 0 ? featureValues.Data[r * f + color] : float.NaN;
            string fill = float.IsFinite(cv) ? Svg.Hex(FeatureValueColors.Map(chi > clo ? (cv - clo) / (chi - clo) : 0.5)) : Faint;
            var dot = Svg.Circle(X(xs[r]), Y(ys[r]), 3, fill, "dot");
            dot.Add(new XAttribute("data-row", r), new XAttribute("data-x", Svg.N(xs[r])), new XAttribute("data-y", Svg.N(ys[r])),
                new XAttribute("fill-opacity", "0.85"), Svg.Title($"{featureNames[feature]} = {Svg.Label(xs[r])}: {Svg.Label(ys[r])}" +
                    (color >= 0 ? $" ({featureNames[color]} = {Svg.Label(cv)})" : "")));
            svg.Add(dot);
        }
        AddAxis(svg, left, plotW, top + plotH, xlo, xhi, featureNames[feature]);
        AddYAxis(svg, left, top, plotH, ylo, yhi, $"attribution of {featureNames[feature]}");
        if (color >= 0)
        {
            AddValueLegend(svg, left + plotW + 20, top, plotH);
            svg.Add(Svg.Text(left + plotW + 24, top + plotH + 16, featureNames[color], "middle", "color-feature", size: 11));
        }
        return svg.ToString(SaveOptions.DisableFormatting);
    }

    /// <summary>
    /// The feature that interacts most with <paramref name="feature"/>: the largest off-diagonal mean |interaction| when
    /// given; else, rows sorted by the feature's value and cut into bins, the feature whose values correlate most with the
    /// attribution within bins (the spread at equal values that the first feature does not explain). −1 when F = 1.
    /// </summary>
    public static int StrongestInteraction(NdArray<float> featureValues, NdArray<float> attributions, int feature, double[,]? interactions = null)
    {
        ArgumentNullException.ThrowIfNull(featureValues);
        ArgumentNullException.ThrowIfNull(attributions);
        var (n, f) = RowsAndFeatures(attributions, nameof(attributions));
        if (f < 2) return -1;
        if (interactions is not null)
            return Enumerable.Range(0, f).Where(k => k != feature).OrderByDescending(k => interactions[feature, k] + interactions[k, feature]).ThenBy(k => k).First();
        var rows = Enumerable.Range(0, n).OrderBy(r => featureValues.Data[r * f + feature]).ToArray();
        int bins = Math.Max(1, Math.Min(10, n / 10));
        int best = -1;
        double bestScore = -1;
        for (int k = 0; k < f; k++)
        {
            if (k == feature) continue;
            double score = 0;
            for (int b = 0; b < bins; b++)
            {
                var part = rows[(b * n / bins)..((b + 1) * n / bins)];
                score += Math.Abs(Correlation(part.Select(r => (double)featureValues.Data[r * f + k]).ToArray(), part.Select(r => (double)attributions.Data[r * f + feature]).ToArray()));
            }
            if (score > bestScore) { bestScore = score; best = k; }
        }
        return best;
    }

    /// <summary>
    /// SHAP's heatmap: one column per row (in <paramref name="order"/>), one line per feature (most important on top), each
    /// cell coloured by the attribution (red positive, blue negative, white zero, scaled to the largest |attribution|), with
    /// the output f(x) = base value + Σ attributions drawn above.
    /// </summary>
    /// <param name="attributions">[N, F] attributions.</param>
    /// <param name="featureNames">F names.</param>
    /// <param name="baseValue">The base value (for the f(x) line).</param>
    /// <param name="order">Row order. Default: by similarity.</param>
    /// <param name="options">Layout; null for defaults.</param>
    public static string Heatmap(NdArray<float> attributions, IReadOnlyList<string> featureNames, double baseValue = 0, RowOrder order = RowOrder.Similarity,
        TabularChartOptions? options = null)
    {
        var (o, n, f, outputs, rows, importance) = RowsInOrder(attributions, featureNames, baseValue, order, options);
        var shown = Enumerable.Range(0, f).OrderByDescending(j => importance[j]).ThenBy(j => j).Take(o.MaxFeatures).ToArray();
        double max = 0;
        foreach (int j in shown) for (int r = 0; r < n; r++) max = Math.Max(max, Math.Abs(attributions.Data[r * f + j]));
        var (left, plotW, top) = Frame(o, shown.Select(j => featureNames[j]));
        double lineH = 60, cellW = plotW / Math.Max(n, 1);
        double gridTop = top + lineH + 10;
        var svg = Begin(o, gridTop + shown.Length * o.RowHeight + 50);
        var (flo, fhi) = Range(outputs);
        double FY(double v) => top + (fhi - v) / (fhi - flo) * lineH;
        svg.Add(new XElement(Svg.Ns + "polyline", new XAttribute("fill", "none"), new XAttribute("stroke", Axis), new XAttribute("class", "output"),
            new XAttribute("points", string.Join(" ", rows.Select((r, i) => $"{Svg.N(left + (i + 0.5) * cellW)},{Svg.N(FY(outputs[r]))}")))));
        svg.Add(Svg.Text(left - 8, top + lineH / 2, "f(x)", "end", "label"));
        for (int i = 0; i < shown.Length; i++)
        {
            int j = shown[i];
            double y = gridTop + i * o.RowHeight;
            svg.Add(Svg.Text(left - 8, y + o.RowHeight / 2.0, featureNames[j], "end", "label"));
            for (int c = 0; c < rows.Length; c++)
            {
                int r = rows[c];
                float v = attributions.Data[r * f + j];
                var cell = Svg.Rect(left + c * cellW, y, Math.Max(cellW, 0.5), o.RowHeight, Diverging(v, max), "cell");
                cell.Add(new XAttribute("data-row", r), new XAttribute("data-feature", featureNames[j]), new XAttribute("data-value", Svg.N(v)),
                    Svg.Title($"row {r}, {featureNames[j]}: {Svg.Label(v)}"));
                svg.Add(cell);
            }
        }
        double bottom = gridTop + shown.Length * o.RowHeight;
        svg.Add(Svg.Text(left + plotW / 2, bottom + 14, $"{n} rows, ordered by {OrderName(order)}", "middle", "caption"));
        if (shown.Length < f) svg.Add(Svg.Text(left, bottom + 32, $"{f - shown.Length} other features not shown", "start", "note", Faint));
        svg.Add(Svg.Text(left + plotW, bottom + 32, $"colour: attribution, ±{Svg.Label(max)}", "end", "legend", Faint, 11));
        return svg.ToString(SaveOptions.DisableFormatting);
    }

    /// <summary>
    /// SHAP's decision plot: features top to bottom by importance (least important at the bottom), one line per row
    /// starting at the base value below the chart and adding the row's attributions feature by feature from the bottom up,
    /// so each line ends at the top at that row's output f(x) = base value + Σ attributions. Beyond <c>MaxFeatures − 1</c>
    /// features the rest are added first, as one "other features" step.
    /// </summary>
    /// <param name="attributions">[N, F] attributions.</param>
    /// <param name="featureNames">F names.</param>
    /// <param name="baseValue">The base value every line starts at.</param>
    /// <param name="options">Layout; null for defaults.</param>
    public static string DecisionPlot(NdArray<float> attributions, IReadOnlyList<string> featureNames, double baseValue, TabularChartOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(attributions);
        ArgumentNullException.ThrowIfNull(featureNames);
        var o = Check(options);
        var (n, f) = RowsAndFeatures(attributions, nameof(attributions));
        if (featureNames.Count != f) throw new ArgumentException($"{featureNames.Count} feature names for attributions of shape {attributions.ShapeText}.", nameof(featureNames));
        var importance = MeanAbsolute(attributions);
        var byImportance = Enumerable.Range(0, f).OrderByDescending(j => importance[j]).ThenBy(j => j).ToArray();
        var kept = byImportance.Take(f > o.MaxFeatures ? o.MaxFeatures - 1 : f).ToArray();
        var rest = byImportance.Skip(kept.Length).ToArray();
        // Steps from the bottom: the rest (if any), then the kept features from least to most important.
        var steps = new List<(string Name, int[] Features)>();
        if (rest.Length > 0) steps.Add(($"{rest.Length} other features", rest));
        foreach (int j in kept.Reverse()) steps.Add((featureNames[j], [j]));
        var paths = new double[n][];
        double lo = baseValue, hi = baseValue;
        for (int r = 0; r < n; r++)
        {
            paths[r] = new double[steps.Count + 1];
            paths[r][0] = baseValue;
            for (int s = 0; s < steps.Count; s++)
            {
                double add = 0;
                foreach (int j in steps[s].Features) add += attributions.Data[r * f + j];
                paths[r][s + 1] = paths[r][s] + add;
                lo = Math.Min(lo, paths[r][s + 1]); hi = Math.Max(hi, paths[r][s + 1]);
            }
        }
        if (hi == lo) { hi += 1; lo -= 1; }
        double pad = (hi - lo) * 0.05;
        lo -= pad; hi += pad;
        var (left, plotW, top) = Frame(o, steps.Select(s => s.Name));
        top += 16;
        double bottom = top + steps.Count * o.RowHeight;
        double X(double v) => left + (v - lo) / (hi - lo) * plotW;
        // Step s (from the bottom) is reached at the top edge of its feature line.
        double Y(int s) => bottom - s * o.RowHeight;
        var svg = Begin(o, bottom + 56);
        for (int s = 0; s < steps.Count; s++)
        {
            double y = bottom - (s + 0.5) * o.RowHeight;
            svg.Add(Svg.Line(left, y, left + plotW, y, "#eeeeee"));
            svg.Add(Svg.Text(left - 8, y, steps[s].Name, "end", "label", steps[s].Features.Length > 1 ? Faint : "black"));
        }
        svg.Add(Svg.Line(X(baseValue), top, X(baseValue), bottom, Faint, "3,3", "expected"));
        var (olo, ohi) = Range(paths.Select(p => p[^1]));
        for (int r = 0; r < n; r++)
        {
            double end = paths[r][^1];
            string color = Svg.Hex(FeatureValueColors.Map(ohi > olo ? (end - olo) / (ohi - olo) : 0.5));
            var line = new XElement(Svg.Ns + "polyline", new XAttribute("fill", "none"), new XAttribute("stroke", color), new XAttribute("stroke-width", "1.2"),
                new XAttribute("class", "decision"), new XAttribute("data-row", r), new XAttribute("data-output", Svg.N(end)),
                new XAttribute("points", string.Join(" ", paths[r].Select((v, s) => $"{Svg.N(X(v))},{Svg.N(Y(s))}"))),
                Svg.Title($"row {r}: f(x) = {Svg.Label(end)}"));
            svg.Add(line);
        }
        AddAxis(svg, left, plotW, bottom, lo, hi, "output");
        svg.Add(Svg.Text(X(baseValue), bottom + 44, $"{o.BaseValueLabel} = {Svg.Label(baseValue)}", "middle", "expected-label", Faint, 11));
        return svg.ToString(SaveOptions.DisableFormatting);
    }

    /// <summary>
    /// Interaction summary: an F × F matrix of mean |interaction| over rows (the diagonal holds main effects), features
    /// ordered by their total, each cell shaded by its value with the number written in it when it fits.
    /// </summary>
    /// <param name="interactions">Interaction values [N, F, F] (e.g. TreeSHAP interaction values) or their mean |·| [F, F].</param>
    /// <param name="featureNames">F names.</param>
    /// <param name="options">Layout; <see cref="TabularChartOptions.MaxFeatures"/> caps the matrix; null for defaults.</param>
    public static string InteractionSummary(NdArray<float> interactions, IReadOnlyList<string> featureNames, TabularChartOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(interactions);
        ArgumentNullException.ThrowIfNull(featureNames);
        var o = Check(options);
        var matrix = MeanAbsoluteInteractions(interactions);
        int f = matrix.GetLength(0);
        if (featureNames.Count != f) throw new ArgumentException($"{featureNames.Count} feature names for interactions of shape {interactions.ShapeText}.", nameof(featureNames));
        var totals = Enumerable.Range(0, f).Select(i => Enumerable.Range(0, f).Sum(k => matrix[i, k])).ToArray();
        var shown = Enumerable.Range(0, f).OrderByDescending(i => totals[i]).ThenBy(i => i).Take(o.MaxFeatures).ToArray();
        double max = 0;
        foreach (int i in shown) foreach (int k in shown) max = Math.Max(max, matrix[i, k]);
        var (left, _, top) = Frame(o, shown.Select(i => featureNames[i]));
        double cell = Math.Max(8, Math.Min(48, (o.Width - left - 20) / Math.Max(shown.Length, 1)));
        double labelsH = Math.Min(shown.Max(i => Svg.TextWidth(featureNames[i])), 160) * 0.75 + 10;
        double gridTop = top + labelsH;
        var svg = Begin(o, gridTop + shown.Length * cell + 30);
        for (int c = 0; c < shown.Length; c++)
        {
            double x = left + (c + 0.5) * cell;
            var label = Svg.Text(x, gridTop - 6, Shorten(featureNames[shown[c]], 22), "start", "column-label");
            label.Add(new XAttribute("transform", $"rotate(-45 {Svg.N(x)} {Svg.N(gridTop - 6)})"));
            svg.Add(label);
        }
        for (int rr = 0; rr < shown.Length; rr++)
        {
            int i = shown[rr];
            svg.Add(Svg.Text(left - 8, gridTop + (rr + 0.5) * cell, featureNames[i], "end", "label"));
            for (int c = 0; c < shown.Length; c++)
            {
                int k = shown[c];
                double v = matrix[i, k];
                var rect = Svg.Rect(left + c * cell, gridTop + rr * cell, cell, cell, Diverging(v, max), i == k ? "main-effect" : "interaction");
                rect.Add(new XAttribute("stroke", "white"), new XAttribute("data-row-feature", featureNames[i]), new XAttribute("data-column-feature", featureNames[k]),
                    new XAttribute("data-value", Svg.N(v)), Svg.Title($"{featureNames[i]} × {featureNames[k]}: {Svg.Label(v)}"));
                svg.Add(rect);
                string text = Svg.Label(v);
                if (Svg.TextWidth(text) * 0.8 < cell - 4)
                    svg.Add(Svg.Text(left + (c + 0.5) * cell, gridTop + (rr + 0.5) * cell, text, "middle", "cell-value", max > 0 && v / max > 0.6 ? "white" : "black", 10));
            }
        }
        svg.Add(Svg.Text(left, gridTop + shown.Length * cell + 16, "mean |interaction| (diagonal: main effects)", "start", "caption", Faint, 11));
        return svg.ToString(SaveOptions.DisableFormatting);
    }

    /// <summary>Mean |interaction| [F, F] of interaction values [N, F, F], or the given [F, F] matrix (checked non-negative).</summary>
    internal static double[,] MeanAbsoluteInteractions(NdArray<float> interactions)
    {
        if (interactions.Rank == 2 && interactions.Shape[0] == interactions.Shape[1])
        {
            int f = interactions.Shape[0];
            var m = new double[f, f];
            for (int i = 0; i < f; i++)
                for (int k = 0; k < f; k++)
                    m[i, k] = Math.Abs(interactions.Data[i * f + k]);
            return m;
        }
        if (interactions.Rank == 3 && interactions.Shape[1] == interactions.Shape[2])
        {
            int n = interactions.Shape[0], f = interactions.Shape[1];
            var m = new double[f, f];
            for (int r = 0; r < n; r++)
                for (int i = 0; i < f; i++)
                    for (int k = 0; k < f; k++)
                        m[i, k] += Math.Abs(interactions.Data[((long)r * f + i) * f + k]) / n;
            return m;
        }
        throw new ArgumentException($"Interactions must be [N, F, F] or [F, F]; got shape {interactions.ShapeText}.", nameof(interactions));
    }

    private static double Sum(NdArray<float> a, int r, int f)
    {
        double s = 0;
        for (int j = 0; j < f; j++) s += a.Data[r * f + j];
        return s;
    }

    /// <summary>
    /// What the many-row plots share: checked options and names, each row's output (base + Σ attributions), the rows in
    /// the asked order, and each feature's mean |attribution|.
    /// </summary>
    private static (TabularChartOptions O, int N, int F, double[] Outputs, int[] Rows, double[] Importance) RowsInOrder(
        NdArray<float> attributions, IReadOnlyList<string> featureNames, double baseValue, RowOrder order, TabularChartOptions? options)
    {
        ArgumentNullException.ThrowIfNull(attributions);
        ArgumentNullException.ThrowIfNull(featureNames);
        var o = Check(options);
        var (n, f) = RowsAndFeatures(attributions, nameof(attributions));
        if (featureNames.Count != f) throw new ArgumentException($"{featureNames.Count} feature names for attributions of shape {attributions.ShapeText}.", nameof(featureNames));
        var outputs = Enumerable.Range(0, n).Select(r => baseValue + Sum(attributions, r, f)).ToArray();
        return (o, n, f, outputs, Order(attributions, outputs, order), MeanAbsolute(attributions));
    }

    private static int[] Order(NdArray<float> attributions, double[] outputs, RowOrder order)
    {
        int n = outputs.Length, f = attributions.RowSize;
        var byOutput = Enumerable.Range(0, n).OrderBy(r => outputs[r]).ThenBy(r => r).ToArray();
        switch (order)
        {
            case RowOrder.Given: return Enumerable.Range(0, n).ToArray();
            case RowOrder.Prediction: return byOutput;
            case RowOrder.Similarity:
                if (n == 0) return [];
                var used = new bool[n];
                var chain = new List<int> { byOutput[0] };
                used[byOutput[0]] = true;
                while (chain.Count < n)
                {
                    int last = chain[^1], next = -1;
                    double best = double.PositiveInfinity;
                    for (int r = 0; r < n; r++)
                    {
                        if (used[r]) continue;
                        double d = 0;
                        for (int j = 0; j < f; j++) { double t = attributions.Data[r * f + j] - attributions.Data[last * f + j]; d += t * t; }
                        if (d < best) { best = d; next = r; }
                    }
                    used[next] = true;
                    chain.Add(next);
                }
                return [.. chain];
            default: throw new ArgumentOutOfRangeException(nameof(order), order, "Unknown row order.");
        }
    }

    private static string OrderName(RowOrder order) => order switch
    {
        RowOrder.Prediction => "output",
        RowOrder.Similarity => "similarity of their explanations",
        _ => "position",
    };

    private static (double Lo, double Hi) Range(IEnumerable<double> values)
    {
        double lo = double.PositiveInfinity, hi = double.NegativeInfinity;
        foreach (var v in values) if (double.IsFinite(v)) { lo = Math.Min(lo, v); hi = Math.Max(hi, v); }
        if (double.IsInfinity(lo)) return (-1, 1);
        if (hi == lo) return (lo - 1, hi + 1);
        double pad = (hi - lo) * 0.05;
        return (lo - pad, hi + pad);
    }

    private static double Correlation(double[] a, double[] b)
    {
        int n = a.Length;
        if (n < 3) return 0;
        double ma = a.Average(), mb = b.Average(), sab = 0, saa = 0, sbb = 0;
        for (int i = 0; i < n; i++) { sab += (a[i] - ma) * (b[i] - mb); saa += (a[i] - ma) * (a[i] - ma); sbb += (b[i] - mb) * (b[i] - mb); }
        return saa > 0 && sbb > 0 ? sab / Math.Sqrt(saa * sbb) : 0;
    }

    /// <summary>White at 0, the positive colour at +max, the negative colour at −max.</summary>
    private static string Diverging(double v, double max)
    {
        double t = max > 0 ? Math.Clamp(Math.Abs(v) / max, 0, 1) : 0;
        var (r, g, b) = v >= 0 ? (0xff, 0x00, 0x51) : (0x00, 0x8b, 0xfb);
        int Mix(int c) => (int)Math.Round(255 + (c - 255) * t);
        return $"#{Mix(r):x2}{Mix(g):x2}{Mix(b):x2}";
    }

    /// <summary>A lighter or darker shade of a colour per feature, so neighbouring segments stay apart.</summary>
    private static string Shade(string hex, int index, int count)
    {
        int c = int.Parse(hex[1..], NumberStyles.HexNumber);
        double t = count <= 1 ? 0 : 0.45 * (index % 4) / 3.0;
        int Mix(int v) => (int)Math.Round(v + (255 - v) * t);
        return $"#{Mix((c >> 16) & 0xff):x2}{Mix((c >> 8) & 0xff):x2}{Mix(c & 0xff):x2}";
    }

    private static void AddYAxis(XElement svg, double left, double top, double plotH, double lo, double hi, string caption)
    {
        svg.Add(Svg.Line(left, top, left, top + plotH, Axis, null, "y-axis"));
        foreach (var t in Svg.Ticks(lo, hi))
        {
            double y = top + (hi - t) / (hi - lo) * plotH;
            svg.Add(Svg.Line(left - 4, y, left, y, Axis));
            svg.Add(Svg.Text(left - 6, y, Svg.Label(t), "end", "y-tick"));
        }
        var label = Svg.Text(14, top + plotH / 2, caption, "middle", "y-caption");
        label.Add(new XAttribute("transform", $"rotate(-90 14 {Svg.N(top + plotH / 2)})"));
        svg.Add(label);
    }
}
