using Microsoft.ML.Attribution.Onnx.Proto;
using static Microsoft.ML.Attribution.Onnx.TensorProtos;

namespace Microsoft.ML.Attribution.Onnx;

internal static partial class ShapeInference
{
    private sealed partial class State
    {
        /// <summary>Split, Tile, ScatterND and ScatterElements. Returns false for other ops.</summary>
        private bool VisitTensorOps(NodeProto node, TensorType x)
        {
            switch (node.OpType)
            {
                case "Split":
                    {
                        if (x.Shape is null) return true;
                        int rank = x.Shape.Length;
                        int axis = (int)Int(node, "axis", 0);
                        if (axis < 0) axis += rank;
                        int outputs = node.Output.Count;
                        long[]? sizes = Ints(node, "split") ?? (node.Input.Count > 1 && node.Input[1].Length > 0 ? KnownValue(node, 1) : null);
                        var dim = x.Shape[axis];
                        if (sizes is null && dim.IsKnown)
                        {
                            // Equal parts; the last one smaller when the size does not divide (opset 18's num_outputs).
                            long part = (dim.Value!.Value + outputs - 1) / outputs;
                            sizes = Enumerable.Range(0, outputs).Select(i => Math.Min(part, dim.Value.Value - i * part)).ToArray();
                        }
                        for (int i = 0; i < outputs; i++)
                        {
                            var shape = (Dim[])x.Shape.Clone();
                            shape[axis] = sizes is null ? Dim.Unknown : Dim.Known(sizes[i]);
                            Set(node, i, x.ElemType, shape);
                        }
                        return true;
                    }
                case "Tile":
                    {
                        var repeats = KnownValue(node, 1);
                        Set(node, 0, x.ElemType, x.Shape is null || repeats is null ? null
                            : x.Shape.Select((d, i) => d.IsKnown ? Dim.Known(d.Value!.Value * repeats[i]) : repeats[i] == 1 ? d : Dim.Unknown).ToArray());
                        return true;
                    }
                case "ScatterND" or "ScatterElements":
                    Set(node, 0, x.ElemType, x.Shape);
                    return true;
                default:
                    return false;
            }
        }
    }
}
