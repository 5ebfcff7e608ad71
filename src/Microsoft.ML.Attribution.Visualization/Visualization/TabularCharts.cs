using System.Xml.Linq;
using Microsoft.ML.Attribution.Tensors;

namespace Microsoft.ML.Attribution.Visualization;

/// <summary>Options of <see cref="TabularCharts"/>.</summary>
public sealed record TabularChartOptions
{
    /// <summary>Most feature rows drawn. The bar chart and beeswarm drop the rest (and say how many); the
    /// waterfall shows the top <c>MaxFeatures − 1</c> and sums the rest into one "other features" bar. Default: 12.</summary>
    public int MaxFeatures { get; init; } = 12;

    /// <summary>Width of the picture in pixels. Default: 720.</summary>
    public int Width { get; init; } = 720;

    /// <summary>Height of one feature row in pixels. Default: 26.</summary>
    public int RowHeight { get; init; } = 26;

    /// <summary>A title above the chart; null for none.</summary>
    public string? Title { get; init; }

    /// <summary>What the waterfall, force and decision plots call the base value. Default "E[f(X)]"; say what it is
    /// when you know (e.g. "mean raw score over 100 rows", or "f(baseline)" for a single baseline row).</summary>
    public string BaseValueLabel { get; init; } = "E[f(X)]";
}

/// <summary>
/// Charts of tabular attributions as standalone SVG (no scripts): global importance bars, a SHAP-style
/// waterfall for one row, and a beeswarm summary. Every mark carries <c>data-*</c> attributes with the numbers
/// it shows, and a <c>&lt;title&gt;</c> tooltip.
/// </summary>
public static partial class TabularCharts
{
    private const string Positive = "#ff0051", Negative = "#008bfb", Axis = "#333333", Faint = "#999999";

    /// <summary>Blue (low) → red (high), the beeswarm's feature-value colours (SHAP's palette ends).</summary>
    public static ColorMap FeatureValueColors { get; } = ColorMap.FromHex("BlueRed", "008bfb", "ff0051");

    /// <summary>Mean |attribution| of each feature over the rows of an [N, F] (or [F]) array.</summary>
    public static double[] MeanAbsolute(NdArray<float> attributions)
    {
        ArgumentNullException.ThrowIfNull(attributions);
        var (n, f) = RowsAndFeatures(attributions, nameof(attributions));
        var mean = new double[f];
        for (int r = 0; r < n; r++)
            for (int j = 0; j < f; j++) mean[j] += Math.Abs(attributions.Data[r * f + j]);
        for (int j = 0; j < f; j++) mean[j] /= Math.Max(n, 1);
        return mean;
    }

    /// <summary>Global importance: one bar per feature of mean |attribution| over the rows, largest on top.</summary>
    public static string ImportanceBarChart(NdArray<float> attributions, IReadOnlyList<string> featureNames, TabularChartOptions? options = null) =>
        ImportanceBarChart(featureNames, MeanAbsolute(attributions), options);

    /// <summary>One bar per feature of a given non-negative importance, largest on top.</summary>
    public static string ImportanceBarChart(IReadOnlyList<string> featureNames, IReadOnlyList<double> importances, TabularChartOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(featureNames);
        ArgumentNullException.ThrowIfNull(importances);
        var o = Check(options);
        if (featureNames.Count != importances.Count)
            throw new ArgumentException($"{featureNames.Count} feature names for {importances.Count} importances.", nameof(featureNames));
        for (int j = 0; j < importances.Count; j++)
            if (!(importances[j] >= 0) || double.IsInfinity(importances[j]))
                throw new ArgumentException($"Importance of feature '{featureNames[j]}' is {importances[j]}; expected a finite value ≥ 0.", nameof(importances));
        var order = Enumerable.Range(0, importances.Count).OrderByDescending(j => importances[j]).ThenBy(j => j).ToArray();
        var shown = order.Take(o.MaxFeatures).ToArray();
        int hidden = order.Length - shown.Length;

        var (left, plotW, top) = Frame(o, shown.Select(j => featureNames[j]));
        double max = shown.Length == 0 ? 0 : importances[shown[0]];
        double scale = max > 0 ? plotW / max : 0;
        double height = top + shown.Length * o.RowHeight + 40 + (hidden > 0 ? 16 : 0);
        var svg = Begin(o, height);
        for (int i = 0; i < shown.Length; i++)
        {
            int j = shown[i];
            double y = top + i * o.RowHeight, v = importances[j];
            svg.Add(Svg.Text(left - 8, y + o.RowHeight / 2.0, featureNames[j], "end", "label"));
            var bar = Svg.Rect(left, y + o.RowHeight * 0.15, v * scale, o.RowHeight * 0.7, Positive, "bar");
            bar.Add(new XAttribute("data-feature", featureNames[j]), new XAttribute("data-value", Svg.N(v)), Svg.Title($"{featureNames[j]}: {Svg.Label(v)}"));
            svg.Add(bar);
            svg.Add(Svg.Text(left + v * scale + 4, y + o.RowHeight / 2.0, Svg.Label(v), "start", "value", Positive));
        }
        double axisY = top + shown.Length * o.RowHeight;
        AddAxis(svg, left, plotW, axisY, 0, max > 0 ? max : 1, "mean(|attribution|)");
        if (hidden > 0) svg.Add(Svg.Text(left, axisY + 44, $"{hidden} other features not shown", "start", "note", Faint));
        return svg.ToString(SaveOptions.DisableFormatting);
    }

