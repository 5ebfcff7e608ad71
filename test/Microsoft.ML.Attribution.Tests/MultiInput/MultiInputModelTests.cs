using Microsoft.ML.Attribution.Methods;
using Microsoft.ML.Attribution.MultiInput;
using Microsoft.ML.Attribution.Runtime;
using Microsoft.ML.Attribution.Tensors;
using Microsoft.ML.Attribution.Tests.Support;

namespace Microsoft.ML.Attribution.Tests.MultiInput;

/// <summary>
/// The multi-input API beyond Captum's fixtures: methods that draw noise or random baselines over inputs laid side by
/// side, integer inputs replaced by baseline ids in perturbation methods, and every bad argument reported by name.
/// </summary>
[TestClass]
public sealed class MultiInputModelTests
{
    private static string Folder => Fixtures.PathOf("multi_input");

    private static string ImageTabular => Path.Combine(Folder, "image_tabular", "model.onnx");

    private static string Bert => Path.Combine(Folder, "bert_tiny", "model.onnx");

    private static ModelInputs ImageTabularInputs() => new()
    {
        { "image", Npy.ReadFloat(Path.Combine(Folder, "image_tabular", "image.npy")) },
        { "tabular", Npy.ReadFloat(Path.Combine(Folder, "image_tabular", "tabular.npy")) },
    };

    private static ModelInputs BertInputs() => new()
    {
        { "input_ids", Npy.ReadInt64(Path.Combine(Folder, "bert_tiny", "input_ids.npy")) },
        { "attention_mask", Npy.ReadInt64(Path.Combine(Folder, "bert_tiny", "attention_mask.npy")) },
        { "token_type_ids", Npy.ReadInt64(Path.Combine(Folder, "bert_tiny", "token_type_ids.npy")) },
    };

    [TestMethod]
    public void NoiseTunnel_WithoutNoise_EqualsItsBaseMethod_PerInput_AndNoiseChangesIt()
    {
        var model = new MultiInputModel(ImageTabular);
        var request = new MultiInputRequest { Target = Target.Class(1) };
        var saliency = model.Attribute("saliency", ImageTabularInputs(), request);
        var quiet = model.Attribute("noise-tunnel", ImageTabularInputs(), request with { Options = new NoiseTunnelOptions { Stdevs = 0, Samples = 3 } });
        var noisy = model.Attribute("noise-tunnel", ImageTabularInputs(), request with { Options = new NoiseTunnelOptions { Stdevs = 0.5, Samples = 8, Seed = 4 } });
        var again = model.Attribute("noise-tunnel", ImageTabularInputs(), request with { Options = new NoiseTunnelOptions { Stdevs = 0.5, Samples = 8, Seed = 4 } });
        foreach (var name in new[] { "image", "tabular" })
        {
            AssertArrays.Close(saliency.Attributions[name], quiet.Attributions[name], 1e-6, name);
            CollectionAssert.AreEqual(saliency.Attributions[name].Shape, noisy.Attributions[name].Shape, name);
            CollectionAssert.AreEqual(noisy.Attributions[name].Data, again.Attributions[name].Data, $"{name}: same seed, same draws");
        }
        Assert.IsTrue(noisy.Attributions["image"].Data.Zip(saliency.Attributions["image"].Data).Any(p => Math.Abs(p.First - p.Second) > 1e-4),
            "noise must change the image map");
    }

    [TestMethod]
    public void GradientShap_OverBothInputs_AddsUpToTheOutputChange_AsIntegratedGradientsDoes()
    {
        var model = new MultiInputModel(ImageTabular);
        var baselines = new ModelInputs
        {
            { "image", Npy.ReadFloat(Path.Combine(Folder, "image_tabular", "base_image.npy")) },
            { "tabular", Npy.ReadFloat(Path.Combine(Folder, "image_tabular", "base_tabular.npy")) },
        };
        var request = new MultiInputRequest { Target = Target.Class(2), Baselines = baselines };
        var ig = model.Attribute("integrated-gradients", ImageTabularInputs(), request);
        var shap = model.Attribute("gradient-shap", ImageTabularInputs(), request with { Options = new GradientShapOptions { Samples = 400, Seed = 3 } });
        for (int r = 0; r < 3; r++)
        {
            double Sum(MultiInputResult result) => result.Attributions.Values.Sum(a => a.Row(r).ToArray().Sum(v => (double)v));
            double expected = Sum(ig) - ig.ConvergenceDelta![r]; // f(x) − f(baseline)
            Assert.AreEqual(expected, Sum(shap), 0.05 * Math.Max(1, Math.Abs(expected)), $"row {r}: Σ GradientShap over both inputs");
        }
    }

