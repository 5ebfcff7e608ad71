using System.Text.Json;

namespace Microsoft.ML.Attribution.Tests.Samples;

/// <summary>
/// The notebooks under samples/notebooks are committed with the outputs of a real run (build/notebooks/run-notebooks.cs,
/// the "notebooks" step of .ci/run): every code cell was executed, in order, none failed, and every cell that ends in an
/// expression shows something.
/// </summary>
[TestClass]
public sealed class NotebookTests
{
    private static readonly string Folder = Path.Combine(AppContext.BaseDirectory, "Data", "notebooks");

    public static IEnumerable<object[]> Notebooks() =>
        Directory.EnumerateFiles(Folder, "*.ipynb").Order().Select(p => new object[] { Path.GetFileName(p) });

    [TestMethod]
    public void ThereAreNotebooks() => Assert.IsTrue(Notebooks().Count() >= 2, $"notebooks in {Folder}");

    [TestMethod]
    [DynamicData(nameof(Notebooks))]
    public void Notebook_WasExecutedInOrder_WithoutErrors_AndShowsEveryExpression(string name)
    {
        using var notebook = JsonDocument.Parse(File.ReadAllText(Path.Combine(Folder, name)));
        int expected = 1;
        foreach (var (cell, index) in notebook.RootElement.GetProperty("cells").EnumerateArray().Select((c, i) => (c, i)))
        {
            if (cell.GetProperty("cell_type").GetString() != "code") continue;
            string where = $"{name}, cell {index}";
            var count = cell.GetProperty("execution_count");
            Assert.AreEqual(JsonValueKind.Number, count.ValueKind, $"{where} was not executed");
            Assert.AreEqual(expected++, count.GetInt32(), $"{where} ran out of order");
            var outputs = cell.GetProperty("outputs").EnumerateArray().ToList();
            foreach (var output in outputs)
                Assert.AreNotEqual("error", output.GetProperty("output_type").GetString(), $"{where} failed: {output}");
            string source = Text(cell.GetProperty("source"));
            if (EndsInExpression(source))
                Assert.IsTrue(outputs.Any(o => o.GetProperty("output_type").GetString() is "execute_result" or "display_data"),
                    $"{where} ends in an expression but shows nothing:\n{source}");
        }
        Assert.IsGreaterThan(1, expected, $"{name} has no code cell");
    }

    [TestMethod]
    public void EndsInExpression_TellsExpressionsFromStatementsAndDirectives()
    {
        Assert.IsTrue(EndsInExpression("var x = 1;\nx"));
        Assert.IsTrue(EndsInExpression("new SvgChart(TabularCharts.Beeswarm(a,\n    b))\n// trailing comment\n"));
        Assert.IsFalse(EndsInExpression("using System.IO;\nusing Microsoft.ML;"));
        Assert.IsFalse(EndsInExpression("#r \"nuget: Microsoft.ML, 6.0.0\""));
        Assert.IsFalse(EndsInExpression("for (int i = 0; i < 3; i++)\n{\n    Console.WriteLine(i);\n}"));
    }

    /// <summary>A C# cell ends in an expression (whose value the kernel displays) when its last line of code is not a
    /// statement (<c>;</c>), a block (<c>}</c>) or a directive (<c>#r</c>, <c>#i</c>, <c>#!</c>).</summary>
    internal static bool EndsInExpression(string source)
    {
        var last = source.Split('\n').Select(l => l.Trim()).LastOrDefault(l => l.Length > 0 && !l.StartsWith("//", StringComparison.Ordinal));
        return last is not null && !last.StartsWith('#') && !last.EndsWith(';') && !last.EndsWith('}');
    }

    private static string Text(JsonElement source) => source.ValueKind == JsonValueKind.Array
        ? string.Concat(source.EnumerateArray().Select(s => s.GetString())) : source.GetString() ?? "";
}
