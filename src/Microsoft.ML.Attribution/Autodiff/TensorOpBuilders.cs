using Google.Protobuf;
using Microsoft.ML.Attribution.Onnx;
using Microsoft.ML.Attribution.Onnx.Proto;
using static Microsoft.ML.Attribution.Onnx.TensorProtos;

namespace Microsoft.ML.Attribution.Autodiff;

/// <summary>
/// Opset-aware builders for the backward passes of reductions and data movement (ReduceMean, Split, Slice, Pad,
/// scatters), and reading the compile-time values of small integer tensors (axes, starts, split sizes).
/// </summary>
internal static class TensorOpBuilders
{
    /// <summary>
    /// The values of an integer tensor known when the graph is built: initializers, Constant nodes and shape arithmetic
    /// over static dims (<see cref="Onnx.OnnxModel.ConstantInts"/>). Null when it is computed at run time.
    /// </summary>
    public static long[]? ConstantInt64s(this GradientContext c, string tensor) =>
        tensor.Length == 0 ? null : c.Model.ConstantInts(tensor);

    /// <summary>Normalises a possibly negative axis against a rank, naming the node when it is out of range.</summary>
    public static int NormalizeAxis(this GradientContext c, long axis, int rank)
    {
        long a = axis < 0 ? axis + rank : axis;
        if (a < 0 || a >= rank)
        {
            string where = c.Current is null ? "" : $" of {c.Current.OpType} node '{GradientContext.NodeLabel(c.Current)}'";
            throw new InvalidOperationException($"Axis {axis}{where} is out of range for rank {rank}.");
        }
        return (int)a;
    }

    /// <summary>The static rank of a forward tensor.</summary>
    public static int RankOf(this GradientContext c, string tensor) => c.ShapeOf(tensor).Length;

    /// <summary>ReduceMean with axes as an attribute before opset 18 and as an input from 18.</summary>
    public static string ReduceMean(this GradientContext c, string x, IReadOnlyList<long> axes, bool keepDims)
    {
        var keep = IntAttr("keepdims", keepDims ? 1 : 0);
        return c.Opset >= 18
            ? c.Emit("ReduceMean", [x, c.Int64s(axes.ToArray())], keep)
            : c.Emit("ReduceMean", [x], IntsAttr("axes", axes.ToArray()), keep);
    }

    /// <summary>Split along an axis at static sizes (attribute before opset 13, input from 13).</summary>
    public static string[] Split(this GradientContext c, string x, long axis, long[] sizes) => c.Opset >= 13
        ? c.EmitMany("Split", [x, c.Int64s(sizes)], sizes.Length, IntAttr("axis", axis))
        : c.EmitMany("Split", [x], sizes.Length, IntAttr("axis", axis), IntsAttr("split", sizes));

    /// <summary>Slice with starts/ends/axes as tensors (opset 10 and later).</summary>
    public static string Slice(this GradientContext c, string x, string starts, string ends, string axes) =>
        c.Opset >= 10
            ? c.Emit("Slice", [x, starts, ends, axes])
            : throw new InvalidOperationException($"A dynamic Slice needs opset 10 or later; the model has opset {c.Opset}.");

    /// <summary>Constant zero-padding (pads as an input from opset 11, an attribute before).</summary>
    public static string PadWithZeros(this GradientContext c, string x, long[] pads) => c.Opset >= 11
        ? c.Emit("Pad", [x, c.Int64s(pads)], StringAttr("mode", "constant"))
        : c.Emit("Pad", [x], StringAttr("mode", "constant"), IntsAttr("pads", pads));

    /// <summary>Shape(x)[axis] as a 1-D int64 tensor of one element, computed at run time.</summary>
    public static string DimOf(this GradientContext c, string x, int axis) =>
        c.Emit("Gather", [c.Emit("Shape", [x]), c.Int64s(axis)], IntAttr("axis", 0));

