using Microsoft.ML.Attribution.Autodiff;
using Microsoft.ML.Attribution.Onnx;
using Microsoft.ML.Attribution.Oracles;
using Microsoft.ML.Attribution.Runtime;
using Microsoft.ML.Attribution.Tensors;
using Microsoft.ML.Attribution.Tests.Support;
using Microsoft.ML.OnnxRuntime;
using static Microsoft.ML.Attribution.Onnx.TensorProtos;

namespace Microsoft.ML.Attribution.Tests.Autodiff;

/// <summary>
/// The float64 mode (<see cref="Float64Conversion"/>): which ops ONNX Runtime's CPU provider runs in float64, and that a
/// converted model keeps its float32 interface while computing (and differentiating) in float64.
/// </summary>
[TestClass]
public sealed class Float64ModeTests
{
    /// <summary>One-node models over x [1, 2, 4, 4] (float64), with the extra weights each op needs.</summary>
    private static IEnumerable<(string Op, Func<TestGraph, string> Build)> Probes()
    {
        var random = new Random(1);
        foreach (var op in new[] { "Relu", "Sigmoid", "Tanh", "Exp", "Log", "Neg", "Abs", "Sqrt", "Reciprocal", "Erf",
            "HardSwish", "HardSigmoid", "Softplus", "Softsign", "Elu", "Selu", "Celu", "LeakyRelu", "ThresholdedRelu", "Mish",
            "Softmax", "LogSoftmax", "GlobalAveragePool", "GlobalMaxPool", "Identity", "Floor", "Ceil", "Round", "Sign", "Sin", "Cos" })
        {
            yield return (op, g => g.Node(op, ["x"]));
        }
        yield return ("Gelu", g => g.Node("Gelu", ["x"]));
        foreach (var op in new[] { "Add", "Sub", "Mul", "Div", "Pow", "MatMul", "Max", "Min", "Sum", "PRelu" })
            yield return (op, g => g.Node(op, ["x", g.Random(random, 4)]));
        yield return ("Clip", g => g.Node("Clip", ["x", g.Weight([-0.5]), g.Weight([0.5])]));
        yield return ("MaxPool", g => g.Node("MaxPool", ["x"], IntsAttr("kernel_shape", 2, 2)));
        yield return ("AveragePool", g => g.Node("AveragePool", ["x"], IntsAttr("kernel_shape", 2, 2)));
        yield return ("LpPool", g => g.Node("LpPool", ["x"], IntsAttr("kernel_shape", 2, 2)));
        yield return ("Conv", g => g.Node("Conv", ["x", g.Random(random, 2, 2, 1, 1)]));
        yield return ("ConvTranspose", g => g.Node("ConvTranspose", ["x", g.Random(random, 2, 2, 1, 1)]));
        yield return ("Gemm", g => g.Node("Gemm", [g.Node("Reshape", ["x", g.Int64s(8, 4)]), g.Random(random, 4, 3)]));
        yield return ("BatchNormalization", g => g.Node("BatchNormalization", ["x", g.Weight([1, 2], 2), g.Weight([0, 1], 2), g.Weight([0, 1], 2), g.Weight([1, 2], 2)]));
        yield return ("InstanceNormalization", g => g.Node("InstanceNormalization", ["x", g.Weight([1, 2], 2), g.Weight([0, 1], 2)]));
        yield return ("LayerNormalization", g => g.Node("LayerNormalization", ["x", g.Random(random, 4), g.Random(random, 4)], IntAttr("axis", -1)));
        yield return ("GroupNormalization", g => g.Node("GroupNormalization", ["x", g.Weight([1, 2], 2), g.Weight([0, 1], 2)], IntAttr("num_groups", 2)));
        yield return ("LRN", g => g.Node("LRN", ["x"], IntAttr("size", 3)));
        yield return ("Resize", g => g.Node("Resize", ["x", "", g.Weight([1, 1, 2, 2], 4)], StringAttr("mode", "linear")));
        yield return ("ReduceSum", g => g.Node("ReduceSum", ["x", g.Int64s(1)]));
        yield return ("ReduceMean", g => g.Node("ReduceMean", ["x"], IntsAttr("axes", 1)));
        yield return ("ReduceMax", g => g.Node("ReduceMax", ["x"], IntsAttr("axes", 1)));
        yield return ("CumSum", g => g.Node("CumSum", ["x", g.Int64s(1)]));
        yield return ("Einsum", g => g.Node("Einsum", ["x", g.Random(random, 4, 3)], StringAttr("equation", "nchw,wk->nchk")));
        yield return ("Where", g => g.Node("Where", [g.Node("Greater", ["x", g.Weight([0.0])]), "x", g.Weight([0.0])]));
        yield return ("Expand", g => g.Node("Expand", ["x", g.Int64s(2, 2, 4, 4)]));
        yield return ("Tile", g => g.Node("Tile", ["x", g.Int64s(1, 1, 2, 1)]));
        yield return ("Pad", g => g.Node("Pad", ["x", g.Int64s(0, 0, 1, 1, 0, 0, 1, 1)]));
        yield return ("TopK", g => g.Nodes("TopK", ["x", g.Int64s(2)], 2)[0]);
        yield return ("Gather", g => g.Node("Gather", ["x", g.Int64s(0, 1)], IntAttr("axis", 3)));
        yield return ("GatherElements", g => g.Node("GatherElements", ["x", g.Node("Cast", [g.Node("Mul", ["x", g.Weight([0.0])])], IntAttr("to", OnnxDataType.Int64))], IntAttr("axis", 3)));
        yield return ("ScatterND", g => g.Node("ScatterND", ["x", g.Node("Reshape", [g.Int64s(0), g.Int64s(1, 1)]), g.Random(random, 1, 2, 4, 4)]));
    }

