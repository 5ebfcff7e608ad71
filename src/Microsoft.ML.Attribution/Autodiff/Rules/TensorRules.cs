using Microsoft.ML.Attribution.Onnx;
using Microsoft.ML.Attribution.Onnx.Proto;
using static Microsoft.ML.Attribution.Onnx.TensorProtos;

namespace Microsoft.ML.Attribution.Autodiff.Rules;

/// <summary>
/// Gradients of data-movement ops: Concat (slice dY apart), Split (concatenate the pieces' gradients), Slice (pad dY
/// back into place; strided slices scatter through a selection matrix), Expand (undo broadcasting), Gather (scatter-add
/// into the data's shape; indices carry no gradient) and Where (route dY by the condition).
/// </summary>
internal static class TensorRules
{
    public static IEnumerable<KeyValuePair<string, GradientRule>> All =>
    [
        new("Concat", new(Concat)),
        new("Split", new(Split, GradientRule.OnlyInputs(0))),
        new("Slice", new(Slice, GradientRule.OnlyInputs(0))),
        new("Expand", new(Expand, GradientRule.OnlyInputs(0))),
        new("Gather", new(Gather, GradientRule.OnlyInputs(0))),
        new("Where", new(Where, GradientRule.OnlyInputs(1, 2))),
    ];

    private static string Label(NodeProto n) => $"{n.OpType} node '{GradientContext.NodeLabel(n)}'";

    private static long[]? Constant(GradientContext c, string name) => name.Length == 0 ? null : c.Model.ConstantInts(name);

    private static long StaticDim(GradientContext c, string tensor, int axis, NodeProto n) =>
        c.ShapeOf(tensor)[axis].Value ?? throw new InvalidOperationException(
            $"{Label(n)}: the size of axis {axis} of '{tensor}' must be static to build its gradient.");

    private static string?[] Concat(GradientContext c, NodeProto n, string?[] g)
    {
        int rank = c.ShapeOf(n.Output[0]).Length;
        long axis = Int(n, "axis", 0);
        if (axis < 0) axis += rank;
        var result = new string?[n.Input.Count];
        long start = 0;
        for (int i = 0; i < n.Input.Count; i++)
        {
            long size = StaticDim(c, n.Input[i], (int)axis, n);
            if (c.IsActive(n.Input[i])) result[i] = c.Slice(g[0]!, [start], [start + size], [axis]);
            start += size;
        }
        return result;
    }

    private static string?[] Split(GradientContext c, NodeProto n, string?[] g)
    {
        int rank = c.ShapeOf(n.Input[0]).Length;
        long axis = Int(n, "axis", 0);
        if (axis < 0) axis += rank;
        var pieces = n.Output.Select((o, i) => g[i] ?? c.ZerosLike(o)).ToArray();
        return [pieces.Length == 1 ? pieces[0] : c.Emit("Concat", pieces, IntAttr("axis", axis))];
    }

    private static string?[] Expand(GradientContext c, NodeProto n, string?[] g) =>
        [c.ReduceToShapeOf(g[0]!, c.ShapeOf(n.Output[0]), n.Input[0])];

    private static string?[] Where(GradientContext c, NodeProto n, string?[] g)
    {
        var shape = c.ShapeOf(n.Output[0]);
        string condition = n.Input[0];
        var zero = c.Scalar(0, c.ElemTypeOf(n.Output[0]));
        string? da = c.IsActive(n.Input[1]) ? c.ReduceToShapeOf(c.Emit("Where", [condition, g[0]!, zero]), shape, n.Input[1]) : null;
        string? db = c.IsActive(n.Input[2]) ? c.ReduceToShapeOf(c.Emit("Where", [condition, zero, g[0]!]), shape, n.Input[2]) : null;
        return [null, da, db];
    }

