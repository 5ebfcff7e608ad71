using Microsoft.ML.Attribution.Onnx;
using Microsoft.ML.Attribution.Onnx.Proto;
using static Microsoft.ML.Attribution.Onnx.TensorProtos;

namespace Microsoft.ML.Attribution.Autodiff;

/// <summary>
/// The sliding-window geometry of one Conv / ConvTranspose / pooling node along its spatial axes, with auto_pad
/// resolved to explicit pads.
/// </summary>
internal sealed record WindowGeometry(long[] Kernel, long[] Strides, long[] Dilations, long[] PadsBegin, long[] PadsEnd, bool CeilMode)
{
    public int Rank => Kernel.Length;

    /// <summary>The extent one window covers: dilation·(k−1)+1.</summary>
    public long Extent(int i) => Dilations[i] * (Kernel[i] - 1) + 1;

    /// <summary>
    /// Reads kernel_shape (or the weight's spatial dims), strides, dilations, pads / auto_pad and ceil_mode.
    /// <paramref name="inputSpatial"/> may hold nulls (symbolic dims); SAME_* auto_pad then cannot be resolved.
    /// </summary>
    public static WindowGeometry Of(NodeProto node, long?[] inputSpatial, long[]? weightSpatial)
    {
        int rank = inputSpatial.Length;
        var kernel = Ints(node, "kernel_shape") ?? weightSpatial
            ?? throw new InvalidOperationException($"{node.OpType} node '{GradientContext.NodeLabel(node)}' has no kernel_shape and no static weight shape.");
        if (kernel.Length != rank)
            throw new InvalidOperationException($"{node.OpType} node '{GradientContext.NodeLabel(node)}': kernel_shape has {kernel.Length} dims, the input has {rank} spatial dims.");
        var strides = Ints(node, "strides") ?? Ones(rank);
        var dilations = Ints(node, "dilations") ?? Ones(rank);
        var pads = Ints(node, "pads") ?? new long[2 * rank];
        var begin = pads[..rank];
        var end = pads[rank..];
        string autoPad = String(node, "auto_pad") ?? "NOTSET";
        bool ceil = Int(node, "ceil_mode", 0) != 0;
        var geometry = new WindowGeometry(kernel, strides, dilations, begin, end, ceil);
        switch (autoPad)
        {
            case "NOTSET" or "":
                break;
            case "VALID":
                Array.Clear(begin);
                Array.Clear(end);
                break;
            case "SAME_UPPER" or "SAME_LOWER":
                for (int i = 0; i < rank; i++)
                {
                    long size = inputSpatial[i] ?? throw new InvalidOperationException(
                        $"{node.OpType} node '{GradientContext.NodeLabel(node)}' uses auto_pad={autoPad} on a symbolic spatial dim; its pads cannot be resolved statically.");
                    long outSize = (size + strides[i] - 1) / strides[i];
                    long total = Math.Max(0, (outSize - 1) * strides[i] + geometry.Extent(i) - size);
                    long small = total / 2;
                    begin[i] = autoPad == "SAME_UPPER" ? small : total - small;
                    end[i] = total - begin[i];
                }
                return geometry with { CeilMode = false };
            default:
                throw new InvalidOperationException($"{node.OpType} node '{GradientContext.NodeLabel(node)}' has unknown auto_pad '{autoPad}'.");
        }
        return geometry;
    }

    /// <summary>Output size of a Conv / pooling window along spatial axis <paramref name="i"/> for input size <paramref name="size"/>.</summary>
    public long OutputSize(int i, long size)
    {
        long span = size + PadsBegin[i] + PadsEnd[i] - Extent(i);
        if (!CeilMode) return span / Strides[i] + 1;
        long outSize = (span + Strides[i] - 1) / Strides[i] + 1;
        // ONNX / PyTorch: with ceil_mode the last window must start inside the input or the begin padding.
        if ((outSize - 1) * Strides[i] >= size + PadsBegin[i]) outSize--;
        return outSize;
    }

    private static long[] Ones(int rank) => Enumerable.Repeat(1L, rank).ToArray();
}

