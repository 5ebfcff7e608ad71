using System.Runtime.InteropServices;
using Microsoft.ML.Attribution.Tensors;
using SkiaSharp;

namespace Microsoft.ML.Attribution.Visualization;

/// <summary>
/// Pictures of image attributions, the counterpart of Captum's <c>visualize_image_attr</c> and
/// <c>visualize_image_attr_multiple</c>: heat maps, heat maps blended over the image, masked and alpha-scaled
/// images, with an optional title and colour bar, as PNG.
/// </summary>
/// <remarks>
/// Attributions are [H, W], [C, H, W] / [H, W, C] (see <see cref="ImageAttributionOptions.Layout"/>), or either
/// with a leading batch axis of 1; channels are summed. Images are float tensors of the same layouts (1, 3 or 4
/// channels, values in [0, 1], or in [0, 255] when any value exceeds 1, as Captum decides), or an
/// <see cref="SKBitmap"/> through <see cref="ImageFromBitmap"/>.
/// With neither title nor colour bar the picture is exactly the panel: pixel (x, y) shows attribution pixel
/// (x / Scale, y / Scale). Differences from Captum: the greyscale under a blended heat map is the channel mean
/// as is (matplotlib would stretch it to its min–max), a one-channel image is drawn grey (not viridis), float
/// images are rounded (not truncated) to bytes, and attributions that are all zero in the chosen sign draw as
/// the colour map's zero instead of failing.
/// </remarks>
public static class ImageAttributionRenderer
{
    private const int Gap = 8, TitleBand = 20, BarGap = 4;
    internal const int BarHeight = 10, BarLabelBand = 14;

    /// <summary>
    /// Captum's normalisation: sum channels, keep the chosen sign, divide by the value at which the sorted
    /// magnitudes' running sum reaches (100 − <paramref name="outlierPercent"/>)% of their total, clip to
    /// [−1, 1]. Results are in [−1, 1] for <see cref="VisualizeSign.All"/>, else in [0, 1] (negative
    /// attributions by magnitude).
    /// </summary>
    /// <returns>The normalised map, [H, W].</returns>
    public static NdArray<float> Normalize(NdArray<float> attributions, VisualizeSign sign, double outlierPercent = 2, ImageLayout layout = ImageLayout.Chw)
    {
        ArgumentNullException.ThrowIfNull(attributions);
        if (!(outlierPercent >= 0 && outlierPercent <= 100))
            throw new ArgumentOutOfRangeException(nameof(outlierPercent), outlierPercent, "Outlier percentage must be in [0, 100].");
        var (h, w, combined) = SumChannels(attributions, layout);
        var kept = new double[combined.Length];
        for (int i = 0; i < kept.Length; i++)
        {
            double v = combined[i];
            kept[i] = sign switch
            {
                VisualizeSign.All => v,
                VisualizeSign.Positive => v > 0 ? v : 0,
                VisualizeSign.Negative => v < 0 ? -v : 0,
                VisualizeSign.AbsoluteValue => Math.Abs(v),
                _ => throw new ArgumentOutOfRangeException(nameof(sign), sign, "Unknown sign mode."),
            };
        }
        // Captum thresholds on magnitudes in every mode; with signed values (All) a map whose signs cancel has a
        // total near zero, the running sum of the sorted values meets it among the negatives, the threshold is ≤ 0
        // and the picture comes out blank.
        double threshold = CumulativeShareThreshold(sign == VisualizeSign.All ? Array.ConvertAll(kept, Math.Abs) : kept, 100 - outlierPercent);
        var result = new NdArray<float>(h, w);
        if (threshold > 0)
        {
            for (int i = 0; i < kept.Length; i++) result.Data[i] = (float)Math.Clamp(kept[i] / threshold, -1, 1);
        }
        return result;
    }

