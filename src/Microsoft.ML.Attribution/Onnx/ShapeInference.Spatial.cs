using Microsoft.ML.Attribution.Onnx.Proto;
using static Microsoft.ML.Attribution.Onnx.TensorProtos;

namespace Microsoft.ML.Attribution.Onnx;

internal static partial class ShapeInference
{
    private sealed partial class State
    {
        /// <summary>Conv, ConvTranspose, pooling, BatchNormalization, Pad, Resize. Returns false for other ops.</summary>
        private bool VisitSpatial(NodeProto node, TensorType x)
        {
            switch (node.OpType)
            {
                case "Conv" or "MaxPool" or "AveragePool" or "LpPool":
                    {
                        Dim[]? shape = null;
                        if (x.Shape is { Length: > 2 })
                        {
                            var w = node.OpType == "Conv" ? In(node, 1).Shape : null;
                            var channels = node.OpType == "Conv" ? (w is { Length: > 0 } ? w[0] : Dim.Unknown) : x.Shape[1];
                            var kernel = Ints(node, "kernel_shape") ?? (w is { Length: > 2 } && w[2..].All(d => d.IsKnown) ? w[2..].Select(d => d.Value!.Value).ToArray() : null);
                            shape = [x.Shape[0], channels, .. WindowOutput(node, x.Shape[2..], kernel)];
                        }
                        Set(node, 0, x.ElemType, shape);
                        if (node.OpType == "MaxPool") Set(node, 1, OnnxDataType.Int64, shape);
                        return true;
                    }
                case "ConvTranspose":
                    Set(node, 0, x.ElemType, ConvTransposeShape(node, x.Shape, In(node, 1).Shape));
                    return true;
                case "GlobalAveragePool" or "GlobalMaxPool" or "GlobalLpPool":
                    Set(node, 0, x.ElemType, x.Shape is { Length: > 2 } s ? [s[0], s[1], .. s[2..].Select(_ => Dim.Known(1))] : x.Shape);
                    return true;
                case "Pad":
                    Set(node, 0, x.ElemType, PadShape(node, x.Shape));
                    return true;
                case "Resize" or "Upsample":
                    Set(node, 0, x.ElemType, ResizeShape(node, x.Shape));
                    return true;
                default:
                    return false;
            }
        }

        /// <summary>Spatial output dims of a sliding window (Conv, pooling), or unknown where the input dim is symbolic.</summary>
        private static Dim[] WindowOutput(NodeProto node, Dim[] spatial, long[]? kernel)
        {
            int rank = spatial.Length;
            if (kernel is null || kernel.Length != rank) return spatial.Select(_ => Dim.Unknown).ToArray();
            var strides = Ints(node, "strides") ?? Enumerable.Repeat(1L, rank).ToArray();
            var dilations = Ints(node, "dilations") ?? Enumerable.Repeat(1L, rank).ToArray();
            var pads = Ints(node, "pads") ?? new long[2 * rank];
            string autoPad = String(node, "auto_pad") ?? "NOTSET";
            bool ceil = Int(node, "ceil_mode", 0) != 0;
            var result = new Dim[rank];
            for (int i = 0; i < rank; i++)
            {
                if (spatial[i].Value is not { } size) { result[i] = Dim.Unknown; continue; }
                long extent = dilations[i] * (kernel[i] - 1) + 1;
                long s = strides[i];
                result[i] = Dim.Known(autoPad switch
                {
                    "SAME_UPPER" or "SAME_LOWER" => (size + s - 1) / s,
                    "VALID" => (size - extent) / s + 1,
                    _ => ceil ? CeilWindows(size, pads[i], pads[rank + i], extent, s) : (size + pads[i] + pads[rank + i] - extent) / s + 1,
                });
            }
            return result;
        }

        private static long CeilWindows(long size, long begin, long end, long extent, long stride)
        {
            long count = (size + begin + end - extent + stride - 1) / stride + 1;
            return (count - 1) * stride >= size + begin ? count - 1 : count;
        }

