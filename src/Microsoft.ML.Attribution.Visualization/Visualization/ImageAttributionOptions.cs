namespace Microsoft.ML.Attribution.Visualization;

/// <summary>How an image attribution is drawn (Captum's <c>ImageVisualizationMethod</c>).</summary>
public enum ImageVisualizationMethod
{
    /// <summary>The normalised attribution through a colour map.</summary>
    HeatMap,
    /// <summary>The heat map over a greyscale copy of the image, with <see cref="ImageAttributionOptions.AlphaOverlay"/> opacity.</summary>
    BlendedHeatMap,
    /// <summary>The image alone.</summary>
    OriginalImage,
    /// <summary>The image multiplied pixel-wise by the normalised attribution (not for <see cref="VisualizeSign.All"/>).</summary>
    MaskedImage,
    /// <summary>The image with its opacity set to the normalised attribution, over white (not for <see cref="VisualizeSign.All"/>).</summary>
    AlphaScaling,
}

/// <summary>Which attributions are shown (Captum's <c>VisualizeSign</c>).</summary>
public enum VisualizeSign
{
    /// <summary>Both signs, on a diverging map from −1 to 1.</summary>
    All,
    /// <summary>Positive attributions only; negative ones show as 0.</summary>
    Positive,
    /// <summary>Negative attributions only, by magnitude; positive ones show as 0.</summary>
    Negative,
    /// <summary>Magnitudes, signs ignored.</summary>
    AbsoluteValue,
}

/// <summary>Axis order of a rank-3 attribution or float image tensor.</summary>
public enum ImageLayout
{
    /// <summary>[channels, height, width], as ONNX vision models take them.</summary>
    Chw,
    /// <summary>[height, width, channels], as Captum's visualiser takes them.</summary>
    Hwc,
}

/// <summary>Options of <see cref="ImageAttributionRenderer"/>; the defaults are Captum's.</summary>
public sealed record ImageAttributionOptions
{
    /// <summary>How to draw. Default: <see cref="ImageVisualizationMethod.HeatMap"/>.</summary>
    public ImageVisualizationMethod Method { get; init; } = ImageVisualizationMethod.HeatMap;

    /// <summary>Which attributions to show. Default: <see cref="VisualizeSign.AbsoluteValue"/>.</summary>
    public VisualizeSign Sign { get; init; } = VisualizeSign.AbsoluteValue;

    /// <summary>Axis order of rank-3 attributions and float images. Default: <see cref="ImageLayout.Chw"/>.</summary>
    public ImageLayout Layout { get; init; } = ImageLayout.Chw;

    /// <summary>
    /// Percentage of the total (signed-mode) attribution mass treated as outliers: the values whose share makes up
    /// the top <c>OutlierPercent</c>% saturate at 1, and the rest is scaled by the smallest of them. Default: 2.
    /// </summary>
    public double OutlierPercent { get; init; } = 2;

    /// <summary>The heat map's colour map; null picks Captum's default for <see cref="Sign"/>.</summary>
    public ColorMap? ColorMap { get; init; }

    /// <summary>Opacity of the heat map in <see cref="ImageVisualizationMethod.BlendedHeatMap"/>. Default: 0.5.</summary>
    public double AlphaOverlay { get; init; } = 0.5;

    /// <summary>Draw a horizontal colour bar under the panel (blank space for methods without a heat map). Default: false.</summary>
    public bool ShowColorBar { get; init; }

    /// <summary>A title drawn above the panel; null for none.</summary>
    public string? Title { get; init; }

    /// <summary>Each attribution pixel becomes a Scale × Scale block (nearest neighbour). Default: 1.</summary>
    public int Scale { get; init; } = 1;
}
