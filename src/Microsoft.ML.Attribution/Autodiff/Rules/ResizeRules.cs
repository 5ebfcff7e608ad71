using Microsoft.ML.Attribution.Onnx;
using Microsoft.ML.Attribution.Onnx.Proto;
using static Microsoft.ML.Attribution.Onnx.TensorProtos;

namespace Microsoft.ML.Attribution.Autodiff.Rules;

/// <summary>
/// Gradients of Pad (constant mode) and of Resize / Upsample (nearest and linear).
/// <para>
/// Resize with nearest or (bi)linear interpolation is linear in X and separable: along each resized axis
/// Y = A·X with a static [out, in] interpolation matrix A. The gradient applies Aᵀ along the same axes (MatMul on the
/// last two axes). A is built here from the node's attributes and the static sizes, following the ONNX formulas
/// (coordinate_transformation_mode half_pixel, pytorch_half_pixel, align_corners, asymmetric, tf_half_pixel_for_nn;
/// nearest_mode round_prefer_floor, round_prefer_ceil, floor, ceil; opset &lt; 11 and Upsample: asymmetric with
/// ORT's floor-when-upsampling rounding). Not supported, with an error naming the node: cubic mode,
/// tf_crop_and_resize, half_pixel_symmetric, antialias, keep_aspect_ratio_policy other than stretch, resizing
/// the batch/channel axes or any axis other than the last two, and scales/sizes that are not constants.
/// </para>
/// </summary>
internal static class ResizeRules
{
    public static IEnumerable<KeyValuePair<string, GradientRule>> All =>
    [
        new("Pad", new(Pad, GradientRule.OnlyInputs(0))),
        new("Resize", new(Resize, GradientRule.OnlyInputs(0))),
        new("Upsample", new(Resize, GradientRule.OnlyInputs(0))),
    ];

    // Constant-mode Pad: X sits at [pad_begin, pad_begin + size) of Y, so dX is that window of dY; negative pads
    // (cropping) leave zeros at the cropped positions. Slice ends count from the back, so no size need be static.
    private static string?[] Pad(GradientContext c, NodeProto n, string?[] g)
    {
        string mode = String(n, "mode") ?? "constant";
        string x = n.Input[0];
        int rank = c.ShapeOf(x).Length;
        long[] pads;
        long[] axes = Enumerable.Range(0, rank).Select(i => (long)i).ToArray();
        if (c.Opset < 11)
        {
            if (mode != "constant")
                throw new InvalidOperationException($"{SpatialGradientHelpers.Label(n)}: Pad mode '{mode}' has a gradient rule only from opset 11.");
            pads = Ints(n, "pads") ?? new long[2 * rank];
        }
        else
        {
            bool hasAxes = n.Input.Count > 3 && n.Input[3].Length > 0;
            long[]? constantPads = ConstantInts(c, n, 1), constantAxes = hasAxes ? ConstantInts(c, n, 3) : null;
            if (mode != "constant" || constantPads is null || (hasAxes && constantAxes is null)) return [PadByPositions(c, n, g[0]!, mode)];
            pads = constantPads;
            if (constantAxes is not null) axes = constantAxes.Select(a => a < 0 ? a + rank : a).ToArray();
        }
        int k = axes.Length;
        var starts = new List<long>();
        var ends = new List<long>();
        var sliceAxes = new List<long>();
        var regrow = new long[2 * rank];
        for (int i = 0; i < k; i++)
        {
            long begin = pads[i], end = pads[k + i];
            if (begin > 0 || end > 0)
            {
                sliceAxes.Add(axes[i]);
                starts.Add(Math.Max(begin, 0));
                ends.Add(end > 0 ? -end : long.MaxValue);
            }
            regrow[axes[i]] = Math.Max(-begin, 0);
            regrow[rank + axes[i]] = Math.Max(-end, 0);
        }
        string dx = sliceAxes.Count == 0 ? g[0]! : c.Slice(g[0]!, starts.ToArray(), ends.ToArray(), sliceAxes.ToArray());
        return [c.PadConstant(dx, regrow, 0.0, c.ElemTypeOf(x))];
    }

    // Pads computed at run time (Swin pads windows to a multiple of their size), or reflect/edge modes: pad the input's
    // flat positions the same way (−1 in constant padding), then add dY back at the positions each output came from;
    // reflect and edge copy an element several times, and those contributions add up.
    private static string PadByPositions(GradientContext c, NodeProto n, string dy, string mode)
    {
        string x = n.Input[0];
        var inputs = n.Input.ToArray();
        inputs[0] = c.PositionsLike(x);
        if (mode == "constant")
        {
            if (inputs.Length < 3) Array.Resize(ref inputs, 3);
            inputs[2] = c.Emit("Constant", [], TensorAttr("value", FromInt64("", [-1])));
        }
        var taken = c.Emit("Pad", inputs, n.Attribute.ToArray());
        if (mode != "constant") return c.ScatterAddToPositions(dy, taken, x);
        var inside = c.Emit("GreaterOrEqual", [taken, c.Int64s(0)]);
        var positions = c.Emit("Where", [inside, taken, c.Int64s(0)]);
        var kept = c.Emit("Where", [inside, dy, c.Scalar(0, c.ElemTypeOf(x))]);
        return c.ScatterAddToPositions(kept, positions, x);
    }

    private static long[]? ConstantInts(GradientContext c, NodeProto n, int slot)
    {
        if (slot >= n.Input.Count || n.Input[slot].Length == 0) return null;
        if (c.Model.Initializers.TryGetValue(n.Input[slot], out var init)) return ReadInt64(init);
        var producer = c.Model.Producer(n.Input[slot]);
        return producer is { OpType: "Constant" } && Attribute(producer, "value")?.T is { } t ? ReadInt64(t) : null;
    }

