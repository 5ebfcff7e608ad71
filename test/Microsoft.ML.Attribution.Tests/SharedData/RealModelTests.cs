using System.Globalization;
using Microsoft.ML.Attribution.Autodiff;
using Microsoft.ML.Attribution.Methods;
using Microsoft.ML.Attribution.Onnx;
using Microsoft.ML.Attribution.Oracles;
using Microsoft.ML.Attribution.Tensors;
using Microsoft.ML.Attribution.Tests.Support;

namespace Microsoft.ML.Attribution.Tests.SharedData;

/// <summary>Models trained and exported by others (../shared/data), with their real-world quirks.</summary>
[TestClass]
public sealed class RealModelTests
{
    private static NdArray<float> IrisRows(int count)
    {
        var lines = File.ReadLines(Support.SharedData.Require("datasets/iris.txt")).Where(l => !l.StartsWith('#')).ToList();
        // Every 10th row: all three species.
        var rows = lines.Where((_, i) => i % 10 == 0).Take(count)
            .Select(l => l.Split('\t').Skip(1).Select(v => float.Parse(v, CultureInfo.InvariantCulture)).ToArray()).ToList();
        return new NdArray<float>(rows.SelectMany(r => r).ToArray(), rows.Count, 4);
    }

    [TestMethod]
    public void IrisMlp_Saliency_MatchesFiniteDifferencesOfTheForwardPass()
    {
        var oracle = new OnnxGradientOracle(Support.SharedData.Require("models/iris_mlp.onnx"));
        var inputs = IrisRows(15);
        var result = new Saliency(oracle).Attribute(inputs, abs: false);
        const float h = 1e-2f;
        for (int r = 0; r < inputs.Rows; r++)
        {
            for (int j = 0; j < 4; j++)
            {
                var plus = inputs.Clone();
                var minus = inputs.Clone();
                plus.Row(r)[j] += h;
                minus.Row(r)[j] -= h;
                int t = result.Targets[r];
                double numeric = (oracle.Forward(plus).Row(r)[t] - (double)oracle.Forward(minus).Row(r)[t]) / (2 * h);
                Assert.AreEqual(numeric, result.Attributions.Row(r)[j], 2e-2 * Math.Max(1, Math.Abs(numeric)), $"row {r}, feature {j}");
            }
        }
    }

    [TestMethod]
    public void IrisMlp_IntegratedGradients_IsComplete()
    {
        var oracle = new OnnxGradientOracle(Support.SharedData.Require("models/iris_mlp.onnx"));
        var result = new IntegratedGradients(oracle).Attribute(IrisRows(15), steps: 200);
        foreach (var delta in result.ConvergenceDelta!) Assert.IsLessThan(1e-2, Math.Abs(delta));
    }

    private static (NdArray<float> Image, int Label) MnistDigit(int index)
    {
        var line = File.ReadLines(Support.SharedData.Require("datasets/MNIST.Test.tiny.txt")).Skip(index).First().Split('\t');
        var pixels = new float[784];
        foreach (var entry in line.Skip(2))
        {
            var kv = entry.Split(':');
            pixels[int.Parse(kv[0], CultureInfo.InvariantCulture)] = float.Parse(kv[1], CultureInfo.InvariantCulture) / 255f;
        }
        return (new NdArray<float>(pixels, 1, 1, 28, 28), int.Parse(line[0], CultureInfo.InvariantCulture));
    }

    [TestMethod]
    public void CntkMnist_Opset7_WithInitializersAsInputs_OcclusionRunsOneRowPerCall()
    {
        var oracle = new OnnxGradientOracle(Support.SharedData.Require("models/mnist_cntk_opset7.onnx"));
        Assert.AreEqual(1, oracle.MaxRowsPerCall, "the model's input has a fixed batch of 1");
        var (image, label) = MnistDigit(0);
        var result = new Occlusion(oracle).Attribute(image, [1, 4, 4], [1, 4, 4], internalBatchSize: 64);
        Assert.AreEqual(label, result.Targets[0], "the model predicts the true digit");
        var a = result.Attributions;
        for (int by = 0; by < 7; by++)
        {
            for (int bx = 0; bx < 7; bx++)
            {
                bool blank = true;
                for (int y = 0; y < 4; y++) for (int x = 0; x < 4; x++) blank &= image.Data[(by * 4 + y) * 28 + bx * 4 + x] == 0f;
                float value = a.Data[by * 4 * 28 + bx * 4];
                if (blank) Assert.AreEqual(0f, value, $"occluding blank block ({by},{bx}) with a zero baseline changes nothing");
            }
        }
        Assert.IsTrue(a.Data.Max() > 0.5f, "occluding the strokes lowers the score of the true digit");
    }

