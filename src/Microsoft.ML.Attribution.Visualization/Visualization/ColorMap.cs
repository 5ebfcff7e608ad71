using SkiaSharp;

namespace Microsoft.ML.Attribution.Visualization;

/// <summary>
/// A colour map: evenly spaced anchor colours, linearly interpolated and sampled into a lookup table the way
/// matplotlib's <c>LinearSegmentedColormap</c> does (256 entries by default), so that a value maps to the same
/// colour as in a Captum figure.
/// </summary>
public sealed class ColorMap
{
    private readonly SKColor[] _table;

    /// <summary>Creates a colour map from evenly spaced anchors (the first at 0, the last at 1).</summary>
    /// <param name="name">A name for messages and legends.</param>
    /// <param name="anchors">At least two colours.</param>
    /// <param name="levels">Size of the lookup table; matplotlib uses 256.</param>
    public ColorMap(string name, IReadOnlyList<SKColor> anchors, int levels = 256)
    {
        ArgumentNullException.ThrowIfNull(anchors);
        if (anchors.Count < 2) throw new ArgumentException($"Colour map '{name}' needs at least two anchor colours, got {anchors.Count}.", nameof(anchors));
        if (levels < 2) throw new ArgumentOutOfRangeException(nameof(levels), levels, "A colour map needs at least two levels.");
        Name = name;
        _table = new SKColor[levels];
        for (int i = 0; i < levels; i++) _table[i] = Interpolate(anchors, i / (double)(levels - 1));
    }

    /// <summary>The map's name.</summary>
    public string Name { get; }

    /// <summary>
    /// The colour of <paramref name="t"/> in [0, 1]; values outside are clamped. As in matplotlib, t is binned
    /// into <c>levels</c> equal bins (t = 1 falls into the last).
    /// </summary>
    public SKColor Map(double t)
    {
        if (double.IsNaN(t)) t = 0;
        int i = (int)(Math.Clamp(t, 0, 1) * _table.Length);
        return _table[Math.Min(i, _table.Length - 1)];
    }

    /// <summary>Diverging red → white → green (matplotlib's named colours red #FF0000, white, green #008000),
    /// Captum's default for <see cref="VisualizeSign.All"/>.</summary>
    public static ColorMap RedWhiteGreen { get; } = new("RdWhGn", [new SKColor(255, 0, 0), new SKColor(255, 255, 255), new SKColor(0, 128, 0)]);

    // The three sequential maps are ColorBrewer's 9-class palettes, which matplotlib's "Greens", "Reds" and
    // "Blues" interpolate linearly.

    /// <summary>ColorBrewer Greens (white → dark green), Captum's default for <see cref="VisualizeSign.Positive"/>.</summary>
    public static ColorMap Greens { get; } = FromHex("Greens", "f7fcf5", "e5f5e0", "c7e9c0", "a1d99b", "74c476", "41ab5d", "238b45", "006d2c", "00441b");

    /// <summary>ColorBrewer Reds (white → dark red), Captum's default for <see cref="VisualizeSign.Negative"/>.</summary>
    public static ColorMap Reds { get; } = FromHex("Reds", "fff5f0", "fee0d2", "fcbba1", "fc9272", "fb6a4a", "ef3b2c", "cb181d", "a50f15", "67000d");

    /// <summary>ColorBrewer Blues (white → dark blue), Captum's default for <see cref="VisualizeSign.AbsoluteValue"/>.</summary>
    public static ColorMap Blues { get; } = FromHex("Blues", "f7fbff", "deebf7", "c6dbef", "9ecae1", "6baed6", "4292c6", "2171b5", "08519c", "08306b");

    /// <summary>Black → white.</summary>
    public static ColorMap Gray { get; } = new("gray", [SKColors.Black, SKColors.White]);

    /// <summary>Captum's default map for a sign mode.</summary>
    public static ColorMap DefaultFor(VisualizeSign sign) => sign switch
    {
        VisualizeSign.All => RedWhiteGreen,
        VisualizeSign.Positive => Greens,
        VisualizeSign.Negative => Reds,
        VisualizeSign.AbsoluteValue => Blues,
        _ => throw new ArgumentOutOfRangeException(nameof(sign), sign, "Unknown sign mode."),
    };

    /// <summary>Builds a map from evenly spaced hex colours ("rrggbb" or "#rrggbb").</summary>
    public static ColorMap FromHex(string name, params string[] hexColors)
    {
        var anchors = new SKColor[hexColors.Length];
        for (int i = 0; i < hexColors.Length; i++)
        {
            var hex = hexColors[i].StartsWith('#') ? hexColors[i] : "#" + hexColors[i];
            if (!SKColor.TryParse(hex, out anchors[i]))
                throw new ArgumentException($"Colour map '{name}': '{hexColors[i]}' is not a hex colour.", nameof(hexColors));
        }
        return new ColorMap(name, anchors);
    }

    private static SKColor Interpolate(IReadOnlyList<SKColor> anchors, double t)
    {
        double pos = t * (anchors.Count - 1);
        int k = Math.Min((int)pos, anchors.Count - 2);
        double f = pos - k;
        SKColor a = anchors[k], b = anchors[k + 1];
        return new SKColor(Mix(a.Red, b.Red, f), Mix(a.Green, b.Green, f), Mix(a.Blue, b.Blue, f));
    }

    private static byte Mix(byte a, byte b, double f) => (byte)Math.Round(a + (b - a) * f);
}
