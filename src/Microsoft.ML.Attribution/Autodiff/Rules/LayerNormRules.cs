using Microsoft.ML.Attribution.Onnx.Proto;
using static Microsoft.ML.Attribution.Onnx.TensorProtos;

namespace Microsoft.ML.Attribution.Autodiff.Rules;

/// <summary>
/// LayerNormalization (opset 17) over the axes from <c>axis</c> to the last: with x̂ = (x − μ)/σ and g = dY·scale,
/// dX = (g − mean(g) − x̂·mean(g·x̂)) / σ; dScale = Σ dY·x̂ and dB = Σ dY over the leading axes.
/// μ and σ are recomputed from X (the optional Mean/InvStdDev outputs are often absent).
/// </summary>
internal static class LayerNormRules
{
    public static IEnumerable<KeyValuePair<string, GradientRule>> All =>
    [
        new("LayerNormalization", new(LayerNormalization, GradientRule.OnlyInputs(0, 1, 2))),
    ];

    private static string?[] LayerNormalization(GradientContext c, NodeProto n, string?[] g)
    {
        string x = n.Input[0], scale = n.Input[1];
        var shape = c.ShapeOf(x);
        int rank = shape.Length;
        long axis = Int(n, "axis", -1);
        if (axis < 0) axis += rank;
        var axes = Enumerable.Range((int)axis, rank - (int)axis).Select(a => (long)a).ToArray();
        if (axes.Any(a => !shape[a].IsKnown))
            throw new InvalidOperationException($"LayerNormalization node '{GradientContext.NodeLabel(n)}' normalises over symbolic axes; their sizes must be static.");
        int type = c.ElemTypeOf(x);
        double count = axes.Aggregate(1.0, (p, a) => p * shape[a].Value!.Value);
        string Mean(string t) => c.Div(c.ReduceSum(t, axes, keepDims: true), c.Scalar(count, type));

        var centred = c.Sub(x, Mean(x));
        var variance = Mean(c.Mul(centred, centred));
        var inverseStd = c.Emit("Reciprocal", [c.Emit("Sqrt", [c.Add(variance, c.Scalar(Float(n, "epsilon", 1e-5f), type))])]);
        var normalised = c.Mul(centred, inverseStd);
        string dy = g[0]!;

        string? dx = null, dScale = null, dBias = null;
        if (c.IsActive(x))
        {
            var gs = c.Mul(dy, scale);
            dx = c.Mul(c.Sub(c.Sub(gs, Mean(gs)), c.Mul(normalised, Mean(c.Mul(gs, normalised)))), inverseStd);
        }
        var yShape = c.ShapeOf(n.Output[0]);
        if (c.IsActive(scale)) dScale = c.ReduceToShapeOf(c.Mul(dy, normalised), yShape, scale);
        if (n.Input.Count > 2 && n.Input[2].Length > 0 && c.IsActive(n.Input[2])) dBias = c.ReduceToShapeOf(dy, yShape, n.Input[2]);
        return [dx, dScale, dBias];
    }
}
