using System.Reflection;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.ML.Attribution.Reports;

namespace Microsoft.ML.Attribution.Tests.Reports;

/// <summary>
/// The sample notebooks cannot run here (no Jupyter), so check what can be checked without a kernel: valid nbformat 4,
/// the .NET C# kernel, files they reference exist (or, for a built dll, the project that builds it), and every
/// <c>Type.Member(</c> call on a library type names a public member that exists.
/// </summary>
[TestClass]
public sealed partial class NotebookTests
{
    private static string Folder => Path.Combine(ReportChecks.RepoRoot, "samples", "notebooks");

    public static IEnumerable<object[]> Notebooks =>
        Directory.GetFiles(Path.Combine(ReportChecks.RepoRoot, "samples", "notebooks"), "*.ipynb").Select(p => new object[] { Path.GetFileName(p) });

    [TestMethod]
    public void ExplainWine_Exists() => Assert.IsTrue(File.Exists(Path.Combine(Folder, "explain-wine.ipynb")));

    [TestMethod]
    [DynamicData(nameof(Notebooks))]
    public void Notebook_IsValidNbformat4_ForTheCSharpKernel(string name)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Folder, name)));
        var root = doc.RootElement;
        Assert.AreEqual(4, root.GetProperty("nbformat").GetInt32());
        Assert.IsGreaterThanOrEqualTo(4, root.GetProperty("nbformat_minor").GetInt32());
        Assert.AreEqual(".net-csharp", root.GetProperty("metadata").GetProperty("kernelspec").GetProperty("name").GetString());
        var ids = new HashSet<string>();
        int code = 0;
        foreach (var cell in root.GetProperty("cells").EnumerateArray())
        {
            string type = cell.GetProperty("cell_type").GetString()!;
            CollectionAssert.Contains(new[] { "markdown", "code", "raw" }, type);
            Assert.AreEqual(JsonValueKind.Object, cell.GetProperty("metadata").ValueKind);
            if (cell.TryGetProperty("id", out var id)) Assert.IsTrue(ids.Add(id.GetString()!), $"cell id {id} repeats");
            _ = Source(cell);
            if (type != "code") continue;
            code++;
            Assert.AreEqual(JsonValueKind.Array, cell.GetProperty("outputs").ValueKind);
            Assert.IsTrue(cell.TryGetProperty("execution_count", out _), "code cells carry execution_count");
        }
        Assert.IsGreaterThan(0, code);
    }

    [TestMethod]
    [DynamicData(nameof(Notebooks))]
    public void Notebook_ReferencesFilesThatExist(string name)
    {
        int checkedPaths = 0;
        foreach (var source in CodeCells(name))
        {
            foreach (Match m in RelativePath().Matches(source))
            {
                string relative = m.Groups[1].Value;
                string full = Path.GetFullPath(Path.Combine(Folder, relative));
                int bin = full.IndexOf($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal);
                if (relative.StartsWith("../../artifacts/", StringComparison.Ordinal))
                {
                    // The package source: the folder .ci/run packs into (absent until then, so not checked for).
                    Assert.AreEqual("../../artifacts/packages", relative, name);
                    StringAssert.Contains(File.ReadAllText(Path.Combine(ReportChecks.RepoRoot, ".ci", "run")), "-o artifacts/packages");
                }
                else if (bin >= 0)
                {
                    // A build output: the project that builds it must exist, with the assembly name of the dll.
                    string project = full[..bin];
                    var csproj = Directory.GetFiles(project, "*.csproj").SingleOrDefault()
                        ?? throw new AssertFailedException($"'{relative}' is under no project folder");
                    Assert.AreEqual(Path.GetFileNameWithoutExtension(csproj), Path.GetFileNameWithoutExtension(full), relative);
                }
                else
                {
                    Assert.IsTrue(File.Exists(full), $"'{relative}' (from {name}) does not exist at {full}");
                }
                checkedPaths++;
            }
        }
        Assert.IsGreaterThan(0, checkedPaths, "the notebook references the repository's files");
    }

    [TestMethod]
    [DynamicData(nameof(Notebooks))]
    public void Notebook_CallsOnlyMembersTheLibraryHas(string name)
    {
        var types = new[] { typeof(AttributionReport).Assembly, typeof(global::Microsoft.ML.Attribution.Methods.AttributionResult).Assembly,
            typeof(global::Microsoft.ML.Attribution.Interactive.SvgChart).Assembly }
            .SelectMany(a => a.GetExportedTypes()).GroupBy(t => t.Name.Split('`')[0]).ToDictionary(g => g.Key, g => g.First());
        int calls = 0;
        foreach (var source in CodeCells(name))
        {
            foreach (Match m in StaticCall().Matches(source))
            {
                if (!types.TryGetValue(m.Groups[1].Value, out var type)) continue;
                var members = type.GetMember(m.Groups[2].Value, BindingFlags.Public | BindingFlags.Static | BindingFlags.Instance);
                Assert.IsNotEmpty(members, $"{name}: {type.Name} has no public member {m.Groups[2].Value}");
                calls++;
            }
        }
        Assert.IsGreaterThan(0, calls, $"{name} calls no member of the library");
    }

    private static IEnumerable<string> CodeCells(string name)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Folder, name)));
        return doc.RootElement.GetProperty("cells").EnumerateArray()
            .Where(c => c.GetProperty("cell_type").GetString() == "code").Select(Source).ToArray();
    }

    private static string Source(JsonElement cell)
    {
        var source = cell.GetProperty("source");
        return source.ValueKind == JsonValueKind.String ? source.GetString()!
            : string.Concat(source.EnumerateArray().Select(e => e.GetString() ?? throw new AssertFailedException("source lines must be strings")));
    }

    [GeneratedRegex("\"(\\.\\./[^\"]+)\"")]
    private static partial Regex RelativePath();

    [GeneratedRegex(@"\b([A-Z]\w+)\.([A-Z]\w+)\b")]
    private static partial Regex StaticCall();
}
