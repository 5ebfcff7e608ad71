using Microsoft.ML.Attribution.Onnx.Proto;
using static Microsoft.ML.Attribution.Onnx.TensorProtos;

namespace Microsoft.ML.Attribution.Onnx;

internal static partial class ShapeInference
{
    private sealed partial class State
    {
        /// <summary>
        /// Split, Tile, the scatters, GatherElements, CumSum, Trilu and Range. Returns false for other ops.
        /// </summary>
        private bool VisitTensorOps(NodeProto node, TensorType x)
        {
            switch (node.OpType)
            {
                case "Split":
                    SplitShapes(node, x);
                    return true;
                case "Tile":
                    {
                        var repeats = KnownValue(node, 1);
                        Dim[]? shape = x.Shape is null ? null
                            : repeats is null || repeats.Length != x.Shape.Length ? x.Shape.Select(_ => Dim.Unknown).ToArray()
                            : x.Shape.Select((d, i) => repeats[i] == 1 ? d : d.IsKnown ? Dim.Known(d.Value!.Value * repeats[i]) : Dim.Unknown).ToArray();
                        Set(node, 0, x.ElemType, shape);
                        return true;
                    }
                case "ScatterND" or "ScatterElements" or "Scatter" or "CumSum" or "Trilu":
                    Set(node, 0, x.ElemType, x.Shape);
                    return true;
                case "GatherElements":
                    Set(node, 0, x.ElemType, In(node, 1).Shape);
                    return true;
                case "TopK":
                    {
                        var k = KnownValue(node, 1);
                        Dim[]? shape = null;
                        if (x.Shape is not null)
                        {
                            shape = (Dim[])x.Shape.Clone();
                            long axisAttr = Int(node, "axis", -1);
                            shape[(int)(axisAttr < 0 ? axisAttr + shape.Length : axisAttr)] = k is [var kv] ? Dim.Known(kv) : Dim.Unknown;
                        }
                        Set(node, 0, x.ElemType, shape);
                        Set(node, 1, OnnxDataType.Int64, shape);
                        return true;
                    }
                case "GatherND":
                    {
                        // indices [..., m] with b batch dims: output = indices[:-1] + data[b + m:].
                        var indices = In(node, 1).Shape;
                        Dim[]? shape = null;
                        if (x.Shape is not null && indices is { Length: > 0 } && indices[^1].Value is { } m)
                        {
                            int b = (int)Int(node, "batch_dims", 0);
                            shape = [.. indices[..^1], .. x.Shape[(b + (int)m)..]];
                        }
                        Set(node, 0, x.ElemType, shape);
                        return true;
                    }
                case "Einsum":
                    Set(node, 0, x.ElemType, EinsumShape(node));
                    return true;
                case "Range":
                    {
                        var (start, limit, delta) = (KnownValue(node, 0), KnownValue(node, 1), KnownValue(node, 2));
                        Dim length = start is [var s] && limit is [var l] && delta is [var d] && d != 0
                            ? Dim.Known(Math.Max(0, (long)Math.Ceiling((l - s) / (double)d)))
                            : Dim.Unknown;
                        Set(node, 0, x.ElemType, [length]);
                        return true;
                    }
                default:
                    return false;
            }
        }

        // Explicit-output equations without ellipsis: each output letter takes the dim of the first operand that has it.
        private Dim[]? EinsumShape(NodeProto node)
        {
            string equation = (String(node, "equation") ?? "").Replace(" ", "", StringComparison.Ordinal);
            int arrow = equation.IndexOf("->", StringComparison.Ordinal);
            if (arrow < 0 || equation.Contains("...", StringComparison.Ordinal)) return null;
            var operands = equation[..arrow].Split(',');
            var dims = new Dictionary<char, Dim>();
            for (int i = 0; i < operands.Length; i++)
            {
                if (In(node, i).Shape is not { } shape || shape.Length != operands[i].Length) return null;
                for (int k = 0; k < shape.Length; k++)
                {
                    if (!dims.TryGetValue(operands[i][k], out var d) || (!d.IsKnown && shape[k].IsKnown)) dims[operands[i][k]] = shape[k];
                }
            }
            var output = equation[(arrow + 2)..];
            return output.All(dims.ContainsKey) ? output.Select(ch => dims[ch]).ToArray() : null;
        }

        // Sizes from the 'split' attribute (before opset 13) or input (from 13); otherwise equal parts, the last one
        // smaller when num_outputs (opset 18) does not divide the axis.
        private void SplitShapes(NodeProto node, TensorType x)
        {
            int outputs = node.Output.Count;
            if (x.Shape is null)
            {
                for (int i = 0; i < outputs; i++) Set(node, i, x.ElemType, null);
                return;
            }
            int rank = x.Shape.Length;
            long axisAttr = Int(node, "axis", 0);
            int axis = (int)(axisAttr < 0 ? axisAttr + rank : axisAttr);
            long[]? sizes = _model.Opset >= 13 ? (node.Input.Count > 1 && node.Input[1].Length > 0 ? KnownValue(node, 1) : null) : Ints(node, "split");
            bool sizesGiven = _model.Opset >= 13 ? node.Input.Count > 1 && node.Input[1].Length > 0 : Ints(node, "split") is not null;
            var size = x.Shape[axis];
            if (!sizesGiven && size.Value is { } total)
            {
                long chunk = (total + outputs - 1) / outputs;
                sizes = Enumerable.Range(0, outputs).Select(i => Math.Max(0, Math.Min(chunk, total - i * chunk))).ToArray();
            }
            for (int i = 0; i < outputs; i++)
            {
                var shape = (Dim[])x.Shape.Clone();
                shape[axis] = sizes is not null && i < sizes.Length ? Dim.Known(sizes[i]) : Dim.Unknown;
                Set(node, i, x.ElemType, shape);
            }
        }
    }
}
