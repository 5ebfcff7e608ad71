using Microsoft.ML.Attribution.Tensors;
using Microsoft.ML.Attribution.Visualization;
using SkiaSharp;

namespace Microsoft.ML.Attribution.Tests.Visualization;

/// <summary>The multi-panel figure and the two-sign (All) normalisation, read back as pixels.</summary>
[TestClass]
public sealed class ImageAttributionFigureTests
{
    private const int H = 8, W = 8;

    /// <summary>
    /// Left half positive, right half negative and 1.5× larger: the signed total is negative, so a threshold taken from
    /// signed values (the old bug) was the most negative value, ≤ 0, and the whole map drew as zero (blank).
    /// </summary>
    internal static NdArray<float> TwoSignMap(float scale = 1)
    {
        var a = new NdArray<float>(1, H, W);
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) a.Data[y * W + x] = (x < W / 2 ? 1 : -1.5f) * scale * (1 + 0.1f * y);
        return a;
    }

    private static NdArray<float> Image(Func<int, int, float> f)
    {
        var a = new NdArray<float>(3, H, W);
        for (int k = 0; k < 3; k++)
            for (int y = 0; y < H; y++)
                for (int x = 0; x < W; x++) a.Data[(k * H + y) * W + x] = f(y, x);
        return a;
    }

    [TestMethod]
    public void AllSign_TwoSignMapWithNegativeTotal_IsNotBlank()
    {
        var norm = ImageAttributionRenderer.Normalize(TwoSignMap(), VisualizeSign.All, 2);
        // Captum: threshold from |values|: the running sum of the sorted magnitudes (total 108) first reaches 98 % of
        // it at the largest magnitude, 2.55 (row 7 of the negative half), so every pixel is value / 2.55. (Signed,
        // the threshold came out −2.55.)
        for (int y = 0; y < H; y++)
        {
            Assert.AreEqual((1 + 0.1f * y) / 2.55f, norm.Data[y * W], 1e-5f, $"positive pixel, row {y}");
            Assert.AreEqual(Math.Max(-1.5f * (1 + 0.1f * y) / 2.55f, -1f), norm.Data[y * W + W - 1], 1e-5f, $"negative pixel, row {y}");
        }

        using var bmp = SKBitmap.Decode(ImageAttributionRenderer.RenderPng(TwoSignMap(), null, new() { Sign = VisualizeSign.All }));
        int green = 0, red = 0;
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++)
            {
                var c = bmp.GetPixel(x, y);
                if (c.Green > c.Red + 30) green++;
                if (c.Red > c.Green + 30) red++;
            }
        Assert.AreEqual(W * H / 2, green, "every positive pixel is green");
        Assert.AreEqual(W * H / 2, red, "every negative pixel is red");
    }

    private static ImageFigureRow Row(string label, NdArray<float> attributions, NdArray<float> image) =>
        new(label, image, [new(ImageVisualizationMethod.OriginalImage), new(ImageVisualizationMethod.HeatMap, attributions), new(ImageVisualizationMethod.BlendedHeatMap, attributions)]);

    [TestMethod]
    public void Figure_PlacesEachCellInItsGridSlot_WithOneColourBar()
    {
        var dark = Image((_, _) => 0.25f);
        var bright = Image((_, _) => 0.75f);
        var positiveOnly = new NdArray<float>(1, H, W);
        Array.Fill(positiveOnly.Data, 1f);
        var rows = new[] { Row("two signs", TwoSignMap(), dark), Row("positive", positiveOnly, bright) };
        var options = new ImageFigureOptions { ColumnTitles = ["original", "heat map", "blended"], Title = "Figure", Scale = 4 };
        using var bmp = ImageAttributionFigure.RenderBitmap(rows, options);
        var layout = ImageAttributionFigure.LayoutOf(rows, options);
        Assert.AreEqual((layout.Width, layout.Height), (bmp.Width, bmp.Height));
        Assert.AreEqual(W * 4, layout.CellWidth);
        Assert.IsGreaterThan(layout.CellWidth, layout.ColumnWidth, "columns widen to fit titles wider than the 32-pixel cells");
        SKColor At(int row, int column, int x, int y)
        {
            var (ox, oy) = layout.CellOrigin(row, column);
            return bmp.GetPixel(ox + x * 4 + 2, oy + y * 4 + 2);
        }
        // Original: the grey levels of each row's image.
        Assert.AreEqual(new SKColor(64, 64, 64), At(0, 0, 3, 3));
        Assert.AreEqual(new SKColor(191, 191, 191), At(1, 0, 3, 3));
        // Heat map, row 0: green left, red right (the All-sign map is not blank); row 1: saturated green everywhere.
        var positive = At(0, 1, 1, H - 1);
        Assert.IsTrue(positive.Green > positive.Red + 60, $"positive pixel is green, got {positive}");
        Assert.AreEqual(new SKColor(255, 0, 0), At(0, 1, W - 1, H - 1));
        Assert.AreEqual(new SKColor(0, 128, 0), At(1, 1, 4, 4));
        // Blended: half heat map, half the greyscale image.
        var blended = At(1, 2, 4, 4);
        Assert.AreEqual((byte)Math.Round(0.5 * 0 + 0.5 * 191), blended.Red);
        Assert.AreEqual((byte)Math.Round(0.5 * 128 + 0.5 * 191), blended.Green);
        // The gaps between cells are white; the colour bar runs red → white → green under the grid.
        var (gx, gy) = layout.CellOrigin(0, 1);
        Assert.AreEqual(SKColors.White, bmp.GetPixel(gx - 2, gy + 5));
        int barY = layout.BarTop + ImageAttributionRenderer.BarHeight / 2;
        var left = bmp.GetPixel(layout.GridLeft + 2, barY);
        var right = bmp.GetPixel(layout.GridLeft + layout.BarWidth - 3, barY);
        Assert.IsTrue(left.Red > 200 && left.Green < 60, $"bar starts red, got {left}");
        Assert.IsTrue(right.Green > 100 && right.Red < 60, $"bar ends green, got {right}");
        // Titles and labels put dark pixels above the grid and left of it.
        Assert.IsTrue(CountDark(bmp, 0, 0, bmp.Width, layout.GridTop) > 20, "titles drawn");
        Assert.IsTrue(CountDark(bmp, 0, layout.GridTop, layout.GridLeft, layout.CellHeight * 2) > 20, "row labels drawn");
    }

    private static int CountDark(SKBitmap bmp, int x0, int y0, int w, int h)
    {
        int n = 0;
        for (int y = y0; y < Math.Min(bmp.Height, y0 + h); y++)
            for (int x = x0; x < Math.Min(bmp.Width, x0 + w); x++)
            {
                var c = bmp.GetPixel(x, y);
                if (c.Red + c.Green + c.Blue < 300) n++;
            }
        return n;
    }

    [TestMethod]
    public void Figure_RowsOfDifferentLengths_AndMissingAttributions_NameTheRow()
    {
        var image = Image((_, _) => 0.5f);
        var ok = Row("a", TwoSignMap(), image);
        var shortRow = new ImageFigureRow("b", image, [new(ImageVisualizationMethod.OriginalImage)]);
        var e = Assert.ThrowsExactly<ArgumentException>(() => ImageAttributionFigure.RenderPng([ok, shortRow]));
        StringAssert.Contains(e.Message, "Row 'b' has 1 cells");
        var noAttr = new ImageFigureRow("c", image, [new(ImageVisualizationMethod.HeatMap), new(ImageVisualizationMethod.HeatMap), new(ImageVisualizationMethod.HeatMap)]);
        e = Assert.ThrowsExactly<ArgumentException>(() => ImageAttributionFigure.RenderPng([ok, noAttr]));
        StringAssert.Contains(e.Message, "Row 'c', column 0");
        var masked = new ImageFigureRow("d", image, [new(ImageVisualizationMethod.MaskedImage, TwoSignMap()), new(ImageVisualizationMethod.HeatMap, TwoSignMap()), new(ImageVisualizationMethod.HeatMap, TwoSignMap())]);
        e = Assert.ThrowsExactly<ArgumentException>(() => ImageAttributionFigure.RenderPng([masked]));
        StringAssert.Contains(e.Message, "Row 'd', column 0: Method MaskedImage cannot show both signs");
    }
}
