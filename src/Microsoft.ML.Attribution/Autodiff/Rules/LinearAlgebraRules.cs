using Microsoft.ML.Attribution.Onnx;
using Microsoft.ML.Attribution.Onnx.Proto;
using static Microsoft.ML.Attribution.Onnx.TensorProtos;

namespace Microsoft.ML.Attribution.Autodiff.Rules;

/// <summary>Gradients of MatMul (numpy semantics: batched, broadcasting, 1-D promotion) and Gemm.</summary>
internal static class LinearAlgebraRules
{
    public static IEnumerable<KeyValuePair<string, GradientRule>> All =>
    [
        new("MatMul", new(MatMul)),
        new("Gemm", new(Gemm)),
    ];

    private static long[] SwapLastTwo(int rank)
    {
        var perm = Enumerable.Range(0, rank).Select(i => (long)i).ToArray();
        (perm[rank - 2], perm[rank - 1]) = (perm[rank - 1], perm[rank - 2]);
        return perm;
    }

    // Y = A·B: dA = dY·Bᵀ, dB = Aᵀ·dY, each summed over the batch axes its operand was broadcast along.
    // 1-D operands are promoted as numpy does (A: [k] → [1,k]; B: [k] → [k,1]) and the promoted axis removed again.
    private static string?[] MatMul(GradientContext c, NodeProto n, string?[] g)
    {
        string a = n.Input[0], b = n.Input[1];
        var aShape = c.ShapeOf(a);
        var bShape = c.ShapeOf(b);
        var yShape = c.ShapeOf(n.Output[0]);
        string dy = g[0]!;
        bool aVector = aShape.Length == 1, bVector = bShape.Length == 1;
        string a2 = aVector ? c.Unsqueeze(a, 0) : a;
        string b2 = bVector ? c.Unsqueeze(b, 1) : b;
        var a2Shape = aVector ? [Dim.Known(1), aShape[0]] : aShape;
        var b2Shape = bVector ? [bShape[0], Dim.Known(1)] : bShape;
        int yRank = yShape.Length;
        if (aVector) { dy = c.Unsqueeze(dy, yRank - (bVector ? 0 : 1)); yRank++; }
        if (bVector) { dy = c.Unsqueeze(dy, yRank); }
        var batch = ShapeInference.Broadcast(a2Shape[..^2], b2Shape[..^2])!;

        string? da = null, db = null;
        if (c.IsActive(a))
        {
            var full = c.Emit("MatMul", [dy, c.Transpose(b2, SwapLastTwo(b2Shape.Length))]);
            Dim[] fullShape = [.. batch, a2Shape[^2], a2Shape[^1]];
            da = aVector
                ? c.ReshapeLike(c.ReduceSum(full, Enumerable.Range(0, fullShape.Length - 1).Select(i => (long)i).ToArray(), false), a)
                : c.ReduceToShapeOf(full, fullShape, a);
        }
        if (c.IsActive(b))
        {
            var full = c.Emit("MatMul", [c.Transpose(a2, SwapLastTwo(a2Shape.Length)), dy]);
            Dim[] fullShape = [.. batch, b2Shape[^2], b2Shape[^1]];
            db = bVector
                ? c.ReshapeLike(c.ReduceSum(full, Enumerable.Range(0, fullShape.Length).Where(i => i != fullShape.Length - 2).Select(i => (long)i).ToArray(), false), b)
                : c.ReduceToShapeOf(full, fullShape, b);
        }
        return [da, db];
    }

    // Y = α·op(A)·op(B) + β·C with op = identity or transpose.
    private static string?[] Gemm(GradientContext c, NodeProto n, string?[] g)
    {
        string a = n.Input[0], b = n.Input[1];
        bool transA = Int(n, "transA", 0) != 0, transB = Int(n, "transB", 0) != 0;
        double alpha = Float(n, "alpha", 1f), beta = Float(n, "beta", 1f);
        int type = c.ElemTypeOf(n.Output[0]);
        string dy = g[0]!;
        string Scaled(string x, double s) => s == 1.0 ? x : c.Mul(x, c.Scalar(s, type));
        string? da = null, db = null, dc = null;
        if (c.IsActive(a))
        {
            string opB = transB ? c.Transpose(b, 1, 0) : b;
            var dOpA = Scaled(c.Emit("MatMul", [dy, c.Transpose(opB, 1, 0)]), alpha);
            da = transA ? c.Transpose(dOpA, 1, 0) : dOpA;
        }
        if (c.IsActive(b))
        {
            string opA = transA ? c.Transpose(a, 1, 0) : a;
            var dOpB = Scaled(c.Emit("MatMul", [c.Transpose(opA, 1, 0), dy]), alpha);
            db = transB ? c.Transpose(dOpB, 1, 0) : dOpB;
        }
        if (n.Input.Count > 2 && n.Input[2].Length > 0 && c.IsActive(n.Input[2]))
            dc = c.ReduceToShapeOf(Scaled(dy, beta), c.ShapeOf(n.Output[0]), n.Input[2]);
        return [da, db, dc];
    }
}