    /// <summary>Zeros of the given element type with a run-time shape (a 1-D int64 tensor).</summary>
    public static string ZerosOfShape(this GradientContext c, string shape, int elemType) =>
        c.Emit("ConstantOfShape", [shape], TensorAttr("value", FromDouble("", elemType, [0.0], 1)));

    /// <summary>
    /// Row-major positions 0..n−1 of every element of forward tensor <paramref name="like"/>, shaped like it (int64).
    /// Running the forward op on this tensor tells where each output element came from.
    /// </summary>
    public static string PositionsLike(this GradientContext c, string like)
    {
        if (c.Opset < 11)
            throw new InvalidOperationException($"This gradient needs Range (opset 11); the model has opset {c.Opset}.");
        var shape = c.Emit("Shape", [like]);
        var count = c.Emit("ReduceProd", [shape], IntAttr("keepdims", 0));
        var range = c.Emit("Range", [ScalarInt64(c, 0), count, ScalarInt64(c, 1)]);
        return c.Emit("Reshape", [range, shape]);
    }

    private static string ScalarInt64(GradientContext c, long value) =>
        c.Emit("Constant", [], TensorAttr("value", FromInt64("", [value])));

    /// <summary>
    /// Sends each element of <paramref name="gradient"/> to the flat position given by <paramref name="positions"/>
    /// (same shape) in zeros shaped like forward tensor <paramref name="like"/>. Positions must be distinct unless
    /// the opset allows <c>reduction="add"</c> (16).
    /// </summary>
    public static string ScatterToPositions(this GradientContext c, string gradient, string positions, string like, bool accumulate)
    {
        var flatShape = c.Int64s(-1);
        var flatGradient = c.Emit("Reshape", [gradient, flatShape]);
        var flatPositions = c.Emit("Reshape", [positions, flatShape]);
        var shape = c.Emit("Shape", [like]);
        var zeros = c.ZerosOfShape(c.Emit("ReduceProd", [shape], IntAttr("keepdims", 1)), c.ElemTypeOf(like));
        var attrs = new List<AttributeProto> { IntAttr("axis", 0) };
        if (accumulate)
        {
            if (c.Opset < 16)
                throw new InvalidOperationException($"Accumulating scatter needs opset 16; the model has opset {c.Opset}.");
            attrs.Add(StringAttr("reduction", "add"));
        }
        var scattered = c.Emit("ScatterElements", [zeros, flatPositions, flatGradient], attrs.ToArray());
        return c.Emit("Reshape", [scattered, shape]);
    }

    /// <summary>
    /// Adds each element of <paramref name="gradient"/> into zeros shaped like forward tensor <paramref name="like"/> at
    /// the flat position given by <paramref name="positions"/> (same shape); repeated positions add up. From opset 16 a
    /// ScatterElements with reduction "add"; before, a [M, N] one-hot of the positions multiplied with dY (memory M·N,
    /// fine for the index tables — relative position biases, embeddings — that need it), which needs no static dims.
    /// </summary>
    public static string ScatterAddToPositions(this GradientContext c, string gradient, string positions, string like)
    {
        if (c.Opset >= 16) return c.ScatterToPositions(gradient, positions, like, accumulate: true);
        int type = c.ElemTypeOf(like);
        var flatPositions = c.Emit("Reshape", [positions, c.Int64s(-1, 1)]);
        var count = c.Emit("Size", [like]);
        var columns = c.Emit("Range", [ScalarInt64(c, 0), count, ScalarInt64(c, 1)]);
        var oneHot = c.Mask(c.Emit("Equal", [flatPositions, columns]), type);
        var row = c.Emit("Reshape", [gradient, c.Int64s(1, -1)]);
        return c.ReshapeLike(c.Emit("MatMul", [row, oneHot]), like);
    }

    /// <summary>Product of static dims, or null when one is not known.</summary>
    public static long? StaticProduct(IEnumerable<Dim> dims)
    {
        long p = 1;
        foreach (var d in dims)
        {
            if (!d.IsKnown) return null;
            p *= d.Value!.Value;
        }
        return p;
    }
}
