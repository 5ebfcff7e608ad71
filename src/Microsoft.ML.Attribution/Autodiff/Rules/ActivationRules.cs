using Microsoft.ML.Attribution.Onnx;
using Microsoft.ML.Attribution.Onnx.Proto;
using static Microsoft.ML.Attribution.Onnx.TensorProtos;

namespace Microsoft.ML.Attribution.Autodiff.Rules;

/// <summary>
/// Gradients of activations beyond the MLP set: Erf, Pow, Sqrt, Reciprocal, Abs, Gelu, LeakyRelu, Elu, HardSigmoid,
/// Clip. At kinks the one-sided choice is PyTorch's, so that attributions agree with Captum.
/// </summary>
internal static class ActivationRules
{
    public static IEnumerable<KeyValuePair<string, GradientRule>> All =>
    [
        new("Erf", new(Erf)),
        new("Pow", new(Pow, (n, i) => i == 0 || i == 1)),
        new("Sqrt", new(Sqrt)),
        new("Reciprocal", new(Reciprocal)),
        new("Abs", new(Abs)),
        new("Gelu", new(Gelu)),
        new("LeakyRelu", new(LeakyRelu)),
        new("Elu", new(Elu)),
        new("HardSigmoid", new(HardSigmoid)),
        // min and max are almost always constants; PyTorch's gradient to tensor bounds is not modelled.
        new("Clip", new(Clip, GradientRule.OnlyInputs(0))),
        new("Softplus", new(Softplus)),
    ];

    // erf'(x) = 2/√π · exp(−x²)
    private static string?[] Erf(GradientContext c, NodeProto n, string?[] g)
    {
        var x = n.Input[0];
        int type = c.ElemTypeOf(x);
        var gauss = c.Emit("Exp", [c.Neg(c.Mul(x, x))]);
        return [c.Mul(g[0]!, c.Mul(gauss, c.Scalar(2 / Math.Sqrt(Math.PI), type)))];
    }

    // Y = X^P: dX = dY·P·X^(P−1); dP = dY·Y·ln X where X > 0 and 0 elsewhere (PyTorch's convention: the real power is
    // not differentiable in the exponent for a non-positive base). Both are reduced over broadcast axes.
    private static string?[] Pow(GradientContext c, NodeProto n, string?[] g)
    {
        string x = n.Input[0], p = n.Input[1], y = n.Output[0];
        int type = c.ElemTypeOf(x);
        var yShape = c.ShapeOf(y);
        string? dx = null, dp = null;
        if (c.IsActive(x))
        {
            string exponent = c.ElemTypeOf(p) == type ? p : c.Emit("Cast", [p], IntAttr("to", type));
            string derivative;
            if (c.ConstantFloats(p) is [var constant])
            {
                // A constant exponent folds: p·X^(p−1), with X itself for p = 2 (no Pow at all).
                derivative = constant == 2 ? c.Mul(x, c.Scalar(2, type))
                    : constant == 1 ? OnesLike(c, x)
                    : c.Mul(c.Emit("Pow", [x, c.Scalar(constant - 1, type)]), c.Scalar(constant, type));
            }
            else
            {
                derivative = c.Mul(c.Emit("Pow", [x, c.Sub(exponent, c.Scalar(1, type))]), exponent);
            }
            dx = c.ReduceToShapeOf(c.Mul(g[0]!, derivative), yShape, x);
        }
        if (c.IsActive(p))
        {
            var positive = c.Emit("Greater", [x, c.Scalar(0, type)]);
            // Log of a non-positive base is NaN/−inf; Where discards it rather than multiplying it by 0.
            var term = c.Emit("Where", [positive, c.Mul(y, c.Emit("Log", [x])), c.Scalar(0, type)]);
            dp = c.ReduceToShapeOf(c.Mul(g[0]!, term), yShape, p);
        }
        return [dx, dp];
    }

    private static string OnesLike(GradientContext c, string like)
    {
        int type = c.ElemTypeOf(like);
        return c.Emit("ConstantOfShape", [c.Emit("Shape", [like])], TensorAttr("value", FromDouble("", type, [1.0], 1)));
    }

    /// <summary>The value of a one-element floating constant (initializer or Constant node), else null.</summary>
    private static double[]? ConstantFloats(this GradientContext c, string tensor)
    {
        TensorProto? t = c.Model.Initializers.GetValueOrDefault(tensor);
        if (t is null && c.Model.Producer(tensor) is { OpType: "Constant" } k)
        {
            var attr = k.Attribute.FirstOrDefault();
            if (attr?.Name == "value_float") return [attr.F];
            if (attr?.Name == "value_int") return [attr.I];
            t = attr?.Name == "value" ? attr.T : null;
        }
        if (t is null) return null;
        var values = ReadDouble(t) ?? ReadInt64(t)?.Select(v => (double)v).ToArray();
        return values is { Length: 1 } ? values : null;
    }

    // sqrt'(x) = 1/(2·sqrt(x)) = 1/(2Y)
    private static string?[] Sqrt(GradientContext c, NodeProto n, string?[] g)
    {
        var y = n.Output[0];
        return [c.Div(g[0]!, c.Mul(y, c.Scalar(2, c.ElemTypeOf(y))))];
    }

    // (1/x)' = −1/x² = −Y²
    private static string?[] Reciprocal(GradientContext c, NodeProto n, string?[] g)
    {
        var y = n.Output[0];
        return [c.Neg(c.Mul(g[0]!, c.Mul(y, y)))];
    }

    // |x|' = sign(x), 0 at 0 as in PyTorch.
    private static string?[] Abs(GradientContext c, NodeProto n, string?[] g) =>
        [c.Mul(g[0]!, c.Emit("Sign", [n.Input[0]]))];

