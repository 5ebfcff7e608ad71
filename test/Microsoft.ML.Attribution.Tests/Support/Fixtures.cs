using System.Text.Json;
using Microsoft.ML.Attribution.Methods;
using Microsoft.ML.Attribution.Tensors;

namespace Microsoft.ML.Attribution.Tests.Support;

/// <summary>One Captum reference case from Fixtures/manifest.json (written by build/fixtures/generate.py).</summary>
internal sealed record FixtureCase(string Name, string Method, string ModelPath, string InputName, string OutputName,
    string InputPath, string? BaselinePath, JsonElement TargetJson, JsonElement Params, string ExpectedPath, string? DeltaPath)
{
    public NdArray<float> Input => Npy.ReadFloat(InputPath);

    public NdArray<float>? Baseline =>
        BaselinePath is not null ? Npy.ReadFloat(BaselinePath)
        : Params.TryGetProperty("baseline_scalar", out var s) ? new NdArray<float>([s.GetSingle()], 1)
        : null;

    public NdArray<float> Expected => Npy.ReadFloat(ExpectedPath);

    public Target Target => TargetJson.ValueKind switch
    {
        JsonValueKind.Number => Target.Class(TargetJson.GetInt32()),
        JsonValueKind.Array => Target.PerRow(TargetJson.EnumerateArray().Select(e => e.GetInt32()).ToArray()),
        _ => Target.Class(0),
    };

    public int Int(string name, int fallback) => Params.TryGetProperty(name, out var v) ? v.GetInt32() : fallback;

    public bool Bool(string name, bool fallback) => Params.TryGetProperty(name, out var v) ? v.GetBoolean() : fallback;

    public string? String(string name) => Params.TryGetProperty(name, out var v) ? v.GetString() : null;

    public int[]? Ints(string name) => !Params.TryGetProperty(name, out var v) ? null
        : v.ValueKind == JsonValueKind.Array ? v.EnumerateArray().Select(e => e.GetInt32()).ToArray()
        : [v.GetInt32()];

    public double Double(string name, double fallback) => Params.TryGetProperty(name, out var v) ? v.GetDouble() : fallback;

    /// <summary>A parameter naming a file relative to this case's manifest, or null.</summary>
    public string? File(string name) => String(name) is { } relative ? System.IO.Path.Combine(ManifestFolder, relative) : null;

    public NdArray<float>? FloatArray(string name) => File(name) is { } path ? Npy.ReadFloat(path) : null;

    public NdArray<long>? LongArray(string name) => File(name) is { } path ? Npy.ReadInt64(path) : null;

    public NdArray<long>? Mask => LongArray("mask");

    /// <summary>
    /// Cases run on the model cut at a tensor (e.g. a text model at its embedding, for methods that interpolate the
    /// input): the cut tensor is then the model input.
    /// </summary>
    public string? CutAt => String("cut_at");

    /// <summary>The case's model as a gradient oracle (cut at <see cref="CutAt"/> when the case says so).</summary>
    public Microsoft.ML.Attribution.Oracles.OnnxGradientOracle Oracle() => Model() is var (bytes, input) ? new(bytes, input, OutputName) : null!;

    /// <summary>The case's model and its "layer" parameter as a layer oracle (cut at <see cref="CutAt"/> when the case says so).</summary>
    public Microsoft.ML.Attribution.Oracles.OnnxLayerOracle LayerOracle() => Model() is var (bytes, input) ? new(bytes, String("layer")!, input, OutputName) : null!;

    /// <summary>The model to run: the file, or its graph cut at <see cref="CutAt"/>.</summary>
    public (byte[] Bytes, string Input) Model() => CutAt is { } cut
        ? (Microsoft.ML.Attribution.Onnx.OnnxModel.Load(ModelPath).CutAt(cut).ToBytes(), cut)
        : (System.IO.File.ReadAllBytes(ModelPath), InputName);

    /// <summary>The folder of the manifest that lists this case (paths in it are relative to this folder).</summary>
    public string ManifestFolder { get; init; } = Fixtures.Root;

    public override string ToString() => Name;
}

