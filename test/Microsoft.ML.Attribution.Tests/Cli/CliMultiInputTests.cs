using Microsoft.ML.Attribution.Methods;
using Microsoft.ML.Attribution.MultiInput;
using Microsoft.ML.Attribution.Tensors;
using Microsoft.ML.Attribution.Tests.Support;

namespace Microsoft.ML.Attribution.Tests.Cli;

/// <summary><c>--input NAME=FILE</c>, <c>--fixed NAME=FILE</c> and <c>--baseline NAME=FILE</c> for multi-input models.</summary>
[TestClass]
public sealed class CliMultiInputTests
{
    private static string Folder(string model) => Path.Combine(Fixtures.PathOf("multi_input"), model);

    private static string F(string model, string file) => Path.Combine(Folder(model), file);

    private static string[] ImageTabular(string method, string outPath, params string[] more) =>
        ["explain", "--model", F("image_tabular", "model.onnx"), "--input", $"image={F("image_tabular", "image.npy")}",
            "--input", $"tabular={F("image_tabular", "tabular.npy")}", "--method", method, "--out", outPath, .. more];

    private static MultiInputResult Library(string method, int target) =>
        new MultiInputModel(F("image_tabular", "model.onnx")).Attribute(method, new ModelInputs
        {
            { "image", Npy.ReadFloat(F("image_tabular", "image.npy")) },
            { "tabular", Npy.ReadFloat(F("image_tabular", "tabular.npy")) },
        }, new MultiInputRequest { Target = Target.Class(target) });

    [TestMethod]
    public void Npz_HoldsOneEntryPerInput_EqualToTheLibrary()
    {
        string outPath = CliFormatTests.Temp("a.npz");
        var (code, _, err) = CliFormatTests.Run(ImageTabular("integrated-gradients", outPath, "--target", "2"));
        Assert.AreEqual(0, code, err);
        var entries = CliFormatTests.NpzEntries(outPath);
        CollectionAssert.AreEquivalent(new[] { "image.npy", "tabular.npy", "target.npy", "delta.npy" }, entries.Keys.ToArray());
        var expected = Library("integrated-gradients", 2);
        foreach (var name in new[] { "image", "tabular" })
            AssertArrays.Close(expected.Attributions[name], Npy.ReadFloat(entries[name + ".npy"]), 1e-6, name);
    }