    /// <summary>
    /// SHAP-style waterfall for one row: starting from <paramref name="expectedValue"/> at the bottom, one bar per
    /// feature (largest |attribution| on top, positive red to the right, negative blue to the left) stacks up to
    /// the prediction, which is <paramref name="prediction"/> when given (a bar "unattributed" holds any gap, e.g. a
    /// method's convergence delta) and <c>expectedValue + Σ attributions</c> otherwise.
    /// </summary>
    /// <param name="featureNames">One name per feature.</param>
    /// <param name="attributions">The row's attributions, one per feature.</param>
    /// <param name="expectedValue">The model's output at the baseline (E[f(X)]).</param>
    /// <param name="featureValues">The row's feature values, shown next to the names; null to omit.</param>
    /// <param name="prediction">The model's output for the row; null to use the attributions' sum.</param>
    /// <param name="options">Layout; null for defaults.</param>
    /// <param name="featureValueTexts">The row's values as people read them (a category rather than a one-hot slot);
    /// shown instead of <paramref name="featureValues"/> when given.</param>
    public static string Waterfall(IReadOnlyList<string> featureNames, IReadOnlyList<float> attributions, double expectedValue,
        IReadOnlyList<float>? featureValues = null, double? prediction = null, TabularChartOptions? options = null, IReadOnlyList<string>? featureValueTexts = null)
    {
        ArgumentNullException.ThrowIfNull(featureNames);
        ArgumentNullException.ThrowIfNull(attributions);
        var o = Check(options);
        if (featureNames.Count != attributions.Count)
            throw new ArgumentException($"{featureNames.Count} feature names for {attributions.Count} attributions.", nameof(featureNames));
        if (featureValues is not null && featureValues.Count != attributions.Count)
            throw new ArgumentException($"{featureValues.Count} feature values for {attributions.Count} attributions.", nameof(featureValues));
        if (featureValueTexts is not null && featureValueTexts.Count != attributions.Count)
            throw new ArgumentException($"{featureValueTexts.Count} feature value texts for {attributions.Count} attributions.", nameof(featureValueTexts));

        var order = Enumerable.Range(0, attributions.Count).OrderByDescending(j => Math.Abs(attributions[j])).ThenBy(j => j).ToArray();
        int keep = order.Length > o.MaxFeatures ? Math.Max(o.MaxFeatures - 1, 0) : order.Length;
        // Rows top to bottom: largest first, then the bucket of the rest, then any unattributed remainder.
        var rows = new List<(string Label, double Value, string Kind)>();
        foreach (var j in order.Take(keep))
        {
            string label = featureValueTexts is not null ? $"{featureNames[j]} = {Shorten(featureValueTexts[j], 40)}"
                : featureValues is null ? featureNames[j] : $"{featureNames[j]} = {Svg.Label(featureValues[j])}";
            rows.Add((label, attributions[j], "feature"));
        }
        if (keep < order.Length)
            rows.Add(($"{order.Length - keep} other features", order.Skip(keep).Sum(j => (double)attributions[j]), "other"));
        double sum = attributions.Sum(a => (double)a);
        double fx = prediction ?? expectedValue + sum;
        double gap = fx - (expectedValue + sum);
        // Attributions are float32: a gap within their rounding (about 1e-6 of the numbers summed) is not a missing part.
        if (prediction is not null && Math.Abs(gap) > 1e-5 * Math.Max(1, Math.Max(Math.Abs(fx), Math.Abs(expectedValue))))
            rows.Add(("unattributed", gap, "unattributed"));

        // Bars stack from the bottom row up, so the top row ends at f(x).
        var start = new double[rows.Count];
        double running = expectedValue, lo = expectedValue, hi = expectedValue;
        for (int i = rows.Count - 1; i >= 0; i--)
        {
            start[i] = running;
            running += rows[i].Value;
            lo = Math.Min(lo, running); hi = Math.Max(hi, running);
        }
        if (hi == lo) { hi += 1; lo -= 1; }
        double pad = (hi - lo) * 0.05;
        lo -= pad; hi += pad;

        var (left, plotW, top) = Frame(o, rows.Select(r => r.Label));
        top += 16;
        double X(double v) => left + (v - lo) / (hi - lo) * plotW;
        double height = top + rows.Count * o.RowHeight + 56;
        var svg = Begin(o, height);
        double bottom = top + rows.Count * o.RowHeight;
        svg.Add(Svg.Line(X(expectedValue), top, X(expectedValue), bottom + 4, Faint, "3,3", "expected"));
        svg.Add(Svg.Text(X(expectedValue), bottom + 44, $"{o.BaseValueLabel} = {Svg.Label(expectedValue)}", "middle", "expected-label"));
        svg.Add(Svg.Line(X(fx), top - 8, X(fx), bottom, Faint, "3,3", "prediction"));
        svg.Add(Svg.Text(X(fx), top - 12, $"f(x) = {Svg.Label(fx)}", "middle", "prediction-label"));
        for (int i = 0; i < rows.Count; i++)
        {
            var (label, v, kind) = rows[i];
            double y = top + i * o.RowHeight, s = start[i], e = s + v;
            string color = v >= 0 ? Positive : Negative;
            svg.Add(Svg.Text(left - 8, y + o.RowHeight / 2.0, label, "end", "label", kind == "feature" ? "black" : Faint));
            var bar = Svg.Rect(Math.Min(X(s), X(e)), y + o.RowHeight * 0.15, Math.Abs(X(e) - X(s)), o.RowHeight * 0.7, color, "bar");
            bar.Add(new XAttribute("data-kind", kind), new XAttribute("data-label", label), new XAttribute("data-value", Svg.N(v)),
                new XAttribute("data-start", Svg.N(s)), new XAttribute("data-end", Svg.N(e)), Svg.Title($"{label}: {(v >= 0 ? "+" : "")}{Svg.Label(v)}"));
            svg.Add(bar);
            string valueText = (v >= 0 ? "+" : "") + Svg.Label(v);
            double x0 = Math.Min(X(s), X(e)), x1 = Math.Max(X(s), X(e));
            // Inside the bar when it fits, so labels never run into the feature names; else beside it.
            if (x1 - x0 > Svg.TextWidth(valueText) + 8)
                svg.Add(Svg.Text((x0 + x1) / 2, y + o.RowHeight / 2.0, valueText, "middle", "value", "white"));
            else if (v >= 0 || x0 - Svg.TextWidth(valueText) - 4 < left)
                svg.Add(Svg.Text(x1 + 4, y + o.RowHeight / 2.0, valueText, "start", "value", color));
            else
                svg.Add(Svg.Text(x0 - 4, y + o.RowHeight / 2.0, valueText, "end", "value", color));
        }
        AddAxis(svg, left, plotW, bottom, lo, hi, null);
        return svg.ToString(SaveOptions.DisableFormatting);
    }

