using Microsoft.ML.Attribution.Tensors;
using Microsoft.ML.Attribution.Tests.Support;

namespace Microsoft.ML.Attribution.Tests.Cli;

/// <summary><c>--cache-dir</c>: a second run reads the optimized and gradient graphs the first one left, with the same result.</summary>
[TestClass]
public sealed class CliCacheTests
{
    [TestMethod]
    public void CacheDir_SecondRunReadsTheCache_AndWritesTheSameAttributions()
    {
        var toy = Fixtures.Case("toy_ig_gausslegendre");
        string folder = CliFormatTests.Temp("cache");
        try
        {
            string first = CliFormatTests.Temp("first.npy"), second = CliFormatTests.Temp("second.npy"), plain = CliFormatTests.Temp("plain.npy");
            var run = CliFormatTests.Run("explain", "--model", toy.ModelPath, "--input", toy.InputPath, "--method", "saliency", "--out", first, "--cache-dir", folder);
            Assert.AreEqual(0, run.Code, run.Err);
            Assert.HasCount(2, Directory.GetFiles(folder, "ort-*.onnx"), "optimized forward and gradient graphs");
            Assert.HasCount(1, Directory.GetFiles(folder, "gradient-*.txt"));
            var stamps = Directory.GetFiles(folder).ToDictionary(f => f, File.GetLastWriteTimeUtc);

            // Each run's options carry their own log callback, so this run shares no in-memory session with the first.
            run = CliFormatTests.Run("explain", "--model", toy.ModelPath, "--input", toy.InputPath, "--method", "saliency", "--out", second, "--cache-dir", folder);
            Assert.AreEqual(0, run.Code, run.Err);
            foreach (var (file, stamp) in stamps) Assert.AreEqual(stamp, File.GetLastWriteTimeUtc(file), $"{Path.GetFileName(file)} was read, not rewritten");
            run = CliFormatTests.Run("explain", "--model", toy.ModelPath, "--input", toy.InputPath, "--method", "saliency", "--out", plain);
            Assert.AreEqual(0, run.Code, run.Err);
            CollectionAssert.AreEqual(Npy.ReadFloat(plain).Data, Npy.ReadFloat(first).Data);
            CollectionAssert.AreEqual(Npy.ReadFloat(plain).Data, Npy.ReadFloat(second).Data);
        }
        finally
        {
            if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
        }
    }
}
