using Microsoft.ML.Attribution.Onnx;
using Microsoft.ML.Attribution.Onnx.Proto;
using static Microsoft.ML.Attribution.Onnx.TensorProtos;

namespace Microsoft.ML.Attribution.Autodiff.Rules;

/// <summary>Gradients of ops that only move or relabel data: the gradient is moved back the same way.</summary>
internal static class ShapeRules
{
    private static readonly Func<NodeProto, int, bool> DataOnly = GradientRule.OnlyInputs(0);

    public static IEnumerable<KeyValuePair<string, GradientRule>> All =>
    [
        new("Reshape", new(BackToInputShape, DataOnly)),
        new("Flatten", new(BackToInputShape, DataOnly)),
        new("Squeeze", new(BackToInputShape, DataOnly)),
        new("Unsqueeze", new(BackToInputShape, DataOnly)),
        new("Transpose", new(Transpose)),
        new("Dropout", new(Dropout, DataOnly)),
        new("Cast", new(Cast, (n, i) => i == 0 && IsFloating((int)Int(n, "to", 0)))),
    ];

    private static bool IsFloating(int type) => type is OnnxDataType.Float or OnnxDataType.Double or OnnxDataType.Float16;

    private static string?[] BackToInputShape(GradientContext c, NodeProto n, string?[] g) =>
        [c.ReshapeLike(g[0]!, n.Input[0])];

    private static string?[] Transpose(GradientContext c, NodeProto n, string?[] g)
    {
        var perm = Ints(n, "perm") ?? Enumerable.Range(0, c.ShapeOf(n.Input[0]).Length).Reverse().Select(i => (long)i).ToArray();
        var inverse = new long[perm.Length];
        for (int i = 0; i < perm.Length; i++) inverse[perm[i]] = i;
        return [c.Transpose(g[0]!, inverse)];
    }

    // Inference-mode Dropout is the identity; its mask output has no gradient.
    private static string?[] Dropout(GradientContext c, NodeProto n, string?[] g) => [g[0] ?? c.ZerosLike(n.Input[0])];

    private static string?[] Cast(GradientContext c, NodeProto n, string?[] g) =>
        [c.Emit("Cast", [g[0]!], IntAttr("to", c.ElemTypeOf(n.Input[0])))];
}