    /// <summary>
    /// Beeswarm summary: one line per feature (most important on top by mean |attribution|), one dot per row at
    /// its attribution, stacked vertically where dots would overlap, coloured by the row's feature value from
    /// low (blue) to high (red) within the feature's 5th–95th percentile range (grey when values are not given
    /// or NaN).
    /// </summary>
    /// <param name="attributions">[N, F] attributions.</param>
    /// <param name="featureValues">[N, F] feature values, or null.</param>
    /// <param name="featureNames">F names.</param>
    /// <param name="options">Layout; null for defaults.</param>
    /// <param name="featureValueTexts">Per row, per feature, the value as people read it (a category), shown on hover; null for none.</param>
    public static string Beeswarm(NdArray<float> attributions, NdArray<float>? featureValues, IReadOnlyList<string> featureNames, TabularChartOptions? options = null,
        IReadOnlyList<IReadOnlyList<string>>? featureValueTexts = null)
    {
        ArgumentNullException.ThrowIfNull(attributions);
        ArgumentNullException.ThrowIfNull(featureNames);
        var o = Check(options);
        var (n, f) = RowsAndFeatures(attributions, nameof(attributions));
        if (featureNames.Count != f)
            throw new ArgumentException($"{featureNames.Count} feature names for attributions of shape {attributions.ShapeText}.", nameof(featureNames));
        if (featureValues is not null && (featureValues.Length != attributions.Length))
            throw new ArgumentException($"Feature values of shape {featureValues.ShapeText} do not match attributions of shape {attributions.ShapeText}.", nameof(featureValues));

        var importance = MeanAbsolute(attributions);
        var shown = Enumerable.Range(0, f).OrderByDescending(j => importance[j]).ThenBy(j => j).Take(o.MaxFeatures).ToArray();
        double lo = 0, hi = 0;
        foreach (var v in attributions.Data) if (float.IsFinite(v)) { lo = Math.Min(lo, v); hi = Math.Max(hi, v); }
        if (hi == lo) { hi += 1; lo -= 1; }
        double pad = (hi - lo) * 0.05;
        lo -= pad; hi += pad;

        var (left, plotW, top) = Frame(o, shown.Select(j => featureNames[j]));
        plotW -= 50; // room for the colour legend
        double X(double v) => left + (v - lo) / (hi - lo) * plotW;
        double height = top + shown.Length * o.RowHeight + 40 + (shown.Length < f ? 16 : 0);
        var svg = Begin(o, height);
        double bottom = top + shown.Length * o.RowHeight;
        svg.Add(Svg.Line(X(0), top, X(0), bottom, Faint, null, "zero"));
        const double radius = 2.5;
        for (int i = 0; i < shown.Length; i++)
        {
            int j = shown[i];
            double centre = top + (i + 0.5) * o.RowHeight;
            svg.Add(Svg.Text(left - 8, centre, featureNames[j], "end", "label"));
            svg.Add(Svg.Line(left, centre, left + plotW, centre, "#eeeeee"));
            var (vlo, vhi) = featureValues is null ? (0.0, 0.0) : PercentileRange(featureValues, n, f, j);
            var stacks = new Dictionary<int, int>();
            double maxOffset = o.RowHeight / 2.0 - radius;
            foreach (var r in Enumerable.Range(0, n).OrderBy(r => attributions.Data[r * f + j]))
            {
                float a = attributions.Data[r * f + j];
                if (!float.IsFinite(a)) continue;
                double x = X(a);
                int bin = (int)Math.Floor(x / (2 * radius));
                int k = stacks.GetValueOrDefault(bin);
                stacks[bin] = k + 1;
                // 0, +1, −1, +2, −2 … dot diameters from the centre line, folded back into the row when it is full.
                double offset = ((k + 1) / 2) * (k % 2 == 1 ? 1 : -1) * 2 * radius * 0.8;
                if (maxOffset > 0 && Math.Abs(offset) > maxOffset) offset = Math.IEEERemainder(offset, 2 * maxOffset);
                float? value = featureValues?.Data[r * f + j];
                string color = value is float fv && float.IsFinite(fv)
                    ? Svg.Hex(FeatureValueColors.Map(vhi > vlo ? (fv - vlo) / (vhi - vlo) : 0.5))
                    : Faint;
                var dot = Svg.Circle(x, centre + offset, radius, color, "dot");
                dot.Add(new XAttribute("data-feature", featureNames[j]), new XAttribute("data-row", r), new XAttribute("data-value", Svg.N(a)));
                if (value is float v2) dot.Add(new XAttribute("data-feature-value", Svg.N(v2)));
                string? shownValue = featureValueTexts is { } texts && r < texts.Count ? texts[r][j] : value is float v3 && float.IsFinite(v3) ? Svg.Label(v3) : null;
                dot.Add(Svg.Title(shownValue is null ? $"{featureNames[j]}: {Svg.Label(a)}" : $"{featureNames[j]} = {shownValue}: {(a >= 0 ? "+" : "")}{Svg.Label(a)}"));
                svg.Add(dot);
            }
        }
        AddAxis(svg, left, plotW, bottom, lo, hi, "attribution");
        AddValueLegend(svg, left + plotW + 20, top, Math.Max(bottom - top, 40));
        if (shown.Length < f) svg.Add(Svg.Text(left, bottom + 44, $"{f - shown.Length} other features not shown", "start", "note", Faint));
        return svg.ToString(SaveOptions.DisableFormatting);
    }

