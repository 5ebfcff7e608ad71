using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.ML.Attribution.Tensors;
using Microsoft.ML.Attribution.Visualization;

namespace Microsoft.ML.Attribution.Reports;

/// <summary>
/// Writes a <see cref="ReportData"/> as one self-contained page: inline CSS, inline SVG (ids prefixed per chart so
/// charts never share an id), PNGs as <c>data:</c> URIs, and a Content-Security-Policy that forbids every network
/// load, so a stray reference fails loudly instead of phoning home. The markup is well-formed XML (apart from the
/// doctype) so it can be parsed and checked.
/// </summary>
internal static partial class ReportHtml
{
    /// <summary>A self-check that runs on load and records whether every image decoded, as
    /// <c>data-images="ok:N"</c> (or <c>broken:k/N</c>) on the body. Written without &lt; and &amp; so the page stays XML.</summary>
    internal const string SelfCheckScript =
        "window.addEventListener('load',function(){var imgs=document.images,ok=0;" +
        "for(var i=0;imgs.length>i;i++){if(imgs[i].complete){if(imgs[i].naturalWidth>0){ok++;}}}" +
        "document.body.setAttribute('data-images',(ok===imgs.length?'ok:'+ok:'broken:'+(imgs.length-ok)+'/'+imgs.length));});";

    /// <summary>The page's Content-Security-Policy: nothing from the network; data: images, inline styles, and
    /// only the self-check script (by hash).</summary>
    internal static string ContentSecurityPolicy =>
        $"default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'sha256-{Convert.ToBase64String(SHA256.HashData(Encoding.UTF8.GetBytes(SelfCheckScript)))}'";

    private const string Css =
        "body{font-family:sans-serif;margin:1.5em;color:#222;max-width:1300px}h1{font-size:1.6em}h2{border-bottom:1px solid #ccc;padding-bottom:4px;margin-top:1.6em}" +
        "table{border-collapse:collapse;margin:0.5em 0}th,td{padding:2px 10px;text-align:left;border-bottom:1px solid #eee}td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}" +
        "nav a{margin-right:1em}.note{color:#666}.row{margin:1em 0;padding:0.5em;border:1px solid #eee}.charts{display:flex;flex-wrap:wrap;gap:12px}" +
        "img.heatmap{image-rendering:pixelated}.pos{color:#c00040}.neg{color:#0060c0}";

