using Microsoft.ML.Attribution.Methods;
using Microsoft.ML.Attribution.Onnx;
using Microsoft.ML.Attribution.Oracles;
using Microsoft.ML.Attribution.Tensors;
using Microsoft.ML.Attribution.Tests.Support;
using static Microsoft.ML.Attribution.Onnx.TensorProtos;

namespace Microsoft.ML.Attribution.Tests.Autodiff;

/// <summary>Whole small CNNs in float32 (as exported): gradients against central differences, and IG completeness.</summary>
[TestClass]
public sealed class CnnModelGradientTests
{
    private static string BatchNorm(TestGraph g, Random random, string x, int channels) =>
        g.Node("BatchNormalization", [x,
            g.Weight(Enumerable.Range(0, channels).Select(_ => 0.5 + random.NextDouble()).ToArray(), channels),
            g.Random(random, channels),
            g.Random(random, channels),
            g.Weight(Enumerable.Range(0, channels).Select(_ => 0.5 + random.NextDouble()).ToArray(), channels)]);

    /// <summary>Conv+BN+Relu+Conv+BN, skip Add, Relu, GlobalAveragePool, Flatten, Gemm.</summary>
    internal static OnnxModel ResNetBlock(int opset = 13)
    {
        var random = new Random(11);
        var g = new TestGraph(opset, OnnxDataType.Float).Input("x", "batch", 4, 8, 8);
        var h = g.Node("Conv", ["x", g.Random(random, 4, 4, 3, 3), g.Random(random, 4)], IntsAttr("pads", 1, 1, 1, 1));
        h = g.Node("Relu", [BatchNorm(g, random, h, 4)]);
        h = g.Node("Conv", [h, g.Random(random, 4, 4, 3, 3)], IntsAttr("pads", 1, 1, 1, 1));
        h = g.Node("Relu", [g.Node("Add", [BatchNorm(g, random, h, 4), "x"])]);
        h = g.Node("Flatten", [g.Node("GlobalAveragePool", [h])]);
        g.Output(g.Node("Gemm", [h, g.Random(random, 3, 4), g.Random(random, 3)], IntAttr("transB", 1)));
        return g.Build();
    }

    /// <summary>Conv, Relu, MaxPool 2×2, Conv, Relu, AveragePool 2×2, Flatten, Gemm to 10 classes.</summary>
    internal static OnnxModel MnistStyleCnn(int opset)
    {
        var random = new Random(17);
        var g = new TestGraph(opset, OnnxDataType.Float).Input("x", "batch", 1, 12, 12);
        var h = g.Node("Relu", [g.Node("Conv", ["x", g.Random(random, 4, 1, 3, 3), g.Random(random, 4)], IntsAttr("pads", 1, 1, 1, 1))]);
        h = g.Node("MaxPool", [h], IntsAttr("kernel_shape", 2, 2), IntsAttr("strides", 2, 2));
        h = g.Node("Relu", [g.Node("Conv", [h, g.Random(random, 6, 4, 3, 3), g.Random(random, 6)])]);
        h = g.Node("AveragePool", [h], IntsAttr("kernel_shape", 2, 2), IntsAttr("strides", 2, 2));
        h = g.Node("Flatten", [h]);
        g.Output(g.Node("Gemm", [h, g.Random(random, 10, 24), g.Random(random, 10)], IntAttr("transB", 1)));
        return g.Build();
    }

    private static NdArray<float> RandomRows(int seed, params int[] shape)
    {
        var random = new Random(seed);
        var data = new float[shape.Aggregate(1, (a, b) => a * b)];
        for (int i = 0; i < data.Length; i++) data[i] = (float)random.NextDouble();
        return new NdArray<float>(data, shape);
    }

    [TestMethod]
    public void ResNetBlock_Gradient_MatchesFiniteDifferences()
    {
        var model = ResNetBlock();
        Assert.AreEqual("[batch, 3]", model.Types[model.Outputs[0].Name].ShapeText);
        GradientCheck.AssertMatchesSpatial(model, "x", [2, 4, 8, 8], step: 1e-2, tolerance: 2e-3, piecewiseLinear: true);
    }

    [TestMethod]
    [DataRow(7)]
    [DataRow(13)]
    [DataRow(17)]
    public void MnistStyleCnn_Gradient_MatchesFiniteDifferences(int opset)
    {
        var model = MnistStyleCnn(opset);
        Assert.AreEqual("[batch, 10]", model.Types[model.Outputs[0].Name].ShapeText);
        GradientCheck.AssertMatchesSpatial(model, "x", [2, 1, 12, 12], step: 1e-2, tolerance: 2e-3, piecewiseLinear: true);
    }

    [TestMethod]
    public void ResNetBlock_IntegratedGradients_IsComplete()
    {
        var oracle = new OnnxGradientOracle(ResNetBlock().ToBytes());
        var result = new IntegratedGradients(oracle).Attribute(RandomRows(2, 3, 4, 8, 8), steps: 200);
        foreach (var delta in result.ConvergenceDelta!) Assert.IsLessThan(1e-2, Math.Abs(delta));
    }

    [TestMethod]
    [DataRow(7)]
    [DataRow(17)]
    public void MnistStyleCnn_IntegratedGradients_IsComplete(int opset)
    {
        var oracle = new OnnxGradientOracle(MnistStyleCnn(opset).ToBytes());
        var result = new IntegratedGradients(oracle).Attribute(RandomRows(3, 4, 1, 12, 12), steps: 200);
        foreach (var delta in result.ConvergenceDelta!) Assert.IsLessThan(1e-2, Math.Abs(delta));
    }
}
