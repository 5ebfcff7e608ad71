using Microsoft.ML.Attribution.Onnx;
using Microsoft.ML.Attribution.Onnx.Proto;
using static Microsoft.ML.Attribution.Onnx.TensorProtos;

namespace Microsoft.ML.Attribution.Autodiff.Rules;

/// <summary>
/// Gradients of ReduceSum, ReduceMean, ReduceMax and ReduceMin. Their axes are an attribute until opset 13
/// (ReduceSum) or 18 (the others) and an optional input afterwards; <c>noop_with_empty_axes</c> comes with the input.
/// </summary>
internal static class ReductionRules
{
    public static IEnumerable<KeyValuePair<string, GradientRule>> All =>
    [
        new("ReduceSum", new(ReduceSum, GradientRule.OnlyInputs(0))),
        new("ReduceMean", new(ReduceMean, GradientRule.OnlyInputs(0))),
        new("ReduceMax", new(ReduceExtremum, GradientRule.OnlyInputs(0))),
        new("ReduceMin", new(ReduceExtremum, GradientRule.OnlyInputs(0))),
    ];

    /// <summary>How one reduction node reduces: static axes (normalised, sorted), or a run-time axes tensor.</summary>
    private sealed record Reduction(long[]? Axes, string? AxesTensor, bool KeepDims, bool Identity);

    private static Reduction Describe(GradientContext c, NodeProto n)
    {
        int inputOpset = n.OpType == "ReduceSum" ? 13 : 18;
        bool keep = Int(n, "keepdims", 1) != 0;
        int rank = c.RankOf(n.Input[0]);
        long[]? axes;
        string? axesTensor = null;
        if (c.Opset >= inputOpset)
        {
            bool hasInput = n.Input.Count > 1 && n.Input[1].Length > 0;
            axes = hasInput ? c.ConstantInt64s(n.Input[1]) : [];
            if (hasInput && axes is null)
            {
                if (!keep)
                    throw new InvalidOperationException(
                        $"{n.OpType} node '{GradientContext.NodeLabel(n)}' reduces over run-time axes '{n.Input[1]}' with keepdims=0; " +
                        "the gradient needs the axes when the graph is built.");
                axesTensor = n.Input[1];
            }
        }
        else
        {
            axes = Ints(n, "axes") ?? [];
        }
        if (axes is { Length: 0 })
        {
            if (c.Opset >= inputOpset && Int(n, "noop_with_empty_axes", 0) != 0) return new(null, null, keep, Identity: true);
            axes = Enumerable.Range(0, rank).Select(i => (long)i).ToArray();
        }
        var normalized = axes?.Select(a => (long)c.NormalizeAxis(a, rank)).Distinct().Order().ToArray();
        return new(normalized, axesTensor, keep, Identity: false);
    }

    /// <summary>A reduced tensor given back its reduced axes as size 1, so it broadcasts against the input.</summary>
    private static string Restore(GradientContext c, Reduction r, string reduced) =>
        r.KeepDims ? reduced : c.Unsqueeze(reduced, r.Axes!);

    private static string SumKeep(GradientContext c, Reduction r, string x) => r.AxesTensor is { } t
        ? c.Emit("ReduceSum", [x, t], IntAttr("keepdims", 1))
        : c.ReduceSum(x, r.Axes!, keepDims: true);

    private static string?[] ReduceSum(GradientContext c, NodeProto n, string?[] g)
    {
        var r = Describe(c, n);
        if (r.Identity) return [g[0]];
        return [c.BroadcastTo(Restore(c, r, g[0]!), n.Input[0])];
    }

    private static string?[] ReduceMean(GradientContext c, NodeProto n, string?[] g)
    {
        var r = Describe(c, n);
        if (r.Identity) return [g[0]];
        string x = n.Input[0];
        int type = c.ElemTypeOf(x);
        var shape = c.ShapeOf(x);
        string count = r.Axes is not null && TensorOpBuilders.StaticProduct(r.Axes.Select(a => shape[a])) is { } known
            ? c.Scalar(known, type)
            : c.Emit("Cast", [c.Div(c.Emit("Size", [x]), c.Emit("Size", [n.Output[0]]))], IntAttr("to", type));
        return [c.BroadcastTo(c.Div(Restore(c, r, g[0]!), count), x)];
    }

    // The gradient goes to every position that attains the extremum, split equally among ties. This is PyTorch's
    // amax/amin backward (see the torch.amax docs) and, since 1.7, that of full-tensor max()/min(); torch.max(x, dim) instead sends all of it to the one index
    // it returns, but exports as ReduceMax + ArgMax, and its ReduceMax output is what this rule sees.
    private static string?[] ReduceExtremum(GradientContext c, NodeProto n, string?[] g)
    {
        var r = Describe(c, n);
        if (r.Identity) return [g[0]];
        string x = n.Input[0];
        int type = c.ElemTypeOf(x);
        var winners = c.Mask(c.Emit("Equal", [x, Restore(c, r, n.Output[0])]), type);
        var share = c.Div(Restore(c, r, g[0]!), SumKeep(c, r, winners));
        return [c.Mul(winners, share)];
    }
}
