using Microsoft.ML.Attribution.Methods;
using Microsoft.ML.Attribution.Oracles;
using Microsoft.ML.Attribution.Tensors;
using Microsoft.ML.Attribution.Tests.Support;

namespace Microsoft.ML.Attribution.Tests.Oracles;

[TestClass]
public sealed class OnnxGradientOracleTests
{
    private static OnnxGradientOracle Toy() => new(Fixtures.Case("toy_ig_gausslegendre").ModelPath);

    [TestMethod]
    public void WrongRowShape_NamesInputAndShapes()
    {
        var e = Assert.ThrowsExactly<ArgumentException>(() =>
            new IntegratedGradients(Toy()).Attribute(new NdArray<float>(new float[8], 2, 4)));
        StringAssert.Contains(e.Message, "'input'");
        StringAssert.Contains(e.Message, "[3]");
        StringAssert.Contains(e.Message, "[2, 4]");
    }

    [TestMethod]
    public void NaNInput_IsRejectedWithItsPosition()
    {
        var e = Assert.ThrowsExactly<ArgumentException>(() =>
            new Saliency(Toy()).Attribute(new NdArray<float>([1, 2, 3, 4, float.NaN, 6], 2, 3)));
        StringAssert.Contains(e.Message, "NaN");
        StringAssert.Contains(e.Message, "row 1");
    }

    [TestMethod]
    public void TargetOutOfRange_NamesTargetAndOutputSize()
    {
        var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() =>
            new FeatureAblation(Toy()).Attribute(new NdArray<float>(new float[3], 1, 3), target: Target.Class(2)));
        StringAssert.Contains(e.Message, "Target 2");
        StringAssert.Contains(e.Message, "2 value(s) per row");
    }

    [TestMethod]
    public void WrongNumberOfTargets_IsRejected()
    {
        var e = Assert.ThrowsExactly<ArgumentException>(() =>
            new Saliency(Toy()).Attribute(new NdArray<float>(new float[6], 2, 3), target: Target.PerRow(0, 1, 0)));
        StringAssert.Contains(e.Message, "3 targets were given for 2 rows");
    }

    [TestMethod]
    public void BaselineOfWrongShape_IsRejected()
    {
        var e = Assert.ThrowsExactly<ArgumentException>(() =>
            new IntegratedGradients(Toy()).Attribute(new NdArray<float>(new float[6], 2, 3), new NdArray<float>(new float[4], 4)));
        StringAssert.Contains(e.Message, "Baselines shaped [4]");
    }

    [TestMethod]
    public void MaskOfWrongShape_IsRejected()
    {
        var e = Assert.ThrowsExactly<ArgumentException>(() =>
            new FeatureAblation(Toy()).Attribute(new NdArray<float>(new float[6], 2, 3), featureMask: new NdArray<long>(new long[2], 1, 2)));
        StringAssert.Contains(e.Message, "Feature mask shaped [1, 2]");
    }

    [TestMethod]
    public void UnknownOutputName_ListsNearestTensorNames()
    {
        var e = Assert.ThrowsExactly<ArgumentException>(() => new OnnxGradientOracle(Fixtures.Case("toy_ig_gausslegendre").ModelPath, outputName: "outptu"));
        StringAssert.Contains(e.Message, "'outptu' does not exist");
        StringAssert.Contains(e.Message, "output");
    }

    [TestMethod]
    public void PredictedTarget_IsEachRowsArgmax()
    {
        var oracle = Toy();
        var inputs = Fixtures.Case("toy_ig_gausslegendre").Input;
        var outputs = oracle.Forward(inputs);
        var result = new Saliency(oracle).Attribute(inputs);
        for (int r = 0; r < inputs.Rows; r++)
        {
            var row = outputs.Row(r).ToArray();
            Assert.AreEqual(Array.IndexOf(row, row.Max()), result.Targets[r]);
        }
    }

    [TestMethod]
    public void ChunkingByInternalBatchSize_DoesNotChangeResults()
    {
        var c = Fixtures.Case("wine_mlp_ig_gausslegendre_50");
        var oracle = new OnnxGradientOracle(c.ModelPath);
        var whole = new IntegratedGradients(oracle).Attribute(c.Input, c.Baseline, c.Target);
        var chunked = new IntegratedGradients(oracle).Attribute(c.Input, c.Baseline, c.Target, internalBatchSize: 7);
        AssertArrays.Close(whole.Attributions.Data, chunked.Attributions.Data, 1e-6, "chunked IG");
        var ablation = new FeatureAblation(oracle).Attribute(c.Input, c.Baseline, c.Target, internalBatchSize: 1000);
        var ablationChunked = new FeatureAblation(oracle).Attribute(c.Input, c.Baseline, c.Target, internalBatchSize: 3);
        CollectionAssert.AreEqual(ablation.Attributions.Data, ablationChunked.Attributions.Data);
    }
}
