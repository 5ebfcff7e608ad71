using Microsoft.ML.Attribution.Onnx.Proto;

namespace Microsoft.ML.Attribution.Autodiff.Rules;

/// <summary>Gradients of elementwise ops: arithmetic with broadcasting, and the common activations.</summary>
internal static class ElementwiseRules
{
    public static IEnumerable<KeyValuePair<string, GradientRule>> All =>
    [
        new("Add", new(Add)),
        new("Sub", new(Sub)),
        new("Mul", new(Mul)),
        new("Div", new(Div)),
        new("Relu", new(Relu)),
        new("Sigmoid", new(Sigmoid)),
        new("Tanh", new(Tanh)),
        new("Exp", new(Exp)),
        new("Log", new(Log)),
        new("Neg", new((c, _, g) => [c.Neg(g[0]!)])),
        new("Identity", new((_, _, g) => [g[0]])),
        new("Sum", new(SumRule)),
    ];

    private static string?[] Add(GradientContext c, NodeProto n, string?[] g)
    {
        var shape = c.ShapeOf(n.Output[0]);
        return [c.ReduceToShapeOf(g[0]!, shape, n.Input[0]), c.ReduceToShapeOf(g[0]!, shape, n.Input[1])];
    }

    private static string?[] SumRule(GradientContext c, NodeProto n, string?[] g)
    {
        var shape = c.ShapeOf(n.Output[0]);
        return n.Input.Select(i => (string?)c.ReduceToShapeOf(g[0]!, shape, i)).ToArray();
    }

    private static string?[] Sub(GradientContext c, NodeProto n, string?[] g)
    {
        var shape = c.ShapeOf(n.Output[0]);
        return [c.ReduceToShapeOf(g[0]!, shape, n.Input[0]), c.Neg(c.ReduceToShapeOf(g[0]!, shape, n.Input[1]))];
    }

    private static string?[] Mul(GradientContext c, NodeProto n, string?[] g)
    {
        var shape = c.ShapeOf(n.Output[0]);
        return
        [
            c.ReduceToShapeOf(c.Mul(g[0]!, n.Input[1]), shape, n.Input[0]),
            c.ReduceToShapeOf(c.Mul(g[0]!, n.Input[0]), shape, n.Input[1]),
        ];
    }

    // d(a/b)/da = 1/b; d(a/b)/db = −a/b² = −y/b.
    private static string?[] Div(GradientContext c, NodeProto n, string?[] g)
    {
        var shape = c.ShapeOf(n.Output[0]);
        var da = c.Div(g[0]!, n.Input[1]);
        var db = c.Neg(c.Div(c.Mul(g[0]!, n.Output[0]), n.Input[1]));
        return [c.ReduceToShapeOf(da, shape, n.Input[0]), c.ReduceToShapeOf(db, shape, n.Input[1])];
    }

    // ReLU'(0) = 0, as in PyTorch (and so in Captum). The mask reads the output (y > 0 exactly where x > 0), as PyTorch
    // does: the pre-activation then stays internal, so ONNX Runtime can still fuse Conv(+Add)+Relu in the forward pass.
    private static string?[] Relu(GradientContext c, NodeProto n, string?[] g)
    {
        var y = n.Output[0];
        int type = c.ElemTypeOf(y);
        var positive = c.Mask(c.Emit("Greater", [y, c.Scalar(0, type)]), type);
        return [c.Mul(g[0]!, positive)];
    }

    private static string?[] Sigmoid(GradientContext c, NodeProto n, string?[] g)
    {
        var y = n.Output[0];
        var oneMinusY = c.Sub(c.Scalar(1, c.ElemTypeOf(y)), y);
        return [c.Mul(g[0]!, c.Mul(y, oneMinusY))];
    }

    private static string?[] Tanh(GradientContext c, NodeProto n, string?[] g)
    {
        var y = n.Output[0];
        var derivative = c.Sub(c.Scalar(1, c.ElemTypeOf(y)), c.Mul(y, y));
        return [c.Mul(g[0]!, derivative)];
    }

    private static string?[] Exp(GradientContext c, NodeProto n, string?[] g) => [c.Mul(g[0]!, n.Output[0])];

    private static string?[] Log(GradientContext c, NodeProto n, string?[] g) => [c.Div(g[0]!, n.Input[0])];
}
