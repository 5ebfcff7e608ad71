using System.IO.Compression;
using System.Text.Json;
using Microsoft.ML.Attribution.MLNet;
using Microsoft.ML.Data;

namespace Microsoft.ML.Attribution.Tests.MLNet;

/// <summary>Attribution().Save/Load: versioned, atomic (never a broken file), and ML.NET's own Save refused by name.</summary>
[TestClass]
public sealed class ExplainedPipelineArchiveTests
{
    private static string NewDirectory()
    {
        string dir = Path.Combine(Path.GetTempPath(), $"attribution-save-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        return dir;
    }

    private static string[] Listing(string dir) =>
        Directory.GetFiles(dir).Select(f => $"{Path.GetFileName(f)}:{new FileInfo(f).Length}:{Convert.ToHexString(File.ReadAllBytes(f)).GetHashCode()}").Order().ToArray();

    [TestMethod]
    public void Save_WritesTheFormatVersionFirst_LeavesOnlyTheArchive_AndRoundTrips()
    {
        var ml = new MLContext(seed: 1);
        var data = WineData.Load(ml);
        var model = ml.Transforms.NormalizeMinMax("Features").Append(ml.Attribution().Explain(WineData.MlpPath, new ExplainOptions { Method = "saliency" })).Fit(data);
        string dir = NewDirectory();
        string path = Path.Combine(dir, "explained.zip");
        ml.Attribution().Save(model, data.Schema, path);
        CollectionAssert.AreEqual(new[] { "explained.zip" }, Directory.GetFiles(dir).Select(Path.GetFileName).ToArray(), "no temporary file is left");
        using (var archive = ZipFile.OpenRead(path))
        {
            Assert.AreEqual("format.json", archive.Entries[0].FullName);
            using var header = JsonDocument.Parse(archive.Entries[0].Open());
            Assert.AreEqual("Microsoft.ML.Attribution.ExplainedPipeline", header.RootElement.GetProperty("Format").GetString());
            Assert.AreEqual(1, header.RootElement.GetProperty("Version").GetInt32());
        }
        var loaded = ml.Attribution().Load(path, out _);
        CollectionAssert.AreEqual(model.Transform(data).GetColumn<float[]>("Attributions").SelectMany(a => a).ToArray(),
            loaded.Transform(data).GetColumn<float[]>("Attributions").SelectMany(a => a).ToArray());
        // Saving over an existing archive replaces it whole.
        ml.Attribution().Save(model, data.Schema, path);
        CollectionAssert.AreEqual(new[] { "explained.zip" }, Directory.GetFiles(dir).Select(Path.GetFileName).ToArray());
        Directory.Delete(dir, recursive: true);
    }

    [TestMethod]
    public void RefusedOrFailedSave_LeavesTheDirectoryUnchanged()
    {
        var ml = new MLContext(seed: 1);
        var data = WineData.Load(ml);
        string dir = NewDirectory();
        string path = Path.Combine(dir, "explained.zip");
        File.WriteAllText(path, "an older file the caller keeps");
        var before = Listing(dir);

        // Refused: the last step is not an explanation step.
        var notOurs = ml.Transforms.NormalizeMinMax("Features").Fit(data);
        var refused = Assert.ThrowsExactly<ArgumentException>(() => ml.Attribution().Save(notOurs, data.Schema, path));
        StringAssert.Contains(refused.Message, "AttributionTransformer");
        CollectionAssert.AreEqual(before, Listing(dir));

        // Failed midway: a step before ours that ML.NET cannot save (another explanation step) fails inside the archive.
        var explainer = ml.Attribution().Explain(WineData.MlpPath, new ExplainOptions { Method = "saliency" }).Fit(data);
        var unsaveable = new TransformerChain<ITransformer>(explainer, ml.Attribution().Explain(WineData.MlpPath, new ExplainOptions { Method = "saliency", OutputColumnName = "Again", TargetOutputColumnName = "T2" }).Fit(explainer.Transform(data)));
        Assert.ThrowsExactly<NotSupportedException>(() => ml.Attribution().Save(unsaveable, data.Schema, path));
        CollectionAssert.AreEqual(before, Listing(dir), "the failed save left the old file and no temporary file");
        Assert.AreEqual("an older file the caller keeps", File.ReadAllText(path));
        Directory.Delete(dir, recursive: true);
    }

    [TestMethod]
    public void Load_OfANewerFormatVersion_SaysSo()
    {
        var ml = new MLContext(seed: 1);
        string dir = NewDirectory();
        string path = Path.Combine(dir, "future.zip");
        using (var archive = ZipFile.Open(path, ZipArchiveMode.Create))
        {
            using (var writer = new StreamWriter(archive.CreateEntry("format.json").Open()))
                writer.Write("""{ "Format": "Microsoft.ML.Attribution.ExplainedPipeline", "Version": 7 }""");
            using (var writer = new StreamWriter(archive.CreateEntry("pipeline.zip").Open())) writer.Write("not read");
        }
        var e = Assert.ThrowsExactly<InvalidDataException>(() => ml.Attribution().Load(path, out _));
        StringAssert.Contains(e.Message, "format version 7");
        StringAssert.Contains(e.Message, "newer");
        StringAssert.Contains(e.Message, "up to 1");
        Directory.Delete(dir, recursive: true);
    }

    [TestMethod]
    public void ModelSave_OnAChainHoldingOurStep_NamesAttributionSave_AndThePartialFileMLNetLeft()
    {
        var ml = new MLContext(seed: 1);
        var data = WineData.Load(ml);
        var chain = ml.Transforms.NormalizeMinMax("Features").Append(ml.Attribution().Explain(WineData.MlpPath, new ExplainOptions { Method = "saliency" })).Fit(data);
        string dir = NewDirectory();
        string path = Path.Combine(dir, "model.zip");
        var e = Assert.ThrowsExactly<NotSupportedException>(() => ml.Model.Save(chain, data.Schema, path));
        StringAssert.Contains(e.Message, "mlContext.Attribution().Save(model, inputSchema, path)");
        StringAssert.Contains(e.Message, $"'{path}' now holds an incomplete model and can be deleted");
        // ML.NET 6.0.0 creates the file before any transformer saves and closes it as a (partial) zip when one throws.
        Assert.IsTrue(File.Exists(path), "ML.NET leaves its target file");
        Assert.IsGreaterThan(0L, new FileInfo(path).Length);
        // Through a caller's stream there is no file to name.
        var e2 = Assert.ThrowsExactly<NotSupportedException>(() => ml.Model.Save(chain, data.Schema, new MemoryStream()));
        StringAssert.Contains(e2.Message, "Attribution().Save");
        Directory.Delete(dir, recursive: true);
    }
}