    /// <summary>Converts a bitmap to a float image in [0, 1] with three channels (RGB) in the given layout.</summary>
    public static NdArray<float> ImageFromBitmap(SKBitmap bitmap, ImageLayout layout = ImageLayout.Chw)
    {
        ArgumentNullException.ThrowIfNull(bitmap);
        int h = bitmap.Height, w = bitmap.Width;
        var image = layout == ImageLayout.Chw ? new NdArray<float>(3, h, w) : new NdArray<float>(h, w, 3);
        for (int y = 0; y < h; y++)
        {
            for (int x = 0; x < w; x++)
            {
                var c = bitmap.GetPixel(x, y);
                byte[] rgb = [c.Red, c.Green, c.Blue];
                for (int k = 0; k < 3; k++)
                {
                    int at = layout == ImageLayout.Chw ? (k * h + y) * w + x : (y * w + x) * 3 + k;
                    image.Data[at] = rgb[k] / 255f;
                }
            }
        }
        return image;
    }

    /// <summary>Draws one visualisation (panel, plus title and colour bar if asked) as a bitmap the caller disposes.</summary>
    /// <param name="attributions">The attributions of one image.</param>
    /// <param name="image">The image; required by every method but <see cref="ImageVisualizationMethod.HeatMap"/>.</param>
    /// <param name="options">Method, sign and the rest; null for Captum's defaults.</param>
    public static SKBitmap RenderBitmap(NdArray<float> attributions, NdArray<float>? image = null, ImageAttributionOptions? options = null) =>
        RenderMultipleBitmap(attributions, image, [options ?? new ImageAttributionOptions()]);

    /// <summary>Like <see cref="RenderBitmap"/>, encoded as PNG.</summary>
    public static byte[] RenderPng(NdArray<float> attributions, NdArray<float>? image = null, ImageAttributionOptions? options = null)
    {
        using var bitmap = RenderBitmap(attributions, image, options);
        return EncodePng(bitmap);
    }

