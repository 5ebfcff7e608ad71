using Microsoft.ML.Attribution.Onnx.Proto;
using static Microsoft.ML.Attribution.Onnx.TensorProtos;

namespace Microsoft.ML.Attribution.Onnx;

/// <summary>
/// The float64 mode: rewrites a float32 model so that it computes in float64 (initializers, constants, casts and
/// intermediate tensors become double) while its inputs and outputs stay float32 behind Casts, so callers feed and read
/// it as before. A gradient graph built on the result runs in float64 as well: the Casts at the boundary carry the
/// seed in and the input gradient out. Rounding to float32 then happens only at the two ends (relative 6e-8), so
/// gradients can be compared with a float64 reference far below float32's accumulated error, and a ReLU or max-pool
/// tie decided differently by float32 rounding is told apart from a wrong rule.
/// <para>
/// ONNX Runtime's CPU provider has no float64 kernel for some ops (<see cref="Float32OnlyOps"/>). Conv with constant
/// weights and the global pools are rewritten into ops that have one (<see cref="LowerToFloat64Ops"/>). Strict conversion
/// refuses the others, naming the ops; otherwise each such node runs in float32 between Casts, so its own rounding
/// (relative ~1e-7 per op) remains in the result while the rest of the graph computes in float64.
/// </para>
/// </summary>
internal static partial class Float64Conversion
{
    /// <summary>
    /// Ops without a float64 kernel in ONNX Runtime's CPU provider (1.32), found by running each in float64 at opset 13
    /// (Float64ModeTests pins the list against the runtime). From opset 18 ONNX Runtime expands some of them (HardSigmoid,
    /// HardSwish, Elu, …) into their ONNX function bodies, which do run in float64; they are run in float32 at every
    /// opset all the same, which costs one float32 rounding per such node. LSTM, GRU and RNN have float64 kernels registered that
    /// fail when run ("does not support double yet"); gradients never meet them, as they are unrolled first.
    /// </summary>
    public static readonly IReadOnlySet<string> Float32OnlyOps = new HashSet<string>(StringComparer.Ordinal)
    {
        "Conv", "ConvTranspose", "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "LpPool", "Resize", "Erf", "Gelu",
        "InstanceNormalization", "LRN", "HardSigmoid", "HardSwish", "Elu", "Selu", "Celu", "LeakyRelu", "PRelu",
        "ThresholdedRelu", "Mish", "Softplus", "Softsign", "LSTM", "GRU", "RNN",
    };

    /// <summary>The float64 tensor that the Cast behind float32 graph input <paramref name="input"/> produces.</summary>
    public static string Float64Name(string input) => input + "/float64";

    /// <summary>The model computing in float64 behind float32 inputs and outputs.</summary>
    /// <param name="model">A model whose floating tensors are float32.</param>
    /// <param name="strict">Refuse ops without a float64 kernel instead of running them in float32 between Casts.</param>
    /// <param name="wrap">
    /// Put those ops between Casts now. False leaves them in float64 (a graph ONNX Runtime cannot run yet) for a
    /// gradient graph to be built on and wrapped afterwards (<see cref="WrapFloat32Only"/>): then only their forward value
    /// is rounded to float32, while their gradient rules (Erf's exp(−x²), HardSigmoid's mask) compute in float64.
    /// </param>
    /// <exception cref="NotSupportedException">The model has subgraphs, or (strict) ops without a float64 kernel.</exception>
    public static OnnxModel ToFloat64(OnnxModel model, bool strict, bool wrap = true)
    {
        var proto = model.CloneProto();
        var graph = proto.Graph;
        if (graph.Node.FirstOrDefault(n => n.Attribute.Any(a => a.G is not null || a.Graphs.Count > 0)) is { } withSubgraph)
            throw new NotSupportedException(
                $"The float64 mode cannot convert {withSubgraph.OpType} node '{Label(withSubgraph)}': models with subgraphs (If, Loop, Scan) are not supported.");
        if (graph.Input.Concat(graph.Output).Any(v => v.Type?.TensorType?.ElemType == OnnxDataType.Double) ||
            graph.Initializer.Any(t => t.DataType == OnnxDataType.Double))
            throw new NotSupportedException("The float64 mode expects a float32 model; this one already has float64 tensors.");

        var renamed = new Dictionary<string, string>(StringComparer.Ordinal);
        var head = new List<NodeProto>();
        foreach (var input in graph.Input.Where(i => !model.Initializers.ContainsKey(i.Name) && IsFloat(i)))
        {
            string inner = Float64Name(input.Name);
            renamed[input.Name] = inner;
            head.Add(Cast(input.Name, inner, OnnxDataType.Double, input.Name + "/to_float64"));
        }
        var tail = new List<NodeProto>();
        var outputRenames = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var output in graph.Output.Where(o => IsFloat(o) && !renamed.ContainsKey(o.Name)))
        {
            string inner = output.Name + "/float64";
            outputRenames[output.Name] = inner;
            tail.Add(Cast(inner, output.Name, OnnxDataType.Float, output.Name + "/to_float32"));
        }
        foreach (var node in graph.Node)
        {
            for (int i = 0; i < node.Input.Count; i++)
            {
                if (renamed.TryGetValue(node.Input[i], out var r) || outputRenames.TryGetValue(node.Input[i], out r)) node.Input[i] = r;
            }
            for (int i = 0; i < node.Output.Count; i++)
            {
                if (outputRenames.TryGetValue(node.Output[i], out var r)) node.Output[i] = r;
            }
            ConvertAttributes(node);
        }
        // A graph output that is a graph input passes through: its Cast reads the float32 input directly.
        foreach (var cast in tail.Where(c => renamed.ContainsKey(c.Output[0])))
            cast.Input[0] = renamed[cast.Output[0]];

