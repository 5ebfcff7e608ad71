using Microsoft.ML.Attribution.Onnx;
using Microsoft.ML.Attribution.Onnx.Proto;
using static Microsoft.ML.Attribution.Onnx.TensorProtos;

namespace Microsoft.ML.Attribution.Autodiff.Rules;

/// <summary>
/// Gradients of ops that pick elements by index: GatherElements, GatherND, ScatterElements, ScatterND, TopK, Tile,
/// CumSum. Pure data movement is differentiated by running the forward op on the flat positions of its input
/// (<see cref="TensorOpBuilders.PositionsLike"/>) and adding dY back at the positions it took: exact for any indices,
/// repeats and run-time dims, with nothing to model per op.
/// </summary>
internal static class IndexingRules
{
    public static IEnumerable<KeyValuePair<string, GradientRule>> All =>
    [
        new("GatherElements", new(GatherElements, GradientRule.OnlyInputs(0))),
        new("GatherND", new(GatherNd, GradientRule.OnlyInputs(0))),
        new("ScatterElements", new(ScatterElements, GradientRule.OnlyInputs(0, 2))),
        new("ScatterND", new(ScatterNd, GradientRule.OnlyInputs(0, 2))),
        new("TopK", new(TopK, GradientRule.OnlyInputs(0))),
        new("Tile", new(Tile, GradientRule.OnlyInputs(0))),
        new("CumSum", new(CumSum, GradientRule.OnlyInputs(0))),
    ];

    /// <summary>dX of an op that copies elements of input 0: the op run on positions, then dY added back there.</summary>
    private static string MovedBack(GradientContext c, NodeProto n, string dy)
    {
        string x = n.Input[0];
        var inputs = n.Input.ToArray();
        inputs[0] = c.PositionsLike(x);
        var taken = c.Emit(n.OpType, inputs, n.Attribute.ToArray());
        return c.ScatterAddToPositions(dy, taken, x);
    }

    private static string?[] GatherElements(GradientContext c, NodeProto n, string?[] g) => [MovedBack(c, n, g[0]!)];

    private static string?[] GatherNd(GradientContext c, NodeProto n, string?[] g) => [MovedBack(c, n, g[0]!)];

    private static string?[] Tile(GradientContext c, NodeProto n, string?[] g) => [MovedBack(c, n, g[0]!)];

    // Y = data with updates written at the indices. dUpdates = dY read at those indices; dData = dY with the
    // overwritten positions zeroed (reduction "none"), or dY unchanged where the updates were added ("add").
    // With repeated indices and reduction "none" ONNX leaves the winner unspecified; so does this rule.
    private static string?[] ScatterElements(GradientContext c, NodeProto n, string?[] g) =>
        Scatter(c, n, g[0]!, "GatherElements", [IntAttr("axis", Int(n, "axis", 0))]);

    private static string?[] ScatterNd(GradientContext c, NodeProto n, string?[] g) => Scatter(c, n, g[0]!, "GatherND", []);

    private static string?[] Scatter(GradientContext c, NodeProto n, string dy, string gatherOp, AttributeProto[] gatherAttributes)
    {
        string data = n.Input[0], indices = n.Input[1], updates = n.Input[2];
        string reduction = String(n, "reduction") ?? "none";
        if (reduction is not ("none" or "add"))
            throw new InvalidOperationException(
                $"{n.OpType} node '{GradientContext.NodeLabel(n)}' has reduction='{reduction}'; only 'none' and 'add' have a gradient rule.");
        string? dData = null, dUpdates = null;
        if (c.IsActive(data))
        {
            dData = reduction == "add" ? dy
                : c.Emit(n.OpType, [dy, indices, c.ZerosOfShape(c.Emit("Shape", [updates]), c.ElemTypeOf(data))], n.Attribute.Where(a => a.Name != "reduction").ToArray());
        }
        if (c.IsActive(updates)) dUpdates = c.Emit(gatherOp, [dy, indices], gatherAttributes);
        return [dData, null, dUpdates];
    }

    // The values output copies the selected elements; the indices output says which. dX scatters dValues there
    // (TopK's picks along one axis are distinct, so no accumulation is needed, but the shared helper is exact either way).
    private static string?[] TopK(GradientContext c, NodeProto n, string?[] g)
    {
        if (g.Length < 1 || g[0] is null) return [null, null];
        string x = n.Input[0];
        int axis = c.NormalizeAxis(Int(n, "axis", -1), c.RankOf(x));
        var positions = c.Emit("GatherElements", [c.PositionsLike(x), n.Output[1]], IntAttr("axis", axis));
        return [c.ScatterAddToPositions(g[0]!, positions, x), null];
    }

    // Y_i = Σ_{j ≤ i} X_j (or j < i, exclusive; reversed: j ≥ i). dX_j = Σ_{i ≥ j} dY_i: the same CumSum of dY in the
    // opposite direction, with the same exclusivity.
    private static string?[] CumSum(GradientContext c, NodeProto n, string?[] g)
    {
        var attributes = n.Attribute.Where(a => a.Name != "reverse").Append(IntAttr("reverse", Int(n, "reverse", 0) == 0 ? 1 : 0)).ToArray();
        return [c.Emit("CumSum", [g[0]!, n.Input[1]], attributes), null];
    }
}
