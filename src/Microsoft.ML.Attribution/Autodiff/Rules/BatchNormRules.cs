using Microsoft.ML.Attribution.Onnx.Proto;
using static Microsoft.ML.Attribution.Onnx.TensorProtos;

namespace Microsoft.ML.Attribution.Autodiff.Rules;

/// <summary>
/// Gradient of inference-mode BatchNormalization with respect to X only: Y = scale·(X − mean)/√(var + ε) + B is
/// affine in X with the per-channel factor scale/√(var + ε); scale, B, mean and var are constants.
/// </summary>
internal static class BatchNormRules
{
    public static IEnumerable<KeyValuePair<string, GradientRule>> All =>
    [
        new("BatchNormalization", new(BatchNormalization, GradientRule.OnlyInputs(0))),
    ];

    private static string?[] BatchNormalization(GradientContext c, NodeProto n, string?[] g)
    {
        if (Int(n, "training_mode", 0) != 0 || (c.Opset < 7 && Int(n, "is_test", 0) == 0))
            throw new InvalidOperationException(
                $"{SpatialGradientHelpers.Label(n)} runs in training mode (batch statistics); only inference-mode BatchNormalization has a gradient rule.");
        if (g[0] is null) return [null];
        string x = n.Input[0], scale = n.Input[1], variance = n.Input[4];
        int type = c.ElemTypeOf(x);
        int rank = c.ShapeOf(x).Length;
        var factor = c.Div(scale, c.Emit("Sqrt", [c.Add(variance, c.Scalar(Float(n, "epsilon", 1e-5f), type))]));
        // Per-channel parameters are [C]; opset 7–8 with spatial=0 has them shaped like X[1:], which broadcasts as is.
        if (c.ShapeOf(scale).Length == 1 && rank > 2)
            factor = c.Reshape(factor, [-1, .. Enumerable.Repeat(1L, rank - 2)]);
        return [c.Mul(g[0]!, factor)];
    }
}