    [TestMethod]
    public void Float32OnlyOps_AreTheOpsOnnxRuntimeCannotRunInFloat64()
    {
        var lacking = new List<string>();
        foreach (var (op, build) in Probes())
        {
            // At the lowest opset each op exists in (13 for most): from opset 18 ONNX Runtime expands some ops without a
            // float64 kernel (HardSigmoid, HardSwish, …) into their ONNX function bodies, which run in float64; models
            // exported at 13–17 get no such expansion, so the list holds what fails there.
            int opset = op switch { "Gelu" => 20, "GroupNormalization" => 18, "LayerNormalization" => 17, _ => 13 };
            var g = new TestGraph(opset: opset).Input("x", 1, 2, 4, 4);
            g.Output(build(g));
            try
            {
                using var session = new GradientCheck.Session(g.Build().ToBytes());
                session.Run(new() { ["x"] = (GradientCheck.Uniform(new Random(2), 32, -1, 1), [1, 2, 4, 4]) }, [g.Build().Outputs[0].Name]);
            }
            catch (OnnxRuntimeException e) when (e.Message.Contains("implementation", StringComparison.OrdinalIgnoreCase) ||
                                                 e.Message.Contains("double", StringComparison.OrdinalIgnoreCase))
            {
                lacking.Add(op);
            }
            catch (OnnxRuntimeException e)
            {
                Assert.Fail($"probe of {op} at opset {opset} is malformed: {e.Message}");
            }
        }
        var probed = Probes().Select(p => p.Op).ToHashSet();
        var listed = Float64Conversion.Float32OnlyOps.Where(probed.Contains).Order().ToList();
        Console.WriteLine("no float64 kernel: " + string.Join(", ", lacking.Order()));
        CollectionAssert.AreEqual(lacking.Order().ToList(), listed, $"ONNX Runtime lacks float64 kernels for: {string.Join(", ", lacking.Order())}");
    }

    /// <summary>A 12-layer tanh MLP over x [batch, 8], the same weights (float32 values) as float32 or float64.</summary>
    private static OnnxModel DeepTanh(int elemType, bool withErf = false)
    {
        var random = new Random(4);
        var g = new TestGraph(opset: 13, elemType: elemType).Input("x", "batch", 8);
        string Random(params long[] dims) =>
            g.Weight(Enumerable.Range(0, (int)dims.Aggregate(1L, (a, b) => a * b)).Select(_ => (double)(float)(random.NextDouble() * 2 - 1)).ToArray(), dims);
        string h = "x";
        for (int layer = 0; layer < 12; layer++)
            h = g.Node("Tanh", [g.Node("Add", [g.Node("MatMul", [h, Random(8, 8)]), Random(8)])]);
        if (withErf) h = g.Node("Erf", [h]);
        g.Output(h);
        return g.Build();
    }

    private static (double[] Outputs, double[] Gradient) Run(OnnxModel model, string wrt, double[] x, double[] seed)
    {
        var graph = GradientGraphBuilder.Build(model, model.Outputs[0].Name, [wrt]);
        using var session = new GradientCheck.Session(graph.Model.ToBytes());
        int rows = x.Length / 8;
        var results = session.Run(new() { ["x"] = (x, [rows, 8]), [graph.SeedInput] = (seed, [rows, seed.Length / rows]) },
            [model.Outputs[0].Name, graph.GradientOutputs[0]]);
        return (results[0].Data, results[1].Data);
    }