    /// <summary>Long values (a text column's content) cut to a label's length.</summary>
    internal static string Shorten(string text, int max) => text.Length <= max ? text : text[..(max - 1)] + "…";

    private static TabularChartOptions Check(TabularChartOptions? options)
    {
        var o = options ?? new TabularChartOptions();
        if (o.MaxFeatures < 1) throw new ArgumentOutOfRangeException(nameof(options), o.MaxFeatures, "MaxFeatures must be at least 1.");
        if (o.Width < 200) throw new ArgumentOutOfRangeException(nameof(options), o.Width, "Width must be at least 200 pixels.");
        if (o.RowHeight < 4) throw new ArgumentOutOfRangeException(nameof(options), o.RowHeight, "RowHeight must be at least 4 pixels.");
        return o;
    }

    private static (int N, int F) RowsAndFeatures(NdArray<float> a, string name) => a.Rank switch
    {
        1 => (1, a.Shape[0]),
        2 => (a.Shape[0], a.Shape[1]),
        _ => throw new ArgumentException($"Tabular {name} must be [N, F] or [F]; got shape {a.ShapeText}.", name),
    };

    /// <summary>Left edge of the plot (after the labels), its width, and the top of the first row.</summary>
    private static (double Left, double PlotWidth, double Top) Frame(TabularChartOptions o, IEnumerable<string> labels)
    {
        double labelW = Math.Min(Math.Max(labels.Select(Svg.TextWidth).DefaultIfEmpty(0).Max(), 40), o.Width * 0.4);
        double left = labelW + 16;
        return (left, o.Width - left - 60, o.Title is null ? 10 : 34);
    }

