using Microsoft.ML.Attribution.Onnx;
using Microsoft.ML.Attribution.Onnx.Proto;
using static Microsoft.ML.Attribution.Onnx.TensorProtos;

namespace Microsoft.ML.Attribution.Autodiff;

/// <summary>
/// What a gradient rule may use while emitting backward nodes: the forward model's types and shapes, and
/// opset-aware builders for the few ops whose signature changed across opsets (ReduceSum, Squeeze, Unsqueeze).
/// </summary>
internal sealed class GradientContext
{
    private readonly List<NodeProto> _nodes = [];
    private readonly List<TensorProto> _initializers = [];
    private readonly Dictionary<string, string> _constantCache = new(StringComparer.Ordinal);
    private readonly HashSet<string> _usedNames;
    private int _counter;

    public GradientContext(OnnxModel model)
    {
        Model = model;
        _usedNames = new HashSet<string>(model.TensorNames.Concat(model.Initializers.Keys), StringComparer.Ordinal);
    }

    public OnnxModel Model { get; }

    public int Opset => Model.Opset;

    /// <summary>Tensors that depend on a differentiated tensor; only these receive gradients.</summary>
    public HashSet<string> ActiveTensors { get; } = new(StringComparer.Ordinal);

    public bool IsActive(string tensor) => ActiveTensors.Contains(tensor);

    public IReadOnlyList<NodeProto> Nodes => _nodes;

    public IReadOnlyList<TensorProto> Initializers => _initializers;

    /// <summary>The forward node whose rule is running (for error messages).</summary>
    public NodeProto? Current { get; set; }

    public TensorType TypeOf(string tensor) =>
        Model.Types.TryGetValue(tensor, out var t) ? t : new TensorType(OnnxDataType.Undefined, null);

    /// <summary>The static shape of a forward tensor; throws naming the node when inference could not find it.</summary>
    public Dim[] ShapeOf(string tensor)
    {
        var shape = TypeOf(tensor).Shape;
        if (shape is null)
        {
            string where = Current is null ? "" : $" (input of {Current.OpType} node '{NodeLabel(Current)}')";
            throw new InvalidOperationException(
                $"Cannot build the gradient: the shape of tensor '{tensor}'{where} is unknown. " +
                "Give the model static shapes or value_info for it.");
        }
        return shape;
    }

    public int ElemTypeOf(string tensor)
    {
        int t = TypeOf(tensor).ElemType;
        return t == OnnxDataType.Undefined ? OnnxDataType.Float : t;
    }

    public string NewName(string hint)
    {
        string name;
        do { name = $"grad/{hint}_{_counter++}"; } while (!_usedNames.Add(name));
        return name;
    }

    public string Emit(string opType, string[] inputs, params AttributeProto[] attributes) =>
        EmitMany(opType, inputs, 1, attributes)[0];

    public string[] EmitMany(string opType, string[] inputs, int outputCount, params AttributeProto[] attributes)
    {
        var node = new NodeProto { OpType = opType, Name = NewName(opType + "_node") };
        node.Input.AddRange(inputs);
        var outputs = Enumerable.Range(0, outputCount).Select(_ => NewName(opType)).ToArray();
        node.Output.AddRange(outputs);
        node.Attribute.AddRange(attributes);
        _nodes.Add(node);
        return outputs;
    }

    /// <summary>A rank-0 constant of the given floating element type.</summary>
    public string Scalar(double value, int elemType)
    {
        string key = $"s:{elemType}:{value:R}";
        if (_constantCache.TryGetValue(key, out var name)) return name;
        name = NewName("const");
        _initializers.Add(FromDouble(name, elemType, [value]));
        return _constantCache[key] = name;
    }

    /// <summary>A 1-D int64 constant.</summary>
    public string Int64s(params long[] values)
    {
        string key = "i:" + string.Join(",", values);
        if (_constantCache.TryGetValue(key, out var name)) return name;
        name = NewName("const");
        _initializers.Add(FromInt64(name, values, values.Length));
        return _constantCache[key] = name;
    }

    public string Add(string a, string b) => Emit("Add", [a, b]);

    public string Sub(string a, string b) => Emit("Sub", [a, b]);

    public string Mul(string a, string b) => Emit("Mul", [a, b]);

    public string Div(string a, string b) => Emit("Div", [a, b]);

    public string Neg(string a) => Emit("Neg", [a]);

    public string Sum(IReadOnlyList<string> terms) => terms.Count == 1 ? terms[0] : Emit("Sum", terms.ToArray());

    // Gradients that broadcast against a tensor but do not have its shape yet (a reduction's gradient before its Expand).
    private readonly Dictionary<string, string> _broadcastTo = new(StringComparer.Ordinal);

