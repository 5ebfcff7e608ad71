using Microsoft.ML.Attribution.Onnx;
using Microsoft.ML.Attribution.Onnx.Proto;
using static Microsoft.ML.Attribution.Onnx.TensorProtos;

namespace Microsoft.ML.Attribution.Autodiff.Rules;

/// <summary>
/// Gradients of data-movement ops that select, join or repeat elements: Concat, Split, Slice, Expand, Gather, Where.
/// Index and shape inputs carry no gradient.
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

    // dY is cut back into the inputs' pieces: Split at static sizes, or Slice at run-time offsets when a size is symbolic.
    private static string?[] Concat(GradientContext c, NodeProto n, string?[] g)
    {
        var inputs = n.Input.ToList();
        int rank = c.RankOf(n.Output[0]);
        int axis = c.NormalizeAxis(Int(n, "axis", 0), rank);
        var sizes = inputs.Select(i => c.ShapeOf(i)[axis].Value).ToList();
        if (sizes.All(s => s.HasValue))
            return c.Split(g[0]!, axis, sizes.Select(s => s!.Value).ToArray());

        var result = new string?[inputs.Count];
        string start = c.Int64s(0);
        var axes = c.Int64s(axis);
        for (int i = 0; i < inputs.Count; i++)
        {
            string end = c.Add(start, c.DimOf(inputs[i], axis));
            if (c.IsActive(inputs[i])) result[i] = c.Slice(g[0]!, start, end, axes);
            start = end;
        }
        return result;
    }

    // dX = Concat of the outputs' gradients, with zeros for outputs that do not reach the differentiated tensor.
    private static string?[] Split(GradientContext c, NodeProto n, string?[] g)
    {
        int axis = c.NormalizeAxis(Int(n, "axis", 0), c.RankOf(n.Input[0]));
        var parts = n.Output.Select((o, i) => g[i] ?? c.ZerosLike(o)).ToArray();
        return [c.Emit("Concat", parts, IntAttr("axis", axis))];
    }

    // Step 1 with static bounds: Pad dY back to X's shape. Otherwise slice a tensor of X's flat positions with the very
    // same Slice node inputs and scatter dY to those positions: exact for any steps, negative or run-time bounds.
    private static string?[] Slice(GradientContext c, NodeProto n, string?[] g)
    {
        string x = n.Input[0];
        if (StaticPads(c, n) is { } pads) return [c.PadWithZeros(g[0]!, pads)];
        var positions = c.PositionsLike(x);
        var sliceInputs = n.Input.ToArray();
        sliceInputs[0] = positions;
        var taken = c.Emit("Slice", sliceInputs, n.Attribute.ToArray());
        return [c.ScatterToPositions(g[0]!, taken, x, accumulate: false)];
    }

    private static long[]? StaticPads(GradientContext c, NodeProto n)
    {
        var shape = c.ShapeOf(n.Input[0]);
        long[]? starts, ends, axes, steps = null;
        if (c.Opset < 10)
        {
            starts = Ints(n, "starts");
            ends = Ints(n, "ends");
            axes = Ints(n, "axes");
        }
        else
        {
            starts = c.ConstantInt64s(n.Input[1]);
            ends = c.ConstantInt64s(n.Input[2]);
            bool hasAxes = n.Input.Count > 3 && n.Input[3].Length > 0;
            bool hasSteps = n.Input.Count > 4 && n.Input[4].Length > 0;
            axes = hasAxes ? c.ConstantInt64s(n.Input[3]) : null;
            if (hasAxes && axes is null) return null;
            if (hasSteps && (steps = c.ConstantInt64s(n.Input[4])) is null) return null;
        }
        if (starts is null || ends is null || starts.Length != ends.Length) return null;
        if (steps is not null && steps.Any(s => s != 1)) return null;
        axes ??= Enumerable.Range(0, starts.Length).Select(i => (long)i).ToArray();
        int rank = shape.Length;
        var pads = new long[2 * rank];
        for (int k = 0; k < axes.Length; k++)
        {
            int axis = c.NormalizeAxis(axes[k], rank);
            if (shape[axis].Value is not { } size) return null;
            var (s, e) = ShapeInference.ClampSlice(starts[k], ends[k], 1, size);
            e = Math.Max(e, s);
            pads[axis] = s;
            pads[rank + axis] = size - e;
        }
        return pads;
    }

    private static string?[] Expand(GradientContext c, NodeProto n, string?[] g) =>
        [c.ReduceToShapeOf(g[0]!, c.ShapeOf(n.Output[0]), n.Input[0])];

    // Gather(data, indices, axis) copies data slices; dData adds dY back at the gathered positions (repeated indices
    // add up). From opset 16: ScatterND with reduction "add", with the gathered axis moved to the front. Before 16:
    // a one-hot matrix of the indices, multiplied with dY (memory K×D, fine for the tables such models have).
    private static string?[] Gather(GradientContext c, NodeProto n, string?[] g)
    {
        string data = n.Input[0], indices = n.Input[1];
        var dataShape = c.ShapeOf(data);
        int rank = dataShape.Length;
        int axis = c.NormalizeAxis(Int(n, "axis", 0), rank);
        int q = c.RankOf(indices);
        string dy = g[0]!;
        int type = c.ElemTypeOf(data);
        return c.Opset >= 16
            ? [GatherByScatter(c, data, indices, dy, axis, rank, q)]
            : [GatherByOneHot(c, data, indices, dy, axis, dataShape, type)];
    }

    private static string GatherByScatter(GradientContext c, string data, string indices, string dy, int axis, int rank, int q)
    {
        // dY's axes: data[..axis], indices (q axes), data[axis+1..]. Bring the index axes first.
        var dyPerm = Enumerable.Range(axis, q).Concat(Enumerable.Range(0, axis)).Concat(Enumerable.Range(axis + q, rank - 1 - axis))
            .Select(i => (long)i).ToArray();
        var dataPerm = new[] { axis }.Concat(Enumerable.Range(0, axis)).Concat(Enumerable.Range(axis + 1, rank - 1 - axis))
            .Select(i => (long)i).ToArray();
        bool moved = axis != 0;
        string updates = moved ? c.Transpose(dy, dyPerm) : dy;
        string target = moved ? c.Transpose(data, dataPerm) : data;
        string zeros = c.ZerosOfShape(c.Emit("Shape", [target]), c.ElemTypeOf(data));
        string where = c.Unsqueeze(c.Emit("Cast", [indices], IntAttr("to", OnnxDataType.Int64)), q);
        string scattered = c.Emit("ScatterND", [zeros, where, updates], StringAttr("reduction", "add"));
        if (!moved) return scattered;
        var inverse = new long[rank];
        for (int i = 0; i < rank; i++) inverse[dataPerm[i]] = i;
        return c.Transpose(scattered, inverse);
    }

    private static string GatherByOneHot(GradientContext c, string data, string indices, string dy, int axis, Dim[] dataShape, int type)
    {
        long? before = TensorOpBuilders.StaticProduct(dataShape[..axis]);
        long? after = TensorOpBuilders.StaticProduct(dataShape[(axis + 1)..]);
        long? count = TensorOpBuilders.StaticProduct(c.ShapeOf(indices));
        // dY is viewed as [before, K, after]; one of the first two may be left to Reshape's −1.
        if ((before is null && count is null) || after is null || dataShape[axis].Value is not { } depth)
        {
            // Run-time dims (Swin's relative position table gathered with computed shapes): gather the table's flat
            // positions with the same indices and add dY back there through a one-hot product, which needs no dims.
            var taken = c.Emit("Gather", [c.PositionsLike(data), indices], IntAttr("axis", axis));
            return c.ScatterAddToPositions(dy, taken, data);
        }
        // [K, D] one-hot: row k has a 1 at indices[k] (negative indices count from the end, as Gather's do).
        var flat = c.Emit("Cast", [c.Emit("Reshape", [indices, c.Int64s(-1, 1)])], IntAttr("to", OnnxDataType.Int64));
        var wrapped = c.Emit("Where", [c.Emit("Less", [flat, c.Int64s(0)]), c.Add(flat, c.Int64s(depth)), flat]);
        var columns = c.Emit("Range", [Scalar(c, 0), Scalar(c, depth), Scalar(c, 1)]);
        var oneHot = c.Mask(c.Emit("Equal", [wrapped, columns]), type);
        // dY as [before, K, after]; Dᵀ·dY sums the rows gathered from each table row.
        var dy3 = c.Emit("Reshape", [dy, c.Int64s(before ?? -1, before is null ? count!.Value : -1, after.Value)]);
        var summed = c.Emit("MatMul", [c.Transpose(oneHot, 1, 0), dy3]);
        return c.ReshapeLike(summed, data);
    }

    private static string Scalar(GradientContext c, long value) =>
        c.Emit("Constant", [], TensorAttr("value", FromInt64("", [value])));

    // The condition selects which branch each element came from; it has no gradient itself.
    private static string?[] Where(GradientContext c, NodeProto n, string?[] g)
    {
        string condition = n.Input[0], a = n.Input[1], b = n.Input[2];
        var shape = c.ShapeOf(n.Output[0]);
        var zero = c.Scalar(0, c.ElemTypeOf(n.Output[0]));
        string? da = c.IsActive(a) ? c.ReduceToShapeOf(c.Emit("Where", [condition, g[0]!, zero]), shape, a) : null;
        string? db = c.IsActive(b) ? c.ReduceToShapeOf(c.Emit("Where", [condition, zero, g[0]!]), shape, b) : null;
        return [null, da, db];
    }
}
