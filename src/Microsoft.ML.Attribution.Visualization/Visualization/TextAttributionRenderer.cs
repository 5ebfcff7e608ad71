using System.Globalization;
using System.Net;
using System.Text;

namespace Microsoft.ML.Attribution.Visualization;

/// <summary>One explained text row: its tokens with their attributions and the labels around them
/// (Captum's <c>VisualizationDataRecord</c>).</summary>
/// <param name="Tokens">The tokens in input order, as the raw input is shown.</param>
/// <param name="Attributions">One attribution per token, ideally already scaled to [−1, 1] (values outside are
/// clipped unless <see cref="TextVisualizationOptions.ScaleToMaxAbs"/> is set).</param>
/// <param name="TrueLabel">The true label, or null when unknown.</param>
/// <param name="PredictedLabel">The predicted label.</param>
/// <param name="PredictedProbability">The predicted label's probability.</param>
/// <param name="AttributionLabel">The label (target) the attributions explain.</param>
/// <param name="AttributionScore">A summary score, e.g. the sum of the attributions.</param>
public sealed record TextAttributionRecord(
    IReadOnlyList<string> Tokens,
    IReadOnlyList<float> Attributions,
    string? TrueLabel,
    string PredictedLabel,
    double PredictedProbability,
    string AttributionLabel,
    double AttributionScore);

/// <summary>Options of <see cref="TextAttributionRenderer"/>.</summary>
public sealed record TextVisualizationOptions
{
    /// <summary>Show the Negative / Neutral / Positive legend. Default: true.</summary>
    public bool Legend { get; init; } = true;

    /// <summary>Divide each row's attributions by its largest magnitude before colouring. Default: false (Captum
    /// colours the values as given).</summary>
    public bool ScaleToMaxAbs { get; init; }

    /// <summary>Show tokens written <c>&lt;pad&gt;</c> as <c>#pad</c>, as Captum does. Default: true.</summary>
    public bool MarkSpecialTokens { get; init; } = true;

    /// <summary>The page title of <see cref="TextAttributionRenderer.RenderPage"/>. Default: "Text attributions".</summary>
    public string PageTitle { get; init; } = "Text attributions";
}

/// <summary>
/// Colour-coded text attributions as HTML, the counterpart of Captum's <c>visualize_text</c>: a table with true,
/// predicted and attribution labels, the attribution score, and every token on a background from red
/// (negative) through white to green (positive), darker with magnitude. All text is HTML-escaped; the markup is
/// well-formed XML (no named entities beyond XML's), so it can be embedded or parsed.
/// </summary>
public static class TextAttributionRenderer
{
    /// <summary>
    /// Captum's token colour: <c>hsl(120, 75%, 100 − ⌊50a⌋%)</c> for a &gt; 0 (green) and
    /// <c>hsl(0, 75%, 100 − ⌊40|a|⌋%)</c> otherwise (red), with a clipped to [−1, 1].
    /// </summary>
    public static string TokenColor(double attribution)
    {
        double a = double.IsNaN(attribution) ? 0 : Math.Clamp(attribution, -1, 1);
        return a > 0 ? $"hsl(120, 75%, {100 - (int)(50 * a)}%)" : $"hsl(0, 75%, {100 - (int)(-40 * a)}%)";
    }

