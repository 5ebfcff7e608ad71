using System.Xml.Linq;
using Microsoft.ML.Attribution.Visualization;

namespace Microsoft.ML.Attribution.Tests.Visualization;

[TestClass]
public sealed class TextAttributionRendererTests
{
    private static TextAttributionRecord Record(string[] tokens, float[] attr) =>
        new(tokens, attr, "pos", "neg", 0.734, "pos", 1.2345);

    /// <summary>The fragment is well-formed XML, so it can be inspected structurally.</summary>
    private static List<XElement> Tokens(string fragment) =>
        [.. XElement.Parse(fragment).Descendants("mark").Where(m => (string?)m.Attribute("class") == "token")];

    [TestMethod]
    public void Fragment_KeepsTokenOrder_AndColoursBySign()
    {
        string[] words = ["the", "movie", "was", "awful", "fun"];
        float[] attr = [0f, 0.1f, -0.05f, -0.75f, 0.8f];
        var tokens = Tokens(TextAttributionRenderer.RenderFragment([Record(words, attr)], new() { Legend = false }));
        CollectionAssert.AreEqual(words, tokens.Select(t => t.Value.Trim()).ToArray());
        string Style(int i) => (string)tokens[i].Attribute("style")!;
        // Captum's scheme: red hue 0 with lightness 100 − ⌊40|a|⌋ for negatives, green hue 120 with 100 − ⌊50a⌋ for positives.
        // (-0.75 is exact in float32; -0.9f would give ⌊35.99…⌋ = 35, as Captum also does with a float32 tensor.)
        StringAssert.Contains(Style(3), "background-color: hsl(0, 75%, 70%)");
        StringAssert.Contains(Style(4), "background-color: hsl(120, 75%, 60%)");
        StringAssert.Contains(Style(0), "hsl(0, 75%, 100%)"); // zero is white
        Assert.AreEqual("-0.75", (string)tokens[3].Attribute("title")!);
    }

    [TestMethod]
    public void TokenColor_ClipsToUnitRange_AndScaleToMaxAbsRescales()
    {
        Assert.AreEqual("hsl(0, 75%, 60%)", TextAttributionRenderer.TokenColor(-7));
        Assert.AreEqual("hsl(120, 75%, 50%)", TextAttributionRenderer.TokenColor(3));
        var tokens = Tokens(TextAttributionRenderer.RenderFragment([Record(["a", "b"], [-4f, 2f])], new() { ScaleToMaxAbs = true }));
        StringAssert.Contains((string)tokens[0].Attribute("style")!, "hsl(0, 75%, 60%)");
        StringAssert.Contains((string)tokens[1].Attribute("style")!, "hsl(120, 75%, 75%)");
    }

    [TestMethod]
    public void Fragment_EscapesTokensAndLabels()
    {
        var record = new TextAttributionRecord(["<script>alert('x')</script>", "a&b", "\"q\""], [0.5f, -0.5f, 0f],
            "<b>true</b>", "pred<", 0.5, "attr&", 0);
        var html = TextAttributionRenderer.RenderFragment([record], new() { MarkSpecialTokens = false });
        Assert.IsFalse(html.Contains("<script", StringComparison.OrdinalIgnoreCase), html);
        Assert.IsFalse(html.Contains("<b>true"), html);
        StringAssert.Contains(html, "&lt;script&gt;");
        var tokens = Tokens(html);
        Assert.AreEqual("<script>alert('x')</script>", tokens[0].Value.Trim());
        Assert.AreEqual("a&b", tokens[1].Value.Trim());
        Assert.AreEqual("\"q\"", tokens[2].Value.Trim());
        var cells = XElement.Parse(html).Descendants("td").Select(td => td.Value.Trim()).ToList();
        CollectionAssert.AreEqual(new[] { "<b>true</b>", "pred< (0.50)", "attr&", "0.00" }, cells.Take(4).ToArray());
    }

    [TestMethod]
    public void Fragment_HasOneRowPerRecord_WithCaptumColumns_AndSpecialTokensMarked()
    {
        var html = TextAttributionRenderer.RenderFragment([Record(["<pad>", "x"], [0, 0]), Record(["y"], [1])]);
        var table = XElement.Parse(html).Descendants("table").Single();
        var rows = table.Elements("tr").ToList();
        Assert.AreEqual(3, rows.Count);
        CollectionAssert.AreEqual(new[] { "True Label", "Predicted Label", "Attribution Label", "Attribution Score", "Word Importance" },
            rows[0].Elements("th").Select(t => t.Value).ToArray());
        CollectionAssert.AreEqual(new[] { "pos", "neg (0.73)", "pos", "1.23" }, rows[1].Elements("td").Take(4).Select(t => t.Value.Trim()).ToArray());
        Assert.AreEqual("#pad", Tokens(html)[0].Value.Trim());
        StringAssert.Contains(html, "Legend");
    }

    [TestMethod]
    public void Page_IsSelfContained_AndRejectsMismatchedLengths()
    {
        var page = TextAttributionRenderer.RenderPage([Record(["a"], [0.2f])], new() { PageTitle = "T<1>" });
        StringAssert.StartsWith(page, "<!DOCTYPE html>");
        StringAssert.Contains(page, "<title>T&lt;1&gt;</title>");
        Assert.IsFalse(page.Contains("<script") || page.Contains("src=") || page.Contains("href="), "page must not load anything");
        var ex = Assert.ThrowsExactly<ArgumentException>(() => TextAttributionRenderer.RenderFragment([Record(["a", "b"], [1f])]));
        StringAssert.Contains(ex.Message, "2 tokens but 1 attributions");
    }
}
