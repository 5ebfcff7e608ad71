using Microsoft.ML.Attribution.Onnx;
using Microsoft.ML.Attribution.Onnx.Proto;
using static Microsoft.ML.Attribution.Onnx.TensorProtos;

namespace Microsoft.ML.Attribution.Autodiff.Rules;

/// <summary>
/// Gradients of activations beyond the MLP set: Erf, Pow, Sqrt, Reciprocal, Abs, Gelu, LeakyRelu, Elu, HardSigmoid,
/// Clip. Piecewise ops take PyTorch's one-sided conventions at the kinks (LeakyRelu/Elu use the negative branch at 0,
/// Clip passes the gradient on its closed interval, HardSigmoid only strictly inside).
/// </summary>
internal static class ActivationRules
{
    public static IEnumerable<KeyValuePair<string, GradientRule>> All =>
    [
        new("Erf", new(Erf)),
        new("Pow", new(Pow)),
        new("Sqrt", new(Sqrt)),
        new("Reciprocal", new(Reciprocal)),
        new("Abs", new(Abs)),
        new("Gelu", new(Gelu)),
        new("LeakyRelu", new(LeakyRelu)),
        new("Elu", new(Elu)),
        new("HardSigmoid", new(HardSigmoid)),
        new("Clip", new(Clip, GradientRule.OnlyInputs(0))),
        new("Softplus", new(Softplus)),
    ];

    // d log(1 + eˣ)/dx = σ(x)
    private static string?[] Softplus(GradientContext c, NodeProto n, string?[] g) => [c.Mul(g[0]!, c.Emit("Sigmoid", [n.Input[0]]))];

    private static int Type(GradientContext c, NodeProto n) => c.ElemTypeOf(n.Input[0]);

    // d erf(x)/dx = 2/√π · exp(−x²)
    private static string?[] Erf(GradientContext c, NodeProto n, string?[] g)
    {
        var x = n.Input[0];
        var e = c.Emit("Exp", [c.Neg(c.Mul(x, x))]);
        return [c.Mul(g[0]!, c.Mul(e, c.Scalar(2 / Math.Sqrt(Math.PI), Type(c, n))))];
    }

    // y = xᵖ: dx = dy·p·x^(p−1); dp = dy·y·ln x (defined for x > 0).
    private static string?[] Pow(GradientContext c, NodeProto n, string?[] g)
    {
        string x = n.Input[0], p = n.Input[1], y = n.Output[0];
        var shape = c.ShapeOf(y);
        int type = Type(c, n);
        string? dx = null, dp = null;
        if (c.IsActive(x))
        {
            string exponent = c.ElemTypeOf(p) == type ? p : c.Emit("Cast", [p], IntAttr("to", type));
            var derivative = c.Mul(exponent, c.Emit("Pow", [x, c.Sub(exponent, c.Scalar(1, type))]));
            dx = c.ReduceToShapeOf(c.Mul(g[0]!, derivative), shape, x);
        }
        if (c.IsActive(p))
            dp = c.ReduceToShapeOf(c.Mul(g[0]!, c.Mul(y, c.Emit("Log", [x]))), shape, p);
        return [dx, dp];
    }

    private static string?[] Sqrt(GradientContext c, NodeProto n, string?[] g) =>
        [c.Div(g[0]!, c.Mul(n.Output[0], c.Scalar(2, Type(c, n))))];

    // d(1/x) = −1/x² = −y²
    private static string?[] Reciprocal(GradientContext c, NodeProto n, string?[] g) =>
        [c.Neg(c.Mul(g[0]!, c.Mul(n.Output[0], n.Output[0])))];

    private static string?[] Abs(GradientContext c, NodeProto n, string?[] g) => [c.Mul(g[0]!, c.Emit("Sign", [n.Input[0]]))];