    /// <summary>
    /// Several visualisations of the same attributions side by side, left to right in the order given
    /// (Captum's <c>visualize_image_attr_multiple</c>). Title and colour-bar bands are reserved on every panel
    /// when any panel has them, so panels stay aligned. The bitmap is the caller's to dispose.
    /// </summary>
    public static SKBitmap RenderMultipleBitmap(NdArray<float> attributions, NdArray<float>? image, IReadOnlyList<ImageAttributionOptions> panels)
    {
        ArgumentNullException.ThrowIfNull(attributions);
        ArgumentNullException.ThrowIfNull(panels);
        if (panels.Count == 0) throw new ArgumentException("At least one panel is needed.", nameof(panels));
        var rendered = new List<(int W, int H, byte[] Rgba, ImageAttributionOptions Options)>();
        foreach (var o in panels)
        {
            var (pw, ph, rgba) = RenderPanel(attributions, image, o);
            rendered.Add((pw, ph, rgba, o));
        }
        bool titles = panels.Any(p => p.Title is not null);
        bool bars = panels.Any(p => p.ShowColorBar);
        int panelH = rendered.Max(r => r.H);
        int top = titles ? TitleBand : 0;
        int height = top + panelH + (bars ? BarGap + BarHeight + BarLabelBand : 0);
        int width = rendered.Sum(r => r.W) + Gap * (rendered.Count - 1);

        var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Premul));
        using var canvas = new SKCanvas(bitmap);
        canvas.Clear(SKColors.White);
        using var font = new SKFont(SKTypeface.FromFamilyName("sans-serif") ?? SKTypeface.Default, 12);
        using var paint = new SKPaint { Color = SKColors.Black, IsAntialias = true };
        var text = new TextStyle(font, paint);
        int left = 0;
        foreach (var (pw, ph, rgba, o) in rendered)
        {
            using (var panel = FromRgba(pw, ph, rgba)) canvas.DrawBitmap(panel, left, top);
            if (o.Title is { } title) DrawCentered(canvas, text, title, left, pw, TitleBand - 6);
            if (o.ShowColorBar && UsesHeatMap(o.Method))
                DrawColorBar(canvas, text, o, left, top + panelH + BarGap, pw);
            left += pw + Gap;
        }
        canvas.Flush();
        return bitmap;
    }

    /// <summary>Like <see cref="RenderMultipleBitmap"/>, encoded as PNG.</summary>
    public static byte[] RenderMultiplePng(NdArray<float> attributions, NdArray<float>? image, IReadOnlyList<ImageAttributionOptions> panels)
    {
        using var bitmap = RenderMultipleBitmap(attributions, image, panels);
        return EncodePng(bitmap);
    }

    /// <summary>Writes <see cref="RenderPng"/>'s picture to a file.</summary>
    public static void SavePng(string path, NdArray<float> attributions, NdArray<float>? image = null, ImageAttributionOptions? options = null) =>
        File.WriteAllBytes(path, RenderPng(attributions, image, options));

    /// <summary>Encodes a bitmap as PNG.</summary>
    public static byte[] EncodePng(SKBitmap bitmap)
    {
        ArgumentNullException.ThrowIfNull(bitmap);
        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100)
            ?? throw new InvalidOperationException($"SkiaSharp could not encode a {bitmap.Width}×{bitmap.Height} {bitmap.ColorType} bitmap as PNG.");
        return data.ToArray();
    }

    private static bool UsesHeatMap(ImageVisualizationMethod m) => m is ImageVisualizationMethod.HeatMap or ImageVisualizationMethod.BlendedHeatMap;

    internal static (int W, int H, byte[] Rgba) RenderPanel(NdArray<float> attributions, NdArray<float>? image, ImageAttributionOptions o)
    {
        if (o.Scale < 1) throw new ArgumentOutOfRangeException(nameof(o.Scale), o.Scale, "Scale must be at least 1.");
        if (!(o.AlphaOverlay >= 0 && o.AlphaOverlay <= 1))
            throw new ArgumentOutOfRangeException(nameof(o.AlphaOverlay), o.AlphaOverlay, "AlphaOverlay must be in [0, 1].");
        if (o.Sign == VisualizeSign.All && o.Method is ImageVisualizationMethod.MaskedImage or ImageVisualizationMethod.AlphaScaling)
            throw new ArgumentException($"Method {o.Method} cannot show both signs; choose Positive, Negative or AbsoluteValue.", nameof(o));
        var norm = Normalize(attributions, o.Sign, o.OutlierPercent, o.Layout);
        int h = norm.Shape[0], w = norm.Shape[1];
        byte[]? rgb = null;
        if (image is not null) rgb = ImageBytes(image, o.Layout, h, w);
        else if (o.Method != ImageVisualizationMethod.HeatMap)
            throw new ArgumentException($"Method {o.Method} needs the original image.", nameof(image));
        var cmap = o.ColorMap ?? ColorMap.DefaultFor(o.Sign);

        var pixels = new byte[h * w * 4];
        for (int i = 0; i < h * w; i++)
        {
            double v = norm.Data[i];
            double t = o.Sign == VisualizeSign.All ? (v + 1) / 2 : v;
            byte r, g, b;
            switch (o.Method)
            {
                case ImageVisualizationMethod.HeatMap:
                    (r, g, b) = Rgb(cmap.Map(t));
                    break;
                case ImageVisualizationMethod.BlendedHeatMap:
                    {
                        double grey = (rgb![3 * i] + rgb[3 * i + 1] + rgb[3 * i + 2]) / 3.0;
                        var c = cmap.Map(t);
                        double a = o.AlphaOverlay;
                        (r, g, b) = (Blend(c.Red, grey, a), Blend(c.Green, grey, a), Blend(c.Blue, grey, a));
                        break;
                    }
                case ImageVisualizationMethod.OriginalImage:
                    (r, g, b) = (rgb![3 * i], rgb[3 * i + 1], rgb[3 * i + 2]);
                    break;
                case ImageVisualizationMethod.MaskedImage:
                    // Captum truncates image × weight to an integer.
                    (r, g, b) = ((byte)(rgb![3 * i] * v), (byte)(rgb[3 * i + 1] * v), (byte)(rgb[3 * i + 2] * v));
                    break;
                case ImageVisualizationMethod.AlphaScaling:
                    {
                        // Captum puts trunc(255 × weight) in the alpha channel; the figure's white shows through.
                        double a = (int)(v * 255) / 255.0;
                        (r, g, b) = (Blend(rgb![3 * i], 255, a), Blend(rgb[3 * i + 1], 255, a), Blend(rgb[3 * i + 2], 255, a));
                        break;
                    }
                default:
                    throw new ArgumentOutOfRangeException(nameof(o.Method), o.Method, "Unknown visualisation method.");
            }
            pixels[4 * i] = r; pixels[4 * i + 1] = g; pixels[4 * i + 2] = b; pixels[4 * i + 3] = 255;
        }
        return o.Scale == 1 ? (w, h, pixels) : (w * o.Scale, h * o.Scale, Upscale(pixels, w, h, o.Scale));
    }

    private static byte Blend(double over, double under, double alpha) => (byte)Math.Round(alpha * over + (1 - alpha) * under);

    private static (byte, byte, byte) Rgb(SKColor c) => (c.Red, c.Green, c.Blue);

    private static byte[] Upscale(byte[] pixels, int w, int h, int s)
    {
        var big = new byte[pixels.Length * s * s];
        for (int y = 0; y < h * s; y++)
            for (int x = 0; x < w * s; x++)
                Array.Copy(pixels, 4 * ((y / s) * w + x / s), big, 4 * (y * w * s + x), 4);
        return big;
    }

    internal static SKBitmap FromRgba(int w, int h, byte[] rgba)
    {
        var bitmap = new SKBitmap(new SKImageInfo(w, h, SKColorType.Rgba8888, SKAlphaType.Premul));
        nint dst = bitmap.GetPixels();
        for (int y = 0; y < h; y++) Marshal.Copy(rgba, y * w * 4, dst + y * bitmap.RowBytes, w * 4);
        bitmap.NotifyPixelsChanged();
        return bitmap;
    }

    /// <summary>SkiaSharp 3 splits text drawing into a font (size, typeface) and a paint (colour).</summary>
    internal readonly record struct TextStyle(SKFont Font, SKPaint Paint)
    {
        public float Measure(string text) => Font.MeasureText(text);

        public void Draw(SKCanvas canvas, string text, float x, float baseline) => canvas.DrawText(text, x, baseline, SKTextAlign.Left, Font, Paint);
    }

    internal static void DrawCentered(SKCanvas canvas, TextStyle style, string text, float left, float width, float baseline)
    {
        float tw = style.Measure(text);
        style.Draw(canvas, text, left + Math.Max(0, (width - tw) / 2), baseline);
    }

    internal static void DrawColorBar(SKCanvas canvas, TextStyle text, ImageAttributionOptions o, int left, int top, int width)
    {
        var cmap = o.ColorMap ?? ColorMap.DefaultFor(o.Sign);
        using var fill = new SKPaint { IsAntialias = false };
        for (int x = 0; x < width; x++)
        {
            fill.Color = cmap.Map(width == 1 ? 1 : x / (double)(width - 1));
            canvas.DrawRect(left + x, top, 1, BarHeight, fill);
        }
        using var frame = new SKPaint { Color = SKColors.Black, Style = SKPaintStyle.Stroke, StrokeWidth = 1 };
        canvas.DrawRect(left + 0.5f, top + 0.5f, width - 1, BarHeight - 1, frame);
        (double lo, double hi) = o.Sign == VisualizeSign.All ? (-1.0, 1.0) : (0.0, 1.0);
        float baseline = top + BarHeight + BarLabelBand - 2;
        text.Draw(canvas, Format(lo), left, baseline);
        DrawCentered(canvas, text, Format((lo + hi) / 2), left, width, baseline);
        string right = Format(hi);
        text.Draw(canvas, right, left + width - text.Measure(right), baseline);
    }

    private static string Format(double v) => v.ToString("0.0", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Sum of channels as [H, W] doubles, accepting the shapes the class remarks list.</summary>
    private static (int H, int W, double[] Sum) SumChannels(NdArray<float> attr, ImageLayout layout)
    {
        var shape = DropBatch(attr.Shape, "Attributions");
        if (shape.Length == 2)
            return (shape[0], shape[1], Array.ConvertAll(attr.Data, v => (double)v));
        var (c, h, w) = Dims(shape, layout, "Attributions");
        var sum = new double[h * w];
        for (int k = 0; k < c; k++)
            for (int p = 0; p < h * w; p++)
                sum[p] += layout == ImageLayout.Chw ? attr.Data[k * h * w + p] : attr.Data[p * c + k];
        return (h, w, sum);
    }

    /// <summary>The image as interleaved RGB bytes, scaled from [0, 1] when no value exceeds 1 (Captum's rule).</summary>
    private static byte[] ImageBytes(NdArray<float> image, ImageLayout layout, int h, int w)
    {
        var shape = DropBatch(image.Shape, "Image");
        var (c, ih, iw) = shape.Length == 2 ? (1, shape[0], shape[1]) : Dims(shape, layout, "Image");
        if (ih != h || iw != w)
            throw new ArgumentException($"Image shape {NdArray<float>.FormatShape(image.Shape)} ({ih}×{iw}) does not match the attributions' {h}×{w}.", nameof(image));
        if (c is not (1 or 3 or 4))
            throw new ArgumentException($"Image shape {NdArray<float>.FormatShape(image.Shape)} has {c} channels; expected 1 (grey), 3 (RGB) or 4 (RGBA).", nameof(image));
        float max = image.Data.Length == 0 ? 0 : image.Data.Max();
        double scale = max <= 1 ? 255 : 1;
        var rgb = new byte[h * w * 3];
        for (int p = 0; p < h * w; p++)
        {
            for (int k = 0; k < 3; k++)
            {
                int ch = c == 1 ? 0 : k;
                float v = shape.Length == 2 ? image.Data[p] : layout == ImageLayout.Chw ? image.Data[ch * h * w + p] : image.Data[p * c + ch];
                rgb[3 * p + k] = (byte)Math.Clamp(Math.Round(v * scale), 0, 255);
            }
        }
        return rgb;
    }

    internal static int[] DropBatch(int[] shape, string what)
    {
        if (shape.Length == 4 && shape[0] == 1) return shape[1..];
        if (shape.Length is 2 or 3) return shape;
        throw new ArgumentException($"{what} shape {NdArray<float>.FormatShape(shape)} is not [H, W], [C, H, W], [H, W, C] or one of these with a leading batch of 1.");
    }

    internal static (int C, int H, int W) Dims(int[] shape, ImageLayout layout, string what) => layout switch
    {
        ImageLayout.Chw => (shape[0], shape[1], shape[2]),
        ImageLayout.Hwc => (shape[2], shape[0], shape[1]),
        _ => throw new ArgumentOutOfRangeException(nameof(layout), layout, $"{what}: unknown layout."),
    };

    /// <summary>
    /// Captum's outlier threshold: the smallest sorted value at which the running sum of the sorted
    /// (non-negative) values reaches <paramref name="percentile"/>% of their total; 0 when all are 0.
    /// </summary>
    internal static double CumulativeShareThreshold(double[] values, double percentile)
    {
        if (values.Length == 0) return 0;
        var sorted = (double[])values.Clone();
        Array.Sort(sorted);
        double total = 0;
        foreach (var v in sorted) total += v;
        double target = total * 0.01 * percentile, running = 0;
        for (int i = 0; i < sorted.Length; i++)
        {
            running += sorted[i];
            if (running >= target) return sorted[i];
        }
        return sorted[^1];
    }
}
