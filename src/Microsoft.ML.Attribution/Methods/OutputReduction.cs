using Microsoft.ML.Attribution.Onnx;
using Microsoft.ML.Attribution.Onnx.Proto;
using static Microsoft.ML.Attribution.Onnx.TensorProtos;

namespace Microsoft.ML.Attribution.Methods;

/// <summary>
/// A scalar per row computed from one of a model's outputs — the sum of a slice, the mean, or any reduction written as
/// a small ONNX graph — appended to the model as ONNX ops, so that every method (gradients included) explains it as
/// the model's output (Captum: a forward function that reduces the model's output). The reduced model has one output,
/// <c>[N, 1]</c> for the built-in reductions, explained with <see cref="Target.Class"/>(0).
/// </summary>
/// <example>
/// <code>
/// var reduced = OutputReduction.Sum(0, 2).AppendTo(File.ReadAllBytes("model.onnx"), output: "logits");
/// var oracle = new OnnxGradientOracle(reduced, outputName: OutputReduction.OutputName);
/// var result = new IntegratedGradients(oracle).Attribute(rows, target: Target.Class(0));
/// </code>
/// </example>
public sealed class OutputReduction
{
    /// <summary>The name of the reduced model's output tensor.</summary>
    public const string OutputName = "reduced_output";

    private readonly string _text;
    private readonly Func<OnnxModel, string, ModelProto, string> _append;

    private OutputReduction(string text, Func<OnnxModel, string, ModelProto, string> append)
    {
        _text = text;
        _append = append;
    }