/// <summary>Opset-aware builders for the backward passes of spatial ops (Slice, Pad, constants, ConvTranspose).</summary>
internal static class SpatialGradientHelpers
{
    /// <summary>A constant tensor (Constant node, so no initializer bookkeeping) of a floating element type.</summary>
    public static string Tensor(this GradientContext c, double[] values, int elemType, params long[] dims) =>
        c.Emit("Constant", [], TensorAttr("value", FromDouble("", elemType, values, dims)));

    /// <summary>Reshape to a constant target shape (0 copies the input's dim, −1 is inferred).</summary>
    public static string Reshape(this GradientContext c, string x, params long[] shape) =>
        c.Emit("Reshape", [x, c.Int64s(shape)]);

    /// <summary>Slice with step 1 along the given axes (attribute form before opset 10, inputs after).</summary>
    public static string Slice(this GradientContext c, string x, long[] starts, long[] ends, long[] axes) =>
        c.Opset >= 10
            ? c.Emit("Slice", [x, c.Int64s(starts), c.Int64s(ends), c.Int64s(axes)])
            : c.Emit("Slice", [x], IntsAttr("starts", starts), IntsAttr("ends", ends), IntsAttr("axes", axes));

    /// <summary>Constant-mode Pad; <paramref name="pads"/> lists all begins then all ends over every axis.</summary>
    public static string PadConstant(this GradientContext c, string x, long[] pads, double value, int elemType)
    {
        if (pads.All(p => p == 0)) return x;
        if (c.Opset >= 11)
            return c.Emit("Pad", [x, c.Int64s(pads), c.Scalar(value, elemType)], StringAttr("mode", "constant"));
        return c.Emit("Pad", [x], IntsAttr("pads", pads), FloatAttr("value", (float)value), StringAttr("mode", "constant"));
    }

    /// <summary>
    /// Takes, along the spatial axes (2…), the window [begin, begin+length) of a tensor whose spatial sizes are
    /// <paramref name="available"/>, zero-filling the part past its end. This turns a pad-free ConvTranspose back
    /// into the gradient of the forward input, for any pads, auto_pad or ceil_mode.
    /// </summary>
    public static string CropSpatial(this GradientContext c, string x, long[] begin, long[] length, long[] available, int elemType)
    {
        int rank = begin.Length;
        var axes = new List<long>();
        var starts = new List<long>();
        var ends = new List<long>();
        var padEnd = new long[rank];
        for (int i = 0; i < rank; i++)
        {
            long stop = Math.Min(begin[i] + length[i], available[i]);
            if (begin[i] != 0 || stop != available[i])
            {
                axes.Add(i + 2);
                starts.Add(begin[i]);
                ends.Add(stop);
            }
            padEnd[i] = begin[i] + length[i] - stop;
        }
        string cropped = axes.Count == 0 ? x : c.Slice(x, starts.ToArray(), ends.ToArray(), axes.ToArray());
        if (padEnd.All(p => p == 0)) return cropped;
        return c.PadConstant(cropped, [0, 0, .. new long[rank], 0, 0, .. padEnd], 0.0, elemType);
    }

    /// <summary>"OpType node 'name'", for error messages.</summary>
    public static string Label(NodeProto node) => $"{node.OpType} node '{GradientContext.NodeLabel(node)}'";

    /// <summary>Static spatial sizes (axes 2…) of a forward tensor; throws naming the node when one is symbolic.</summary>
    public static long[] StaticSpatial(this GradientContext c, string tensor, NodeProto node)
    {
        var shape = c.ShapeOf(tensor);
        if (shape.Length < 3)
            throw new InvalidOperationException($"{Label(node)}: tensor '{tensor}' has rank {shape.Length}; expected [N, C, spatial…].");
        return shape[2..].Select(d => d.Value ?? throw new InvalidOperationException(
            $"Cannot build the gradient of {Label(node)}: spatial dims of '{tensor}' ({new TensorType(0, shape).ShapeText}) must be static.")).ToArray();
    }

    /// <summary>The static channel count (axis 1) of a forward tensor.</summary>
    public static long StaticChannels(this GradientContext c, string tensor, NodeProto node) =>
        c.ShapeOf(tensor) is { Length: > 1 } s && s[1].Value is { } v ? v
            : throw new InvalidOperationException($"Cannot build the gradient of {Label(node)}: the channel dim of '{tensor}' must be static.");
}
