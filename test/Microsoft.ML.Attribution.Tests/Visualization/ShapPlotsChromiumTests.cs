using System.Diagnostics;
using Microsoft.ML.Attribution.Reports;
using Microsoft.ML.Attribution.Tests.Reports;
using Microsoft.ML.Attribution.Visualization;
using SkiaSharp;

namespace Microsoft.ML.Attribution.Tests.Visualization;

/// <summary>Headless Chromium screenshots (pixels, not only the DOM) of every new plot and of the ML.NET chain reports.</summary>
[TestClass]
public sealed class ShapPlotsChromiumTests
{
    private const string Chromium = "/usr/bin/chromium";

    /// <summary>Screenshots a page with the network disabled; returns the decoded bitmap and Chromium's stderr. With
    /// ATTRIBUTION_SCREENSHOTS set to a folder, the PNG is kept there as <paramref name="name"/>.png (how samples/images was made).</summary>
    internal static (SKBitmap Bitmap, string Err) Screenshot(string html, int width, int height, string name)
    {
        if (!File.Exists(Chromium)) Assert.Inconclusive($"{Chromium} is not installed (apt-get install -y --no-install-recommends chromium).");
        string dir = Path.Combine(Path.GetTempPath(), $"shot-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        string page = Path.Combine(dir, "page.html"), png = Path.Combine(dir, "page.png");
        File.WriteAllText(page, html);
        try
        {
            var start = new ProcessStartInfo(Chromium) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var a in new[] { "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", $"--user-data-dir={Path.Combine(dir, "profile")}", "--host-resolver-rules=MAP * ~NOTFOUND", "--hide-scrollbars",
                $"--window-size={width},{height}", $"--screenshot={png}", new Uri(page).AbsoluteUri })
                start.ArgumentList.Add(a);
            using var process = Process.Start(start)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(120_000))
            {
                process.Kill(entireProcessTree: true);
                Assert.Fail("Chromium did not finish within 120 s.");
            }
            _ = stdout.Result;
            var bitmap = SKBitmap.Decode(png);
            Assert.IsNotNull(bitmap, $"no screenshot; Chromium said: {stderr.Result}");
            if (Environment.GetEnvironmentVariable("ATTRIBUTION_SCREENSHOTS") is { Length: > 0 } keep && Directory.Exists(keep))
                File.Copy(png, Path.Combine(keep, name + ".png"), overwrite: true);
            return (bitmap, stderr.Result);
        }
        finally
        {
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
        }
    }

    /// <summary>Samples of the chart's red (#ff0051-ish), blue (#008bfb-ish) and dark (text, axes) pixels.</summary>
    internal static (int Red, int Blue, int Dark) Count(SKBitmap bitmap)
    {
        int red = 0, blue = 0, dark = 0;
        for (int y = 0; y < bitmap.Height; y += 2)
        {
            for (int x = 0; x < bitmap.Width; x += 2)
            {
                var c = bitmap.GetPixel(x, y);
                if (c.Red > 200 && c.Green < 120 && c.Blue < 160) red++;
                if (c.Blue > 200 && c.Red < 100 && c.Green < 190) blue++;
                if (c.Red + c.Green + c.Blue < 200) dark++;
            }
        }
        return (red, blue, dark);
    }

    private static string Page(string svg) => $"<!DOCTYPE html><html><body style=\"margin:0;background:#fff\">{svg}</body></html>";

    [TestMethod]
    [DataRow("force")]
    [DataRow("stacked-force")]
    [DataRow("dependence")]
    [DataRow("heatmap")]
    [DataRow("decision")]
    [DataRow("interactions")]
    public void EveryNewPlot_DrawsRedAndBlueMarksAndText_OnScreen(string plot)
    {
        var (x, a, interactions) = ShapPlotsTests.Data();
        var names = ShapPlotsTests.Names;
        string svg = plot switch
        {
            "force" => TabularCharts.ForcePlot(names, a.Row(3).ToArray(), 0.2, null, new() { Title = "Force plot" }),
            "stacked-force" => TabularCharts.StackedForcePlot(a, 0.2, names),
            "dependence" => TabularCharts.DependencePlot(x, a, names, 1),
            "heatmap" => TabularCharts.Heatmap(a, names, 0.2),
            "decision" => TabularCharts.DecisionPlot(a, names, 0.2),
            "interactions" => TabularCharts.InteractionSummary(interactions, names),
            _ => throw new ArgumentOutOfRangeException(nameof(plot)),
        };
        var (bitmap, _) = Screenshot(Page(svg), 760, 560, plot);
        using (bitmap)
        {
            var (red, blue, dark) = Count(bitmap);
            Assert.IsGreaterThan(30, dark, $"{plot}: text and axes drawn ({dark} dark samples)");
            Assert.IsGreaterThan(30, red, $"{plot}: red marks on screen ({red} samples)");
            // The interaction matrix of mean |·| is all non-negative: red shades only.
            if (plot != "interactions") Assert.IsGreaterThan(30, blue, $"{plot}: blue marks on screen ({blue} samples)");
        }
    }

    [TestMethod]
    public void AdultReport_OnScreen_HasAtMost20ImportanceRows_OnePerSourceColumn()
    {
        var (_, data, model) = MLNetReportTests.AdultFastTree();
        var report = AttributionReport.Generate(model, data, "Label", new AttributionReportOptions { TopK = 2, Title = "Adult income: one-hot + FastTree" });
        var doc = ReportChecks.Parse(report.Html);
        var bars = doc.Descendants().Where(e => (string?)e.Attribute("class") == "bar" && e.Ancestors().Any(p => (string?)p.Attribute("id") == "global")).ToArray();
        Assert.IsTrue(bars.Length is > 0 and <= 20, $"{bars.Length} bars");
        CollectionAssert.IsSubsetOf(bars.Select(b => (string)b.Attribute("data-feature")!).ToArray(), MLNetReportTests.AdultColumns);
        var (bitmap, err) = Screenshot(report.Html, 1280, 1600, "report-adult");
        using (bitmap)
        {
            Assert.IsFalse(err.Contains(":CONSOLE", StringComparison.Ordinal), err);
            var (red, blue, dark) = Count(bitmap);
            Assert.IsGreaterThan(500, red, $"bars and dots drawn ({red} red samples)");
            Assert.IsGreaterThan(100, blue, $"negative attributions drawn ({blue} blue samples)");
            Assert.IsGreaterThan(500, dark, $"text drawn ({dark} dark samples)");
        }
    }

    [TestMethod]
    public void SdcaTextReport_OnScreen_IsDrawn()
    {
        var (_, data, model) = MLNetReportTests.ReviewsSdca();
        var report = AttributionReport.Generate(model, data, "Label", new AttributionReportOptions { TopK = 2, Title = "Reviews: FeaturizeText + SDCA" });
        var (bitmap, err) = Screenshot(report.Html, 1280, 1600, "report-sdca-text");
        using (bitmap)
        {
            Assert.IsFalse(err.Contains(":CONSOLE", StringComparison.Ordinal), err);
            var (red, blue, dark) = Count(bitmap);
            Assert.IsGreaterThan(500, red, $"{red} red samples");
            Assert.IsGreaterThan(100, blue, $"{blue} blue samples");
            Assert.IsGreaterThan(500, dark, $"{dark} dark samples");
        }
    }
}
