using Microsoft.ML.Attribution.Tensors;
using Microsoft.ML.Attribution.Visualization;
using SkiaSharp;

namespace Microsoft.ML.Attribution.Tests.Visualization;

/// <summary>Pixels of rendered PNGs, decoded with SkiaSharp, against what the attributions say they must show.</summary>
[TestClass]
public sealed class ImageAttributionRendererTests
{
    private const int H = 10, W = 12;

    private static SKBitmap Decode(byte[] png) => SKBitmap.Decode(png) ?? throw new AssertFailedException("PNG did not decode.");

    /// <summary>[C, H, W] attributions from a function of (channel, y, x).</summary>
    private static NdArray<float> Attr(int c, Func<int, int, int, float> f)
    {
        var a = new NdArray<float>(c, H, W);
        for (int k = 0; k < c; k++)
            for (int y = 0; y < H; y++)
                for (int x = 0; x < W; x++) a.Data[(k * H + y) * W + x] = f(k, y, x);
        return a;
    }

    private static NdArray<float> GreyImage(Func<int, int, float> f) => Attr(3, (_, y, x) => f(y, x));

    private static int Darkness(SKColor c) => 3 * 255 - c.Red - c.Green - c.Blue;

    [TestMethod]
    public void HeatMap_HottestPixel_IsWhereTheAttributionPeaks()
    {
        // Smooth bump peaking at (6, 3), split over three channels that only sum to the peak.
        var attr = Attr(3, (k, y, x) => (float)Math.Exp(-((y - 6) * (y - 6) + (x - 3) * (x - 3)) / 8.0) / 3 + (k - 1) * 0.01f);
        using var bmp = Decode(ImageAttributionRenderer.RenderPng(attr, null, new() { Sign = VisualizeSign.AbsoluteValue, OutlierPercent = 0 }));
        Assert.AreEqual(W, bmp.Width);
        Assert.AreEqual(H, bmp.Height);
        var (bx, by, best) = (-1, -1, -1);
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++)
                if (Darkness(bmp.GetPixel(x, y)) > best) (bx, by, best) = (x, y, Darkness(bmp.GetPixel(x, y)));
        Assert.AreEqual((3, 6), (bx, by));
        Assert.AreEqual(ColorMap.Blues.Map(1), bmp.GetPixel(3, 6));
    }

    [TestMethod]
    public void HeatMap_HwcLayoutAndScale_PlacePixelsLikeChw()
    {
        var chw = Attr(2, (k, y, x) => y == 2 && x == 9 ? 1 : 0);
        var hwc = new NdArray<float>(H, W, 2);
        for (int k = 0; k < 2; k++)
            for (int p = 0; p < H * W; p++) hwc.Data[p * 2 + k] = chw.Data[k * H * W + p];
        using var a = Decode(ImageAttributionRenderer.RenderPng(chw, null, new() { Scale = 3 }));
        using var b = Decode(ImageAttributionRenderer.RenderPng(hwc, null, new() { Scale = 3, Layout = ImageLayout.Hwc }));
        Assert.AreEqual(W * 3, a.Width);
        for (int y = 0; y < H * 3; y++)
            for (int x = 0; x < W * 3; x++)
            {
                Assert.AreEqual(a.GetPixel(x, y), b.GetPixel(x, y), $"pixel ({x}, {y})");
                bool hot = y / 3 == 2 && x / 3 == 9;
                Assert.AreEqual(hot ? ColorMap.Blues.Map(1) : ColorMap.Blues.Map(0), a.GetPixel(x, y), $"pixel ({x}, {y})");
            }
    }

    [TestMethod]
    public void NegativeSign_ShowsNoGreen_AndPositiveAttributionsAsBackground()
    {
        // Left half positive, right half negative with varying magnitude.
        var attr = Attr(1, (_, y, x) => x < W / 2 ? 1 + y : -(1 + x + y));
        using var bmp = Decode(ImageAttributionRenderer.RenderPng(attr, null, new() { Sign = VisualizeSign.Negative }));
        var background = ColorMap.Reds.Map(0);
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++)
            {
                var c = bmp.GetPixel(x, y);
                Assert.IsTrue(c.Green <= c.Red, $"pixel ({x}, {y}) = {c} is greenish");
                if (x < W / 2) Assert.AreEqual(background, c, $"positive pixel ({x}, {y})");
                else Assert.AreNotEqual(background, c, $"negative pixel ({x}, {y})");
            }
        // Larger magnitude → darker red.
        Assert.IsTrue(Darkness(bmp.GetPixel(W - 1, H - 1)) > Darkness(bmp.GetPixel(W / 2, 0)));
    }

    [TestMethod]
    public void AllSign_PositiveIsGreen_NegativeIsRed_ZeroIsWhite()
    {
        var attr = Attr(1, (_, y, x) => x == 0 ? 5 : x == 1 ? -5 : 0);
        using var bmp = Decode(ImageAttributionRenderer.RenderPng(attr, null, new() { Sign = VisualizeSign.All, OutlierPercent = 0 }));
        Assert.AreEqual(new SKColor(0, 128, 0), bmp.GetPixel(0, 4));
        Assert.AreEqual(new SKColor(255, 0, 0), bmp.GetPixel(1, 4));
        var zero = bmp.GetPixel(5, 4);
        Assert.IsTrue(zero.Red > 250 && zero.Green > 250 && zero.Blue > 250, $"zero shows as {zero}");
    }

    [TestMethod]
    public void AbsoluteValue_IgnoresSigns()
    {
        var attr = Attr(2, (k, y, x) => (float)((x * 7 + y * 3) % 11 - 5) * (k + 1));
        var flipped = attr.Clone();
        // Negate whole pixels (both channels), which flips the sign of the channel sum only.
        for (int p = 0; p < H * W; p += 3) { flipped.Data[p] = -attr.Data[p]; flipped.Data[H * W + p] = -attr.Data[H * W + p]; }
        var a = ImageAttributionRenderer.RenderPng(attr, null, new() { Sign = VisualizeSign.AbsoluteValue });
        var b = ImageAttributionRenderer.RenderPng(flipped, null, new() { Sign = VisualizeSign.AbsoluteValue });
        using var ba = Decode(a);
        using var bb = Decode(b);
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) Assert.AreEqual(ba.GetPixel(x, y), bb.GetPixel(x, y), $"pixel ({x}, {y})");
        var signed = ImageAttributionRenderer.RenderPng(flipped, null, new() { Sign = VisualizeSign.All });
        CollectionAssert.AreNotEqual(a, signed, "the signed map must differ, or the test proves nothing");
    }

    [TestMethod]
    public void OutlierClipping_SaturatesTheTopTwoPercentOfMass()
    {
        // 120 distinct magnitudes 1..120: total 7260; the threshold is the value where the running sum of the
        // sorted values first reaches 98% of it (7114.8): 1+…+119 = 7140 → threshold 119, so 119 and 120 saturate.
        var attr = Attr(1, (_, y, x) => y * W + x + 1);
        var norm = ImageAttributionRenderer.Normalize(attr, VisualizeSign.AbsoluteValue, 2);
        using var bmp = Decode(ImageAttributionRenderer.RenderPng(attr, null, new() { OutlierPercent = 2 }));
        for (int i = 0; i < H * W; i++)
        {
            float v = i + 1;
            Assert.AreEqual(v >= 119 ? 1f : v / 119f, norm.Data[i], 1e-6f, $"value {v}");
            bool saturated = bmp.GetPixel(i % W, i / W) == ColorMap.Blues.Map(1);
            Assert.AreEqual(v >= 119 || v / 119f >= 255f / 256, saturated, $"value {v}");
        }
        // Without outlier removal only the maximum saturates.
        var none = ImageAttributionRenderer.Normalize(attr, VisualizeSign.AbsoluteValue, 0);
        Assert.AreEqual(1, none.Data.Count(v => v == 1f));
    }

    [TestMethod]
    public void Normalize_NegativeSign_GivesMagnitudesInUnitRange_AndAllZeroGivesZeros()
    {
        var attr = Attr(1, (_, y, x) => x - 6f);
        var neg = ImageAttributionRenderer.Normalize(attr, VisualizeSign.Negative, 0);
        Assert.AreEqual(1f, neg.Data[0]);            // x = 0 → −6, the largest magnitude
        Assert.AreEqual(0f, neg.Data[W - 1]);        // positive → 0
        Assert.IsTrue(neg.Data.All(v => v >= 0 && v <= 1));
        var pos = ImageAttributionRenderer.Normalize(Attr(1, (_, _, _) => -1), VisualizeSign.Positive);
        Assert.IsTrue(pos.Data.All(v => v == 0));
    }

    [TestMethod]
    public void BlendedHeatMap_AtAlphaZero_IsTheOriginalImage()
    {
        var image = GreyImage((y, x) => 2 * (y * W + x) / 255f);
        var attr = Attr(3, (k, y, x) => x - y);
        using var bmp = Decode(ImageAttributionRenderer.RenderPng(attr, image, new() { Method = ImageVisualizationMethod.BlendedHeatMap, Sign = VisualizeSign.All, AlphaOverlay = 0 }));
        using var orig = Decode(ImageAttributionRenderer.RenderPng(attr, image, new() { Method = ImageVisualizationMethod.OriginalImage }));
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++)
            {
                byte expected = (byte)(2 * (y * W + x));
                Assert.AreEqual(new SKColor(expected, expected, expected), bmp.GetPixel(x, y), $"pixel ({x}, {y})");
                Assert.AreEqual(orig.GetPixel(x, y), bmp.GetPixel(x, y));
            }
        // At alpha 1 the blend is the heat map itself.
        using var full = Decode(ImageAttributionRenderer.RenderPng(attr, image, new() { Method = ImageVisualizationMethod.BlendedHeatMap, Sign = VisualizeSign.All, AlphaOverlay = 1 }));
        using var heat = Decode(ImageAttributionRenderer.RenderPng(attr, null, new() { Sign = VisualizeSign.All }));
        Assert.AreEqual(heat.GetPixel(7, 2), full.GetPixel(7, 2));
    }

    [TestMethod]
    public void MaskedImage_ZeroesPixelsWithoutAttribution_AndKeepsSaturatedOnes()
    {
        var image = Attr(3, (k, y, x) => k == 0 ? 0.8f : k == 1 ? 0.4f : 0.2f);
        var attr = Attr(1, (_, y, x) => x < 4 ? 0 : x == 11 ? 10 : 1);
        using var bmp = Decode(ImageAttributionRenderer.RenderPng(attr, image, new() { Method = ImageVisualizationMethod.MaskedImage, Sign = VisualizeSign.Positive, OutlierPercent = 0 }));
        for (int y = 0; y < H; y++)
        {
            for (int x = 0; x < 4; x++) Assert.AreEqual(SKColors.Black, bmp.GetPixel(x, y), $"pixel ({x}, {y})");
            Assert.AreEqual(new SKColor(204, 102, 51), bmp.GetPixel(11, y));
            Assert.AreEqual(new SKColor(20, 10, 5), bmp.GetPixel(5, y)); // 0.1 × (204, 102, 51), truncated
        }
    }

    [TestMethod]
    public void AlphaScaling_ShowsWhereAttributionIsZero_AndTheImageWhereSaturated()
    {
        var image = Attr(3, (k, y, x) => 0.2f);
        var attr = Attr(1, (_, y, x) => x == 0 ? 1 : 0);
        using var bmp = Decode(ImageAttributionRenderer.RenderPng(attr, image, new() { Method = ImageVisualizationMethod.AlphaScaling, OutlierPercent = 0 }));
        Assert.AreEqual(new SKColor(51, 51, 51), bmp.GetPixel(0, 3));
        Assert.AreEqual(SKColors.White, bmp.GetPixel(5, 3));
    }

    [TestMethod]
    public void MaskedAndAlphaScaling_RejectBothSigns_AndImageMethodsNeedTheImage()
    {
        var attr = Attr(1, (_, y, x) => x);
        var image = GreyImage((y, x) => 0.5f);
        var ex = Assert.ThrowsExactly<ArgumentException>(() => ImageAttributionRenderer.RenderPng(attr, image, new() { Method = ImageVisualizationMethod.MaskedImage, Sign = VisualizeSign.All }));
        StringAssert.Contains(ex.Message, "MaskedImage");
        Assert.ThrowsExactly<ArgumentException>(() => ImageAttributionRenderer.RenderPng(attr, null, new() { Method = ImageVisualizationMethod.BlendedHeatMap }));
        var bad = new NdArray<float>(3, H, W + 1);
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => ImageAttributionRenderer.RenderPng(attr, bad, new() { Method = ImageVisualizationMethod.OriginalImage })).Message, "[3, 10, 13]");
    }

    [TestMethod]
    public void Multiple_PlacesPanelsSideBySide_WithTitleAndColorBarBands()
    {
        var image = GreyImage((y, x) => 0.5f);
        var attr = Attr(1, (_, y, x) => x == 0 && y == 0 ? 1 : 0);
        var panels = new ImageAttributionOptions[]
        {
            new() { Method = ImageVisualizationMethod.OriginalImage, Title = "Original" },
            new() { Method = ImageVisualizationMethod.HeatMap, Sign = VisualizeSign.Positive, Title = "<Positive>", ShowColorBar = true, OutlierPercent = 0 },
        };
        using var bmp = Decode(ImageAttributionRenderer.RenderMultiplePng(attr, image, panels));
        Assert.AreEqual(2 * W + 8, bmp.Width);
        Assert.IsTrue(bmp.Height > H + 20 + 10, $"height {bmp.Height} leaves no room for title and colour bar");
        // Panel 1 starts below the 20 px title band; panel 2's hot pixel is its top-left.
        Assert.AreEqual(new SKColor(128, 128, 128), bmp.GetPixel(0, 20));
        Assert.AreEqual(ColorMap.Greens.Map(1), bmp.GetPixel(W + 8, 20));
        // The colour bar runs from the map's 0 (left) to its 1 (right) under panel 2 only.
        int barY = 20 + H + 4 + 5;
        Assert.AreEqual(ColorMap.Greens.Map((W - 2) / (W - 1.0)), bmp.GetPixel(2 * W + 8 - 2, barY));
        Assert.AreEqual(ColorMap.Greens.Map(1 / (W - 1.0)), bmp.GetPixel(W + 8 + 1, barY));
        Assert.AreEqual(SKColors.White, bmp.GetPixel(W / 2, barY));
    }

    [TestMethod]
    public void ImageFromBitmap_RoundTripsThroughOriginalImage()
    {
        using var src = new SKBitmap(W, H);
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) src.SetPixel(x, y, new SKColor((byte)(x * 20), (byte)(y * 25), 7));
        var image = ImageAttributionRenderer.ImageFromBitmap(src, ImageLayout.Hwc);
        CollectionAssert.AreEqual(new[] { H, W, 3 }, image.Shape);
        using var bmp = Decode(ImageAttributionRenderer.RenderPng(new NdArray<float>(H, W), image, new() { Method = ImageVisualizationMethod.OriginalImage, Layout = ImageLayout.Hwc }));
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) Assert.AreEqual(src.GetPixel(x, y), bmp.GetPixel(x, y));
    }

    [TestMethod]
    public void ColorMaps_MatchMatplotlibAnchors()
    {
        Assert.AreEqual(new SKColor(0xf7, 0xfc, 0xf5), ColorMap.Greens.Map(0));
        Assert.AreEqual(new SKColor(0x00, 0x44, 0x1b), ColorMap.Greens.Map(1));
        Assert.AreEqual(new SKColor(0x67, 0x00, 0x0d), ColorMap.Reds.Map(1));
        Assert.AreEqual(new SKColor(0x08, 0x30, 0x6b), ColorMap.Blues.Map(1));
        // 0.5 falls in bin 128 of 256, just past white toward green.
        var mid = ColorMap.RedWhiteGreen.Map(0.5);
        Assert.IsTrue(mid.Red >= 253 && mid.Green >= 254 && mid.Blue >= 253 && mid.Red > mid.Green - 2, mid.ToString());
    }
}
