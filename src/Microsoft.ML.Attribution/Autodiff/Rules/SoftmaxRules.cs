using Microsoft.ML.Attribution.Onnx.Proto;
using static Microsoft.ML.Attribution.Onnx.TensorProtos;

namespace Microsoft.ML.Attribution.Autodiff.Rules;

/// <summary>
/// Softmax and LogSoftmax. From opset 13 they act on one axis (default −1); before, they flatten the input to 2-D at
/// <c>axis</c> (default 1) and normalise each row, so the backward pass flattens the same way and reshapes back.
/// </summary>
internal static class SoftmaxRules
{
    public static IEnumerable<KeyValuePair<string, GradientRule>> All =>
    [
        new("Softmax", new(Softmax)),
        new("LogSoftmax", new(LogSoftmax)),
    ];

    // dX = Y·(dY − Σ dY·Y)
    private static string?[] Softmax(GradientContext c, NodeProto n, string?[] g) =>
        Normalized(c, n, g[0]!, (y, dy, axis) => c.Mul(y, c.Sub(dy, c.ReduceSum(c.Mul(dy, y), [axis], keepDims: true))));

    // dX = dY − exp(Y)·Σ dY
    private static string?[] LogSoftmax(GradientContext c, NodeProto n, string?[] g) =>
        Normalized(c, n, g[0]!, (y, dy, axis) => c.Sub(dy, c.Mul(c.Emit("Exp", [y]), c.ReduceSum(dy, [axis], keepDims: true))));

    private static string?[] Normalized(GradientContext c, NodeProto n, string dy, Func<string, string, long, string> rule)
    {
        string y = n.Output[0];
        if (c.Opset >= 13) return [rule(y, dy, Int(n, "axis", -1))];
        var flatten = IntAttr("axis", Int(n, "axis", 1));
        var y2 = c.Emit("Flatten", [y], flatten);
        var dy2 = c.Emit("Flatten", [dy], flatten);
        return [c.ReshapeLike(rule(y2, dy2, 1), n.Input[0])];
    }
}
