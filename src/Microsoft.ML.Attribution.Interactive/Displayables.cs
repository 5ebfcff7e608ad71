using Microsoft.ML.Attribution.Visualization;

namespace Microsoft.ML.Attribution.Interactive;

/// <summary>
/// An SVG picture (a <see cref="TabularCharts"/> chart) that a notebook shows inline. The chart functions return the
/// SVG as a string, and a string displays as text: wrap it to see the picture.
/// </summary>
public sealed record SvgChart
{
    /// <summary>Wraps a standalone SVG document.</summary>
    /// <param name="svg">The markup, starting with <c>&lt;svg</c> (an XML declaration before it is allowed).</param>
    /// <exception cref="ArgumentException">The text is not an SVG document.</exception>
    public SvgChart(string svg)
    {
        ArgumentNullException.ThrowIfNull(svg);
        string start = svg.TrimStart();
        if (start.StartsWith("<?xml", StringComparison.Ordinal))
        {
            int end = start.IndexOf("?>", StringComparison.Ordinal);
            start = end < 0 ? start : start[(end + 2)..].TrimStart();
        }
        if (!start.StartsWith("<svg", StringComparison.Ordinal))
            throw new ArgumentException($"SvgChart expects an SVG document starting with '<svg'; got '{Preview(svg)}'.", nameof(svg));
        Svg = svg;
    }

    /// <summary>The SVG markup.</summary>
    public string Svg { get; }

    private static string Preview(string text) => text.Length <= 40 ? text : text[..40] + "…";
}

/// <summary>A PNG picture (an image heat map or an <see cref="ImageAttributionFigure"/>) that a notebook shows inline.</summary>
/// <param name="Png">The encoded PNG bytes.</param>
/// <param name="Caption">A line under the picture, or null.</param>
public sealed record PngImage(byte[] Png, string? Caption = null);

/// <summary>Coloured text attributions (<see cref="TextAttributionRenderer"/>) that a notebook shows inline.</summary>
/// <param name="Records">One explained text per record.</param>
/// <param name="Options">How to colour them; null for the renderer's defaults.</param>
public sealed record TextAttributionView(IReadOnlyList<TextAttributionRecord> Records, TextVisualizationOptions? Options = null);
