using Microsoft.ML.Attribution.Onnx.Proto;
using static Microsoft.ML.Attribution.Onnx.TensorProtos;

namespace Microsoft.ML.Attribution.Onnx;

internal static partial class Float64Conversion
{
    /// <summary>
    /// Rewrites float64 nodes that ONNX Runtime cannot run in float64 into ops it can, where the rewrite is exact:
    /// GlobalAveragePool as ReduceMean and GlobalMaxPool as ReduceMax over the spatial axes, and Conv with constant
    /// weights and static spatial dims as one strided Slice per kernel offset, each multiplied (MatMul, channels last)
    /// with that offset's weights and summed. The rest is left for <see cref="WrapFloat32Only"/>.
    /// </summary>
    internal static OnnxModel LowerToFloat64Ops(OnnxModel model)
    {
        var types = model.Types;
        var nodes = new List<NodeProto>();
        var initializers = new List<TensorProto>();
        var names = new HashSet<string>(model.TensorNames.Concat(model.Initializers.Keys), StringComparer.Ordinal);
        int counter = 0;
        string Fresh(string hint)
        {
            string name;
            do { name = $"{hint}/float64_{counter++}"; } while (!names.Add(name));
            return name;
        }
        NodeProto Node(string op, string[] inputs, string output, params AttributeProto[] attributes)
        {
            var n = new NodeProto { OpType = op, Name = output + "_node" };
            n.Input.AddRange(inputs);
            n.Output.Add(output);
            n.Attribute.AddRange(attributes);
            nodes.Add(n);
            return n;
        }
        string Ints(string hint, params long[] values)
        {
            string name = Fresh(hint);
            initializers.Add(FromInt64(name, values, values.Length));
            return name;
        }

        bool changed = false;
        foreach (var node in model.Graph.Node)
        {
            bool standard = string.IsNullOrEmpty(node.Domain) || node.Domain == "ai.onnx";
            var x = node.Input.Count > 0 ? types.GetValueOrDefault(node.Input[0]) : null;
            if (!standard || x is null || x.ElemType != OnnxDataType.Double || x.Shape is not { Length: >= 3 } shape)
            {
                nodes.Add(node);
                continue;
            }
            var spatial = Enumerable.Range(2, shape.Length - 2).Select(i => (long)i).ToArray();
            switch (node.OpType)
            {
                case "GlobalAveragePool" or "GlobalMaxPool":
                    {
                        string op = node.OpType == "GlobalAveragePool" ? "ReduceMean" : "ReduceMax";
                        var keep = IntAttr("keepdims", 1);
                        // ReduceMean takes its axes as an input from opset 18, ReduceMax from 18 as well.
                        if (model.Opset >= 18) Node(op, [node.Input[0], Ints(node.Output[0], spatial)], node.Output[0], keep);
                        else Node(op, [node.Input[0]], node.Output[0], IntsAttr("axes", spatial), keep);
                        changed = true;
                        break;
                    }
                case "Conv" when TryLowerConv(model, node, shape, Fresh, Node, Ints, initializers):
                    changed = true;
                    break;
                default:
                    nodes.Add(node);
                    break;
            }
        }
        if (!changed) return model;
        var proto = model.CloneProto();
        proto.Graph.Node.Clear();
        proto.Graph.Node.AddRange(nodes);
        proto.Graph.Initializer.AddRange(initializers);
        var lowered = OnnxModel.Prune(proto, keepInputs: true); // the original Conv weights are no longer read
        return lowered;
    }