    // Exact: Φ(x) + x·φ(x). Tanh form: y = ½x(1 + t), t = tanh(k(x + 0.044715x³)), k = √(2/π):
    // dy/dx = ½(1 + t) + ½x(1 − t²)·k(1 + 3·0.044715x²).
    private static string?[] Gelu(GradientContext c, NodeProto n, string?[] g)
    {
        string x = n.Input[0];
        int type = Type(c, n);
        string S(double v) => c.Scalar(v, type);
        string derivative;
        if (String(n, "approximate") == "tanh")
        {
            double k = Math.Sqrt(2 / Math.PI);
            var x2 = c.Mul(x, x);
            var inner = c.Mul(S(k), c.Add(x, c.Mul(S(0.044715), c.Mul(x2, x))));
            var t = c.Emit("Tanh", [inner]);
            var left = c.Mul(S(0.5), c.Add(S(1), t));
            var slope = c.Mul(S(k), c.Add(S(1), c.Mul(S(3 * 0.044715), x2)));
            var right = c.Mul(c.Mul(S(0.5), x), c.Mul(c.Sub(S(1), c.Mul(t, t)), slope));
            derivative = c.Add(left, right);
        }
        else
        {
            var cdf = c.Mul(S(0.5), c.Add(S(1), c.Emit("Erf", [c.Mul(x, S(1 / Math.Sqrt(2)))])));
            var pdf = c.Mul(S(1 / Math.Sqrt(2 * Math.PI)), c.Emit("Exp", [c.Mul(S(-0.5), c.Mul(x, x))]));
            derivative = c.Add(cdf, c.Mul(x, pdf));
        }
        return [c.Mul(g[0]!, derivative)];
    }

    /// <summary>1 where x &gt; 0, else 0, in the element type.</summary>
    private static string Positive(GradientContext c, string x, int type) => c.Mask(c.Emit("Greater", [x, c.Scalar(0, type)]), type);

    // slope 1 for x > 0, α otherwise: α + (1 − α)·[x > 0]
    private static string?[] LeakyRelu(GradientContext c, NodeProto n, string?[] g)
    {
        int type = Type(c, n);
        double alpha = Float(n, "alpha", 0.01f);
        var factor = c.Add(c.Scalar(alpha, type), c.Mul(c.Scalar(1 - alpha, type), Positive(c, n.Input[0], type)));
        return [c.Mul(g[0]!, factor)];
    }

    // x > 0: 1; else α·eˣ = y + α.
    private static string?[] Elu(GradientContext c, NodeProto n, string?[] g)
    {
        int type = Type(c, n);
        double alpha = Float(n, "alpha", 1f);
        var m = Positive(c, n.Input[0], type);
        var negative = c.Add(n.Output[0], c.Scalar(alpha, type));
        var factor = c.Add(m, c.Mul(c.Sub(c.Scalar(1, type), m), negative));
        return [c.Mul(g[0]!, factor)];
    }

    // y = max(0, min(1, αx + β)): slope α where 0 < αx + β < 1.
    private static string?[] HardSigmoid(GradientContext c, NodeProto n, string?[] g)
    {
        int type = Type(c, n);
        double alpha = Float(n, "alpha", 0.2f), beta = Float(n, "beta", 0.5f);
        var z = c.Add(c.Mul(n.Input[0], c.Scalar(alpha, type)), c.Scalar(beta, type));
        var inside = c.Emit("And", [c.Emit("Greater", [z, c.Scalar(0, type)]), c.Emit("Less", [z, c.Scalar(1, type)])]);
        return [c.Mul(g[0]!, c.Mul(c.Mask(inside, type), c.Scalar(alpha, type)))];
    }

    // Passes the gradient where min ≤ x ≤ max (PyTorch's clamp); bounds are attributes before opset 11, inputs after.
    private static string?[] Clip(GradientContext c, NodeProto n, string?[] g)
    {
        string x = n.Input[0];
        int type = Type(c, n);
        string? lower, upper;
        if (c.Opset < 11)
        {
            lower = Attribute(n, "min") is { } mn ? c.Scalar(mn.F, type) : null;
            upper = Attribute(n, "max") is { } mx ? c.Scalar(mx.F, type) : null;
        }
        else
        {
            lower = n.Input.Count > 1 && n.Input[1].Length > 0 ? n.Input[1] : null;
            upper = n.Input.Count > 2 && n.Input[2].Length > 0 ? n.Input[2] : null;
        }
        string? pass = null;
        if (lower is not null) pass = c.Emit("Not", [c.Emit("Less", [x, lower])]);
        if (upper is not null)
        {
            var below = c.Emit("Not", [c.Emit("Greater", [x, upper])]);
            pass = pass is null ? below : c.Emit("And", [pass, below]);
        }
        return [pass is null ? g[0] : c.Mul(g[0]!, c.Mask(pass, type))];
    }
}
