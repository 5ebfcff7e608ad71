using System.Diagnostics;
using System.Text.RegularExpressions;
using Microsoft.ML.Attribution.Reports;
using SkiaSharp;

namespace Microsoft.ML.Attribution.Tests.Reports;

/// <summary>
/// Opens reports in headless Chromium (installed by .ci/run where apt is available): the page loads with no console
/// message (the CSP turns any network load into one), every image decodes in the browser (the page's own self-check
/// writes <c>data-images="ok:N"</c>), the importance table lists every feature, and the screenshot is not blank.
/// </summary>
[TestClass]
public sealed class ReportChromiumTests
{
    private const string Chromium = "/usr/bin/chromium";

    private static string RequireChromium()
    {
        if (!File.Exists(Chromium)) Assert.Inconclusive($"{Chromium} is not installed (apt-get install -y --no-install-recommends chromium).");
        return Chromium;
    }

    /// <summary>Runs Chromium headless on a file with the network disabled; returns stdout and stderr.</summary>
    private static (string Out, string Err) Run(string htmlPath, params string[] extra)
    {
        string profile = Path.Combine(Path.GetTempPath(), $"chromium-{Guid.NewGuid():N}");
        Directory.CreateDirectory(profile);
        try
        {
            var start = new ProcessStartInfo(RequireChromium()) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var a in new[] { "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", $"--user-data-dir={profile}", "--host-resolver-rules=MAP * ~NOTFOUND",
                "--enable-logging=stderr", "--v=0" }.Concat(extra).Append(new Uri(htmlPath).AbsoluteUri))
                start.ArgumentList.Add(a);
            using var process = Process.Start(start)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(120_000))
            {
                process.Kill(entireProcessTree: true);
                Assert.Fail("Chromium did not finish within 120 s.");
            }
            return (stdout.Result, stderr.Result);
        }
        finally
        {
            try { Directory.Delete(profile, recursive: true); } catch (IOException) { }
        }
    }

    private static void AssertNoConsoleMessages(string stderr)
    {
        var console = stderr.Split('\n').Where(l => l.Contains(":CONSOLE", StringComparison.Ordinal) || l.Contains("Uncaught", StringComparison.Ordinal)).ToArray();
        Assert.IsEmpty(console, "console messages:\n" + string.Join("\n", console));
    }

    private static string Save(AttributionReport report)
    {
        string path = Path.Combine(Path.GetTempPath(), $"report-{Guid.NewGuid():N}.html");
        report.Save(path);
        return path;
    }

    [TestMethod]
    public void WineReport_LoadsOffline_WithEveryFeature_AndANonBlankScreenshot()
    {
        RequireChromium();
        var (rows, labels, names) = ReportChecks.WineStandardized();
        string path = Save(AttributionReport.Generate(ReportChecks.WineMlpPath, rows, labels, new AttributionReportOptions { FeatureNames = names, TopK = 2 }));
        string png = Path.ChangeExtension(path, ".png");
        try
        {
            var (dom, err) = Run(path, "--dump-dom");
            AssertNoConsoleMessages(err);
            StringAssert.Contains(dom, "data-images=\"ok:0\"", "the self-check script ran (allowed by its CSP hash) and found no broken image");
            foreach (var name in names)
                Assert.IsTrue(Regex.IsMatch(dom, $"<tr data-feature=\"{Regex.Escape(System.Net.WebUtility.HtmlEncode(name))}\">"), $"'{name}' in the rendered importance table");

            var (_, shotErr) = Run(path, $"--screenshot={png}", "--window-size=1280,2000", "--hide-scrollbars");
            AssertNoConsoleMessages(shotErr);
            using var bitmap = SKBitmap.Decode(png);
            Assert.IsNotNull(bitmap, $"no screenshot at {png}");
            Assert.AreEqual(1280, bitmap.Width);
            int dark = 0, coloured = 0;
            for (int y = 0; y < bitmap.Height; y += 2)
            {
                for (int x = 0; x < bitmap.Width; x += 2)
                {
                    var c = bitmap.GetPixel(x, y);
                    if (c.Red + c.Green + c.Blue < 200) dark++;
                    if (c.Red > 200 && c.Green < 80 && c.Blue < 140) coloured++; // the charts' red bars
                }
            }
            Assert.IsTrue(dark > 500, $"text drawn ({dark} dark samples)");
            Assert.IsTrue(coloured > 500, $"bars drawn ({coloured} red samples)");
        }
        finally
        {
            File.Delete(path);
            File.Delete(png);
        }
    }

    [TestMethod]
    public void ImageReport_EveryImageDecodesInTheBrowser()
    {
        RequireChromium();
        var c = Support.Fixtures.Case("pixels_occlusion_w133_s122");
        var report = AttributionReport.Generate(c.ModelPath, c.Input, null, new AttributionReportOptions { TopK = 2, OriginalImages = c.Input });
        int images = ReportChecks.AssertImagesDecode(report.Html);
        string path = Save(report);
        try
        {
            var (dom, err) = Run(path, "--dump-dom");
            AssertNoConsoleMessages(err);
            StringAssert.Contains(dom, $"data-images=\"ok:{images}\"");
        }
        finally
        {
            File.Delete(path);
        }
    }

    [TestMethod]
    public void TwoSignImageMap_InAllMode_IsNotBlankOnScreen()
    {
        RequireChromium();
        // The map's signed total is negative: thresholding signed values (the old bug) drew every pixel white.
        var map = Visualization.ImageAttributionFigureTests.TwoSignMap();
        byte[] png = Microsoft.ML.Attribution.Visualization.ImageAttributionRenderer.RenderPng(map, null,
            new() { Sign = Microsoft.ML.Attribution.Visualization.VisualizeSign.All, Scale = 40 });
        string path = Path.Combine(Path.GetTempPath(), $"signs-{Guid.NewGuid():N}.html");
        string shot = Path.ChangeExtension(path, ".png");
        File.WriteAllText(path, $"<!DOCTYPE html><html><body style=\"margin:0;background:#fff\"><img src=\"data:image/png;base64,{Convert.ToBase64String(png)}\" /></body></html>");
        try
        {
            var (_, err) = Run(path, $"--screenshot={shot}", "--window-size=400,400", "--hide-scrollbars");
            AssertNoConsoleMessages(err);
            using var bitmap = SKBitmap.Decode(shot);
            Assert.IsNotNull(bitmap, $"no screenshot at {shot}");
            int green = 0, red = 0;
            for (int y = 0; y < 320; y += 4)
            {
                for (int x = 0; x < 320; x += 4)
                {
                    var c = bitmap.GetPixel(x, y);
                    if (c.Green > c.Red + 30) green++;
                    if (c.Red > c.Green + 30) red++;
                }
            }
            // 80 × 80 samples over the 320 × 320 picture: the left half green, the right half red.
            Assert.IsTrue(green > 2500, $"positive half green on screen ({green} samples)");
            Assert.IsTrue(red > 2500, $"negative half red on screen ({red} samples)");
        }
        finally
        {
            File.Delete(path);
            File.Delete(shot);
        }
    }

    [TestMethod]
    public void APageThatLoadsFromTheNetwork_IsCaught()
    {
        RequireChromium();
        // The checks must be able to fail: the same CSP with one remote image logs a console violation.
        var (rows, labels, names) = ReportChecks.WineStandardized();
        string html = AttributionReport.Generate(ReportChecks.WineMlpPath, rows, labels, new AttributionReportOptions { FeatureNames = names, MaxRows = 10 }).Html
            .Replace("<h1>", "<img src=\"http://example.invalid/x.png\" /><h1>", StringComparison.Ordinal);
        string path = Path.Combine(Path.GetTempPath(), $"report-{Guid.NewGuid():N}.html");
        File.WriteAllText(path, html);
        try
        {
            var (dom, err) = Run(path, "--dump-dom");
            Assert.IsTrue(err.Contains(":CONSOLE", StringComparison.Ordinal), "a CSP violation is logged");
            StringAssert.Contains(dom, "data-images=\"broken:1/1\"");
        }
        finally
        {
            File.Delete(path);
        }
    }
}
