using Microsoft.ML.Attribution.Onnx.Proto;
using static Microsoft.ML.Attribution.Onnx.TensorProtos;

namespace Microsoft.ML.Attribution.Autodiff.Rules;

/// <summary>
/// Gradients of MaxPool, AveragePool, GlobalAveragePool, GlobalMaxPool.
/// <para>
/// MaxPool takes one of two paths. (1) Opset ≥ 16, or opset 11–15 with non-overlapping windows
/// (stride ≥ extent on every axis): a second MaxPool (storage_order 0) returns the argmax Indices and
/// ScatterElements puts dY there (reduction="add" where windows overlap, which needs opset 16; without overlap each
/// index occurs once, so the plain scatter is exact). Ties go where ORT's MaxPool puts them (the first maximum).
/// (2) Otherwise (opset 7–10, or overlapping windows before opset 16): windows are unfolded with a Conv whose
/// kernels are one-hot (each output channel copies one window tap, exactly: x·1 plus zeros), compared with the pooled
/// maximum (Not(Less), since Equal on floats needs opset 11), dY goes to the first tap that reaches the maximum
/// (ties resolved as in (1)), and is folded back with the ConvTranspose of the same one-hot kernels. Padding is explicit (−max float) so padded taps never win.
/// </para>
/// </summary>
internal static class PoolingRules
{
    private static readonly Func<NodeProto, int, bool> DataOnly = GradientRule.OnlyInputs(0);

    public static IEnumerable<KeyValuePair<string, GradientRule>> All =>
    [
        new("MaxPool", new(MaxPool, DataOnly)),
        new("AveragePool", new(AveragePool, DataOnly)),
        new("GlobalAveragePool", new(GlobalAveragePool, DataOnly)),
        new("GlobalMaxPool", new(GlobalMaxPool, DataOnly)),
    ];

    private static WindowGeometry Geometry(GradientContext c, NodeProto n, long[] inSize) =>
        WindowGeometry.Of(n, inSize.Select(s => (long?)s).ToArray(), null);

    private static string?[] MaxPool(GradientContext c, NodeProto n, string?[] g)
    {
        if (g[0] is null) return [null]; // only the Indices output is used downstream: it carries no gradient
        string x = n.Input[0], dy = g[0]!;
        int type = c.ElemTypeOf(x);
        var inSize = c.StaticSpatial(x, n);
        var outSize = c.StaticSpatial(n.Output[0], n);
        var geo = Geometry(c, n, inSize);
        bool overlapping = Enumerable.Range(0, geo.Rank).Any(i => geo.Strides[i] < geo.Extent(i));
        if (c.Opset >= 16 || (c.Opset >= 11 && !overlapping))
            return [ScatterToArgmax(c, n, x, dy, overlapping)];
        return [ShareAmongMaxima(c, n, x, dy, type, inSize, outSize, geo)];
    }

    private static string ScatterToArgmax(GradientContext c, NodeProto n, string x, string dy, bool overlapping)
    {
        var attributes = n.Attribute.Where(a => a.Name != "storage_order").Append(IntAttr("storage_order", 0)).ToArray();
        var indices = c.EmitMany("MaxPool", [x], 2, attributes)[1];
        var flatIndices = c.Reshape(indices, -1);
        var flatDy = c.Reshape(dy, -1);
        var zeros = c.Reshape(c.ZerosLike(x), -1);
        var scattered = overlapping
            ? c.Emit("ScatterElements", [zeros, flatIndices, flatDy], IntAttr("axis", 0), StringAttr("reduction", "add"))
            : c.Emit("ScatterElements", [zeros, flatIndices, flatDy], IntAttr("axis", 0));
        return c.ReshapeLike(scattered, x);
    }

    /// <summary>Kernels [K, 1, k…] with K = ∏k: kernel j is 1 at tap j, 0 elsewhere.</summary>
    private static string OneHotKernels(GradientContext c, long[] kernel, int type)
    {
        long taps = kernel.Aggregate(1L, (a, b) => a * b);
        var values = new double[taps * taps];
        for (long j = 0; j < taps; j++) values[j * taps + j] = 1;
        return c.Tensor(values, type, [taps, 1, .. kernel]);
    }

