using System.Globalization;
using System.Net;
using System.Text;
using Microsoft.DotNet.Interactive.Formatting;
using Microsoft.ML.Attribution.Methods;
using Microsoft.ML.Attribution.Reports;
using Microsoft.ML.Attribution.Visualization;

namespace Microsoft.ML.Attribution.Interactive;

/// <summary>
/// HTML formatters for the library's results, so that a notebook cell ending in one of them shows a picture rather
/// than the type's <c>ToString()</c>: <see cref="AttributionResult"/> (a summary and a mean |attribution| chart),
/// <see cref="AttributionReport"/> (the whole page in a sandboxed frame), <see cref="SvgChart"/>,
/// <see cref="PngImage"/> and <see cref="TextAttributionView"/>.
/// </summary>
public static class AttributionFormatters
{
    /// <summary>The MIME type every formatter here writes.</summary>
    public const string MimeType = "text/html";

    /// <summary>Most slots drawn in an <see cref="AttributionResult"/>'s chart; wider results show their summary only.</summary>
    public const int MaxChartedSlots = 64;

    /// <summary>
    /// Registers the formatters with .NET Interactive. Safe to call more than once (a later registration replaces an
    /// earlier one). The package's kernel extension calls it on load; call it yourself where the kernel does not load
    /// extensions.
    /// </summary>
    public static void Register()
    {
        Formatter.Register<AttributionReport>((report, writer) => writer.Write(ToHtml(report)), MimeType);
        Formatter.Register<SvgChart>((chart, writer) => writer.Write(chart.Svg), MimeType);
        Formatter.Register<PngImage>((image, writer) => writer.Write(ToHtml(image)), MimeType);
        Formatter.Register<TextAttributionView>((view, writer) => writer.Write(ToHtml(view)), MimeType);
        Formatter.Register<AttributionResult>((result, writer) => writer.Write(ToHtml(result)), MimeType);
    }

    /// <summary>
    /// A report inside an <c>iframe</c> whose <c>srcdoc</c> is the page: the page's styles and Content-Security-Policy
    /// stay its own instead of leaking into the notebook, and <c>sandbox</c> keeps its scripts off the notebook.
    /// </summary>
    public static string ToHtml(AttributionReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        return "<iframe sandbox=\"allow-scripts\" style=\"width:100%;height:900px;border:1px solid #ddd\" title=\""
            + WebUtility.HtmlEncode("report: " + report.Method) + "\" srcdoc=\"" + WebUtility.HtmlEncode(report.Html) + "\"></iframe>";
    }

    /// <summary>The PNG as a <c>data:</c> URI image, with its caption.</summary>
    public static string ToHtml(PngImage image)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(image.Png, "image.Png");
        ReadOnlySpan<byte> signature = [0x89, (byte)'P', (byte)'N', (byte)'G'];
        if (!image.Png.AsSpan().StartsWith(signature))
            throw new ArgumentException($"PngImage holds {image.Png.Length} bytes that are not a PNG file (no \\x89PNG signature).", nameof(image));
        var sb = new StringBuilder("<figure style=\"margin:0\"><img src=\"data:image/png;base64,")
            .Append(Convert.ToBase64String(image.Png)).Append("\" alt=\"")
            .Append(WebUtility.HtmlEncode(image.Caption ?? "attribution image")).Append("\" />");
        if (image.Caption is not null) sb.Append("<figcaption>").Append(WebUtility.HtmlEncode(image.Caption)).Append("</figcaption>");
        return sb.Append("</figure>").ToString();
    }

    /// <summary>The records as <see cref="TextAttributionRenderer.RenderFragment"/> draws them.</summary>
    public static string ToHtml(TextAttributionView view)
    {
        ArgumentNullException.ThrowIfNull(view);
        return TextAttributionRenderer.RenderFragment(view.Records, view.Options);
    }

    /// <summary>
    /// A summary table (shape, explained targets, convergence delta, base values) and, for <c>[N, F]</c> results with
    /// at most <see cref="MaxChartedSlots"/> slots, the mean |attribution| of each slot as a bar chart.
    /// </summary>
    public static string ToHtml(AttributionResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        var a = result.Attributions;
        var sb = new StringBuilder("<div class=\"attribution-result\"><table>");
        Row(sb, "attributions", a.ShapeText);
        Row(sb, "targets", Summarize(result.Targets));
        if (result.ConvergenceDelta is { Length: > 0 } delta)
            Row(sb, "convergence delta", "max |δ| " + Number(delta.Max(d => Math.Abs((double)d))));
        if (result.BaseValues is { Length: > 0 } baseValues)
            Row(sb, "base value", baseValues.Distinct().Count() == 1 ? Number(baseValues[0])
                : $"{Number(baseValues.Min())} … {Number(baseValues.Max())}");
        sb.Append("</table>");
        if (a.Rank is 1 or 2 && a.Length > 0 && (a.Rank == 1 ? a.Shape[0] : a.Shape[1]) <= MaxChartedSlots)
        {
            int slots = a.Rank == 1 ? a.Shape[0] : a.Shape[1];
            var names = Enumerable.Range(0, slots).Select(j => "slot " + j.ToString(CultureInfo.InvariantCulture)).ToArray();
            sb.Append(TabularCharts.ImportanceBarChart(a, names, new TabularChartOptions { Title = "mean |attribution| per slot" }));
        }
        return sb.Append("</div>").ToString();
    }

    private static void Row(StringBuilder sb, string name, string value) =>
        sb.Append("<tr><th style=\"text-align:left\">").Append(WebUtility.HtmlEncode(name)).Append("</th><td>")
          .Append(WebUtility.HtmlEncode(value)).Append("</td></tr>");

    private static string Summarize(int[] targets) => targets.Length == 0 ? "none" : string.Join(", ",
        targets.GroupBy(t => t).OrderBy(g => g.Key).Select(g => $"output {g.Key} × {g.Count()}"));

    private static string Number(double value) => value.ToString("G4", CultureInfo.InvariantCulture);
}
