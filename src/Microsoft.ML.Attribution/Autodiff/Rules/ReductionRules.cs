using Microsoft.ML.Attribution.Onnx;
using Microsoft.ML.Attribution.Onnx.Proto;
using static Microsoft.ML.Attribution.Onnx.TensorProtos;

namespace Microsoft.ML.Attribution.Autodiff.Rules;

/// <summary>
/// Gradients of ReduceSum, ReduceMean and ReduceMax: the upstream gradient is broadcast back over the reduced axes
/// (divided by their size for the mean; for the max, split equally among the positions that attain it, as PyTorch's
/// amax does).
/// </summary>
internal static class ReductionRules
{
    public static IEnumerable<KeyValuePair<string, GradientRule>> All =>
    [
        new("ReduceSum", new(ReduceSum, GradientRule.OnlyInputs(0))),
        new("ReduceMean", new(ReduceMean, GradientRule.OnlyInputs(0))),
        new("ReduceMax", new(ReduceMax, GradientRule.OnlyInputs(0))),
    ];

    /// <summary>
    /// The reduced axes (normalised, ascending) of a Reduce node; axes move from attribute to input at opset 13 for
    /// ReduceSum and 18 for the others. Empty means all axes unless noop_with_empty_axes.
    /// </summary>
    public static long[]? ReducedAxes(GradientContext c, NodeProto n)
    {
        int rank = c.ShapeOf(n.Input[0]).Length;
        long[]? axes = Ints(n, "axes");
        if (axes is null && n.Input.Count > 1 && n.Input[1].Length > 0)
        {
            axes = c.Model.ConstantInts(n.Input[1]) ?? throw new InvalidOperationException($"{n.OpType} node '{GradientContext.NodeLabel(n)}' reduces over axes computed at run time; only constant axes are supported.");
        }
        if (axes is null || axes.Length == 0)
        {
            if (Int(n, "noop_with_empty_axes", 0) != 0) return null;
            return Enumerable.Range(0, rank).Select(i => (long)i).ToArray();
        }
        return axes.Select(a => a < 0 ? a + rank : a).Order().ToArray();
    }

    /// <summary>dY brought back to the input's rank (reduced axes of size 1) and expanded over the input's shape.</summary>
    private static string Broadcast(GradientContext c, NodeProto n, string dy, long[] axes)
    {
        if (Int(n, "keepdims", 1) == 0) dy = c.Unsqueeze(dy, axes);
        return c.Emit("Expand", [dy, c.Emit("Shape", [n.Input[0]])]);
    }

    private static string?[] ReduceSum(GradientContext c, NodeProto n, string?[] g) =>
        ReducedAxes(c, n) is { } axes ? [Broadcast(c, n, g[0]!, axes)] : [g[0]];

    private static string?[] ReduceMean(GradientContext c, NodeProto n, string?[] g)
    {
        if (ReducedAxes(c, n) is not { } axes) return [g[0]];
        var shape = c.ShapeOf(n.Input[0]);
        int type = c.ElemTypeOf(n.Input[0]);
        string count;
        if (axes.All(a => shape[a].IsKnown))
            count = c.Scalar(axes.Aggregate(1L, (p, a) => p * shape[a].Value!.Value), type);
        else
        {
            // Symbolic reduced axes: count = size(X) / size(Y), taken at run time.
            count = c.Div(c.Emit("Cast", [c.Emit("Size", [n.Input[0]])], IntAttr("to", type)),
                c.Emit("Cast", [c.Emit("Size", [n.Output[0]])], IntAttr("to", type)));
        }
        return [c.Div(Broadcast(c, n, g[0]!, axes), count)];
    }

    private static string?[] ReduceMax(GradientContext c, NodeProto n, string?[] g)
    {
        if (ReducedAxes(c, n) is not { } axes) return [g[0]];
        if (c.Opset < 11)
            throw new InvalidOperationException($"ReduceMax node '{GradientContext.NodeLabel(n)}': its gradient needs float Equal (opset 11+); the model is opset {c.Opset}.");
        string x = n.Input[0];
        int type = c.ElemTypeOf(x);
        string y = n.Output[0];
        if (Int(n, "keepdims", 1) == 0) y = c.Unsqueeze(y, axes);
        var isMax = c.Mask(c.Emit("Equal", [x, y]), type);
        var ties = c.ReduceSum(isMax, axes, keepDims: true);
        var share = c.Div(Broadcast(c, n, g[0]!, axes), c.Emit("Expand", [ties, c.Emit("Shape", [x])]));
        return [c.Mul(share, isMax)];
    }
}
