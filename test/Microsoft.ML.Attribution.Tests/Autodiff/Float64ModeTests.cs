using Microsoft.ML.Attribution.Autodiff;
using Microsoft.ML.Attribution.Onnx;
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
}
