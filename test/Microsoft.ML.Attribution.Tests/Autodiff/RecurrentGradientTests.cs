using Microsoft.ML.Attribution.Autodiff;
using Microsoft.ML.Attribution.Onnx;
using Microsoft.ML.Attribution.Tests.Support;
using static Microsoft.ML.Attribution.Onnx.TensorProtos;

namespace Microsoft.ML.Attribution.Tests.Autodiff;

/// <summary>
/// LSTM, GRU and RNN: the unrolled graph (<see cref="RecurrentLowering"/>) must compute what ONNX Runtime's own kernel
/// computes (float32: its CPU provider has no float64 LSTM, GRU or RNN kernel, nor layout 1), and its float64 gradient
/// must match finite differences for the input, the initial states and the weights, in every direction, with and without
/// biases, initial states and peepholes. Layout 1 is checked against layout 0 on transposed data.
/// </summary>
[TestClass]
public sealed class RecurrentGradientTests
{
    private const int Seq = 3, Batch = 2, InputSize = 3, Hidden = 2;

    /// <summary>A model holding one recurrent node; inputs x, and h0/c0 when asked, are graph inputs, the rest weights.</summary>
    private static OnnxModel Recurrent(string op, string direction, bool bias = true, bool initialH = false, bool initialC = false,
        bool peepholes = false, long layout = 0, long linearBeforeReset = 0, string[]? activations = null, int seed = 3,
        int elemType = OnnxDataType.Double, object? seqDim = null, bool sequenceLens = false, int outputIndex = 0)
    {
        int gates = op switch { "LSTM" => 4, "GRU" => 3, _ => 1 };
        int dirs = direction == "bidirectional" ? 2 : 1;
        var random = new Random(seed);
        var g = new TestGraph(opset: layout == 0 ? 13 : 14, elemType: elemType);
        object seq = seqDim ?? Seq;
        if (layout == 0) g.Input("x", seq, "batch", InputSize);
        else g.Input("x", "batch", seq, InputSize);
        string w = g.Random(random, dirs, gates * Hidden, InputSize);
        string r = g.Random(random, dirs, gates * Hidden, Hidden);
        string b = bias ? g.Random(random, dirs, 2 * gates * Hidden) : "";
        string lens = sequenceLens ? g.Weight([Seq, Seq - 1], Batch) : "";
        object[] stateDims = layout == 0 ? [dirs, "batch", Hidden] : ["batch", dirs, Hidden];
        if (initialH) g.Input("h0", stateDims);
        if (initialC) g.Input("c0", stateDims);
        var inputs = new List<string> { "x", w, r, b, lens, initialH ? "h0" : "", initialC ? "c0" : "" };
        if (peepholes) inputs.Add(g.Random(random, dirs, 3 * Hidden));
        while (inputs[^1].Length == 0) inputs.RemoveAt(inputs.Count - 1);
        var attributes = new List<Onnx.Proto.AttributeProto> { IntAttr("hidden_size", Hidden), StringAttr("direction", direction) };
        if (layout != 0) attributes.Add(IntAttr("layout", layout));
        if (linearBeforeReset != 0) attributes.Add(IntAttr("linear_before_reset", linearBeforeReset));
        if (activations is not null)
        {
            var a = new Onnx.Proto.AttributeProto { Name = "activations", Type = Onnx.Proto.AttributeProto.Types.AttributeType.Strings };
            a.Strings.AddRange(activations.Select(Google.Protobuf.ByteString.CopyFromUtf8));
            attributes.Add(a);
        }
        var outputs = g.Nodes(op, inputs.ToArray(), op == "LSTM" ? 3 : 2, attributes.ToArray());
        // A non-linear read-out of the chosen output so that every element's gradient differs.
        g.Output(g.Node("Mul", [outputs[outputIndex], outputs[outputIndex]]));
        return g.Build();
    }

    private static Dictionary<string, int[]> Shapes(OnnxModel model, long layout = 0)
    {
        int dirs = (int)model.Initializers.Values.First().Dims[0];
        var shapes = new Dictionary<string, int[]> { ["x"] = layout == 0 ? [Seq, Batch, InputSize] : [Batch, Seq, InputSize] };
        foreach (var state in new[] { "h0", "c0" }.Where(model.IsInput))
            shapes[state] = layout == 0 ? [dirs, Batch, Hidden] : [Batch, dirs, Hidden];
        return shapes;
    }

    public static IEnumerable<object[]> Configurations()
    {
        foreach (var op in new[] { "LSTM", "GRU", "RNN" })
        {
            foreach (var direction in new[] { "forward", "reverse", "bidirectional" })
            {
                yield return [op, direction, true, false, 0L, 0L];
                yield return [op, direction, false, true, 0L, 0L];
            }
        }
        yield return ["GRU", "bidirectional", true, true, 0L, 1L];
        yield return ["GRU", "forward", false, false, 0L, 1L];
    }