    // Exact: Φ(x) + x·φ(x). Tanh form y = ½x(1 + tanh u), u = √(2/π)(x + 0.044715x³):
    // y' = ½(1 + t) + ½x(1 − t²)·√(2/π)(1 + 3·0.044715x²).
    private static string?[] Gelu(GradientContext c, NodeProto n, string?[] g)
    {
        var x = n.Input[0];
        int type = c.ElemTypeOf(x);
        string S(double v) => c.Scalar(v, type);
        string approximate = String(n, "approximate") ?? "none";
        string derivative;
        if (approximate == "tanh")
        {
            const double k = 0.044715;
            double root = Math.Sqrt(2 / Math.PI);
            var x2 = c.Mul(x, x);
            var u = c.Mul(c.Mul(x, c.Add(S(1), c.Mul(x2, S(k)))), S(root));
            var t = c.Emit("Tanh", [u]);
            var du = c.Mul(c.Add(S(1), c.Mul(x2, S(3 * k))), S(root));
            var left = c.Mul(c.Add(S(1), t), S(0.5));
            var right = c.Mul(c.Mul(c.Mul(x, S(0.5)), c.Sub(S(1), c.Mul(t, t))), du);
            derivative = c.Add(left, right);
        }
        else if (approximate == "none")
        {
            var cdf = c.Mul(c.Add(S(1), c.Emit("Erf", [c.Mul(x, S(1 / Math.Sqrt(2)))])), S(0.5));
            var pdf = c.Mul(c.Emit("Exp", [c.Mul(c.Mul(x, x), S(-0.5))]), S(1 / Math.Sqrt(2 * Math.PI)));
            derivative = c.Add(cdf, c.Mul(x, pdf));
        }
        else
        {
            throw new InvalidOperationException($"Gelu node '{GradientContext.NodeLabel(n)}' has approximate='{approximate}'; expected 'none' or 'tanh'.");
        }
        return [c.Mul(g[0]!, derivative)];
    }

    // Slope α for x ≤ 0: PyTorch's leaky_relu backward tests x > 0.
    private static string?[] LeakyRelu(GradientContext c, NodeProto n, string?[] g)
    {
        var x = n.Input[0];
        int type = c.ElemTypeOf(x);
        double alpha = Float(n, "alpha", 0.01f);
        var slope = c.Emit("Where", [c.Emit("Greater", [x, c.Scalar(0, type)]), c.Scalar(1, type), c.Scalar(alpha, type)]);
        return [c.Mul(g[0]!, slope)];
    }

    // For x ≤ 0, y = α(eˣ − 1), so y' = αeˣ = y + α; PyTorch also takes that branch at 0.
    private static string?[] Elu(GradientContext c, NodeProto n, string?[] g)
    {
        string x = n.Input[0], y = n.Output[0];
        int type = c.ElemTypeOf(x);
        double alpha = Float(n, "alpha", 1f);
        var slope = c.Emit("Where", [c.Emit("Greater", [x, c.Scalar(0, type)]), c.Scalar(1, type), c.Add(y, c.Scalar(alpha, type))]);
        return [c.Mul(g[0]!, slope)];
    }

    // y = max(0, min(1, αx + β)): slope α strictly inside (0, 1), as PyTorch's hardsigmoid backward.
    private static string?[] HardSigmoid(GradientContext c, NodeProto n, string?[] g)
    {
        var x = n.Input[0];
        int type = c.ElemTypeOf(x);
        double alpha = Float(n, "alpha", 0.2f), beta = Float(n, "beta", 0.5f);
        var z = c.Add(c.Mul(x, c.Scalar(alpha, type)), c.Scalar(beta, type));
        var inside = c.Emit("And", [c.Emit("Greater", [z, c.Scalar(0, type)]), c.Emit("Less", [z, c.Scalar(1, type)])]);
        return [c.Mul(g[0]!, c.Mul(c.Mask(inside, type), c.Scalar(alpha, type)))];
    }

    // PyTorch's clamp passes the gradient where min ≤ x ≤ max (bounds inclusive). Before opset 11 the bounds are
    // attributes (defaulting to ±float max); from 11 they are optional inputs.
    private static string?[] Clip(GradientContext c, NodeProto n, string?[] g)
    {
        var x = n.Input[0];
        int type = c.ElemTypeOf(x);
        string? min, max;
        if (c.Opset < 11)
        {
            min = Attribute(n, "min") is { } a ? c.Scalar(a.F, type) : null;
            max = Attribute(n, "max") is { } b ? c.Scalar(b.F, type) : null;
        }
        else
        {
            min = n.Input.Count > 1 && n.Input[1].Length > 0 ? n.Input[1] : null;
            max = n.Input.Count > 2 && n.Input[2].Length > 0 ? n.Input[2] : null;
        }
        string? inside = null;
        // GreaterOrEqual/LessOrEqual arrived in opset 12.
        string AtLeast(string a, string b) => c.Opset >= 12 ? c.Emit("GreaterOrEqual", [a, b]) : c.Emit("Not", [c.Emit("Less", [a, b])]);
        if (min is not null) inside = AtLeast(x, min);
        if (max is not null)
        {
            var below = AtLeast(max, x);
            inside = inside is null ? below : c.Emit("And", [inside, below]);
        }
        if (inside is null) return [g[0]];
        return [c.Mul(g[0]!, c.Mask(inside, type))];
    }

    // d log(1 + eˣ)/dx = σ(x)
    private static string?[] Softplus(GradientContext c, NodeProto n, string?[] g) => [c.Mul(g[0]!, c.Emit("Sigmoid", [n.Input[0]]))];
}