    public static string Render(ReportData d, AttributionReportOptions o, Stopwatch renderClock)
    {
        var h = new StringBuilder(1 << 16);
        int chart = 0;
        string Svg(string svg) => Uniquify(svg, $"c{++chart}");

        h.Append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\" />")
         .Append("<meta http-equiv=\"Content-Security-Policy\" content=\"").Append(Esc(ContentSecurityPolicy)).Append("\" />")
         .Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\" />")
         .Append("<title>").Append(Esc(o.Title)).Append("</title><style>").Append(Css).Append("</style></head>\n<body data-images=\"pending\">")
         .Append("<h1>").Append(Esc(o.Title)).Append("</h1>\n");

        var groups = ReportRows.Groups(d, o.TopK);
        bool multi = d.OutputCount > 1;
        h.Append("<nav><a href=\"#summary\">Summary</a><a href=\"#global\">Global importance</a>");
        bool shapPlots = d.Modality == ReportModality.Tabular && !multi && d.Rows > 1;
        if (multi) h.Append("<a href=\"#per-class\">Per class</a>");
        if (shapPlots) h.Append("<a href=\"#shap-plots\">Force, dependence, heatmap, decision</a>");
        bool interactions = d.Interactions is { Rows: > 0 } && d.FeatureCount > 1;
        if (interactions) h.Append("<a href=\"#interactions\">Interactions</a>");
        foreach (var g in groups) h.Append("<a href=\"#").Append(g.Id).Append("\">").Append(Esc(g.Heading)).Append("</a>");
        if (d.Faithfulness is { Count: > 0 }) h.Append("<a href=\"#faithfulness\">How faithful</a>");
        h.Append("<a href=\"#timings\">Timings</a></nav>\n");

        Summary(h, d);
        Global(h, d, o, Svg);
        if (multi) PerClass(h, d, o, Svg);
        if (shapPlots) ShapPlots(h, d, o, groups, Svg);
        if (interactions) Interactions(h, d, o, Svg);
        foreach (var g in groups) Rows(h, d, o, g, Svg);
        FaithfulnessSection.Render(h, d);

        var timings = new List<ReportTiming>(d.Timings) { new("render", renderClock.Elapsed.TotalSeconds) };
        h.Append("<section id=\"timings\"><h2>Timings</h2><table id=\"timings-table\"><tr><th>Phase</th><th class=\"num\">Seconds</th></tr>");
        foreach (var t in timings) h.Append("<tr><td>").Append(Esc(t.Phase)).Append("</td><td class=\"num\">").Append(Num(t.Seconds, "0.000")).Append("</td></tr>");
        h.Append("<tr><th>total</th><th class=\"num\">").Append(Num(timings.Sum(t => t.Seconds), "0.000")).Append("</th></tr></table></section>\n");
        h.Append("<script>").Append(SelfCheckScript).Append("</script>\n</body></html>\n");
        return h.ToString();
    }

    private static void Summary(StringBuilder h, ReportData d)
    {
        h.Append("<section id=\"summary\"><h2>Summary</h2><table id=\"settings-table\">");
        void Row(string name, string value) => h.Append("<tr><th>").Append(Esc(name)).Append("</th><td>").Append(Esc(value)).Append("</td></tr>");
        Row("method", d.Method);
        foreach (var (name, value) in d.Settings) Row(name, value);
        Row("rows explained", d.Rows == d.TotalRows ? $"{d.Rows}" : $"{d.Rows} of {d.TotalRows} (seeded sample)");
        Row("input", $"{NdArray<float>.FormatShape([d.TotalRows, .. d.Inputs.RowShape])} ({d.Modality.ToString().ToLowerInvariant()})");
        Row("outputs", d.OutputCount == 1 ? "1 (score)" : $"{d.OutputCount}: {string.Join(", ", d.ClassNames)}");
        Row("explained target", d.Targets.Distinct().Count() == 1 && d.OutputCount > 1 ? d.ClassNames[d.Targets[0]] : d.OutputCount > 1 ? "each row's predicted class" : "the score");
        if (d.BaseValueNote is not null) Row("base value", d.BaseValueNote);
        if (d.HiddenFeatures is { Count: > 0 } hidden)
            Row("hidden", $"{hidden.Count} {(hidden.Count == 1 ? "feature that never varies" : "features that never vary")} (attribution 0): " +
                string.Join(", ", hidden.Take(20)) + (hidden.Count > 20 ? $", … ({hidden.Count - 20} more)" : ""));
        if (d.Labels is not null) Row("labels", "given");
        h.Append("</table></section>\n");
    }

    private static void Global(StringBuilder h, ReportData d, AttributionReportOptions o, Func<string, string> svg)
    {
        var (abs, mean) = d.Importance();
        h.Append("<section id=\"global\"><h2>Global importance</h2><p class=\"note\">Mean |attribution| over the ")
         .Append(d.Rows).Append(" explained rows")
         .Append(d.Modality == ReportModality.Image ? " (per channel: the sum of |attribution| over its pixels)." : ".").Append("</p><div class=\"charts\">");
        h.Append(svg(TabularCharts.ImportanceBarChart(d.FeatureNames, abs, new TabularChartOptions { MaxFeatures = o.MaxChartFeatures, Title = "Mean |attribution|" })));
        if (d.Modality == ReportModality.Tabular && d.OutputCount == 1)
        {
            var sample = ReportRows.Sample(d.Rows, o.BeeswarmRows, o.Seed + 2);
            h.Append(svg(Beeswarm(d, sample, o, sample.Length < d.Rows ? $"Attributions of {sample.Length} sampled rows" : "Attributions of every row")));
        }
        else if (d.Modality == ReportModality.Tabular)
        {
            // One beeswarm per class: a row's attributions explain one output, and outputs' scales differ.
            var sample = ReportRows.Sample(d.Rows, o.BeeswarmRows, o.Seed + 2);
            for (int c = 0; c < d.OutputCount; c++)
            {
                int cls = c;
                var rows = sample.Where(r => d.Targets[r] == cls).ToArray();
                if (rows.Length == 0) continue;
                h.Append(svg(Beeswarm(d, rows, o, $"{d.ClassNames[c]}: attributions of {rows.Length} rows explained for it")));
            }
        }
        else if (d.Modality == ReportModality.Image)
        {
            var meanMap = new NdArray<float>(d.Inputs.RowShape);
            for (int r = 0; r < d.Rows; r++)
            {
                var row = d.Attributions.Row(r);
                for (int i = 0; i < row.Length; i++) meanMap.Data[i] += Math.Abs(row[i]) / d.Rows;
            }
            h.Append(Png(ImageAttributionRenderer.RenderPng(meanMap, null, new ImageAttributionOptions { ShowColorBar = true, Title = "Mean |attribution|", Scale = ImageScale(meanMap) }),
                "Mean absolute attribution per pixel"));
        }
        h.Append("</div><table id=\"importance-table\" class=\"importance\"><tr><th class=\"num\">Rank</th><th>Feature</th>")
         .Append("<th class=\"num\">Mean |attribution|</th><th class=\"num\">Mean attribution</th></tr>");
        int rank = 0;
        foreach (int j in Enumerable.Range(0, abs.Length).OrderByDescending(j => abs[j]).ThenBy(j => j).Take(o.MaxTableFeatures))
        {
            h.Append("<tr data-feature=\"").Append(Esc(d.FeatureNames[j])).Append("\"><td class=\"num\">").Append(++rank).Append("</td><td>")
             .Append(Esc(d.FeatureNames[j])).Append("</td><td class=\"num\">").Append(Num(abs[j])).Append("</td><td class=\"num ")
             .Append(mean[j] >= 0 ? "pos" : "neg").Append("\">").Append(Num(mean[j])).Append("</td></tr>");
        }
        h.Append("</table>");
        if (abs.Length > o.MaxTableFeatures)
            h.Append("<p class=\"note\" id=\"importance-table-note\">The ").Append(o.MaxTableFeatures).Append(" most important of ")
             .Append(abs.Length.ToString("#,##0", CultureInfo.InvariantCulture)).Append(" features are listed; ")
             .Append((abs.Length - o.MaxTableFeatures).ToString("#,##0", CultureInfo.InvariantCulture)).Append(" are not.</p>");
        h.Append("</section>\n");
    }

    /// <summary>Dependence plots drawn: one per most important numeric feature.</summary>
    private const int DependencePlots = 3;

    /// <summary>SHAP's force, dependence, heatmap and decision plots of a single-output tabular model (one base value for
    /// every row, so rows can share an axis).</summary>
    private static void ShapPlots(StringBuilder h, ReportData d, AttributionReportOptions o, IReadOnlyList<RowGroup> groups, Func<string, string> svg)
    {
        var chart = new TabularChartOptions { MaxFeatures = o.MaxChartFeatures, BaseValueLabel = d.BaseValueLabel ?? "base value" };
        double baseValue = d.BaseValues.Where(double.IsFinite).DefaultIfEmpty(0).Average();
        h.Append("<section id=\"shap-plots\"><h2>Force, dependence, heatmap and decision plots</h2><div class=\"charts\">");
        if (groups.SelectMany(g => g.Rows).Cast<int?>().FirstOrDefault() is int first)
            h.Append(svg(TabularCharts.ForcePlot(d.FeatureNames, d.Attributions.Row(first).ToArray(), d.BaseValues[first], d.ValueTexts?[first],
                chart with { Title = $"Row {d.RowIds[first]}" })));
        var (abs, _) = d.Importance();
        // A dependence plot needs numbers on its x axis: the most important features that have them.
        var finite = Enumerable.Range(0, d.FeatureCount).Where(j => Enumerable.Range(0, d.Rows).Any(r => float.IsFinite(d.Inputs.Data[r * d.FeatureCount + j]))).ToArray();
        var numeric = finite.OrderByDescending(j => abs[j]).ThenBy(j => j).Take(DependencePlots).ToArray();
        var sample = ReportRows.Sample(d.Rows, Math.Min(o.BeeswarmRows, 500), o.Seed + 4);
        var values = ReportRows.Take(d.Inputs, sample);
        var attributions = ReportRows.Take(d.Attributions, sample);
        // Coloured by the feature with the largest mean |interaction| with it when TreeSHAP interaction values exist (among
        // features with one value per row: a one-hot group has no number to colour by), else by SHAP's binned guess.
        var pairs = d.Interactions is { Rows: > 0 } i ? TabularCharts.MeanAbsoluteInteractions(i) : null;
        foreach (int j in numeric)
        {
            int? colorBy = pairs is null ? null
                : finite.Where(k => k != j).OrderByDescending(k => pairs[j, k] + pairs[k, j]).ThenBy(k => k).Cast<int?>().FirstOrDefault() ?? -1;
            h.Append(svg(TabularCharts.DependencePlot(values, attributions, d.FeatureNames, j, colorBy,
                options: chart with { Title = $"Dependence: {d.FeatureNames[j]}" })));
        }
        var few = ReportRows.Sample(d.Rows, 200, o.Seed + 5);
        h.Append(svg(TabularCharts.Heatmap(ReportRows.Take(d.Attributions, few), d.FeatureNames, baseValue, RowOrder.Similarity,
            chart with { Title = $"Heatmap of {few.Length} rows" })));
        var shown = groups.SelectMany(g => g.Rows).Distinct().ToArray();
        if (shown.Length > 0)
            h.Append(svg(TabularCharts.DecisionPlot(ReportRows.Take(d.Attributions, shown), d.FeatureNames, baseValue,
                chart with { Title = $"Decision plot of the {shown.Length} rows shown below" })));
        h.Append("</div></section>\n");
    }

    /// <summary>The interaction summary: mean |TreeSHAP interaction value| of every pair of features over the sampled rows.</summary>
    private static void Interactions(StringBuilder h, ReportData d, AttributionReportOptions o, Func<string, string> svg)
    {
        int m = d.Interactions!.Rows;
        h.Append("<section id=\"interactions\"><h2>Interactions</h2><p class=\"note\">Exact TreeSHAP interaction values (path-dependent) of ")
         .Append(m == d.Rows ? $"every explained row ({m})" : $"{m} of the {d.Rows} explained rows (seeded sample; at most {o.InteractionRows}, AttributionReportOptions.InteractionRows)")
         .Append(", each for its explained output. Cell (a, b): mean |interaction of a and b|; the diagonal holds the main effects. ")
         .Append("A row of a row's matrix sums to that feature's attribution.</p><div class=\"charts\">");
        h.Append(svg(TabularCharts.InteractionSummary(d.Interactions, d.FeatureNames,
            new TabularChartOptions { MaxFeatures = o.MaxChartFeatures, Title = "Mean |interaction|" })));
        h.Append("</div></section>\n");
    }

    private static void PerClass(StringBuilder h, ReportData d, AttributionReportOptions o, Func<string, string> svg)
    {
        var perClass = d.PerClassImportance();
        var counts = new int[d.OutputCount];
        foreach (var t in d.Targets) counts[t]++;
        h.Append("<section id=\"per-class\"><h2>Per-class importance</h2><p class=\"note\">")
         .Append(d.AllOutputs is not null
            ? "Mean |attribution| of each class's output over all explained rows."
            : "Mean |attribution| over the rows whose explained output is the class (rows per class in the header).")
         .Append("</p><div class=\"charts\">");
        for (int c = 0; c < d.OutputCount; c++)
        {
            if (perClass[c] is not { } values) continue;
            h.Append(svg(TabularCharts.ImportanceBarChart(d.FeatureNames, values,
                new TabularChartOptions { MaxFeatures = Math.Min(o.MaxChartFeatures, 10), Width = 420, Title = d.ClassNames[c] })));
        }
        h.Append("</div><table id=\"per-class-table\"><tr><th>Feature</th>");
        for (int c = 0; c < d.OutputCount; c++)
        {
            h.Append("<th class=\"num\">").Append(Esc(d.ClassNames[c]));
            if (d.AllOutputs is null) h.Append(" (").Append(counts[c]).Append(" rows)");
            h.Append("</th>");
        }
        h.Append("</tr>");
        var overall = d.Importance().MeanAbsolute;
        foreach (int j in Enumerable.Range(0, d.FeatureCount).OrderByDescending(j => overall[j]).ThenBy(j => j).Take(o.MaxTableFeatures))
        {
            h.Append("<tr><td>").Append(Esc(d.FeatureNames[j])).Append("</td>");
            for (int c = 0; c < d.OutputCount; c++) h.Append("<td class=\"num\">").Append(perClass[c] is { } v ? Num(v[j]) : "–").Append("</td>");
            h.Append("</tr>");
        }
        h.Append("</table></section>\n");
    }

    private static void Rows(StringBuilder h, ReportData d, AttributionReportOptions o, RowGroup g, Func<string, string> svg)
    {
        var confidence = ReportRows.Confidence(d.Outputs);
        var predicted = ReportRows.Predicted(d.Outputs);
        h.Append("<section id=\"").Append(g.Id).Append("\"><h2>").Append(Esc(g.Heading)).Append("</h2><p class=\"note\">").Append(Esc(g.Note)).Append("</p>");
        foreach (int r in g.Rows)
        {
            string prediction = d.OutputCount > 1
                ? $"predicted {d.ClassNames[predicted[r]]} (p = {Num(confidence[r], "0.000")})"
                : $"score {Num(d.Outputs.Data[r])}";
            string label = d.Labels is { } labels ? ", label " + LabelText(d, labels[r]) : "";
            string target = d.OutputCount > 1 && d.Targets[r] != predicted[r] ? $", explaining {d.ClassNames[d.Targets[r]]}" : "";
            h.Append("<div class=\"row\" data-row=\"").Append(d.RowIds[r]).Append("\"><h3>Row ").Append(d.RowIds[r]).Append(": ")
             .Append(Esc(prediction + label + target)).Append("</h3>");
            switch (d.Modality)
            {
                case ReportModality.Tabular:
                    h.Append(svg(TabularCharts.Waterfall(d.FeatureNames, d.Attributions.Row(r).ToArray(), d.BaseValues[r], d.Inputs.Row(r).ToArray(),
                        d.Predictions?[r], new TabularChartOptions { MaxFeatures = o.MaxChartFeatures, BaseValueLabel = d.BaseValueLabel ?? "base value" },
                        d.ValueTexts?[r])));
                    break;
                case ReportModality.Image:
                    var attribution = new NdArray<float>(d.Attributions.Row(r).ToArray(), d.Inputs.RowShape);
                    var original = d.OriginalImages is { } images ? new NdArray<float>(images.Row(r).ToArray(), images.RowShape) : null;
                    var panels = original is null
                        ? new[] { new ImageAttributionOptions { ShowColorBar = true, Title = "|attribution|", Scale = ImageScale(attribution) } }
                        : [new ImageAttributionOptions { Method = ImageVisualizationMethod.OriginalImage, Title = "image", Scale = ImageScale(attribution) },
                           new ImageAttributionOptions { Method = ImageVisualizationMethod.BlendedHeatMap, ShowColorBar = true, Title = "|attribution|", Scale = ImageScale(attribution) }];
                    h.Append(Png(ImageAttributionRenderer.RenderMultiplePng(attribution, original, panels), $"Attribution heat map of row {d.RowIds[r]}"));
                    break;
                case ReportModality.Text:
                    var tokens = d.Signed(r).Select(v => (float)v).ToArray();
                    var record = new TextAttributionRecord(d.Tokens![r], tokens, d.Labels is { } l ? LabelText(d, l[r]) : null,
                        d.OutputCount > 1 ? d.ClassNames[predicted[r]] : Num(d.Outputs.Data[r]), d.OutputCount > 1 ? confidence[r] : d.Outputs.Data[r],
                        d.ClassNames[d.Targets[r]], tokens.Sum(v => (double)v));
                    h.Append(TextAttributionRenderer.RenderFragment([record], new TextVisualizationOptions { ScaleToMaxAbs = true }));
                    break;
            }
            h.Append("</div>");
        }
        h.Append("</section>\n");
    }

    private static string Beeswarm(ReportData d, int[] rows, AttributionReportOptions o, string title) =>
        TabularCharts.Beeswarm(ReportRows.Take(d.Attributions, rows), ReportRows.Take(d.Inputs, rows), d.FeatureNames,
            new TabularChartOptions { MaxFeatures = o.MaxChartFeatures, Title = title }, d.ValueTexts is { } texts ? rows.Select(r => (IReadOnlyList<string>)texts[r]).ToArray() : null);

    private static string LabelText(ReportData d, float label) =>
        d.OutputCount > 1 && label >= 0 && label < d.OutputCount && label == Math.Floor(label) ? d.ClassNames[(int)label] : Num(label);

    /// <summary>Small images (e.g. 8×8) are scaled up so a pixel is visible; large ones are drawn as they are.</summary>
    private static int ImageScale(NdArray<float> chw) => Math.Clamp(160 / Math.Max(1, Math.Max(chw.Shape[^1], chw.Shape[^2])), 1, 16);

    private static string Png(byte[] png, string alt) =>
        $"<img class=\"heatmap\" alt=\"{Esc(alt)}\" src=\"data:image/png;base64,{Convert.ToBase64String(png)}\" />";

    /// <summary>Prefixes every id of one SVG (and the url(#…) / href="#…" references to it) so charts on one page
    /// never collide — the beeswarm's gradient id would otherwise repeat.</summary>
    internal static string Uniquify(string svg, string prefix)
    {
        svg = IdAttribute().Replace(svg, m => $" id=\"{prefix}-{m.Groups[1].Value}\"");
        svg = UrlReference().Replace(svg, m => $"url(#{prefix}-{m.Groups[1].Value})");
        return HrefReference().Replace(svg, m => $"{m.Groups[1].Value}=\"#{prefix}-{m.Groups[2].Value}\"");
    }

    [GeneratedRegex(" id=\"([^\"]+)\"")]
    private static partial Regex IdAttribute();

    [GeneratedRegex(@"url\(#([^)]+)\)")]
    private static partial Regex UrlReference();

    [GeneratedRegex("((?:xlink:)?href)=\"#([^\"]+)\"")]
    private static partial Regex HrefReference();

    internal static string Esc(string text) => WebUtility.HtmlEncode(text);

    /// <summary>A number for people (3 significant digits, thousands separators, no exponent) unless a format is given.</summary>
    internal static string Num(double v, string? format = null) =>
        format is null ? Visualization.Svg.Label(v) : double.IsFinite(v) ? v.ToString(format, CultureInfo.InvariantCulture) : v.ToString(CultureInfo.InvariantCulture);
}