    private static XElement Begin(TabularChartOptions o, double height)
    {
        var svg = Svg.Root(o.Width, height);
        if (o.Title is { } title) svg.Add(Svg.Text(o.Width / 2.0, 16, title, "middle", "title", size: 14));
        return svg;
    }

    private static void AddAxis(XElement svg, double left, double plotW, double y, double lo, double hi, string? caption)
    {
        svg.Add(Svg.Line(left, y, left + plotW, y, Axis, null, "axis"));
        foreach (var t in Svg.Ticks(lo, hi))
        {
            double x = left + (t - lo) / (hi - lo) * plotW;
            svg.Add(Svg.Line(x, y, x, y + 4, Axis));
            svg.Add(Svg.Text(x, y + 14, Svg.Label(t), "middle", "tick"));
        }
        if (caption is not null) svg.Add(Svg.Text(left + plotW / 2, y + 30, caption, "middle", "caption"));
    }

    private static void AddValueLegend(XElement svg, double x, double top, double height)
    {
        var gradient = new XElement(Svg.Ns + "linearGradient", new XAttribute("id", "feature-value"),
            new XAttribute("x1", "0"), new XAttribute("y1", "1"), new XAttribute("x2", "0"), new XAttribute("y2", "0"));
        for (int k = 0; k <= 4; k++)
            gradient.Add(new XElement(Svg.Ns + "stop", new XAttribute("offset", Svg.N(k / 4.0)), new XAttribute("stop-color", Svg.Hex(FeatureValueColors.Map(k / 4.0)))));
        svg.Add(new XElement(Svg.Ns + "defs", gradient));
        svg.Add(Svg.Rect(x, top, 8, height, "url(#feature-value)", "value-legend"));
        svg.Add(Svg.Text(x + 12, top + 4, "High", "start", "legend", size: 10));
        svg.Add(Svg.Text(x + 12, top + height - 4, "Low", "start", "legend", size: 10));
    }

    private static (double Lo, double Hi) PercentileRange(NdArray<float> values, int n, int f, int j)
    {
        var column = new List<double>(n);
        for (int r = 0; r < n; r++) if (float.IsFinite(values.Data[r * f + j])) column.Add(values.Data[r * f + j]);
        if (column.Count == 0) return (0, 0);
        column.Sort();
        double At(double p) => column[(int)Math.Round(p * (column.Count - 1))];
        double lo = At(0.05), hi = At(0.95);
        // A feature with few distinct values can have equal percentiles; fall back to its full range.
        return hi > lo ? (lo, hi) : (column[0], column[^1]);
    }
}