    [TestMethod]
    public void FeatureAblation_OfTokenIds_ReplacesEachIdByTheBaselineId_WithTheMaskHeld()
    {
        var model = new MultiInputModel(Bert);
        var inputs = BertInputs();
        var result = model.Attribute("feature-ablation", inputs, new MultiInputRequest { Attributed = ["input_ids"], Target = Target.Class(1) });
        var session = OnnxSession.Get(File.ReadAllBytes(Bert), RuntimeOptions.Default);
        float Logit(NdArray<long> ids, int row)
        {
            NdArray<long> Row(NdArray<long> a) => new(a.Row(row).ToArray(), [1, a.RowSize]);
            return session.Run([NamedInput.Of("input_ids", Row(ids)), NamedInput.Of("attention_mask", Row(inputs.TokenIds("attention_mask"))),
                NamedInput.Of("token_type_ids", Row(inputs.TokenIds("token_type_ids")))], ["logits"])[0].Data[1];
        }
        var ids = inputs.TokenIds("input_ids");
        var map = result.Attributions["input_ids"];
        CollectionAssert.AreEqual(ids.Shape, map.Shape);
        foreach (var (r, j) in new[] { (0, 1), (1, 3), (2, 4) })
        {
            var ablated = ids.Clone();
            ablated.Data[r * ids.RowSize + j] = 0;
            Assert.AreEqual(Logit(ids, r) - Logit(ablated, r), map.Data[r * map.RowSize + j], 1e-4, $"row {r}, token {j}");
        }
    }

    [TestMethod]
    public void HeldInputs_FollowTheirRows_WhenRowsWithEqualHeldValuesAreBatchedTogether()
    {
        // Rows 0, 1, 2 then 2, 0 again: rows with equal held tabular values run as one group, and land in their places.
        var image = Npy.ReadFloat(Path.Combine(Folder, "image_tabular", "image.npy"));
        var tabular = Npy.ReadFloat(Path.Combine(Folder, "image_tabular", "tabular.npy"));
        int[] order = [0, 1, 2, 2, 0];
        NdArray<float> Pick(NdArray<float> a)
        {
            var result = new NdArray<float>([order.Length, .. a.RowShape]);
            for (int k = 0; k < order.Length; k++) a.Row(order[k]).CopyTo(result.Row(k));
            return result;
        }
        var model = new MultiInputModel(ImageTabular);
        var request = new MultiInputRequest { Attributed = ["image"], Target = Target.PerRow(1, 0, 2, 1, 2) };
        var repeated = model.Attribute("integrated-gradients", new ModelInputs { { "image", Pick(image) }, { "tabular", Pick(tabular) } }, request);
        for (int k = 0; k < order.Length; k++)
        {
            var alone = model.Attribute("integrated-gradients", new ModelInputs
            {
                { "image", new NdArray<float>(image.Row(order[k]).ToArray(), [1, .. image.RowShape]) },
                { "tabular", new NdArray<float>(tabular.Row(order[k]).ToArray(), [1, 5]) },
            }, request with { Target = Target.Class(request.Target!.Explicit(order.Length)![k]) });
            AssertArrays.Close(alone.Attributions["image"].Data, repeated.Attributions["image"].Row(k).ToArray(), 1e-5, $"row {k}");
            Assert.AreEqual(alone.Targets[0], repeated.Targets[k], $"row {k} target");
            Assert.AreEqual(alone.ConvergenceDelta![0], repeated.ConvergenceDelta![k], 1e-5, $"row {k} delta");
        }
    }

    [TestMethod]
    public void Errors_NameTheInputAtFault()
    {
        var model = new MultiInputModel(ImageTabular);
        var method = MethodRegistry.Get("integrated-gradients");
        string Error(ModelInputs inputs, MultiInputRequest? request = null) =>
            Assert.ThrowsExactly<ArgumentException>(() => model.Validate(method, inputs, request)).Message;

        var image = Npy.ReadFloat(Path.Combine(Folder, "image_tabular", "image.npy"));
        var tabular = Npy.ReadFloat(Path.Combine(Folder, "image_tabular", "tabular.npy"));
        StringAssert.Contains(Error(new ModelInputs { { "image", image }, { "tabualr", tabular } }), "did you mean 'tabular'");
        StringAssert.Contains(Error(new ModelInputs { { "image", image } }), "'tabular' not given");
        StringAssert.Contains(Error(new ModelInputs { { "image", image }, { "tabular", new NdArray<float>(2, 5) } }), "batch size");
        StringAssert.Contains(Error(new ModelInputs { { "image", image }, { "tabular", new NdArray<float>(3, 4) } }), "'tabular' expects rows shaped [5]");
        StringAssert.Contains(Error(ImageTabularInputs(), new MultiInputRequest { FeatureMask = new ModelInputs { { "image", new NdArray<long>(1, 1, 6, 6) } } }),
            "not attributed input 'tabular'");
        StringAssert.Contains(Error(ImageTabularInputs(), new MultiInputRequest { Attributed = ["image"], Baselines = new ModelInputs { { "tabular", new NdArray<float>(1, 5) } } }),
            "'tabular', which is held");

        var bert = new MultiInputModel(Bert);
        var ig = Assert.ThrowsExactly<ArgumentException>(() => bert.Attribute(method, BertInputs(), new MultiInputRequest { Attributed = ["input_ids"] }));
        StringAssert.Contains(ig.Message, "'input_ids' holds integers");
        var floats = new ModelInputs { { "input_ids", new NdArray<float>(3, 8) }, { "attention_mask", BertInputs().TokenIds("attention_mask") },
            { "token_type_ids", BertInputs().TokenIds("token_type_ids") } };
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => bert.Validate(MethodRegistry.Get("feature-ablation"), floats)).Message,
            "'input_ids' takes int64 values; got float32");
    }
}
