using Microsoft.ML.Attribution.Onnx.Proto;
using static Microsoft.ML.Attribution.Onnx.TensorProtos;

namespace Microsoft.ML.Attribution.Autodiff.Rules;

/// <summary>
/// Gradients of the activations of mobile and self-normalising networks: HardSwish, Mish, Selu, Celu, PRelu,
/// ThresholdedRelu, and the elementwise Max and Min. At kinks the branch is PyTorch's (ATen's backward kernels), so
/// that attributions agree with Captum.
/// </summary>
internal static class GatedActivationRules
{
    public static IEnumerable<KeyValuePair<string, GradientRule>> All =>
    [
        new("HardSwish", new(HardSwish)),
        new("Mish", new(Mish)),
        new("Selu", new(Selu)),
        new("Celu", new(Celu)),
        new("PRelu", new(PRelu)),
        new("ThresholdedRelu", new(ThresholdedRelu)),
        new("Max", new(Extremum)),
        new("Min", new(Extremum)),
    ];

    // y = x·clamp(x/6 + ½, 0, 1): y' = 0 for x < −3, x/3 + ½ for −3 ≤ x ≤ 3, 1 for x > 3 (ATen's hardswish_backward
    // takes the middle branch at both ends).
    private static string?[] HardSwish(GradientContext c, NodeProto n, string?[] g)
    {
        var x = n.Input[0];
        int type = c.ElemTypeOf(x);
        string S(double v) => c.Scalar(v, type);
        var middle = c.Add(c.Mul(x, S(1.0 / 3)), S(0.5));
        var upper = c.Emit("Where", [c.Emit("Greater", [x, S(3)]), S(1), middle]);
        var slope = c.Emit("Where", [c.Emit("Less", [x, S(-3)]), S(0), upper]);
        return [c.Mul(g[0]!, slope)];
    }

    // y = x·tanh(sp), sp = ln(1 + eˣ): y' = tanh(sp) + x·σ(x)·(1 − tanh²(sp)), since sp' = σ(x).
    private static string?[] Mish(GradientContext c, NodeProto n, string?[] g)
    {
        var x = n.Input[0];
        int type = c.ElemTypeOf(x);
        var t = c.Emit("Tanh", [c.Emit("Softplus", [x])]);
        var tail = c.Mul(c.Mul(x, c.Emit("Sigmoid", [x])), c.Sub(c.Scalar(1, type), c.Mul(t, t)));
        return [c.Mul(g[0]!, c.Add(t, tail))];
    }

    // y = γx for x > 0, γα(eˣ − 1) otherwise: y' = γ, or γαeˣ = y + γα (ATen's elu_backward takes that branch at 0).
    private static string?[] Selu(GradientContext c, NodeProto n, string?[] g)
    {
        string x = n.Input[0], y = n.Output[0];
        int type = c.ElemTypeOf(x);
        double alpha = Float(n, "alpha", 1.67326319217681884765625f), gamma = Float(n, "gamma", 1.05070102214813232421875f);
        var slope = c.Emit("Where", [c.Emit("Greater", [x, c.Scalar(0, type)]), c.Scalar(gamma, type), c.Add(y, c.Scalar(gamma * alpha, type))]);
        return [c.Mul(g[0]!, slope)];
    }

    // y = max(0, x) + min(0, α(e^(x/α) − 1)): y' = 1 for x > 0, e^(x/α) = y/α + 1 otherwise (again the lower branch at 0).
    private static string?[] Celu(GradientContext c, NodeProto n, string?[] g)
    {
        string x = n.Input[0], y = n.Output[0];
        int type = c.ElemTypeOf(x);
        double alpha = Float(n, "alpha", 1f);
        var lower = c.Add(c.Mul(y, c.Scalar(1 / alpha, type)), c.Scalar(1, type));
        var slope = c.Emit("Where", [c.Emit("Greater", [x, c.Scalar(0, type)]), c.Scalar(1, type), lower]);
        return [c.Mul(g[0]!, slope)];
    }

    // y = x for x > 0, slope·x otherwise (slope broadcasts, usually per channel): dX = dY·(x > 0 ? 1 : slope),
    // dSlope = Σ dY·(x > 0 ? 0 : x) over the broadcast axes.
    private static string?[] PRelu(GradientContext c, NodeProto n, string?[] g)
    {
        string x = n.Input[0], slope = n.Input[1];
        int type = c.ElemTypeOf(x);
        var positive = c.Emit("Greater", [x, c.Scalar(0, type)]);
        var yShape = c.ShapeOf(n.Output[0]);
        string? dx = null, dSlope = null;
        if (c.IsActive(x))
            dx = c.ReduceToShapeOf(c.Mul(g[0]!, c.Emit("Where", [positive, c.Scalar(1, type), slope])), yShape, x);
        if (c.IsActive(slope))
            dSlope = c.ReduceToShapeOf(c.Mul(g[0]!, c.Emit("Where", [positive, c.Scalar(0, type), x])), yShape, slope);
        return [dx, dSlope];
    }

    // y = x for x > α, else 0.
    private static string?[] ThresholdedRelu(GradientContext c, NodeProto n, string?[] g)
    {
        var x = n.Input[0];
        int type = c.ElemTypeOf(x);
        var above = c.Emit("Greater", [x, c.Scalar(Float(n, "alpha", 1f), type)]);
        return [c.Mul(g[0]!, c.Mask(above, type))];
    }

    // Elementwise Max/Min of broadcasting inputs: dY goes to the inputs equal to Y, shared equally among ties, as
    // torch.maximum/minimum's backward does (half to each operand on a tie).
    private static string?[] Extremum(GradientContext c, NodeProto n, string?[] g)
    {
        string y = n.Output[0];
        int type = c.ElemTypeOf(y);
        var yShape = c.ShapeOf(y);
        var winners = n.Input.Select(i => c.Mask(c.Emit("Equal", [i, y]), type)).ToArray();
        var share = c.Div(g[0]!, c.Sum(winners));
        return n.Input.Select((input, i) => c.IsActive(input) ? c.ReduceToShapeOf(c.Mul(share, winners[i]), yShape, input) : null).ToArray();
    }
}