        var nodes = head.Concat(graph.Node).Concat(tail).ToList();
        graph.Node.Clear();
        graph.Node.AddRange(nodes);
        for (int i = 0; i < graph.Initializer.Count; i++)
        {
            var t = graph.Initializer[i];
            if (t.DataType == OnnxDataType.Float) graph.Initializer[i] = ToDouble(t);
        }
        foreach (var vi in graph.ValueInfo.Where(IsFloat)) vi.Type.TensorType.ElemType = OnnxDataType.Double;
        var lowered = LowerToFloat64Ops(new OnnxModel(proto));
        var wrapped = WrapFloat32Only(lowered, strict);
        return wrap ? wrapped : lowered;
    }

    /// <summary>
    /// Runs every node of <see cref="Float32OnlyOps"/> that reads or writes float64 tensors in float32 between Casts
    /// (or, strict, refuses naming them). Also for gradient graphs, whose rules may emit such ops.
    /// </summary>
    public static OnnxModel WrapFloat32Only(OnnxModel model, bool strict)
    {
        var types = model.Types;
        bool IsDouble(string t) => t.Length > 0 && types.TryGetValue(t, out var type) && type.ElemType == OnnxDataType.Double;
        var offendingAt = Enumerable.Range(0, model.Graph.Node.Count).Where(i => model.Graph.Node[i] is var n &&
            (string.IsNullOrEmpty(n.Domain) || n.Domain == "ai.onnx") && Float32OnlyOps.Contains(n.OpType) &&
            (n.Input.Any(IsDouble) || n.Output.Any(IsDouble))).ToHashSet();
        var offending = offendingAt.Order().Select(i => model.Graph.Node[i]).ToList();
        if (offending.Count == 0) return model;
        if (strict)
        {
            throw new NotSupportedException(
                $"The float64 mode cannot run op type(s) {string.Join(", ", offending.Select(n => n.OpType).Distinct())}: ONNX Runtime's " +
                $"CPU provider has no float64 kernel for them (nodes: {string.Join(", ", offending.Take(10).Select(Label))}" +
                $"{(offending.Count > 10 ? ", …" : "")}). Allow them to run in float32 between Casts, or use the float32 mode.");
        }
        var proto = model.CloneProto();
        var nodes = new List<NodeProto>();
        int counter = 0;
        for (int at = 0; at < proto.Graph.Node.Count; at++)
        {
            var node = proto.Graph.Node[at];
            if (!offendingAt.Contains(at))
            {
                nodes.Add(node);
                continue;
            }
            var after = new List<NodeProto>();
            for (int i = 0; i < node.Input.Count; i++)
            {
                if (!IsDouble(node.Input[i])) continue;
                string single = $"{node.Input[i]}/float32_{counter++}";
                nodes.Add(Cast(node.Input[i], single, OnnxDataType.Float, single + "_cast"));
                node.Input[i] = single;
            }
            for (int i = 0; i < node.Output.Count; i++)
            {
                if (!IsDouble(node.Output[i])) continue;
                string single = $"{node.Output[i]}/float32_{counter++}";
                after.Add(Cast(single, node.Output[i], OnnxDataType.Double, single + "_cast"));
                node.Output[i] = single;
            }
            nodes.Add(node);
            nodes.AddRange(after);
        }
        proto.Graph.Node.Clear();
        proto.Graph.Node.AddRange(nodes);
        proto.Graph.ValueInfo.Clear();
        return new OnnxModel(proto);
    }

    private static void ConvertAttributes(NodeProto node)
    {
        foreach (var a in node.Attribute)
        {
            switch (a.Name)
            {
                case "to" when node.OpType == "Cast" && a.I == OnnxDataType.Float:
                case "dtype" when a.I == OnnxDataType.Float:
                    a.I = OnnxDataType.Double;
                    break;
                case "value" when a.T is { DataType: OnnxDataType.Float }:
                    a.T = ToDouble(a.T);
                    break;
                case "value_float" when node.OpType == "Constant":
                    a.Name = "value";
                    a.Type = AttributeProto.Types.AttributeType.Tensor;
                    a.T = FromDouble("", OnnxDataType.Double, [a.F]);
                    a.F = 0;
                    break;
                case "value_floats" when node.OpType == "Constant":
                    a.Name = "value";
                    a.Type = AttributeProto.Types.AttributeType.Tensor;
                    a.T = FromDouble("", OnnxDataType.Double, a.Floats.Select(f => (double)f).ToArray(), a.Floats.Count);
                    a.Floats.Clear();
                    break;
            }
        }
    }

    private static TensorProto ToDouble(TensorProto t)
    {
        var values = ReadDouble(t)
            ?? throw new NotSupportedException($"The float64 mode cannot convert tensor '{t.Name}' (external data is not supported).");
        var converted = FromDouble(t.Name, OnnxDataType.Double, values, t.Dims.ToArray());
        converted.DocString = t.DocString;
        return converted;
    }

    private static bool IsFloat(ValueInfoProto v) => v.Type?.TensorType?.ElemType == OnnxDataType.Float;

    private static NodeProto Cast(string input, string output, int to, string name)
    {
        var node = new NodeProto { OpType = "Cast", Name = name };
        node.Input.Add(input);
        node.Output.Add(output);
        node.Attribute.Add(IntAttr("to", to));
        return node;
    }

    private static string Label(NodeProto node) =>
        node.Name.Length > 0 ? node.Name : node.Output.FirstOrDefault(o => o.Length > 0) ?? node.OpType;
}
