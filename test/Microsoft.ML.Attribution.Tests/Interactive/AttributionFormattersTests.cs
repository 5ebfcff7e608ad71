using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using Microsoft.DotNet.Interactive.Formatting;
using Microsoft.ML.Attribution.Interactive;
using Microsoft.ML.Attribution.Methods;
using Microsoft.ML.Attribution.Reports;
using Microsoft.ML.Attribution.Tensors;
using Microsoft.ML.Attribution.Visualization;

namespace Microsoft.ML.Attribution.Tests.Interactive;

[TestClass]
public sealed class AttributionFormattersTests
{
    [ClassInitialize]
    public static void Register(TestContext _) => AttributionFormatters.Register();

    [TestMethod]
    public void SvgChart_DisplaysAsTheSvgItself()
    {
        string svg = TabularCharts.ImportanceBarChart(["a", "b"], [0.5, 0.25]);
        Assert.AreEqual(svg, new SvgChart(svg).ToDisplayString(AttributionFormatters.MimeType));
    }

    [TestMethod]
    public void SvgChart_RejectsTextThatIsNotSvg_NamingWhatItGot()
    {
        var e = Assert.ThrowsExactly<ArgumentException>(() => new SvgChart("<html><body/></html>"));
        StringAssert.Contains(e.Message, "<html>");
        _ = new SvgChart("<?xml version=\"1.0\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\"/>"); // a declaration first is fine
    }

    [TestMethod]
    public void AttributionResult_ShowsShapeTargetsDelta_AndOneBarPerSlotWithItsMeanAbsolute()
    {
        var attributions = new NdArray<float>([1f, -2f, 0.5f, 3f, 0f, -0.5f], 2, 3);
        var result = new AttributionResult(attributions, [1, 1], [0.001f, -0.25f]);
        string html = result.ToDisplayString(AttributionFormatters.MimeType);
        StringAssert.Contains(html, "[2, 3]");
        StringAssert.Contains(WebUtility.HtmlDecode(html), "output 1 × 2");
        StringAssert.Contains(html, "max |δ| 0.25");
        var bars = Regex.Matches(html, "data-feature=\"(slot \\d)\" data-value=\"([^\"]+)\"")
            .ToDictionary(m => m.Groups[1].Value, m => double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture));
        Assert.HasCount(3, bars);
        Assert.AreEqual(2.0, bars["slot 0"], 1e-6);   // (|1| + |3|) / 2
        Assert.AreEqual(1.0, bars["slot 1"], 1e-6);   // (|−2| + |0|) / 2
        Assert.AreEqual(0.5, bars["slot 2"], 1e-6);
    }

    [TestMethod]
    public void AttributionResult_WiderThanTheChartLimit_ShowsTheSummaryOnly()
    {
        int slots = AttributionFormatters.MaxChartedSlots + 1;
        var result = new AttributionResult(new NdArray<float>(1, slots), [0]);
        string html = result.ToDisplayString(AttributionFormatters.MimeType);
        StringAssert.Contains(html, $"[1, {slots}]");
        Assert.DoesNotContain("<svg", html);
    }

    [TestMethod]
    public void Report_IsASandboxedFrameWhoseSrcdocIsThePage()
    {
        var (rows, labels, _) = Reports.ReportChecks.WineStandardized();
        var report = AttributionReport.Generate(Reports.ReportChecks.WineMlpPath, rows, labels);
        string html = report.ToDisplayString(AttributionFormatters.MimeType);
        StringAssert.StartsWith(html, "<iframe sandbox=\"allow-scripts\"");
        string srcdoc = Regex.Match(html, "srcdoc=\"([^\"]*)\"").Groups[1].Value;
        Assert.AreEqual(report.Html, WebUtility.HtmlDecode(srcdoc));
    }

    [TestMethod]
    public void PngImage_IsADataUri_AndNonPngBytesAreRefused()
    {
        byte[] png = [0x89, (byte)'P', (byte)'N', (byte)'G', 13, 10, 26, 10, 1, 2, 3];
        string html = new PngImage(png, "a <caption>").ToDisplayString(AttributionFormatters.MimeType);
        StringAssert.Contains(html, "src=\"data:image/png;base64," + Convert.ToBase64String(png) + "\"");
        StringAssert.Contains(html, "<figcaption>a &lt;caption&gt;</figcaption>");
        var e = Assert.ThrowsExactly<ArgumentException>(() => AttributionFormatters.ToHtml(new PngImage([1, 2, 3])));
        StringAssert.Contains(e.Message, "3 bytes");
    }

    [TestMethod]
    public void TextView_IsTheRenderersFragment()
    {
        var records = new[] { new TextAttributionRecord(["you", "fool"], [0.2f, 0.9f], null, "toxic", 0.9, "toxic", 1.1) };
        var options = new TextVisualizationOptions { Legend = false };
        Assert.AreEqual(TextAttributionRenderer.RenderFragment(records, options),
            new TextAttributionView(records, options).ToDisplayString(AttributionFormatters.MimeType));
    }
}