    [TestMethod]
    [DynamicData(nameof(Configurations))]
    public void Unrolled_ComputesWhatOnnxRuntimeComputes(string op, string direction, bool bias, bool initialStates, long layout, long linearBeforeReset)
    {
        for (int output = 0; output < (op == "LSTM" ? 3 : 2); output++)
        {
            var model = Recurrent(op, direction, bias, initialStates, initialStates && op == "LSTM", layout: layout,
                linearBeforeReset: linearBeforeReset, outputIndex: output, elemType: OnnxDataType.Float);
            AssertSameForward(model, Shapes(model, layout));
        }
    }

    [TestMethod]
    [DynamicData(nameof(Configurations))]
    public void Gradient_MatchesFiniteDifferences(string op, string direction, bool bias, bool initialStates, long layout, long linearBeforeReset)
    {
        for (int output = 0; output < (op == "LSTM" ? 3 : 2); output++)
        {
            var model = Recurrent(op, direction, bias, initialStates, initialStates && op == "LSTM", layout: layout,
                linearBeforeReset: linearBeforeReset, outputIndex: output);
            AssertGradientMatchesFiniteDifferences(model, Shapes(model, layout), seed: output + 1);
        }
    }

    [TestMethod]
    public void LstmPeepholes_AndOtherActivations_MatchOnnxRuntimeAndFiniteDifferences()
    {
        foreach (int type in new[] { OnnxDataType.Float, OnnxDataType.Double })
        {
            var lstm = Recurrent("LSTM", "bidirectional", initialH: true, initialC: true, peepholes: true, elemType: type,
                activations: ["Sigmoid", "Tanh", "Softsign", "Sigmoid", "Softsign", "Tanh"]);
            var rnn = Recurrent("RNN", "bidirectional", initialH: true, activations: ["Relu", "Tanh"], elemType: type);
            var gru = Recurrent("GRU", "forward", activations: ["Sigmoid", "Softplus"], elemType: type);
            foreach (var model in new[] { lstm, rnn, gru })
            {
                if (type == OnnxDataType.Float) AssertSameForward(model, Shapes(model));
                else AssertGradientMatchesFiniteDifferences(model, Shapes(model));
            }
        }
    }

    [TestMethod]
    public void WeightGradients_MatchFiniteDifferences()
    {
        var model = Recurrent("LSTM", "bidirectional", initialH: true, initialC: true, peepholes: true);
        // The weights become graph inputs so that they can be differentiated and perturbed.
        var proto = model.CloneProto();
        foreach (var init in proto.Graph.Initializer.ToList())
        {
            proto.Graph.Input.Add(new Onnx.Proto.ValueInfoProto
            {
                Name = init.Name,
                Type = new Onnx.Proto.TypeProto { TensorType = new() { ElemType = init.DataType, Shape = new() } },
            });
            foreach (var d in init.Dims) proto.Graph.Input[^1].Type.TensorType.Shape.Dim.Add(new Onnx.Proto.TensorShapeProto.Types.Dimension { DimValue = d });
            proto.Graph.Initializer.Remove(init);
        }
        var withInputs = new OnnxModel(proto);
        var shapes = Shapes(model);
        foreach (var init in model.Initializers.Values) shapes[init.Name] = init.Dims.Select(d => (int)d).ToArray();
        AssertGradientMatchesFiniteDifferences(withInputs, shapes);
    }

    [TestMethod]
    [DataRow("LSTM", "bidirectional", 0L)]
    [DataRow("GRU", "reverse", 1L)]
    [DataRow("GRU", "forward", 0L)]
    [DataRow("RNN", "bidirectional", 0L)]
    public void BatchFirstLayout_EqualsLayoutZero_OnTransposedData(string op, string direction, long linearBeforeReset)
    {
        // ONNX Runtime has no layout-1 kernel: layout 1 is checked against layout 0 (itself checked against ONNX Runtime).
        for (int output = 0; output < 2; output++)
        {
            var seqFirst = Recurrent(op, direction, initialH: true, initialC: op == "LSTM", linearBeforeReset: linearBeforeReset, outputIndex: output);
            var batchFirst = Recurrent(op, direction, initialH: true, initialC: op == "LSTM", linearBeforeReset: linearBeforeReset, outputIndex: output, layout: 1);
            var random = new Random(11);
            var feeds = Shapes(seqFirst).ToDictionary(p => p.Key, p => (GradientCheck.Uniform(random, p.Value.Aggregate(1, (a, b) => a * b), -1, 1), p.Value));
            // [a, b, c] -> [b, a, c] for x and the states; Y [seq, dirs, batch, H] -> [batch, seq, dirs, H].
            var swapped = feeds.ToDictionary(p => p.Key, p => (Permute(p.Value.Item1, p.Value.Item2, [1, 0, 2]), new[] { p.Value.Item2[1], p.Value.Item2[0], p.Value.Item2[2] }));
            using var a = new GradientCheck.Session(RecurrentLowering.Lower(seqFirst).Model.ToBytes());
            using var b = new GradientCheck.Session(RecurrentLowering.Lower(batchFirst).Model.ToBytes());
            var ya = a.Run(feeds, [seqFirst.Outputs[0].Name])[0];
            var yb = b.Run(swapped, [batchFirst.Outputs[0].Name])[0];
            int[] perm = output == 0 ? [2, 0, 1, 3] : [1, 0, 2];
            var expected = Permute(ya.Data, ya.Shape, perm);
            CollectionAssert.AreEqual(perm.Select(i => ya.Shape[i]).ToArray(), yb.Shape, "layout-1 output shape");
            for (int i = 0; i < expected.Length; i++) Assert.AreEqual(expected[i], yb.Data[i], 1e-12, $"output {output} [{i}]");
            AssertGradientMatchesFiniteDifferences(batchFirst, Shapes(batchFirst, layout: 1));
        }
    }

