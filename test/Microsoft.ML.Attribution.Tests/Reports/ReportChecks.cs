using System.Text.Json;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using Microsoft.ML.Attribution.Tensors;
using SkiaSharp;

namespace Microsoft.ML.Attribution.Tests.Reports;

/// <summary>Structural checks of report pages, and the data the report tests share.</summary>
internal static partial class ReportChecks
{
    public static string RepoRoot
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "Attribution.sln"))) return dir.FullName;
            throw new InvalidOperationException($"No Attribution.sln above {AppContext.BaseDirectory}.");
        }
    }

    public static string WineMlpPath => Path.Combine(AppContext.BaseDirectory, "Fixtures", "wine_mlp", "model.onnx");

    /// <summary>All 178 wine rows standardised as the wine MLP was trained, their labels, and the feature names.</summary>
    public static (NdArray<float> Rows, float[] Labels, string[] Names) WineStandardized()
    {
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(RepoRoot, "samples", "data", "wine_standardization.json")));
        var names = json.RootElement.GetProperty("feature_names").EnumerateArray().Select(e => e.GetString()!).ToArray();
        var mean = json.RootElement.GetProperty("mean").EnumerateArray().Select(e => e.GetDouble()).ToArray();
        var std = json.RootElement.GetProperty("std").EnumerateArray().Select(e => e.GetDouble()).ToArray();
        var lines = File.ReadAllLines(Path.Combine(AppContext.BaseDirectory, "Data", "wine.csv")).Skip(1).Where(l => l.Length > 0).ToArray();
        var rows = new NdArray<float>(lines.Length, 13);
        var labels = new float[lines.Length];
        for (int r = 0; r < lines.Length; r++)
        {
            var cells = lines[r].Split(',').Select(c => double.Parse(c, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
            for (int j = 0; j < 13; j++) rows.Data[r * 13 + j] = (float)((cells[j] - mean[j]) / std[j]);
            labels[r] = (float)cells[13];
        }
        return (rows, labels, names);
    }

    /// <summary>The page as XML: it must be well-formed once the HTML doctype is removed.</summary>
    public static XDocument Parse(string html)
    {
        StringAssert.StartsWith(html, "<!DOCTYPE html>");
        return XDocument.Parse(html["<!DOCTYPE html>".Length..]);
    }

    public static IEnumerable<XElement> Elements(XDocument doc, string localName) => doc.Descendants().Where(e => e.Name.LocalName == localName);

    public static XElement ById(XDocument doc, string id) =>
        doc.Descendants().SingleOrDefault(e => (string?)e.Attribute("id") == id) ?? throw new AssertFailedException($"No element with id '{id}'.");

    /// <summary>Feature names in the importance table, in table order.</summary>
    public static string[] ImportanceFeatures(XDocument doc) =>
        Elements(doc, "tr").Where(tr => tr.Ancestors().Any(a => (string?)a.Attribute("id") == "importance-table"))
            .Select(tr => (string?)tr.Attribute("data-feature")).OfType<string>().ToArray();

    /// <summary>
    /// Nothing is loaded from anywhere: every src/href is a data: PNG or a fragment link, no CSS url(), no
    /// http(s):// anywhere except XML namespace declarations, a CSP meta tag, and unique element ids.
    /// </summary>
    public static void AssertSelfContained(string html)
    {
        foreach (Match m in UrlAttribute().Matches(html))
        {
            string value = m.Groups[2].Value;
            Assert.IsTrue(value.StartsWith("data:image/png;base64,", StringComparison.Ordinal) || value.StartsWith('#'),
                $"{m.Groups[1].Value}=\"{value[..Math.Min(60, value.Length)]}\" would load something");
        }
        foreach (Match m in HttpReference().Matches(html))
        {
            string before = html[Math.Max(0, m.Index - 8)..m.Index];
            Assert.IsTrue(before.EndsWith("xmlns=\"", StringComparison.Ordinal), $"network reference {m.Value} after '{before}'");
        }
        Assert.DoesNotMatchRegex(new Regex(@"url\((?!#)"), html, "CSS url() other than a fragment");
        Assert.DoesNotMatchRegex(new Regex("=\"//"), html, "protocol-relative reference");
        Assert.DoesNotMatchRegex(new Regex(@"<(link|iframe|object|embed)\b"), html);
        var doc = Parse(html);
        var csp = Elements(doc, "meta").Single(m => (string?)m.Attribute("http-equiv") == "Content-Security-Policy");
        Assert.StartsWith("default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'sha256-", (string)csp.Attribute("content")!);
        var ids = doc.Descendants().Select(e => (string?)e.Attribute("id")).OfType<string>().ToArray();
        var repeated = ids.GroupBy(i => i).Where(g => g.Count() > 1).Select(g => g.Key).ToArray();
        Assert.IsEmpty(repeated, $"repeated ids: {string.Join(", ", repeated)}");
    }

    /// <summary>Every img is an inline PNG that SkiaSharp decodes; returns how many there are.</summary>
    public static int AssertImagesDecode(string html)
    {
        var images = Elements(Parse(html), "img").ToArray();
        foreach (var img in images)
        {
            string src = (string?)img.Attribute("src") ?? throw new AssertFailedException("img without src");
            StringAssert.StartsWith(src, "data:image/png;base64,");
            var bytes = Convert.FromBase64String(src["data:image/png;base64,".Length..]);
            CollectionAssert.AreEqual(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, bytes[..4], "PNG signature");
            using var bitmap = SKBitmap.Decode(bytes);
            Assert.IsNotNull(bitmap, "SkiaSharp could not decode an inline PNG");
            Assert.IsTrue(bitmap.Width > 0 && bitmap.Height > 0);
        }
        return images.Length;
    }

    [GeneratedRegex("\\b(src|href|xlink:href|action|poster|data)=\"([^\"]*)\"")]
    private static partial Regex UrlAttribute();

    [GeneratedRegex("https?://")]
    private static partial Regex HttpReference();
}