    private static bool TryLowerConv(OnnxModel model, NodeProto node, Dim[] shape, Func<string, string> fresh,
        Func<string, string[], string, AttributeProto[], NodeProto> emit, Func<string, long[], string> ints, List<TensorProto> initializers)
    {
        if (model.Opset < 10) return false; // strided Slice
        if (!model.Initializers.TryGetValue(node.Input[1], out var weightProto) || ReadDouble(weightProto) is not { } weights) return false;
        double[]? bias = null;
        if (node.Input.Count > 2 && node.Input[2].Length > 0)
        {
            if (!model.Initializers.TryGetValue(node.Input[2], out var biasProto) || ReadDouble(biasProto) is not { } b) return false;
            bias = b;
        }
        int r = shape.Length - 2;
        if (shape.Skip(1).Any(d => !d.IsKnown)) return false;
        var size = shape.Skip(2).Select(d => d.Value!.Value).ToArray();
        long channels = shape[1].Value!.Value;
        var wDims = weightProto.Dims.ToArray();
        if (wDims.Length != r + 2) return false;
        long m = wDims[0], cg = wDims[1];
        var kernel = wDims.Skip(2).ToArray();
        long groups = Int(node, "group", 1);
        if (groups <= 0 || cg * groups != channels || m % groups != 0) return false;
        long mg = m / groups;
        var strides = Ints(node, "strides") ?? Enumerable.Repeat(1L, r).ToArray();
        var dilations = Ints(node, "dilations") ?? Enumerable.Repeat(1L, r).ToArray();
        string autoPad = String(node, "auto_pad") ?? "NOTSET";
        var pads = Ints(node, "pads") ?? new long[2 * r];
        var output = new long[r];
        for (int i = 0; i < r; i++)
        {
            long span = (kernel[i] - 1) * dilations[i] + 1;
            if (autoPad is "SAME_UPPER" or "SAME_LOWER")
            {
                long o = (size[i] + strides[i] - 1) / strides[i];
                long total = Math.Max(0, (o - 1) * strides[i] + span - size[i]);
                long small = total / 2, large = total - small;
                (pads[i], pads[i + r]) = autoPad == "SAME_UPPER" ? (small, large) : (large, small);
            }
            else if (autoPad == "VALID")
            {
                pads[i] = pads[i + r] = 0;
            }
            else if (autoPad != "NOTSET")
            {
                return false;
            }
            if (pads[i] < 0 || pads[i + r] < 0) return false;
            output[i] = (size[i] + pads[i] + pads[i + r] - span) / strides[i] + 1;
            if (output[i] <= 0) return false;
        }
        string label = node.Output[0];
        string x = node.Input[0];
        if (pads.Any(p => p != 0))
        {
            var full = new long[2 * (r + 2)];
            for (int i = 0; i < r; i++) (full[2 + i], full[r + 4 + i]) = (pads[i], pads[i + r]);
            string padded = fresh(label + "/pad");
            if (model.Opset >= 11) emit("Pad", [x, ints(label + "/pads", full)], padded, []);
            else emit("Pad", [x], padded, [IntsAttr("pads", full)]);
            x = padded;
        }
        // Channels last: [N, spatial…, C], so that each kernel offset is a MatMul over C.
        string last = fresh(label + "/channels_last");
        emit("Transpose", [x], last, [IntsAttr("perm", [0, .. Enumerable.Range(2, r).Select(i => (long)i), 1])]);
        long kernelCount = kernel.Aggregate(1L, (a, b) => a * b);
        var axes = Enumerable.Range(1, r).Select(i => (long)i).ToArray();
        var terms = new List<string>();
        var offset = new long[r];
        for (long k = 0; k < kernelCount; k++)
        {
            long rest = k;
            for (int i = r - 1; i >= 0; i--) { offset[i] = rest % kernel[i]; rest /= kernel[i]; }
            var starts = offset.Select((o, i) => o * dilations[i]).ToArray();
            var ends = starts.Select((s, i) => s + (output[i] - 1) * strides[i] + 1).ToArray();
            string slice = fresh(label + "/tap");
            emit("Slice", [last, ints(label + "/starts", starts), ints(label + "/ends", ends), ints(label + "/axes", axes), ints(label + "/steps", strides)], slice, []);
            // This offset's weights: [C, M] (one group) or [groups, C/g, M/g], in float64.
            var w = new double[groups * cg * mg];
            for (long g = 0; g < groups; g++)
                for (long c = 0; c < cg; c++)
                    for (long o = 0; o < mg; o++)
                        w[(g * cg + c) * mg + o] = weights[((g * mg + o) * cg + c) * kernelCount + k];
            string wName = fresh(label + "/weights");
            initializers.Add(groups == 1 ? FromDouble(wName, OnnxDataType.Double, w, cg, mg) : FromDouble(wName, OnnxDataType.Double, w, groups, cg, mg));
            string product = fresh(label + "/product");
            if (groups == 1)
            {
                emit("MatMul", [slice, wName], product, []);
            }
            else
            {
                string grouped = fresh(label + "/grouped");
                emit("Reshape", [slice, ints(label + "/shape", [0, .. output, groups, 1, cg])], grouped, []);
                string groupedProduct = fresh(label + "/grouped_product");
                emit("MatMul", [grouped, wName], groupedProduct, []);
                emit("Reshape", [groupedProduct, ints(label + "/shape", [0, .. output, m])], product, []);
            }
            terms.Add(product);
        }
        string sum = terms.Count == 1 ? terms[0] : fresh(label + "/sum");
        if (terms.Count > 1) emit("Sum", terms.ToArray(), sum, []);
        if (bias is not null)
        {
            string biasName = fresh(label + "/bias");
            initializers.Add(FromDouble(biasName, OnnxDataType.Double, bias, m));
            string biased = fresh(label + "/biased");
            emit("Add", [sum, biasName], biased, []);
            sum = biased;
        }
        emit("Transpose", [sum], node.Output[0], [IntsAttr("perm", [0, r + 1, .. Enumerable.Range(1, r).Select(i => (long)i)])]);
        return true;
    }
}
