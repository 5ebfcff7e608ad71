using Microsoft.ML.Attribution.Onnx.Proto;
using static Microsoft.ML.Attribution.Onnx.TensorProtos;

namespace Microsoft.ML.Attribution.Autodiff.Rules;

/// <summary>
/// LayerNormalization (opset 17): normalises over the axes from <c>axis</c> to the last, then scales and shifts.
/// Exporters before opset 17 decompose it into ReduceMean/Sub/Pow/Sqrt/Div, which the elementwise rules cover.
/// </summary>
internal static class LayerNormRules
{
    public static IEnumerable<KeyValuePair<string, GradientRule>> All =>
    [
        new("LayerNormalization", new(LayerNormalization)),
    ];

    // With x̂ = (X − μ)·r, r = 1/√(σ² + ε) and g = dY·scale, means over the normalised axes:
    //   dX = r·(g − mean(g) − x̂·mean(g·x̂)),  dScale = Σ dY·x̂,  dB = Σ dY  (sums over the other axes).
    // The statistics are recomputed here rather than read from the optional Mean/InvStdDev outputs, which exporters
    // rarely keep.
    private static string?[] LayerNormalization(GradientContext c, NodeProto n, string?[] g)
    {
        if (g.Length > 1 && g.Skip(1).Any(x => x is not null))
        {
            throw new InvalidOperationException(
                $"LayerNormalization node '{GradientContext.NodeLabel(n)}': differentiating through its Mean or InvStdDev output is not supported.");
        }
        string x = n.Input[0], scale = n.Input[1];
        string? bias = n.Input.Count > 2 && n.Input[2].Length > 0 ? n.Input[2] : null;
        int rank = c.RankOf(x);
        int axis = c.NormalizeAxis(Int(n, "axis", -1), rank);
        double epsilon = Float(n, "epsilon", 1e-5f);
        int type = c.ElemTypeOf(x);
        var axes = Enumerable.Range(axis, rank - axis).Select(i => (long)i).ToArray();
        string dy = g[0]!;

        var mean = c.ReduceMean(x, axes, keepDims: true);
        var centered = c.Sub(x, mean);
        var variance = c.ReduceMean(c.Mul(centered, centered), axes, keepDims: true);
        var inverseStd = c.Emit("Reciprocal", [c.Emit("Sqrt", [c.Add(variance, c.Scalar(epsilon, type))])]);
        var normalized = c.Mul(centered, inverseStd);

        string? dx = null, dScale = null, dBias = null;
        var yShape = c.ShapeOf(n.Output[0]);
        if (c.IsActive(x))
        {
            var gScaled = c.Mul(dy, scale);
            var meanG = c.ReduceMean(gScaled, axes, keepDims: true);
            var meanGx = c.ReduceMean(c.Mul(gScaled, normalized), axes, keepDims: true);
            dx = c.Mul(c.Sub(c.Sub(gScaled, meanG), c.Mul(normalized, meanGx)), inverseStd);
        }
        if (c.IsActive(scale)) dScale = c.ReduceToShapeOf(c.Mul(dy, normalized), yShape, scale);
        if (bias is not null && c.IsActive(bias)) dBias = c.ReduceToShapeOf(dy, yShape, bias);
        return [dx, dScale, dBias];
    }
}