    private static double MaxRelativeError(double[] actual, double[] expected) =>
        actual.Zip(expected, (a, e) => Math.Abs(a - e)).Max() / expected.Max(Math.Abs);

    [TestMethod]
    public void ConvertedModel_KeepsItsFloat32Interface_AndComputesInFloat64()
    {
        var single = DeepTanh(OnnxDataType.Float);
        var converted = Float64Conversion.ToFloat64(single, strict: true);
        Assert.AreEqual(OnnxDataType.Float, converted.Types["x"].ElemType);
        Assert.AreEqual(OnnxDataType.Float, converted.Types[converted.Outputs[0].Name].ElemType);
        Assert.IsTrue(converted.Initializers.Values.All(t => t.DataType == OnnxDataType.Double), "every weight in float64");
        var random = new Random(9);
        // Inputs and seeds that float32 holds exactly, so that only the arithmetic differs.
        var x = Enumerable.Range(0, 24).Select(_ => (double)(float)(random.NextDouble() * 2 - 1)).ToArray();
        var seed = Enumerable.Range(0, 24).Select(_ => (double)(float)(random.NextDouble() * 2 - 1)).ToArray();
        var reference = Run(DeepTanh(OnnxDataType.Double), "x", x, seed);
        var float64 = Run(converted, Float64Conversion.Float64Name("x"), x, seed);
        var float32 = Run(single, "x", x, seed);
        double error64 = MaxRelativeError(float64.Gradient, reference.Gradient), error32 = MaxRelativeError(float32.Gradient, reference.Gradient);
        Console.WriteLine($"gradient vs float64 reference: float64 mode {error64:G3}, float32 {error32:G3}");
        Assert.IsTrue(error64 < 1e-13, $"float64 mode: {error64:G3}");
        Assert.IsTrue(error32 > 1e-9, $"float32 should show its rounding ({error32:G3}); the comparison cannot tell the modes apart otherwise");
        // The outputs come back as float32: equal to the reference up to that rounding.
        Assert.IsTrue(MaxRelativeError(float64.Outputs, reference.Outputs) < 1e-7);
    }

    [TestMethod]
    public void OpsWithoutFloat64Kernel_AreRefusedWhenStrict_ElseRunInFloat32BetweenCasts()
    {
        var single = DeepTanh(OnnxDataType.Float, withErf: true);
        var e = Assert.ThrowsExactly<NotSupportedException>(() => Float64Conversion.ToFloat64(single, strict: true));
        StringAssert.Contains(e.Message, "Erf");
        var converted = Float64Conversion.ToFloat64(single, strict: false);
        var erf = converted.Graph.Node.Single(n => n.OpType == "Erf");
        Assert.IsTrue(erf.Input.Concat(erf.Output).All(t => converted.Types[t].ElemType == OnnxDataType.Float), "Erf runs in float32");
        var random = new Random(3);
        var x = GradientCheck.Uniform(random, 16, -1, 1);
        var seed = GradientCheck.Uniform(random, 16, -1, 1);
        // No float64 reference can run Erf: the float32 model's gradient stands in, within float32 rounding.
        var reference = Run(single, "x", x, seed);
        var graph = GradientGraphBuilder.Build(converted, converted.Outputs[0].Name, [Float64Conversion.Float64Name("x")]);
        var wrapped = Float64Conversion.WrapFloat32Only(graph.Model, strict: false);
        Assert.IsFalse(wrapped.Graph.Node.Any(n => Float64Conversion.Float32OnlyOps.Contains(n.OpType) &&
            n.Input.Concat(n.Output).Any(t => wrapped.Types.TryGetValue(t, out var type) && type.ElemType == OnnxDataType.Double)));
        using var session = new GradientCheck.Session(wrapped.ToBytes());
        var gradient = session.Run(new() { ["x"] = (x, [2, 8]), [graph.SeedInput] = (seed, [2, 8]) }, graph.GradientOutputs)[0].Data;
        Assert.IsTrue(MaxRelativeError(gradient, reference.Gradient) < 1e-5);
    }