    // Step-1 slices pad dY back into place; other steps scatter through a static 0/1 selection matrix per axis.
    private static string?[] Slice(GradientContext c, NodeProto n, string?[] g)
    {
        string x = n.Input[0];
        var shape = c.ShapeOf(x);
        int rank = shape.Length;
        long[]? starts, ends, axes, steps;
        if (c.Opset < 10)
        {
            starts = Ints(n, "starts");
            ends = Ints(n, "ends");
            axes = Ints(n, "axes");
            steps = null;
        }
        else
        {
            starts = Constant(c, n.Input[1]);
            ends = Constant(c, n.Input[2]);
            axes = n.Input.Count > 3 && n.Input[3].Length > 0 ? Constant(c, n.Input[3]) ?? throw Dynamic(n) : null;
            steps = n.Input.Count > 4 && n.Input[4].Length > 0 ? Constant(c, n.Input[4]) ?? throw Dynamic(n) : null;
        }
        if (starts is null || ends is null) throw Dynamic(n);
        axes ??= Enumerable.Range(0, starts.Length).Select(i => (long)i).ToArray();
        int type = c.ElemTypeOf(x);
        string dy = g[0]!;
        var pads = new long[2 * rank];
        for (int k = 0; k < axes.Length; k++)
        {
            int axis = (int)(axes[k] < 0 ? axes[k] + rank : axes[k]);
            long step = steps?[k] ?? 1;
            var dim = shape[axis];
            if (!dim.IsKnown)
            {
                // A full slice of a symbolic axis (e.g. [:, …] on the batch) selects everything.
                if (starts[k] == 0 && ends[k] >= int.MaxValue && step == 1) continue;
                throw new InvalidOperationException($"{Label(n)} slices symbolic axis {axis}; its size must be static to build the gradient.");
            }
            long size = dim.Value!.Value;
            var (s, e) = ShapeInference.ClampSlice(starts[k], ends[k], step, size);
            if (step == 1)
            {
                pads[axis] = s;
                pads[rank + axis] = size - Math.Max(s, e);
                continue;
            }
            var selected = new List<long>();
            for (long i = s; step > 0 ? i < e : i > e; i += step) selected.Add(i);
            // dX along the axis = dY · S with S[k, i] = 1 where element i was the k-th selected.
            var matrix = new double[selected.Count * size];
            for (int j = 0; j < selected.Count; j++) matrix[j * size + selected[j]] = 1;
            var perm = Enumerable.Range(0, rank).Select(i => (long)i).ToArray();
            (perm[axis], perm[rank - 1]) = (perm[rank - 1], perm[axis]);
            var moved = axis == rank - 1 ? dy : c.Transpose(dy, perm);
            var scattered = c.Emit("MatMul", [moved, c.Tensor(matrix, type, selected.Count, size)]);
            dy = axis == rank - 1 ? scattered : c.Transpose(scattered, perm);
        }
        return [c.PadConstant(dy, pads, 0.0, type)];
    }

    private static InvalidOperationException Dynamic(NodeProto n) =>
        new($"{Label(n)} has starts, ends, axes or steps computed at run time; only constant slices are supported.");

    // dData = scatter-add of dY into zeros of the data's shape, along the gathered axis.
    private static string?[] Gather(GradientContext c, NodeProto n, string?[] g)
    {
        string data = n.Input[0], indices = n.Input[1];
        var dataShape = c.ShapeOf(data);
        int rank = dataShape.Length;
        long axis = Int(n, "axis", 0);
        if (axis < 0) axis += rank;
        long size = StaticDim(c, data, (int)axis, n);
        int type = c.ElemTypeOf(data);
        int q = c.ShapeOf(indices).Length;
        var constant = Constant(c, indices);
        if (constant is not null)
        {
            // Constant indices (e.g. taking token 0, or a fixed set of channels): dData = dY · S along the axis, with
            // S[k, i] = 1 where index k is i; repeated indices add up, as they must.
            var flat = constant.Select(i => i < 0 ? i + size : i).ToArray();
            var matrix = new double[flat.Length * size];
            for (int k = 0; k < flat.Length; k++) matrix[k * size + flat[k]] += 1;
            // Bring dY to [..data before axis.., k, ..data after axis..] with the index axes flattened to one.
            string dy = g[0]!;
            var yShape = c.ShapeOf(n.Output[0]);
            var collapsed = new long[rank];
            for (int i = 0; i < rank; i++) collapsed[i] = i == axis ? flat.Length : 0;
            if (q != 1)
            {
                // Reshape with 0 copies dims; the dims after the index block move left by q − 1 places, so spell them out.
                var target = new List<long>();
                for (int i = 0; i < axis; i++) target.Add(0);
                target.Add(flat.Length);
                for (int i = (int)axis + q; i < yShape.Length; i++)
                    target.Add(yShape[i].Value ?? throw new InvalidOperationException($"{Label(n)}: trailing axes must be static."));
                dy = c.Reshape(dy, [.. target]);
            }
            var perm = Enumerable.Range(0, rank).Select(i => (long)i).ToArray();
            (perm[axis], perm[rank - 1]) = (perm[rank - 1], perm[axis]);
            var moved = axis == rank - 1 ? dy : c.Transpose(dy, perm);
            var scattered = c.Emit("MatMul", [moved, c.Tensor(matrix, type, flat.Length, size)]);
            return [axis == rank - 1 ? scattered : c.Transpose(scattered, perm), null];
        }
        if (axis != 0 || c.Opset < 16)
            throw new InvalidOperationException($"{Label(n)}: the gradient through run-time indices is supported on axis 0 from opset 16 " +
                "(ScatterND with reduction add); attribute text models at the Gather's output (the embedding) instead.");
        // Run-time indices on axis 0 (an embedding table): ScatterND(zeros, indices[..., None], dY, add).
        var wrapped = c.Emit("Where", [c.Emit("Less", [indices, c.Int64s(0)]), c.Add(indices, c.Int64s(size)), indices]);
        var index = c.Unsqueeze(c.Emit("Cast", [wrapped], IntAttr("to", OnnxDataType.Int64)), q);
        var zeros = c.ZerosLike(data);
        return [c.Emit("ScatterND", [zeros, index, g[0]!], SpatialGradientHelpers.StringAttr("reduction", "add")), null];
    }
}
