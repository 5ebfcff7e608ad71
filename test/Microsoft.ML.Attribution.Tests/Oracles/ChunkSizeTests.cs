using Microsoft.ML.Attribution.Methods;
using Microsoft.ML.Attribution.Onnx;
using Microsoft.ML.Attribution.Oracles;

namespace Microsoft.ML.Attribution.Tests.Oracles;

/// <summary>Automatic chunk sizes follow the model's memory per row, not a fixed count.</summary>
[TestClass]
public sealed class ChunkSizeTests
{
    private static string Bench(string name) => Path.Combine(AppContext.BaseDirectory, "BenchModels", name, "model.onnx");

    [TestMethod]
    public void ChunkRows_FollowTheModelsActivationMemory()
    {
        var resnet = new OnnxGradientOracle(Bench("resnet"));
        var mlp = new OnnxGradientOracle(Bench("mlp"));
        long resnetBytes = OnnxModel.Load(Bench("resnet")).EstimatedBytesPerRow();
        // Stem + two blocks of 16×32×32 float activations: at least 10 such tensors per row.
        Assert.IsGreaterThan(10L * 16 * 32 * 32 * 4, resnetBytes);
        int resnetRows = Batcher.ChunkRows(resnet, null, 3 * 32 * 32);
        Assert.AreEqual((int)(Batcher.DefaultChunkBytes / (2 * resnetBytes)), resnetRows);
        Assert.AreEqual(Batcher.DefaultMaxChunkRows, Batcher.ChunkRows(mlp, null, 12), "small rows hit the cap");
        Assert.AreEqual(7, Batcher.ChunkRows(resnet, 7, 3 * 32 * 32), "an explicit internal batch size wins");
    }
}