internal static class Fixtures
{
    public static string Root => Path.Combine(AppContext.BaseDirectory, "Fixtures");

    public static string PathOf(string relative) => Path.Combine(Root, relative);

    private static readonly Lazy<IReadOnlyList<FixtureCase>> All = new(Load);

    public static IReadOnlyList<FixtureCase> Cases => All.Value;

    /// <summary>Case names of one method, for [DynamicData] (the Captum-suite cases, whose parameters CaptumSuiteTests reads, aside).</summary>
    public static IEnumerable<object[]> NamesOf(string method) =>
        Cases.Where(c => c.Method == method && !c.Name.StartsWith("suite_", StringComparison.Ordinal)).Select(c => new object[] { c.Name });

    public static FixtureCase Case(string name) => Cases.Single(c => c.Name == name);

    public static string ModelPath(string model) => Case(Cases.First(c => Path.GetFileName(Path.GetDirectoryName(c.ModelPath)) == model).Name).ModelPath;

    /// <summary>Fixtures/manifest.json plus any Fixtures/*/manifest.json (each with paths relative to its own folder).</summary>
    private static IReadOnlyList<FixtureCase> Load()
    {
        var manifests = new[] { PathOf("manifest.json") }
            .Concat(Directory.GetDirectories(Root).Select(d => Path.Combine(d, "manifest.json")).Where(File.Exists).Order(StringComparer.Ordinal));
        return manifests.SelectMany(LoadManifest).ToList();
    }

    private static IEnumerable<FixtureCase> LoadManifest(string manifestPath)
    {
        string folder = Path.GetDirectoryName(manifestPath)!;
        string PathOf(string relative) => Path.Combine(folder, relative);
        using var doc = JsonDocument.Parse(File.ReadAllText(manifestPath));
        var models = doc.RootElement.GetProperty("models");
        var cases = new List<FixtureCase>();
        foreach (var c in doc.RootElement.GetProperty("cases").EnumerateArray())
        {
            var model = models.GetProperty(c.GetProperty("model").GetString()!);
            string? Optional(string key) => c.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.String ? PathOf(v.GetString()!) : null;
            cases.Add(new FixtureCase(
                c.GetProperty("name").GetString()!,
                c.GetProperty("method").GetString()!,
                PathOf(model.GetProperty("file").GetString()!),
                model.GetProperty("input").GetString()!,
                model.GetProperty("output").GetString()!,
                PathOf(c.GetProperty("input").GetString()!),
                Optional("baseline"),
                c.GetProperty("target").Clone(),
                c.GetProperty("params").Clone(),
                PathOf(c.GetProperty("expected").GetString()!),
                Optional("delta")) { ManifestFolder = folder });
        }
        return cases;
    }
}

internal static class AssertArrays
{
    /// <summary>|actual − expected| ≤ tolerance · max(1, |expected|) element by element, with shapes equal.</summary>
    public static void Close(NdArray<float> expected, NdArray<float> actual, double tolerance, string what)
    {
        CollectionAssert.AreEqual(expected.Shape, actual.Shape, $"{what}: shape {actual.ShapeText}, expected {expected.ShapeText}");
        Close(expected.Data, actual.Data, tolerance, what);
    }

    public static void Close(float[] expected, float[] actual, double tolerance, string what)
    {
        Assert.AreEqual(expected.Length, actual.Length, $"{what}: length");
        for (int i = 0; i < expected.Length; i++)
        {
            double error = Math.Abs(expected[i] - (double)actual[i]);
            Assert.IsTrue(error <= tolerance * Math.Max(1, Math.Abs(expected[i])),
                $"{what}[{i}]: {actual[i]:G9}, expected {expected[i]:G9} (error {error:E2})");
        }
    }
}
