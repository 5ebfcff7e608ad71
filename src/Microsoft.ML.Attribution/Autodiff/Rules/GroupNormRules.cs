using Microsoft.ML.Attribution.Onnx.Proto;
using static Microsoft.ML.Attribution.Onnx.TensorProtos;

namespace Microsoft.ML.Attribution.Autodiff.Rules;

/// <summary>
/// InstanceNormalization (statistics per sample and channel over the spatial axes) and GroupNormalization (opset 18:
/// per sample and group of channels, scale and bias per group; opset 21: scale and bias per channel). Both are the
/// LayerNormalization gradient applied to a grouped view [N, G, rest] of the input.
/// </summary>
internal static class GroupNormRules
{
    public static IEnumerable<KeyValuePair<string, GradientRule>> All =>
    [
        new("InstanceNormalization", new(InstanceNormalization)),
        new("GroupNormalization", new(GroupNormalization)),
    ];

    private static string?[] InstanceNormalization(GradientContext c, NodeProto n, string?[] g)
    {
        var channels = c.ShapeOf(n.Input[0])[1].Value
            ?? throw new InvalidOperationException($"InstanceNormalization node '{GradientContext.NodeLabel(n)}': the channel count of '{n.Input[0]}' must be static.");
        return Grouped(c, n, g[0]!, groups: channels, perGroupAffine: false, Float(n, "epsilon", 1e-5f));
    }

    private static string?[] GroupNormalization(GradientContext c, NodeProto n, string?[] g)
    {
        long groups = Int(n, "num_groups", 0);
        if (groups <= 0) throw new InvalidOperationException($"GroupNormalization node '{GradientContext.NodeLabel(n)}' lacks num_groups.");
        // Opset 18's scale and bias have one value per group; opset 21 made them per channel. The shape tells.
        bool perGroup = c.ShapeOf(n.Input[1]) is [{ Value: { } size }] && size == groups && c.Opset < 21;
        return Grouped(c, n, g[0]!, groups, perGroup, Float(n, "epsilon", 1e-5f));
    }

    // In the grouped view, with x̂ = (X − μ)·r, r = 1/√(σ² + ε), and h = dY·scale (viewed the same way):
    //   dX = r·(h − mean(h) − x̂·mean(h·x̂)),  dScale = Σ dY·x̂,  dBias = Σ dY,
    // means over each group's elements, sums over everything but the channel (or group).
    private static string?[] Grouped(GradientContext c, NodeProto n, string dy, long groups, bool perGroupAffine, double epsilon)
    {
        string x = n.Input[0], scale = n.Input[1], bias = n.Input[2];
        int rank = c.RankOf(x);
        if (rank < 2) throw new InvalidOperationException($"{n.OpType} node '{GradientContext.NodeLabel(n)}': input '{x}' needs rank ≥ 2.");
        int type = c.ElemTypeOf(x);
        var grouped = c.Int64s(0, groups, -1);
        long[] statsAxis = [2];
        // Scale and bias broadcast on axis 1: per channel as [C, 1, …, 1] against X, per group as [G, 1] against the view.
        var channelView = c.Int64s([-1, .. Enumerable.Repeat(1L, rank - 2)]);
        var groupView = c.Int64s(-1, 1);

        var xg = c.Emit("Reshape", [x, grouped]);
        var centered = c.Sub(xg, c.ReduceMean(xg, statsAxis, keepDims: true));
        var variance = c.ReduceMean(c.Mul(centered, centered), statsAxis, keepDims: true);
        var inverseStd = c.Emit("Reciprocal", [c.Emit("Sqrt", [c.Add(variance, c.Scalar(epsilon, type))])]);
        var normalized = c.Mul(centered, inverseStd);

        string? dx = null, dScale = null, dBias = null;
        if (c.IsActive(x))
        {
            var h = perGroupAffine
                ? c.Mul(c.Emit("Reshape", [dy, grouped]), c.Emit("Reshape", [scale, groupView]))
                : c.Emit("Reshape", [c.Mul(dy, c.Emit("Reshape", [scale, channelView])), grouped]);
            var meanH = c.ReduceMean(h, statsAxis, keepDims: true);
            var meanHx = c.ReduceMean(c.Mul(h, normalized), statsAxis, keepDims: true);
            dx = c.ReshapeLike(c.Mul(c.Sub(c.Sub(h, meanH), c.Mul(normalized, meanHx)), inverseStd), x);
        }
        string PerAffine(string perElement) => perGroupAffine
            ? c.ReduceSum(c.Emit("Reshape", [perElement, grouped]), [0, 2], keepDims: false)
            : c.ReduceSum(perElement, [0, .. Enumerable.Range(2, rank - 2).Select(i => (long)i)], keepDims: false);
        if (c.IsActive(scale)) dScale = PerAffine(c.Mul(dy, c.ReshapeLike(normalized, x)));
        if (c.IsActive(bias)) dBias = PerAffine(dy);
        return [dx, dScale, dBias];
    }
}