    /// <summary>The table (with legend) as an HTML fragment for embedding in a page.</summary>
    public static string RenderFragment(IEnumerable<TextAttributionRecord> records, TextVisualizationOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(records);
        var o = options ?? new TextVisualizationOptions();
        var sb = new StringBuilder();
        sb.Append("<div class=\"text-attributions\">");
        if (o.Legend)
        {
            sb.Append("<div class=\"legend\" style=\"border-top: 1px solid; margin-top: 5px; padding-top: 5px; display: inline-block\"><b>Legend: </b>");
            foreach (var (value, label) in new[] { (-1.0, "Negative"), (0.0, "Neutral"), (1.0, "Positive") })
            {
                sb.Append("<span style=\"display: inline-block; width: 10px; height: 10px; border: 1px solid; background-color: ")
                  .Append(TokenColor(value)).Append("\"></span> ").Append(label).Append(' ');
            }
            sb.Append("</div>");
        }
        sb.Append("<table style=\"width: 100%\"><tr><th>True Label</th><th>Predicted Label</th><th>Attribution Label</th>")
          .Append("<th>Attribution Score</th><th>Word Importance</th></tr>");
        int row = 0;
        foreach (var r in records)
        {
            if (r is null) throw new ArgumentException($"Record {row} is null.", nameof(records));
            if (r.Tokens.Count != r.Attributions.Count)
                throw new ArgumentException($"Record {row} has {r.Tokens.Count} tokens but {r.Attributions.Count} attributions.", nameof(records));
            sb.Append("<tr>");
            Cell(sb, r.TrueLabel ?? "");
            Cell(sb, $"{r.PredictedLabel} ({Number(r.PredictedProbability)})");
            Cell(sb, r.AttributionLabel);
            Cell(sb, Number(r.AttributionScore));
            sb.Append("<td>");
            double scale = 1;
            if (o.ScaleToMaxAbs)
            {
                double max = r.Attributions.Count == 0 ? 0 : r.Attributions.Max(a => Math.Abs((double)a));
                if (max > 0) scale = 1 / max;
            }
            for (int i = 0; i < r.Tokens.Count; i++)
            {
                string token = o.MarkSpecialTokens ? MarkSpecial(r.Tokens[i]) : r.Tokens[i];
                double a = r.Attributions[i];
                sb.Append("<mark class=\"token\" title=\"").Append(Escape(a.ToString("G6", CultureInfo.InvariantCulture)))
                  .Append("\" style=\"background-color: ").Append(TokenColor(a * scale))
                  .Append("; opacity: 1.0; line-height: 1.75\"><font color=\"black\"> ").Append(Escape(token)).Append(" </font></mark>");
            }
            sb.Append("</td></tr>");
            row++;
        }
        sb.Append("</table></div>");
        return sb.ToString();
    }

    /// <summary>A complete, self-contained HTML page (no scripts, no external resources) around
    /// <see cref="RenderFragment"/>.</summary>
    public static string RenderPage(IEnumerable<TextAttributionRecord> records, TextVisualizationOptions? options = null)
    {
        var o = options ?? new TextVisualizationOptions();
        var fragment = RenderFragment(records, o);
        return "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\" /><title>" + Escape(o.PageTitle) + "</title>"
            + "<style>body{font-family:sans-serif;margin:1.5em}th{text-align:left;padding-right:2em}td{vertical-align:top}"
            + "mark.token{padding:0}</style></head><body><h1>" + Escape(o.PageTitle) + "</h1>" + fragment + "</body></html>\n";
    }

    /// <summary>Writes <see cref="RenderPage"/> to a UTF-8 file.</summary>
    public static void SavePage(string path, IEnumerable<TextAttributionRecord> records, TextVisualizationOptions? options = null) =>
        File.WriteAllText(path, RenderPage(records, options), new UTF8Encoding(false));

    private static void Cell(StringBuilder sb, string text) =>
        sb.Append("<td><span style=\"padding-right: 2em\"><b>").Append(Escape(text)).Append("</b></span></td>");

    private static string Number(double v) => v.ToString("0.00", CultureInfo.InvariantCulture);

    private static string MarkSpecial(string token) =>
        token.Length >= 2 && token[0] == '<' && token[^1] == '>' ? "#" + token.Trim('<', '>') : token;

    // WebUtility.HtmlEncode escapes < > & " ' with XML-compatible forms (&#39; for the apostrophe).
    internal static string Escape(string text) => WebUtility.HtmlEncode(text);
}
