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