    private static string ShareAmongMaxima(GradientContext c, NodeProto n, string x, string dy, int type,
        long[] inSize, long[] outSize, WindowGeometry geo)
    {
        int rank = geo.Rank;
        long taps = geo.Kernel.Aggregate(1L, (a, b) => a * b);
        // Pad explicitly, at the end as far as ceil_mode's last window reaches, so that an unpadded Conv sees the
        // same windows as the MaxPool.
        var reach = Enumerable.Range(0, rank).Select(i => (outSize[i] - 1) * geo.Strides[i] + geo.Extent(i)).ToArray();
        var padEnd = Enumerable.Range(0, rank).Select(i => Math.Max(0, reach[i] - inSize[i] - geo.PadsBegin[i])).ToArray();
        var planes = c.Reshape(x, [-1, 1, .. inSize]);
        var padded = c.PadConstant(planes, [0, 0, .. geo.PadsBegin, 0, 0, .. padEnd], type == Onnx.OnnxDataType.Double ? -double.MaxValue : -float.MaxValue, type);
        var kernels = OneHotKernels(c, geo.Kernel, type);
        var windowAttributes = new[] { IntsAttr("strides", geo.Strides), IntsAttr("dilations", geo.Dilations), IntsAttr("kernel_shape", geo.Kernel) };
        var unfolded = c.Emit("Conv", [padded, kernels], windowAttributes); // [N·C, K, out…]
        var maximum = c.Reshape(n.Output[0], [-1, 1, .. outSize]);
        var isMax = c.Mask(c.Emit("Not", [c.Emit("Less", [unfolded, maximum])]), type);
        // Keep only the first maximal tap of each window (row-major tap order, as ORT's and PyTorch's argmax), so
        // ties give the same gradient as the Indices path: prior[j] = Σ_{i<j} isMax[i], a MatMul with a strictly
        // lower-triangular [K, K] matrix (CumSum needs opset 11).
        long positions = outSize.Aggregate(1L, (a, b) => a * b);
        var lower = new double[taps * taps];
        for (long j = 0; j < taps; j++) for (long i = 0; i < j; i++) lower[j * taps + i] = 1;
        var prior = c.Emit("MatMul", [c.Tensor(lower, type, taps, taps), c.Reshape(isMax, -1, taps, positions)]);
        var first = c.Mul(isMax, c.Reshape(c.Mask(c.Emit("Less", [prior, c.Scalar(0.5, type)]), type), [-1, taps, .. outSize]));
        var share = c.Mul(first, c.Reshape(dy, [-1, 1, .. outSize]));
        var folded = c.Emit("ConvTranspose", [share, kernels], windowAttributes); // [N·C, 1, reach…]
        return c.ReshapeLike(c.CropSpatial(folded, geo.PadsBegin, inSize, reach, type), x);
    }

    // AveragePool is linear: dX = ConvTranspose of dY/divisor with an all-ones kernel, per plane. The divisor is
    // computed here per output position: the taps inside the input (count_include_pad=0) or inside input plus
    // explicit pads (count_include_pad=1; ceil_mode's extra end positions are never counted).
    private static string?[] AveragePool(GradientContext c, NodeProto n, string?[] g)
    {
        string x = n.Input[0], dy = g[0]!;
        int type = c.ElemTypeOf(x);
        var inSize = c.StaticSpatial(x, n);
        var outSize = c.StaticSpatial(n.Output[0], n);
        var geo = Geometry(c, n, inSize);
        int rank = geo.Rank;
        bool includePad = Int(n, "count_include_pad", 0) != 0;
        var perAxis = new double[rank][];
        for (int i = 0; i < rank; i++)
        {
            perAxis[i] = new double[outSize[i]];
            long lo = includePad ? -geo.PadsBegin[i] : 0, hi = includePad ? inSize[i] + geo.PadsEnd[i] : inSize[i];
            for (long o = 0; o < outSize[i]; o++)
            {
                long count = 0;
                for (long k = 0; k < geo.Kernel[i]; k++)
                {
                    long p = o * geo.Strides[i] - geo.PadsBegin[i] + k * geo.Dilations[i];
                    if (p >= lo && p < hi) count++;
                }
                perAxis[i][o] = count;
            }
        }
        long total = outSize.Aggregate(1L, (a, b) => a * b);
        var inverse = new double[total];
        for (long flat = 0; flat < total; flat++)
        {
            double product = 1;
            long rest = flat;
            for (int i = rank - 1; i >= 0; i--)
            {
                product *= perAxis[i][rest % outSize[i]];
                rest /= outSize[i];
            }
            inverse[flat] = product == 0 ? 0 : 1 / product;
        }
        var planes = c.Mul(c.Reshape(dy, [-1, 1, .. outSize]), c.Tensor(inverse, type, outSize));
        long taps = geo.Kernel.Aggregate(1L, (a, b) => a * b);
        var ones = c.Tensor(Enumerable.Repeat(1.0, (int)taps).ToArray(), type, [1, 1, .. geo.Kernel]);
        var folded = c.Emit("ConvTranspose", [planes, ones],
            IntsAttr("strides", geo.Strides), IntsAttr("dilations", geo.Dilations), IntsAttr("kernel_shape", geo.Kernel));
        var reach = Enumerable.Range(0, rank).Select(i => (outSize[i] - 1) * geo.Strides[i] + geo.Extent(i)).ToArray();
        return [c.ReshapeLike(c.CropSpatial(folded, geo.PadsBegin, inSize, reach, type), x)];
    }

    // Y = mean over the spatial axes: every element gets dY / (number of spatial elements), counted at run time so
    // that symbolic spatial dims work.
    private static string?[] GlobalAveragePool(GradientContext c, NodeProto n, string?[] g)
    {
        string x = n.Input[0];
        int type = c.ElemTypeOf(x);
        int rank = c.ShapeOf(x).Length;
        var ones = c.Add(c.ZerosLike(x), c.Scalar(1.0, type));
        var count = c.ReduceSum(ones, Enumerable.Range(2, rank - 2).Select(i => (long)i).ToArray(), keepDims: true);
        return [c.Mul(ones, c.Div(g[0]!, count))];
    }

    // dY goes to the elements equal to the plane's maximum, shared among ties (GlobalMaxPool has no Indices output
    // to copy a tie rule from; any convex combination is a valid subgradient).
    private static string?[] GlobalMaxPool(GradientContext c, NodeProto n, string?[] g)
    {
        string x = n.Input[0];
        int type = c.ElemTypeOf(x);
        int rank = c.ShapeOf(x).Length;
        var isMax = c.Mask(c.Emit("Not", [c.Emit("Less", [x, n.Output[0]])]), type);
        var count = c.ReduceSum(isMax, Enumerable.Range(2, rank - 2).Select(i => (long)i).ToArray(), keepDims: true);
        return [c.Mul(isMax, c.Div(g[0]!, count))];
    }
}