    /// <summary>
    /// Marks <paramref name="gradient"/> as the gradient of <paramref name="like"/> up to broadcasting: it takes that shape
    /// only when needed (<see cref="Materialize"/>). Only for a rule's returned input gradient: the builder materializes it
    /// before any rule reads it. Summed with a full-shape contribution (Sum broadcasts from opset 8),
    /// it never needs the Expand — a tenth of a transformer's backward pass was such Expands feeding Sums.
    /// </summary>
    public string BroadcastTo(string gradient, string like)
    {
        // The mark belongs to this contribution, not to the name: a reduction with keepdims passes its output gradient
        // on unchanged, and that name may also reach other tensors. A fresh name (Identity, which ONNX Runtime removes)
        // keeps the mark from spreading to them.
        var own = Emit("Identity", [gradient]);
        _broadcastTo[own] = like;
        return own;
    }

    /// <summary>Whether <paramref name="gradient"/> still lacks the shape of the tensor it belongs to.</summary>
    public bool IsBroadcast(string gradient) => _broadcastTo.ContainsKey(gradient);

    /// <summary>Whether <paramref name="gradient"/> is marked as broadcasting against a tensor other than <paramref name="tensor"/>.</summary>
    public bool IsBroadcastToOther(string gradient, string tensor) => _broadcastTo.TryGetValue(gradient, out var like) && like != tensor;

    /// <summary><paramref name="gradient"/> expanded to its tensor's shape if it was marked by <see cref="BroadcastTo"/>.</summary>
    /// <param name="gradient">The gradient.</param>
    /// <param name="keepMark">Leave the mark in place (the name may be in another tensor's list too).</param>
    public string Materialize(string gradient, bool keepMark = false)
    {
        if (!_broadcastTo.TryGetValue(gradient, out var like)) return gradient;
        if (!keepMark) _broadcastTo.Remove(gradient);
        var shape = Emit("Shape", [like]);
        // Expand arrived in opset 8; before it, Tile: copies = shape + 1 − own shape (the tensor's size where the
        // gradient has 1, else 1 — also for empty axes, where a ratio would divide 0 by 0).
        return Opset >= 8 ? Emit("Expand", [gradient, shape])
            : Emit("Tile", [gradient, Emit("Sub", [Emit("Add", [shape, Int64s(1)]), Emit("Shape", [gradient])])]);
    }

    /// <summary>Reshape <paramref name="x"/> to the (run-time) shape of forward tensor <paramref name="like"/>.</summary>
    public string ReshapeLike(string x, string like) => Emit("Reshape", [x, Emit("Shape", [like])]);

    /// <summary>0/1 mask of the given element type where <paramref name="condition"/> (a bool tensor) holds.</summary>
    public string Mask(string condition, int elemType) => Emit("Cast", [condition], IntAttr("to", elemType));

    public string ReduceSum(string x, IReadOnlyList<long> axes, bool keepDims)
    {
        var keep = IntAttr("keepdims", keepDims ? 1 : 0);
        return Opset >= 13
            ? Emit("ReduceSum", [x, Int64s(axes.ToArray())], keep)
            : Emit("ReduceSum", [x], IntsAttr("axes", axes.ToArray()), keep);
    }

    public string Unsqueeze(string x, params long[] axes) => Opset >= 13
        ? Emit("Unsqueeze", [x, Int64s(axes)])
        : Emit("Unsqueeze", [x], IntsAttr("axes", axes));

    public string Transpose(string x, params long[] perm) => Emit("Transpose", [x], IntsAttr("perm", perm));

    /// <summary>Zeros shaped like forward tensor <paramref name="like"/>.</summary>
    public string ZerosLike(string like)
    {
        int type = ElemTypeOf(like);
        if (Opset >= 9)
            return Emit("ConstantOfShape", [Emit("Shape", [like])], TensorAttr("value", FromDouble("", type, [0.0], 1)));
        return Mul(like, Scalar(0.0, type)); // before ConstantOfShape existed; finite inputs assumed
    }

    /// <summary>
    /// Undoes numpy broadcasting: sums <paramref name="gradient"/> (shaped <paramref name="gradientShape"/>) over the
    /// axes that <paramref name="operand"/> lacks or has as size 1, giving a tensor shaped like the operand.
    /// </summary>
    public string ReduceToShapeOf(string gradient, Dim[] gradientShape, string operand)
    {
        var target = ShapeOf(operand);
        int lead = gradientShape.Length - target.Length;
        if (lead < 0)
            throw new InvalidOperationException($"Gradient of rank {gradientShape.Length} cannot reduce to '{operand}' of rank {target.Length}.");
        var axes = new List<long>();
        for (int i = 0; i < gradientShape.Length; i++)
        {
            if (i < lead) { axes.Add(i); continue; }
            var t = target[i - lead];
            var g = gradientShape[i];
            if (t.Value == 1 && g.Value != 1) axes.Add(i);
        }
        if (axes.Count == 0) return gradient;
        var reduced = ReduceSum(gradient, axes, keepDims: true);
        return lead > 0 ? ReshapeLike(reduced, operand) : reduced;
    }

    public static string NodeLabel(NodeProto node) =>
        node.Name.Length > 0 ? node.Name : node.Output.FirstOrDefault(o => o.Length > 0) ?? node.OpType;
}
