using Microsoft.ML.Attribution.Onnx.Proto;
using static Microsoft.ML.Attribution.Onnx.TensorProtos;

namespace Microsoft.ML.Attribution.Autodiff.Rules;

/// <summary>
/// Gradients of Conv with respect to its input X and bias B. The weights are treated as constants (attribution
/// differentiates inputs and activations, never parameters), so a graph whose W is an initializer or a graph input
/// (old exporters list initializers as inputs) needs no weight gradient.
/// </summary>
internal static class ConvolutionRules
{
    public static IEnumerable<KeyValuePair<string, GradientRule>> All =>
    [
        new("Conv", new(Conv, (_, i) => i != 1)),
    ];

    // dX is the transpose of the convolution: ConvTranspose of dY with the same W, strides, dilations and group.
    // It is emitted without pads, so it covers the padded input from its first element to the end of the last
    // window ((out−1)·stride + extent); CropSpatial then cuts the unpadded input out of it and zero-fills the rows
    // that no window reached (floor division of the output size, SAME padding).
    private static string?[] Conv(GradientContext c, NodeProto n, string?[] g)
    {
        string x = n.Input[0], w = n.Input[1];
        string dy = g[0]!;
        int type = c.ElemTypeOf(n.Output[0]);
        string? dx = null, db = null;
        if (c.IsActive(x))
        {
            var inSize = c.StaticSpatial(x, n);
            var outSize = c.StaticSpatial(n.Output[0], n);
            var wShape = c.ShapeOf(w);
            long[]? wSpatial = wShape.Length > 2 && wShape[2..].All(d => d.IsKnown) ? wShape[2..].Select(d => d.Value!.Value).ToArray() : null;
            var geo = WindowGeometry.Of(n, inSize.Select(s => (long?)s).ToArray(), wSpatial);
            var full = c.Emit("ConvTranspose", [dy, w],
                IntsAttr("strides", geo.Strides), IntsAttr("dilations", geo.Dilations),
                IntsAttr("kernel_shape", geo.Kernel), IntAttr("group", Int(n, "group", 1)));
            var available = Enumerable.Range(0, geo.Rank).Select(i => (outSize[i] - 1) * geo.Strides[i] + geo.Extent(i)).ToArray();
            dx = c.CropSpatial(full, geo.PadsBegin, inSize, available, type);
        }
        if (n.Input.Count > 2 && n.Input[2].Length > 0 && c.IsActive(n.Input[2]))
        {
            int rank = c.ShapeOf(n.Output[0]).Length;
            db = c.ReduceSum(dy, Enumerable.Range(0, rank).Where(i => i != 1).Select(i => (long)i).ToArray(), keepDims: false);
        }
        return [dx, null, db];
    }
}