    [TestMethod]
    public void Oracle_InFloat64Mode_GivesTheFloat64Gradient_AndLayerMethodsRefuseIt()
    {
        var single = DeepTanh(OnnxDataType.Float);
        var options = new RuntimeOptions { Precision = ComputePrecision.Float64 };
        var oracle = new OnnxGradientOracle(single.ToBytes(), options: options);
        var random = new Random(5);
        var x = Enumerable.Range(0, 16).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        var seed = Enumerable.Range(0, 16).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        var (_, gradient) = oracle.ForwardBackward(new NdArray<float>(x, [2, 8]), new NdArray<float>(seed, [2, 8]));
        var reference = Run(DeepTanh(OnnxDataType.Double), "x", x.Select(v => (double)v).ToArray(), seed.Select(v => (double)v).ToArray());
        // Read back as float32: the float64 gradient rounded once.
        Assert.IsTrue(MaxRelativeError(gradient.Data.Select(v => (double)v).ToArray(), reference.Gradient) < 1e-7);
        var e = Assert.ThrowsExactly<NotSupportedException>(() => oracle.AtLayer(single.Graph.Node[2].Output[0]));
        StringAssert.Contains(e.Message, "Float64");
    }

    [TestMethod]
    [DataRow(new long[] { 3, 3 }, new long[] { 2, 1 }, new long[] { 1, 1 }, "NOTSET", 1, true)]
    [DataRow(new long[] { 2, 2 }, new long[] { 1, 1 }, new long[] { 1, 1 }, "SAME_UPPER", 2, false)]
    [DataRow(new long[] { 2, 2 }, new long[] { 1, 2 }, new long[] { 2, 1 }, "VALID", 2, false)]
    [DataRow(new long[] { 3, 2 }, new long[] { 2, 2 }, new long[] { 1, 1 }, "SAME_LOWER", 4, true)]
    [DataRow(new long[] { 3 }, new long[] { 1 }, new long[] { 1 }, "NOTSET", 4, true)]
    public void Conv_InFloat64Ops_MatchesOnnxRuntimesConv_AndFiniteDifferences(long[] kernel, long[] strides, long[] dilations,
        string autoPad, int groups, bool bias)
    {
        // Conv has no float64 kernel: the float64 mode writes it as strided Slices and MatMuls. Forward against ONNX
        // Runtime's float32 Conv (same float32-exact values), gradient against float64 finite differences.
        int r = kernel.Length;
        int[] shape = r == 2 ? [2, 4, 7, 6] : [2, 4, 9];
        OnnxModel Build(int elemType)
        {
            var random = new Random(8);
            var g = new TestGraph(opset: 13, elemType: elemType).Input("x", ["batch", .. shape.Skip(1).Cast<object>()]);
            string Random(params long[] dims) =>
                g.Weight(Enumerable.Range(0, (int)dims.Aggregate(1L, (a, b) => a * b)).Select(_ => (double)(float)(random.NextDouble() * 2 - 1)).ToArray(), dims);
            var inputs = new List<string> { "x", Random([4, 4 / groups, .. kernel]) };
            if (bias) inputs.Add(Random(4));
            var attributes = new List<Onnx.Proto.AttributeProto> { IntsAttr("kernel_shape", kernel), IntsAttr("strides", strides),
                IntsAttr("dilations", dilations), IntAttr("group", groups) };
            if (autoPad == "NOTSET") attributes.Add(IntsAttr("pads", [.. Enumerable.Repeat(1L, r), .. Enumerable.Repeat(0L, r)]));
            else attributes.Add(StringAttr("auto_pad", autoPad));
            g.Output(g.Node("Tanh", [g.Node("Conv", inputs.ToArray(), attributes.ToArray())]));
            return g.Build();
        }
        var lowered = Float64Conversion.LowerToFloat64Ops(Build(OnnxDataType.Double));
        Assert.IsFalse(lowered.OpTypes.Contains("Conv"), "Conv left in the graph");
        var random = new Random(2);
        var x = Enumerable.Range(0, shape.Aggregate(1, (a, b) => a * b)).Select(_ => (double)(float)(random.NextDouble() * 2 - 1)).ToArray();
        using var native = new GradientCheck.Session(Build(OnnxDataType.Float).ToBytes());
        using var ours = new GradientCheck.Session(lowered.ToBytes());
        var expected = native.Run(new() { ["x"] = (x, shape) }, [lowered.Outputs[0].Name])[0];
        var actual = ours.Run(new() { ["x"] = (x, shape) }, [lowered.Outputs[0].Name])[0];
        CollectionAssert.AreEqual(expected.Shape, actual.Shape, "output shape");
        for (int i = 0; i < expected.Data.Length; i++) Assert.AreEqual(expected.Data[i], actual.Data[i], 1e-5, $"output [{i}]");
        GradientCheck.AssertMatchesFiniteDifferences(lowered, new() { ["x"] = shape }, tolerance: 1e-6);
    }
}
