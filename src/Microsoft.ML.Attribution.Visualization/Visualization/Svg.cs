using System.Globalization;
using System.Xml.Linq;
using SkiaSharp;

namespace Microsoft.ML.Attribution.Visualization;

/// <summary>Small SVG vocabulary for the tabular charts; XElement does the escaping and keeps the output well-formed.</summary>
internal static class Svg
{
    internal static readonly XNamespace Ns = "http://www.w3.org/2000/svg";

    internal static XElement Root(double width, double height) =>
        new(Ns + "svg",
            new XAttribute("width", N(width)), new XAttribute("height", N(height)),
            new XAttribute("viewBox", $"0 0 {N(width)} {N(height)}"),
            new XAttribute("font-family", "sans-serif"), new XAttribute("font-size", "12"),
            new XElement(Ns + "rect", new XAttribute("width", "100%"), new XAttribute("height", "100%"), new XAttribute("fill", "white")));

    internal static XElement Rect(double x, double y, double w, double h, string fill, string? cssClass = null) =>
        WithClass(new XElement(Ns + "rect",
            new XAttribute("x", N(x)), new XAttribute("y", N(y)), new XAttribute("width", N(w)), new XAttribute("height", N(h)),
            new XAttribute("fill", fill)), cssClass);

    internal static XElement Line(double x1, double y1, double x2, double y2, string stroke, string? dash = null, string? cssClass = null)
    {
        var e = new XElement(Ns + "line",
            new XAttribute("x1", N(x1)), new XAttribute("y1", N(y1)), new XAttribute("x2", N(x2)), new XAttribute("y2", N(y2)),
            new XAttribute("stroke", stroke), new XAttribute("stroke-width", "1"));
        if (dash is not null) e.Add(new XAttribute("stroke-dasharray", dash));
        return WithClass(e, cssClass);
    }

    internal static XElement Text(double x, double y, string text, string anchor = "start", string? cssClass = null, string fill = "black", int? size = null)
    {
        var e = new XElement(Ns + "text",
            new XAttribute("x", N(x)), new XAttribute("y", N(y)), new XAttribute("text-anchor", anchor),
            new XAttribute("dominant-baseline", "middle"), new XAttribute("fill", fill), text);
        if (size is int s) e.Add(new XAttribute("font-size", s));
        return WithClass(e, cssClass);
    }

    internal static XElement Circle(double cx, double cy, double r, string fill, string? cssClass = null) =>
        WithClass(new XElement(Ns + "circle",
            new XAttribute("cx", N(cx)), new XAttribute("cy", N(cy)), new XAttribute("r", N(r)), new XAttribute("fill", fill)), cssClass);

    internal static XElement Title(string text) => new(Ns + "title", text);

    internal static string Hex(SKColor c) => $"#{c.Red:x2}{c.Green:x2}{c.Blue:x2}";

    /// <summary>A number for coordinates and data attributes: invariant culture, round-trippable.</summary>
    internal static string N(double v) => v.ToString("0.####", CultureInfo.InvariantCulture);

    /// <summary>
    /// A number for people to read: three significant digits, thousands separators, never exponent notation or
    /// float noise (0.30000001 → 0.3, 1E-05 → 0.00001, 12345.6 → 12,300).
    /// </summary>
    internal static string Label(double v)
    {
        if (double.IsNaN(v) || double.IsInfinity(v)) return v.ToString(CultureInfo.InvariantCulture);
        if (v == 0) return "0";
        int magnitude = (int)Math.Floor(Math.Log10(Math.Abs(v)));
        // Rounding to 3 significant digits can carry into the next power of ten (999.7 → 1000).
        double rounded = RoundSignificant(v, 3);
        if (rounded == 0) return "0";
        magnitude = (int)Math.Floor(Math.Log10(Math.Abs(rounded)));
        int decimals = Math.Clamp(2 - magnitude, 0, 15);
        return rounded.ToString("#,##0." + new string('#', decimals), CultureInfo.InvariantCulture);
    }

    private static double RoundSignificant(double v, int digits)
    {
        int magnitude = (int)Math.Floor(Math.Log10(Math.Abs(v)));
        int decimals = digits - 1 - magnitude;
        if (decimals >= 0 && decimals <= 15) return Math.Round(v, decimals, MidpointRounding.AwayFromZero);
        double scale = Math.Pow(10, -decimals);
        return Math.Round(v / scale, MidpointRounding.AwayFromZero) * scale;
    }

    /// <summary>Rough text width (sans-serif at 12 px averages about 7 px a character), for laying out labels without a font.</summary>
    internal static double TextWidth(string text) => 7 * text.Length;

    /// <summary>About five round tick values covering [lo, hi].</summary>
    internal static double[] Ticks(double lo, double hi)
    {
        if (!(hi > lo)) return [lo];
        double raw = (hi - lo) / 5, mag = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        double step = mag * (raw / mag < 1.5 ? 1 : raw / mag < 3.5 ? 2 : raw / mag < 7.5 ? 5 : 10);
        var ticks = new List<double>();
        for (double t = Math.Ceiling(lo / step) * step; t <= hi + step * 1e-9; t += step) ticks.Add(Math.Abs(t) < step * 1e-9 ? 0 : t);
        return [.. ticks];
    }

    private static XElement WithClass(XElement e, string? cssClass)
    {
        if (cssClass is not null) e.Add(new XAttribute("class", cssClass));
        return e;
    }
}