        private static Dim[]? ConvTransposeShape(NodeProto node, Dim[]? x, Dim[]? w)
        {
            if (x is not { Length: > 2 }) return null;
            int rank = x.Length - 2;
            long group = Int(node, "group", 1);
            var channels = w is { Length: > 1 } && w[1].IsKnown ? Dim.Known(w[1].Value!.Value * group) : Dim.Unknown;
            if (Ints(node, "output_shape") is { } outputShape)
                return [x[0], channels, .. outputShape[^rank..].Select(Dim.Known)];
            var kernel = Ints(node, "kernel_shape") ?? (w is { Length: > 2 } && w[2..].All(d => d.IsKnown) ? w[2..].Select(d => d.Value!.Value).ToArray() : null);
            var strides = Ints(node, "strides") ?? Enumerable.Repeat(1L, rank).ToArray();
            var dilations = Ints(node, "dilations") ?? Enumerable.Repeat(1L, rank).ToArray();
            var pads = Ints(node, "pads") ?? new long[2 * rank];
            var outputPadding = Ints(node, "output_padding") ?? new long[rank];
            string autoPad = String(node, "auto_pad") ?? "NOTSET";
            var spatial = new Dim[rank];
            for (int i = 0; i < rank; i++)
            {
                if (x[2 + i].Value is not { } size || kernel is null) { spatial[i] = Dim.Unknown; continue; }
                spatial[i] = Dim.Known(autoPad is "SAME_UPPER" or "SAME_LOWER"
                    ? size * strides[i]
                    : strides[i] * (size - 1) + outputPadding[i] + dilations[i] * (kernel[i] - 1) + 1 - pads[i] - pads[rank + i]);
            }
            return [x[0], channels, .. spatial];
        }

        private Dim[]? PadShape(NodeProto node, Dim[]? x)
        {
            if (x is null) return null;
            int rank = x.Length;
            long[]? pads = _model.Opset < 11 ? Ints(node, "pads") : KnownValue(node, 1);
            if (pads is null) return x.Select(_ => Dim.Unknown).ToArray();
            long[] axes = node.Input.Count > 3 && node.Input[3].Length > 0
                ? KnownValue(node, 3)?.Select(a => a < 0 ? a + rank : a).ToArray() ?? []
                : Enumerable.Range(0, rank).Select(i => (long)i).ToArray();
            if (axes.Length * 2 != pads.Length) return x.Select(_ => Dim.Unknown).ToArray();
            var shape = (Dim[])x.Clone();
            for (int i = 0; i < axes.Length; i++)
            {
                long add = pads[i] + pads[axes.Length + i];
                var d = x[axes[i]];
                shape[axes[i]] = d.IsKnown ? Dim.Known(d.Value!.Value + add) : add == 0 ? d : Dim.Unknown;
            }
            return shape;
        }

        private double[]? ConstantFloats(NodeProto node, int slot)
        {
            if (slot >= node.Input.Count || node.Input[slot].Length == 0) return null;
            if (_model.Initializers.TryGetValue(node.Input[slot], out var init)) return ReadDouble(init);
            return _model.Producer(node.Input[slot]) is { OpType: "Constant" } p && Attribute(p, "value")?.T is { } t ? ReadDouble(t) : null;
        }

        private Dim[]? ResizeShape(NodeProto node, Dim[]? x)
        {
            if (x is null) return null;
            bool legacy = node.OpType == "Upsample" || _model.Opset < 11;
            if (!legacy && KnownValue(node, 3) is { } sizes && sizes.Length == x.Length)
                return sizes.Select(Dim.Known).ToArray();
            double[]? scales = node.OpType == "Upsample" && _model.Opset < 9
                ? Attribute(node, "scales")?.Floats.Select(f => (double)f).ToArray()
                : ConstantFloats(node, legacy ? 1 : 2);
            if (scales is null || scales.Length != x.Length) return x.Select(_ => Dim.Unknown).ToArray();
            return x.Select((d, i) => scales[i] == 1.0 ? d : d.IsKnown ? Dim.Known((long)Math.Floor(d.Value!.Value * scales[i])) : Dim.Unknown).ToArray();
        }
    }
}