    private static double[]? ConstantFloats(GradientContext c, NodeProto n, int slot)
    {
        if (slot >= n.Input.Count || n.Input[slot].Length == 0) return null;
        if (c.Model.Initializers.TryGetValue(n.Input[slot], out var init)) return ReadDouble(init);
        var producer = c.Model.Producer(n.Input[slot]);
        return producer is { OpType: "Constant" } && Attribute(producer, "value")?.T is { } t ? ReadDouble(t) : null;
    }

    private static string?[] Resize(GradientContext c, NodeProto n, string?[] g)
    {
        string x = n.Input[0];
        string label = SpatialGradientHelpers.Label(n);
        var inShape = c.ShapeOf(x);
        var outShape = c.ShapeOf(n.Output[0]);
        int rank = inShape.Length;
        int type = c.ElemTypeOf(x);
        string mode = String(n, "mode") ?? "nearest";
        if (mode is not ("nearest" or "linear" or "bilinear"))
            throw new InvalidOperationException($"{label}: mode '{mode}' has no gradient rule (nearest and linear only).");
        bool legacy = n.OpType == "Upsample" || c.Opset < 11;
        string transform = legacy ? "asymmetric" : String(n, "coordinate_transformation_mode") ?? "half_pixel";
        string nearest = legacy ? "simple" : String(n, "nearest_mode") ?? "round_prefer_floor";
        if (transform is not ("half_pixel" or "pytorch_half_pixel" or "align_corners" or "asymmetric" or "tf_half_pixel_for_nn"))
            throw new InvalidOperationException($"{label}: coordinate_transformation_mode '{transform}' has no gradient rule.");
        if (Int(n, "antialias", 0) != 0)
            throw new InvalidOperationException($"{label}: antialias=1 has no gradient rule.");
        if ((String(n, "keep_aspect_ratio_policy") ?? "stretch") != "stretch")
            throw new InvalidOperationException($"{label}: keep_aspect_ratio_policy other than 'stretch' has no gradient rule.");
        if (n.OpType == "Resize" && c.Opset >= 18 && Ints(n, "axes") is not null)
            throw new InvalidOperationException($"{label}: the axes attribute has no gradient rule; give scales or sizes for every axis.");

        double[]? scales = n.OpType == "Upsample" && c.Opset < 9
            ? Attribute(n, "scales")?.Floats.Select(f => (double)f).ToArray()
            : ConstantFloats(c, n, legacy ? 1 : 2);
        if (scales is { Length: 0 }) scales = null;
        long[]? sizes = legacy ? null : ConstantInts(c, n, 3);
        if (scales is null && sizes is null)
            throw new InvalidOperationException($"{label}: scales or sizes must be constants to build the gradient.");

        string dy = g[0]!;
        for (int axis = 0; axis < rank; axis++)
        {
            long inSize = inShape[axis].Value ?? -1;
            long outSize = outShape[axis].Value ?? -1;
            double scale = scales is not null ? scales[axis] : (double)sizes![axis] / inSize;
            bool identity = scales is not null ? scale == 1.0 : sizes![axis] == inSize;
            if (identity) continue;
            if (axis < rank - 2)
                throw new InvalidOperationException($"{label}: resizing axis {axis} has no gradient rule (only the last two axes).");
            if (inSize < 0 || outSize < 0)
                throw new InvalidOperationException($"{label}: resized axis {axis} must have static sizes.");
            var a = InterpolationMatrix(mode == "nearest", transform, nearest, inSize, outSize, scale);
            if (axis == rank - 1)
                dy = c.Emit("MatMul", [dy, c.Tensor(a, type, outSize, inSize)]);
            else
                dy = c.Emit("MatMul", [c.Tensor(Transposed(a, outSize, inSize), type, inSize, outSize), dy]);
        }
        return [dy];
    }

    private static double[] Transposed(double[] a, long rows, long cols)
    {
        var t = new double[a.Length];
        for (long r = 0; r < rows; r++) for (long col = 0; col < cols; col++) t[col * rows + r] = a[r * cols + col];
        return t;
    }

    /// <summary>Row o of the [out, in] matrix holds the weights with which output position o reads the input.</summary>
    internal static double[] InterpolationMatrix(bool nearestMode, string transform, string nearest, long inSize, long outSize, double scale)
    {
        var a = new double[outSize * inSize];
        for (long o = 0; o < outSize; o++)
        {
            double p = transform switch
            {
                "half_pixel" => (o + 0.5) / scale - 0.5,
                "pytorch_half_pixel" => outSize > 1 ? (o + 0.5) / scale - 0.5 : 0,
                "align_corners" => outSize == 1 ? 0 : o * (inSize - 1) / (double)(outSize - 1),
                "tf_half_pixel_for_nn" => (o + 0.5) / scale,
                _ => o / scale,
            };
            if (nearestMode)
            {
                double f = Math.Floor(p);
                long i = nearest switch
                {
                    "round_prefer_ceil" => (long)Math.Floor(p + 0.5),
                    "floor" => (long)f,
                    "ceil" => (long)Math.Ceiling(p),
                    "simple" => scale < 1 ? (long)Math.Ceiling(p) : (long)p,
                    _ => p - f == 0.5 ? (long)f : (long)Math.Floor(p + 0.5),
                };
                a[o * inSize + Math.Clamp(i, 0, inSize - 1)] = 1;
            }
            else
            {
                p = Math.Clamp(p, 0, inSize - 1);
                long i0 = (long)Math.Floor(p);
                long i1 = Math.Min(i0 + 1, inSize - 1);
                double w = p - i0;
                a[o * inSize + i0] += 1 - w;
                a[o * inSize + i1] += w;
            }
        }
        return a;
    }
}
