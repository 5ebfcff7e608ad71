using System.Text.Json;
using Microsoft.ML.Attribution.Methods;
using Microsoft.ML.Attribution.MultiInput;
using Microsoft.ML.Attribution.Tensors;
using Microsoft.ML.Attribution.Tests.Support;

namespace Microsoft.ML.Attribution.Tests.MultiInput;

/// <summary>
/// Captum parity of multi-input models (Fixtures/multi_input/cases.json, written by build/fixtures/generate_multi_input.py):
/// an image + tabular model (both inputs attributed, or the tabular one held per row as additional_forward_args) and a
/// BERT-style model with ids, mask and type ids attributed at its embeddings with the mask and type ids held.
/// </summary>
[TestClass]
public sealed class MultiInputParityTests
{
    private const double Tolerance = 1e-4;

    private static string Folder => Fixtures.PathOf("multi_input");

    private static readonly Lazy<JsonDocument> Manifest = new(() => JsonDocument.Parse(File.ReadAllText(Path.Combine(Folder, "cases.json"))));

    public static IEnumerable<object[]> Cases =>
        Manifest.Value.RootElement.GetProperty("cases").EnumerateArray().Select(c => new object[] { c.GetProperty("name").GetString()! });

    private static JsonElement Case(string name) =>
        Manifest.Value.RootElement.GetProperty("cases").EnumerateArray().Single(c => c.GetProperty("name").GetString() == name);

    /// <summary>Each .npy of a name → path object, read as float32 or int64 by its header.</summary>
    internal static ModelInputs Read(JsonElement files)
    {
        var inputs = new ModelInputs();
        foreach (var p in files.EnumerateObject())
        {
            string path = Path.Combine(Folder, p.Value.GetString()!);
            if (Npy.ReadHeader(path).Descr.Contains("i8")) inputs.Add(p.Name, Npy.ReadInt64(path));
            else inputs.Add(p.Name, Npy.ReadFloat(path));
        }
        return inputs;
    }

    private static MethodOptions Options(string method, JsonElement p)
    {
        string? layer = p.TryGetProperty("layer", out var l) ? l.GetString() : null;
        int steps = p.TryGetProperty("steps", out var s) ? s.GetInt32() : 50;
        return method switch
        {
            "integrated-gradients" => new IntegratedGradientsOptions { Steps = steps },
            "layer-integrated-gradients" => new LayerIntegratedGradientsOptions { Layer = layer, Steps = steps },
            "gradcam" => new LayerGradCamOptions { Layer = layer },
            "neuron-gradient" => new NeuronGradientOptions { Layer = layer, Neuron = p.GetProperty("neuron").EnumerateArray().Select(v => v.GetInt32()).ToArray() },
            _ => MethodRegistry.Get(method).CreateDefaultOptions(),
        };
    }

    [TestMethod]
    [DynamicData(nameof(Cases))]
    public void MultiInputModel_MatchesCaptum(string name)
    {
        var c = Case(name);
        string modelName = c.GetProperty("model").GetString()!;
        var model = Manifest.Value.RootElement.GetProperty("models").GetProperty(modelName);
        var explainer = new MultiInputModel(Path.Combine(Folder, model.GetProperty("file").GetString()!), model.GetProperty("output").GetString());
        string method = c.GetProperty("method").GetString()!;
        var request = new MultiInputRequest
        {
            Attributed = c.GetProperty("attributed").EnumerateArray().Select(a => a.GetString()!).ToList(),
            Baselines = c.GetProperty("baselines").EnumerateObject().Any() ? Read(c.GetProperty("baselines")) : null,
            FeatureMask = c.GetProperty("mask").EnumerateObject().Any() ? Read(c.GetProperty("mask")) : null,
            Target = Target.PerRow(c.GetProperty("target").EnumerateArray().Select(t => t.GetInt32()).ToArray()),
            Options = Options(method, c.GetProperty("params")),
        };
        var result = explainer.Attribute(method, Read(c.GetProperty("inputs")), request);
        var expected = c.GetProperty("expected").EnumerateObject().ToList();
        CollectionAssert.AreEquivalent(expected.Select(e => e.Name).ToList(), result.Attributions.Keys.ToList(), name);
        foreach (var e in expected)
            AssertArrays.Close(Npy.ReadFloat(Path.Combine(Folder, e.Value.GetString()!)), result.Attributions[e.Name], Tolerance, $"{name} {e.Name}");
        if (c.GetProperty("delta").ValueKind == JsonValueKind.String)
        {
            var delta = Npy.ReadFloat(Path.Combine(Folder, c.GetProperty("delta").GetString()!));
            Assert.IsNotNull(result.ConvergenceDelta, $"{name}: delta");
            AssertArrays.Close(delta.Data, result.ConvergenceDelta, 1e-3, $"{name} delta");
        }
    }
}