    /// <summary>The sum of each row's output elements <c>[start, end)</c>, counted over the flattened row.</summary>
    /// <param name="start">First element (≥ 0).</param>
    /// <param name="end">One past the last element (&gt; start; at most the row's width).</param>
    public static OutputReduction Sum(int start, int end)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(start);
        if (end <= start) throw new ArgumentOutOfRangeException(nameof(end), end, $"The slice [{start}, {end}) is empty; give end > start.");
        return new($"sum[{start}:{end}]", (model, output, proto) =>
        {
            if (RowWidth(model, output) is int width && end > width)
                throw new ArgumentOutOfRangeException(nameof(end), end, $"Output '{output}' has {width} value(s) per row; the slice [{start}, {end}) runs past it.");
            var b = new Builder(model, proto);
            var flat = b.Flat(output);
            var sliced = model.Opset >= 10
                ? b.Node("Slice", [flat, b.Ints(start), b.Ints(end), b.Ints(1)])
                : b.Node("Slice", [flat], IntsAttr("starts", start), IntsAttr("ends", end), IntsAttr("axes", 1));
            return b.Reduce("ReduceSum", sliced);
        });
    }

    /// <summary>The sum of every element of each row's output.</summary>
    public static OutputReduction Sum() => new("sum", (model, output, proto) =>
    {
        var b = new Builder(model, proto);
        return b.Reduce("ReduceSum", b.Flat(output));
    });

    /// <summary>The mean of every element of each row's output.</summary>
    public static OutputReduction Mean() => new("mean", (model, output, proto) =>
    {
        var b = new Builder(model, proto);
        return b.Reduce("ReduceMean", b.Flat(output));
    });

    /// <summary>
    /// A reduction written as an ONNX model with one input (the chosen output, <c>[N, …]</c>) and one output (what is
    /// explained, <c>[N, …]</c>, row by row). Its nodes and initializers are appended to the model under fresh names;
    /// its opset must not be newer than the model's.
    /// </summary>
    /// <param name="onnxModel">The reduction graph as ONNX model bytes.</param>
    public static OutputReduction Graph(byte[] onnxModel)
    {
        ArgumentNullException.ThrowIfNull(onnxModel);
        var reduction = OnnxModel.Load(onnxModel, "reduction graph");
        if (reduction.Inputs.Count != 1 || reduction.Outputs.Count != 1)
            throw new ArgumentException($"A reduction graph takes one input and gives one output; this one has {reduction.Inputs.Count} input(s) " +
                $"({string.Join(", ", reduction.Inputs.Select(i => i.Name))}) and {reduction.Outputs.Count} output(s).", nameof(onnxModel));
        return new("graph", (model, output, proto) =>
        {
            if (reduction.Opset > model.Opset)
                throw new ArgumentException($"The reduction graph uses opset {reduction.Opset}, newer than the model's {model.Opset}.", nameof(onnxModel));
            string prefix = Builder.FreshPrefix(model);
            string Rename(string name) => name.Length == 0 ? name : name == reduction.Inputs[0].Name ? output : prefix + name;
            foreach (var init in reduction.Graph.Initializer)
            {
                var copy = init.Clone();
                copy.Name = Rename(init.Name);
                proto.Graph.Initializer.Add(copy);
            }
            foreach (var node in reduction.Graph.Node)
            {
                if (!string.IsNullOrEmpty(node.Domain) && node.Domain != "ai.onnx")
                    throw new ArgumentException($"Reduction node '{node.Name}' is in domain '{node.Domain}'; only standard ONNX ops can be appended.", nameof(onnxModel));
                var copy = node.Clone();
                copy.Name = node.Name.Length == 0 ? "" : prefix + node.Name;
                for (int i = 0; i < copy.Input.Count; i++) copy.Input[i] = Rename(copy.Input[i]);
                for (int i = 0; i < copy.Output.Count; i++) copy.Output[i] = Rename(copy.Output[i]);
                proto.Graph.Node.Add(copy);
            }
            return Rename(reduction.Outputs[0].Name);
        });
    }

    /// <summary>
    /// The model with this reduction appended to <paramref name="output"/>; its only output is <see cref="OutputName"/>.
    /// </summary>
    /// <param name="model">The ONNX model bytes.</param>
    /// <param name="output">The output tensor to reduce (any tensor of the graph); null: the model's first output.</param>
    public byte[] AppendTo(byte[] model, string? output = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        var onnx = OnnxModel.Load(model);
        output ??= onnx.Outputs.Count > 0 ? onnx.Outputs[0].Name : throw new ArgumentException("The model declares no output.", nameof(model));
        onnx.RequireTensor(output);
        if (onnx.HasTensor(OutputName)) throw new ArgumentException($"The model already has a tensor named '{OutputName}'.", nameof(model));
        var proto = onnx.CloneProto();
        string reduced = _append(onnx, output, proto);
        proto.Graph.Node.Add(new NodeProto { OpType = "Identity", Input = { reduced }, Output = { OutputName }, Name = OutputName });
        proto.Graph.Output.Clear();
        proto.Graph.Output.Add(new ValueInfoProto { Name = OutputName, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = onnx.Types.TryGetValue(output, out var type) ? type.ElemType : OnnxDataType.Float } } });
        var appended = OnnxModel.Prune(proto);
        var typed = appended.CloneProto();
        typed.Graph.Output[0] = appended.ValueInfo(OutputName);
        return new OnnxModel(typed).ToBytes();
    }

    /// <inheritdoc />
    public override string ToString() => _text;

    private static int? RowWidth(OnnxModel model, string output) =>
        model.Types.TryGetValue(output, out var type) && type.Shape is { Length: >= 1 } shape && shape.Skip(1).All(d => d.Value.HasValue)
            ? (int)shape.Skip(1).Aggregate(1L, (a, d) => a * d.Value!.Value) : null;

    /// <summary>Emits the appended nodes under names the model does not use.</summary>
    private sealed class Builder(OnnxModel model, ModelProto proto)
    {
        private readonly string _prefix = FreshPrefix(model);
        private int _counter;

        public static string FreshPrefix(OnnxModel model)
        {
            var names = model.TensorNames.Concat(model.Initializers.Keys).ToHashSet(StringComparer.Ordinal);
            string prefix = "reduction/";
            while (names.Any(n => n.StartsWith(prefix, StringComparison.Ordinal))) prefix = "_" + prefix;
            return prefix;
        }

        public string Node(string op, string[] inputs, params AttributeProto[] attributes)
        {
            string name = $"{_prefix}{op}_{_counter++}";
            var node = new NodeProto { OpType = op, Name = name, Output = { name } };
            node.Input.AddRange(inputs);
            node.Attribute.AddRange(attributes);
            proto.Graph.Node.Add(node);
            return name;
        }

        public string Ints(params long[] values)
        {
            string name = $"{_prefix}const_{_counter++}";
            proto.Graph.Initializer.Add(FromInt64(name, values, values.Length));
            return name;
        }

        /// <summary>[N, …] → [N, F].</summary>
        public string Flat(string output) => Node("Flatten", [output], IntAttr("axis", 1));

        /// <summary>ReduceSum / ReduceMean over axis 1 keeping it: [N, F] → [N, 1] (axes as attribute or input by opset).</summary>
        public string Reduce(string op, string x)
        {
            bool axesAsInput = op == "ReduceSum" ? model.Opset >= 13 : model.Opset >= 18;
            return axesAsInput
                ? Node(op, [x, Ints(1)], IntAttr("keepdims", 1))
                : Node(op, [x], IntsAttr("axes", 1), IntAttr("keepdims", 1));
        }
    }
}