    [TestMethod]
    public void CntkMnist_Opset7_Saliency_MatchesFiniteDifferencesOfTheForwardPass()
    {
        // Conv SAME_UPPER, MaxPool 2×2/2 and 3×3/3 (the latter drops the last 2 rows and columns of 14×14) at opset 7:
        // MaxPool's gradient takes the one-hot-Conv path, since opset 7 has no ScatterElements and no float Equal.
        // On a clean digit's blank background whole pooling windows tie and the model has no derivative there (the
        // next test pins the tie rule); a fixed noise pattern in [0, 0.2] on the background breaks the ties.
        var oracle = new OnnxGradientOracle(Support.SharedData.Require("models/mnist_cntk_opset7.onnx"));
        var (image, label) = MnistDigit(0);
        var random = new Random(1);
        for (int i = 0; i < 784; i++) image.Data[i] += (float)(random.NextDouble() * 0.2);
        var result = new Saliency(oracle).Attribute(image, abs: false);
        Assert.AreEqual(label, result.Targets[0]);
        var gradient = result.Attributions.Data;
        double Score(NdArray<float> x) => oracle.Forward(x).Row(0)[label];
        double Slope(int p, float step)
        {
            var moved = image.Clone();
            moved.Data[p] += step;
            return (Score(moved) - Score(image)) / step;
        }
        bool Close(double a, double b, double tolerance) => Math.Abs(a - b) <= tolerance * Math.Max(1, Math.Abs(a));
        int smooth = 0;
        for (int p = 0; p < 784; p++)
        {
            // The model is piecewise linear (float32, so steps of 1e-2 keep rounding small): where the one-sided
            // slopes over ±h and ±h/4 all agree it is linear around the pixel and the gradient must equal them;
            // elsewhere a Relu or a max switches within the step.
            double[] slopes = [Slope(p, 1e-2f), Slope(p, -1e-2f), Slope(p, 2.5e-3f), Slope(p, -2.5e-3f)];
            if (slopes.Any(s => !Close(s, slopes[0], 2e-3))) continue;
            smooth++;
            double numeric = slopes.Average();
            Assert.IsTrue(Close(numeric, gradient[p], 5e-3), $"pixel {p}: analytic {gradient[p]:G6}, numeric {numeric:G6}");
        }
        Assert.IsGreaterThan(200, smooth, "most pixels are checked");
    }

    [TestMethod]
    public void CntkMnist_Opset7_MaxPoolGradient_BreaksTiesLikeOrtArgmax()
    {
        // Every op of this model (Conv, Add, Relu, MaxPool, Reshape, MatMul) means the same at opset 13, where
        // MaxPool's gradient scatters to ORT's own Indices: the opset-7 path must give the same gradient, ties
        // on the blank background included.
        var model = OnnxModel.Load(Support.SharedData.Require("models/mnist_cntk_opset7.onnx"));
        var proto = model.CloneProto();
        proto.OpsetImport[0].Version = 13;
        proto.IrVersion = 7;
        var (image, _) = MnistDigit(2);
        var opset7 = new Saliency(new OnnxGradientOracle(model.ToBytes())).Attribute(image, abs: false).Attributions.Data;
        var opset13 = new Saliency(new OnnxGradientOracle(new OnnxModel(proto).ToBytes())).Attribute(image, abs: false).Attributions.Data;
        Assert.IsTrue(opset7.Count(v => v != 0) > 300);
        for (int p = 0; p < 784; p++) Assert.AreEqual(opset13[p], opset7[p], 1e-5f, $"pixel {p}");
    }

    [TestMethod]
    public void CntkMnist_Opset7_IntegratedGradients_IsComplete()
    {
        var oracle = new OnnxGradientOracle(Support.SharedData.Require("models/mnist_cntk_opset7.onnx"));
        var (image, label) = MnistDigit(1);
        var result = new IntegratedGradients(oracle).Attribute(image, steps: 200);
        Assert.AreEqual(label, result.Targets[0]);
        double change = oracle.Forward(image).Row(0)[label] - oracle.Forward(new NdArray<float>(new float[784], 1, 1, 28, 28)).Row(0)[label];
        Assert.IsGreaterThan(1.0, Math.Abs(change), "the digit scores well above the blank baseline");
        Assert.IsLessThan(1e-2 * Math.Abs(change), Math.Abs(result.ConvergenceDelta![0]), $"delta {result.ConvergenceDelta[0]} for a change of {change}");
    }
}