    [TestMethod]
    public void Csv_PutsTheInputsSideBySide_WithNamedColumns()
    {
        string outPath = CliFormatTests.Temp("a.csv");
        var (code, _, err) = CliFormatTests.Run(ImageTabular("saliency", outPath, "--target", "0"));
        Assert.AreEqual(0, code, err);
        var lines = File.ReadAllLines(outPath);
        var header = lines[0].Split(',');
        Assert.AreEqual("row", header[0]);
        Assert.AreEqual(4, lines.Length, "a header and one line per row");
        var expected = Library("saliency", 0);
        var columns = System.Text.RegularExpressions.Regex.Matches(lines[0], "\"([^\"]*)\"|([^,]+)").Select(m => m.Value.Trim('"')).ToList();
        Assert.AreEqual("image[0,0,0]", columns[2]);
        Assert.AreEqual("tabular[0]", columns[2 + 36]);
        var row1 = lines[2].Split(',').Skip(2).Select(v => float.Parse(v, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        AssertArrays.Close([.. expected.Attributions["image"].Row(1).ToArray(), .. expected.Attributions["tabular"].Row(1).ToArray()], row1, 1e-6, "row 1");
    }

    [TestMethod]
    public void Bert_FixedMaskAndTypes_LayerIntegratedGradients_MatchesCaptum()
    {
        string layer = "/embeddings/norm/LayerNormalization_output_0";
        string outPath = CliFormatTests.Temp("bert.npy");
        var (code, _, err) = CliFormatTests.Run("explain", "--model", F("bert_tiny", "model.onnx"), "--input", $"input_ids={F("bert_tiny", "input_ids.npy")}",
            "--fixed", $"attention_mask={F("bert_tiny", "attention_mask.npy")}", "--fixed", $"token_type_ids={F("bert_tiny", "token_type_ids.npy")}",
            "--baseline", $"input_ids={F("bert_tiny", "pad_ids.npy")}", "--method", "layer-integrated-gradients", "--layer", layer,
            "--target", "1", "--out", outPath);
        Assert.AreEqual(0, code, err);
        var actual = Npy.ReadFloat(outPath);
        var captum = Npy.ReadFloat(F("bert_tiny", "layer_integrated_gradients_embeddings__embeddings_norm_LayerNormalization_output_0.npy"));
        // Captum's targets were [1, 0, 1]: rows 0 and 2 explain class 1 as here.
        foreach (int r in new[] { 0, 2 })
            AssertArrays.Close(captum.Row(r).ToArray(), actual.Row(r).ToArray(), 1e-4, $"row {r}");
    }

    [TestMethod]
    public void ManyRows_RunInBatches_WithProgressOnATerminal_AndEqualTheLibrary()
    {
        // 40 rows (the 3 fixture rows tiled): two batches of 32 and 8.
        NdArray<float> Tile(NdArray<float> a)
        {
            var result = new NdArray<float>([40, .. a.RowShape]);
            for (int r = 0; r < 40; r++) a.Row(r % a.Rows).CopyTo(result.Row(r));
            return result;
        }
        var image = Tile(Npy.ReadFloat(F("image_tabular", "image.npy")));
        var tabular = Tile(Npy.ReadFloat(F("image_tabular", "tabular.npy")));
        string imagePath = CliFormatTests.Temp("image.npy"), tabularPath = CliFormatTests.Temp("tabular.npy"), outPath = CliFormatTests.Temp("a.npz");
        Npy.Write(imagePath, image);
        Npy.Write(tabularPath, tabular);
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = Microsoft.ML.Attribution.Cli.CliApp.Run(["explain", "--model", F("image_tabular", "model.onnx"), "--input", $"image={imagePath}",
            "--fixed", $"tabular={tabularPath}", "--method", "integrated-gradients", "--out", outPath], stdout, stderr,
            new Microsoft.ML.Attribution.Cli.CliSession(Terminal: true));
        Assert.AreEqual(0, code, stderr.ToString());
        StringAssert.Contains(stderr.ToString(), "32/40 rows");
        StringAssert.Contains(stderr.ToString(), "40/40 rows");
        var expected = new MultiInputModel(F("image_tabular", "model.onnx")).Attribute("integrated-gradients",
            new ModelInputs { { "image", image }, { "tabular", tabular } }, new MultiInputRequest { Attributed = ["image"] });
        var entries = CliFormatTests.NpzEntries(outPath);
        AssertArrays.Close(expected.Attributions["image"], Npy.ReadFloat(entries["image.npy"]), 1e-6, "image");
        CollectionAssert.AreEqual(expected.Targets.Select(t => (long)t).ToArray(), Npy.ReadInt64(entries["target.npy"]).Data);
    }

    [TestMethod]
    public void Info_OnAllIntegerInputs_PointsToNamedInputs_AndRulesOutInputGradients()
    {
        var (code, output, err) = CliFormatTests.Run("info", F("bert_tiny", "model.onnx"));
        Assert.AreEqual(0, code, err);
        StringAssert.Contains(output, "--input NAME=FILE");
        StringAssert.Contains(output, "integrated-gradients: every input holds integers");
        StringAssert.Contains(output, "neuron-gradient: every input holds integers");
        var applies = output[output.IndexOf("methods that apply:", StringComparison.Ordinal)..output.IndexOf("methods that do not apply:", StringComparison.Ordinal)];
        StringAssert.Contains(applies, "layer-integrated-gradients");
        StringAssert.Contains(applies, "feature-ablation");
    }

    [TestMethod]
    public void BadArguments_AreReportedBeforeAnyWork_AndWriteNothing()
    {
        string outPath = CliFormatTests.Temp("never.npz");
        void Fails(string expected, params string[] args)
        {
            var (code, _, err) = CliFormatTests.Run(args);
            Assert.AreEqual(2, code, err);
            StringAssert.Contains(err, expected);
            Assert.IsFalse(File.Exists(outPath), "no output for a usage error");
        }
        string model = F("image_tabular", "model.onnx"), image = F("image_tabular", "image.npy"), tabular = F("image_tabular", "tabular.npy");
        Fails("did you mean 'tabular'?", "explain", "--model", model, "--input", $"image={image}", "--fixed", $"tabualr={tabular}", "--method", "saliency", "--out", outPath);
        Fails("has 3 rows, --fixed tabular=", "explain", "--model", model, "--input", $"image={image}", "--fixed",
            $"tabular={F("image_tabular", "base_tabular.npy")}", "--method", "saliency", "--out", outPath);
        Fails("model input tabular not given", "explain", "--model", model, "--input", $"image={image}", "--method", "saliency", "--out", outPath);
        Fails("give each as --input NAME=FILE", "explain", "--model", model, "--input", image, "--method", "saliency", "--out", outPath);
        Fails(".npy holds one array", ImageTabular("saliency", Path.ChangeExtension(outPath, ".npy")));
        Fails("--input tabular=… is given twice", "explain", "--model", model, "--input", $"image={image}", "--input", $"tabular={tabular}",
            "--input", $"tabular={tabular}", "--method", "saliency", "--out", outPath);
        Fails("does not exist", "explain", "--model", model, "--input", $"image={image}", "--fixed", "tabular=missing.npy", "--method", "saliency", "--out", outPath);
    }
}