    private static double[] Permute(double[] data, int[] shape, int[] perm)
    {
        var outShape = perm.Select(i => shape[i]).ToArray();
        var result = new double[data.Length];
        var index = new int[shape.Length];
        for (int flat = 0; flat < data.Length; flat++)
        {
            int rest = flat;
            for (int d = shape.Length - 1; d >= 0; d--) { index[d] = rest % shape[d]; rest /= shape[d]; }
            int target = 0;
            for (int d = 0; d < perm.Length; d++) target = target * outShape[d] + index[perm[d]];
            result[target] = data[flat];
        }
        return result;
    }

    /// <summary>
    /// Float64 finite differences of the unrolled model (ONNX Runtime cannot run the recurrent node in float64; the unrolled
    /// forward is checked against its float32 kernel by <see cref="AssertSameForward"/>).
    /// </summary>
    private static void AssertGradientMatchesFiniteDifferences(OnnxModel model, Dictionary<string, int[]> shapes, int seed = 1)
    {
        var (lowered, refused) = RecurrentLowering.Lower(model);
        Assert.AreEqual(0, refused.Count, string.Join("; ", refused.Values));
        GradientCheck.AssertMatchesFiniteDifferences(lowered, shapes, seed: seed, tolerance: 1e-6);
    }

    [TestMethod]
    public void SequenceLens_IsRefused_SayingWhy()
    {
        var model = Recurrent("LSTM", "forward", sequenceLens: true);
        var e = Assert.ThrowsExactly<UnsupportedOperatorException>(() => GradientGraphBuilder.Build(model, model.Outputs[0].Name, ["x"]));
        StringAssert.Contains(e.Message, "LSTM");
        StringAssert.Contains(e.Message, "sequence_lens");
    }

    [TestMethod]
    public void DynamicSequenceLength_IsRefused_SayingWhy()
    {
        var model = Recurrent("GRU", "forward", seqDim: "time");
        var e = Assert.ThrowsExactly<UnsupportedOperatorException>(() => GradientGraphBuilder.Build(model, model.Outputs[0].Name, ["x"]));
        StringAssert.Contains(e.Message, "GRU");
        StringAssert.Contains(e.Message, "sequence length");
    }

    [TestMethod]
    public void RecurrentNode_NotOnThePath_IsLeftAlone()
    {
        // Differentiating with respect to the recurrent output itself: the node needs no gradient, however long the sequence.
        var model = Recurrent("RNN", "forward", seqDim: "time");
        var graph = GradientGraphBuilder.Build(model, model.Outputs[0].Name, [model.Graph.Node[0].Output[0]]);
        Assert.AreEqual(1, graph.GradientOutputs.Count);
    }

    /// <summary>The original node run by ONNX Runtime and the unrolled graph give the same output.</summary>
    private static void AssertSameForward(OnnxModel model, Dictionary<string, int[]> shapes)
    {
        var (lowered, refused) = RecurrentLowering.Lower(model);
        Assert.AreEqual(0, refused.Count, string.Join("; ", refused.Values));
        Assert.IsFalse(lowered.OpTypes.Any(RecurrentLowering.RecurrentOps.Contains), "a recurrent node is left");
        var random = new Random(7);
        var feeds = shapes.ToDictionary(p => p.Key, p => (GradientCheck.Uniform(random, p.Value.Aggregate(1, (a, b) => a * b), -1, 1), p.Value));
        string output = model.Outputs[0].Name;
        using var native = new GradientCheck.Session(model.ToBytes());
        using var unrolled = new GradientCheck.Session(lowered.ToBytes());
        var expected = native.Run(feeds, [output])[0];
        var actual = unrolled.Run(feeds, [output])[0];
        CollectionAssert.AreEqual(expected.Shape, actual.Shape, "output shape");
        // float32: the kernel and the unrolled graph sum in different orders.
        for (int i = 0; i < expected.Data.Length; i++)
            Assert.AreEqual(expected.Data[i], actual.Data[i], 1e-6 + 1e-5 * Math.Abs(expected.Data[i]), $"output [{i}]");
    }
}
