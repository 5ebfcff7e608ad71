using Microsoft.ML.Attribution.Autodiff;
using Microsoft.ML.Attribution.Methods;
using Microsoft.ML.Attribution.Oracles;
using Microsoft.ML.Attribution.Runtime;
using Microsoft.ML.Attribution.Tests.Support;

namespace Microsoft.ML.Attribution.Tests.Runtime;

/// <summary>
/// The disk cache of optimized and gradient graphs. Options that differ only in an unused setting (inter-op threads of a
/// sequential session) share the folder but not the in-memory caches, so a second oracle with them reads the folder as
/// a second process would.
/// </summary>
[TestClass]
public sealed class DiskCacheTests
{
    private static string NewFolder() => Path.Combine(Path.GetTempPath(), "attribution-cache-test-" + Guid.NewGuid().ToString("N"));

    [TestMethod]
    public void SecondOracle_LoadsTheGradientGraphFromDisk_AndGivesIdenticalGradients()
    {
        var c = Fixtures.Case("toy_ig_gausslegendre");
        string folder = NewFolder();
        try
        {
            var first = new OnnxGradientOracle(c.ModelPath, options: new RuntimeOptions { CacheDirectory = folder, InterOpThreads = 1 });
            var reference = new Saliency(new OnnxGradientOracle(c.ModelPath)).Attribute(c.Input, Target.Class(0), abs: false);
            var built = new Saliency(first).Attribute(c.Input, Target.Class(0), abs: false);
            Assert.IsFalse(first.Graph(GradientRuleSet.Standard, [first.InputName]).Session.FromDiskCache, "the first oracle builds");
            Assert.HasCount(2, Directory.GetFiles(folder, "ort-*.onnx"), "optimized forward and gradient graphs");
            Assert.HasCount(1, Directory.GetFiles(folder, "gradient-*.txt"));

            var second = new OnnxGradientOracle(c.ModelPath, options: new RuntimeOptions { CacheDirectory = folder, InterOpThreads = 2 });
            var loaded = new Saliency(second).Attribute(c.Input, Target.Class(0), abs: false);
            Assert.IsTrue(second.Graph(GradientRuleSet.Standard, [second.InputName]).Session.FromDiskCache, "the second oracle loads");
            CollectionAssert.AreEqual(built.Attributions.Data, loaded.Attributions.Data);
            CollectionAssert.AreEqual(reference.Attributions.Data, loaded.Attributions.Data);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [TestMethod]
    public void DamagedCacheFiles_AreRebuilt()
    {
        var c = Fixtures.Case("toy_ig_gausslegendre");
        string folder = NewFolder();
        try
        {
            var reference = new Saliency(new OnnxGradientOracle(c.ModelPath, options: new RuntimeOptions { CacheDirectory = folder, InterOpThreads = 3 }))
                .Attribute(c.Input, Target.Class(0), abs: false);
            foreach (var file in Directory.GetFiles(folder, "ort-*.onnx")) File.WriteAllText(file, "not a model");
            var again = new OnnxGradientOracle(c.ModelPath, options: new RuntimeOptions { CacheDirectory = folder, InterOpThreads = 4 });
            var result = new Saliency(again).Attribute(c.Input, Target.Class(0), abs: false);
            Assert.IsFalse(again.Graph(GradientRuleSet.Standard, [again.InputName]).Session.FromDiskCache);
            CollectionAssert.AreEqual(reference.Attributions.Data, result.Attributions.Data);
            Assert.HasCount(2, Directory.GetFiles(folder, "ort-*.onnx"), "rewritten");
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [TestMethod]
    public void UnwritableFolder_RunsWithoutTheCache()
    {
        var c = Fixtures.Case("toy_ig_gausslegendre");
        string file = Path.GetTempFileName(); // a file where the folder should be: it cannot be created
        try
        {
            var oracle = new OnnxGradientOracle(c.ModelPath, options: new RuntimeOptions { CacheDirectory = Path.Combine(file, "sub"), InterOpThreads = 5 });
            var result = new Saliency(oracle).Attribute(c.Input, Target.Class(0), abs: false);
            var reference = new Saliency(new OnnxGradientOracle(c.ModelPath)).Attribute(c.Input, Target.Class(0), abs: false);
            CollectionAssert.AreEqual(reference.Attributions.Data, result.Attributions.Data);
        }
        finally
        {
            File.Delete(file);
        }
    }
}
