using Microsoft.ML.Attribution.Onnx.Proto;
using static Microsoft.ML.Attribution.Onnx.TensorProtos;

namespace Microsoft.ML.Attribution.Onnx;

/// <summary>
/// Static type and shape inference over an <see cref="OnnxModel"/>, keeping symbolic dimensions (a dynamic batch axis
/// stays <c>batch</c>). Small integer tensors that compute shapes (Shape → Gather → Concat → Reshape chains, as
/// exporters emit for a dynamic batch) are evaluated symbolically so that Reshape targets are known.
/// Ops it does not model take the shape recorded in the model's value_info, or stay unknown.
/// </summary>
internal static partial class ShapeInference
{
    private const int MaxTrackedValues = 64;

    /// <summary>Types of every tensor, and the values of small integer tensors known statically (possibly symbolic).</summary>
    public static (IReadOnlyDictionary<string, TensorType> Types, IReadOnlyDictionary<string, Dim[]> Values) Infer(OnnxModel model)
    {
        var state = new State(model);
        foreach (var node in model.TopologicalOrder)
        {
            try
            {
                state.Visit(node);
            }
            catch (Exception e) when (e is InvalidOperationException or ArgumentException or IndexOutOfRangeException or OverflowException)
            {
                // Inference is best effort: an op whose attributes we mis-model keeps the recorded shape.
            }
            foreach (var output in node.Output)
            {
                if (output.Length > 0 && (!state.Types.TryGetValue(output, out var t) || t.Shape is null) &&
                    state.Recorded.TryGetValue(output, out var recorded))
                {
                    state.Types[output] = recorded;
                }
            }
        }
        return (state.Types, state.Values);
    }

    private sealed partial class State
    {
        private readonly OnnxModel _model;
        public readonly Dictionary<string, TensorType> Types = new(StringComparer.Ordinal);
        public readonly Dictionary<string, TensorType> Recorded = new(StringComparer.Ordinal);
        /// <summary>Known element values of small integer tensors (rank 0 or 1), possibly symbolic.</summary>
        private readonly Dictionary<string, Dim[]> _values = new(StringComparer.Ordinal);

        public IReadOnlyDictionary<string, Dim[]> Values => _values;

        public State(OnnxModel model)
        {
            _model = model;
            foreach (var vi in model.Graph.ValueInfo.Concat(model.Graph.Output)) Recorded[vi.Name] = TypeOf(vi);
            foreach (var vi in model.Graph.Input) Types[vi.Name] = TypeOf(vi);
            foreach (var init in model.Initializers.Values)
            {
                Types[init.Name] = new TensorType(init.DataType, init.Dims.Select(Dim.Known).ToArray());
                if (init.Dims.Count <= 1 && ReadInt64(init) is { Length: <= MaxTrackedValues } v)
                    _values[init.Name] = v.Select(Dim.Known).ToArray();
            }
        }

        private TensorType In(NodeProto node, int i) =>
            i < node.Input.Count && node.Input[i].Length > 0 && Types.TryGetValue(node.Input[i], out var t)
                ? t : new TensorType(OnnxDataType.Undefined, null);

        private Dim[]? Value(NodeProto node, int i) =>
            i < node.Input.Count && _values.TryGetValue(node.Input[i], out var v) ? v : null;

        private long[]? KnownValue(NodeProto node, int i) =>
            Value(node, i) is { } v && v.All(d => d.IsKnown) ? v.Select(d => d.Value!.Value).ToArray() : null;

        private void Set(NodeProto node, int output, int elemType, Dim[]? shape)
        {
            if (output < node.Output.Count && node.Output[output].Length > 0)
                Types[node.Output[output]] = new TensorType(elemType, shape);
        }

        private void SetValue(NodeProto node, Dim[] value)
        {
            if (value.Length <= MaxTrackedValues) _values[node.Output[0]] = value;
        }

        /// <summary>Axes from the attribute (older opsets) or from input <paramref name="inputIndex"/> (newer).</summary>
        private long[]? Axes(NodeProto node, int inputIndex) => Ints(node, "axes") ?? KnownValue(node, inputIndex);

        public void Visit(NodeProto node)
        {
            var x = In(node, 0);
            switch (node.OpType)
            {
                case "Relu" or "Sigmoid" or "Tanh" or "Exp" or "Log" or "Identity" or "Neg" or "Abs" or "Sqrt"
                    or "Reciprocal" or "Erf" or "Softmax" or "LogSoftmax" or "LeakyRelu" or "Elu" or "Clip"
                    or "HardSigmoid" or "Softplus" or "Softsign" or "Sin" or "Cos" or "Floor" or "Ceil" or "Round"
                    or "Not" or "BatchNormalization" or "LayerNormalization" or "Gelu" or "Selu" or "PRelu"
                    or "HardSwish" or "InstanceNormalization" or "LRN" or "Sign" or "Celu" or "ThresholdedRelu"
                    or "Mish" or "GroupNormalization":
                    Set(node, 0, x.ElemType, x.Shape);
                    if (node.OpType == "Identity" && Value(node, 0) is { } idv) SetValue(node, idv);
                    break;
                case "Dropout":
                    Set(node, 0, x.ElemType, x.Shape);
                    Set(node, 1, OnnxDataType.Bool, x.Shape);
                    break;
                case "Cast":
                    Set(node, 0, (int)Int(node, "to", x.ElemType), x.Shape);
                    if (Value(node, 0) is { } cv) SetValue(node, cv);
                    break;
                case "Add" or "Sub" or "Mul" or "Div" or "Pow" or "Mod" or "Max" or "Min" or "Sum" or "Mean":
                    {
                        var shape = node.Input.Select((_, i) => In(node, i).Shape).Aggregate(Broadcast);
                        Set(node, 0, x.ElemType, shape);
                        Arithmetic(node);
                        break;
                    }
                case "Equal" or "Greater" or "Less" or "GreaterOrEqual" or "LessOrEqual" or "And" or "Or" or "Xor":
                    Set(node, 0, OnnxDataType.Bool, Broadcast(x.Shape, In(node, 1).Shape));
                    if (node.OpType == "Equal") EqualValue(node);
                    break;
                case "Where":
                    Set(node, 0, In(node, 1).ElemType, Broadcast(Broadcast(x.Shape, In(node, 1).Shape), In(node, 2).Shape));
                    WhereValue(node);
                    break;
                case "MatMul":
                    Set(node, 0, x.ElemType, MatMulShape(x.Shape, In(node, 1).Shape));
                    break;
                case "Gemm":
                    {
                        var a = x.Shape;
                        var b = In(node, 1).Shape;
                        Dim[]? shape = a is { Length: 2 } && b is { Length: 2 }
                            ? [a[Int(node, "transA", 0) == 0 ? 0 : 1], b[Int(node, "transB", 0) == 0 ? 1 : 0]]
                            : null;
                        Set(node, 0, x.ElemType, shape);
                        break;
                    }
                case "Flatten":
                    {
                        if (x.Shape is null) { Set(node, 0, x.ElemType, null); break; }
                        int axis = (int)Int(node, "axis", 1);
                        if (axis < 0) axis += x.Shape.Length;
                        Set(node, 0, x.ElemType, [Product(x.Shape[..axis]), Product(x.Shape[axis..])]);
                        break;
                    }
                case "Reshape":
                    {
                        var newShape = node.Input.Count > 1 ? Value(node, 1) : Ints(node, "shape")?.Select(Dim.Known).ToArray();
                        Set(node, 0, x.ElemType, newShape is null ? null : ReshapeShape(x.Shape, newShape, Int(node, "allowzero", 0) != 0));
                        if (Value(node, 0) is { } rv) SetValue(node, rv);
                        break;
                    }
                case "Transpose":
                    {
                        if (x.Shape is null) { Set(node, 0, x.ElemType, null); break; }
                        var perm = Ints(node, "perm") ?? Enumerable.Range(0, x.Shape.Length).Reverse().Select(i => (long)i).ToArray();
                        Set(node, 0, x.ElemType, perm.Select(p => x.Shape[p]).ToArray());
                        break;
                    }
                case "Squeeze":
                    {
                        var axes = Axes(node, 1);
                        if (x.Shape is null) { Set(node, 0, x.ElemType, null); break; }
                        var drop = axes is null
                            ? Enumerable.Range(0, x.Shape.Length).Where(i => x.Shape[i].Value == 1).ToHashSet()
                            : axes.Select(a => (int)(a < 0 ? a + x.Shape.Length : a)).ToHashSet();
                        Set(node, 0, x.ElemType, x.Shape.Where((_, i) => !drop.Contains(i)).ToArray());
                        if (Value(node, 0) is { Length: 1 } sv) SetValue(node, sv);
                        break;
                    }
                case "Unsqueeze":
                    {
                        var axes = Axes(node, 1);
                        if (x.Shape is null || axes is null) { Set(node, 0, x.ElemType, null); break; }
                        int rank = x.Shape.Length + axes.Length;
                        var inserted = axes.Select(a => (int)(a < 0 ? a + rank : a)).ToHashSet();
                        var shape = new Dim[rank];
                        for (int i = 0, j = 0; i < rank; i++) shape[i] = inserted.Contains(i) ? Dim.Known(1) : x.Shape[j++];
                        Set(node, 0, x.ElemType, shape);
                        if (Value(node, 0) is { } uv) SetValue(node, uv);
                        break;
                    }
                case "Concat":
                    {
                        var shapes = node.Input.Select((_, i) => In(node, i).Shape).ToList();
                        if (shapes.Any(s => s is null)) { Set(node, 0, x.ElemType, null); break; }
                        int rank = shapes[0]!.Length;
                        int axis = (int)Int(node, "axis", 0);
                        if (axis < 0) axis += rank;
                        var shape = (Dim[])shapes[0]!.Clone();
                        var sizes = shapes.Select(s => s![axis]).ToList();
                        shape[axis] = sizes.All(d => d.IsKnown) ? Dim.Known(sizes.Sum(d => d.Value!.Value)) : Dim.Unknown;
                        Set(node, 0, x.ElemType, shape);
                        var parts = node.Input.Select(i => _values.GetValueOrDefault(i)).ToList();
                        if (rank == 1 && parts.All(p => p is not null)) SetValue(node, parts.SelectMany(p => p!).ToArray());
                        break;
                    }
                case "Gather":
                    {
                        var indices = In(node, 1);
                        int axis = (int)Int(node, "axis", 0);
                        if (x.Shape is null || indices.Shape is null) { Set(node, 0, x.ElemType, null); break; }
                        if (axis < 0) axis += x.Shape.Length;
                        Set(node, 0, x.ElemType, [.. x.Shape[..axis], .. indices.Shape, .. x.Shape[(axis + 1)..]]);
                        if (Value(node, 0) is { } data && KnownValue(node, 1) is { } idx)
                            SetValue(node, idx.Select(i => data[(int)(i < 0 ? i + data.Length : i)]).ToArray());
                        break;
                    }
                case "Shape":
                    {
                        if (x.Shape is null) { Set(node, 0, OnnxDataType.Int64, [Dim.Unknown]); break; }
                        int rank = x.Shape.Length;
                        int start = (int)Int(node, "start", 0);
                        int end = (int)Int(node, "end", rank);
                        start = Math.Clamp(start < 0 ? start + rank : start, 0, rank);
                        end = Math.Clamp(end < 0 ? end + rank : end, 0, rank);
                        var dims = x.Shape[start..Math.Max(start, end)];
                        Set(node, 0, OnnxDataType.Int64, [Dim.Known(dims.Length)]);
                        SetValue(node, dims);
                        break;
                    }
                case "Size":
                    Set(node, 0, OnnxDataType.Int64, []);
                    break;
                case "Constant":
                    {
                        var attr = node.Attribute.FirstOrDefault();
                        if (attr?.T is { } t && attr.Name == "value")
                        {
                            Set(node, 0, t.DataType, t.Dims.Select(Dim.Known).ToArray());
                            if (t.Dims.Count <= 1 && ReadInt64(t) is { Length: <= MaxTrackedValues } v) SetValue(node, v.Select(Dim.Known).ToArray());
                        }
                        else if (attr?.Name == "value_ints")
                        {
                            Set(node, 0, OnnxDataType.Int64, [Dim.Known(attr.Ints.Count)]);
                            SetValue(node, attr.Ints.Select(Dim.Known).ToArray());
                        }
                        else if (attr?.Name == "value_int")
                        {
                            Set(node, 0, OnnxDataType.Int64, []);
                            SetValue(node, [Dim.Known(attr.I)]);
                        }
                        else if (attr?.Name == "value_float") Set(node, 0, OnnxDataType.Float, []);
                        else if (attr?.Name == "value_floats") Set(node, 0, OnnxDataType.Float, [Dim.Known(attr.Floats.Count)]);
                        break;
                    }
                case "ConstantOfShape":
                    {
                        var valueType = Attribute(node, "value")?.T?.DataType ?? OnnxDataType.Float;
                        Set(node, 0, valueType, Value(node, 0));
                        // Exporters build shape vectors from ConstantOfShape (torch's expand(-1, …) pattern).
                        if (KnownValue(node, 0) is [var count and <= MaxTrackedValues] && Attribute(node, "value")?.T is { } fill
                            && ReadInt64(fill) is [var filler])
                        {
                            SetValue(node, Enumerable.Repeat(Dim.Known(filler), (int)count).ToArray());
                        }
                        break;
                    }
                case "Expand":
                    Set(node, 0, x.ElemType, Value(node, 1) is { } target ? Broadcast(x.Shape, target) : null);
                    break;
                case "Slice":
                    Slice(node, x);
                    break;
                case "ReduceSum" or "ReduceMean" or "ReduceMax" or "ReduceMin" or "ReduceProd" or "ReduceL2" or "ReduceL1"
                    or "ReduceLogSumExp" or "ReduceSumSquare" or "ArgMax" or "ArgMin":
                    {
                        if (x.Shape is null) { Set(node, 0, x.ElemType, null); break; }
                        int rank = x.Shape.Length;
                        bool arg = node.OpType.StartsWith("Arg", StringComparison.Ordinal);
                        long[]? axes = arg ? [Int(node, "axis", 0)] : Axes(node, 1);
                        if (axes is null && node.Input.Count > 1 && node.Input[1].Length > 0) { Set(node, 0, x.ElemType, null); break; }
                        bool keep = Int(node, "keepdims", 1) != 0;
                        if (axes is null or { Length: 0 })
                        {
                            if (!arg && Int(node, "noop_with_empty_axes", 0) != 0) { Set(node, 0, x.ElemType, x.Shape); break; }
                            axes = Enumerable.Range(0, rank).Select(i => (long)i).ToArray();
                        }
                        var reduced = axes.Select(a => (int)(a < 0 ? a + rank : a)).ToHashSet();
                        var shape = keep
                            ? x.Shape.Select((d, i) => reduced.Contains(i) ? Dim.Known(1) : d).ToArray()
                            : x.Shape.Where((_, i) => !reduced.Contains(i)).ToArray();
                        Set(node, 0, arg ? OnnxDataType.Int64 : x.ElemType, shape);
                        break;
                    }
                case "LSTM" or "GRU" or "RNN":
                    {
                        // Y [seq, dirs, batch, hidden], Y_h and Y_c [dirs, batch, hidden]; batch first with layout 1.
                        bool batchFirst = Int(node, "layout", 0) != 0;
                        var dirs = Dim.Known(String(node, "direction") == "bidirectional" ? 2 : 1);
                        var hidden = Int(node, "hidden_size", 0) is > 0 and var hs ? Dim.Known(hs) : Dim.Unknown;
                        Dim seq = Dim.Unknown, batch = Dim.Unknown;
                        if (x.Shape is { Length: 3 }) (seq, batch) = batchFirst ? (x.Shape[1], x.Shape[0]) : (x.Shape[0], x.Shape[1]);
                        Set(node, 0, x.ElemType, batchFirst ? [batch, seq, dirs, hidden] : [seq, dirs, batch, hidden]);
                        for (int i = 1; i < 3; i++) Set(node, i, x.ElemType, batchFirst ? [batch, dirs, hidden] : [dirs, batch, hidden]);
                        break;
                    }
                default:
                    if (!VisitSpatial(node, x)) VisitTensorOps(node, x);
                    break;
            }
        }

        // Equal over shape values, 1 for true: a symbolic dim never equals a negative constant (torch's expand(-1)
        // pattern compares a shape with −1), and equals itself.
        private void EqualValue(NodeProto node)
        {
            if (Value(node, 0) is not { } a || Value(node, 1) is not { } b) return;
            if (a.Length != b.Length && a.Length != 1 && b.Length != 1) return;
            var result = new Dim[Math.Max(a.Length, b.Length)];
            for (int i = 0; i < result.Length; i++)
            {
                var l = a[a.Length == 1 ? 0 : i];
                var r = b[b.Length == 1 ? 0 : i];
                bool? equal = l.SameAs(r) ? true
                    : l.IsKnown && r.IsKnown ? false
                    : (l.Symbol is not null && r.Value < 0) || (r.Symbol is not null && l.Value < 0) ? false
                    : null;
                if (equal is null) return;
                result[i] = Dim.Known(equal.Value ? 1 : 0);
            }
            SetValue(node, result);
        }

        private void WhereValue(NodeProto node)
        {
            if (KnownValue(node, 0) is not { } condition || Value(node, 1) is not { } a || Value(node, 2) is not { } b) return;
            int n = new[] { condition.Length, a.Length, b.Length }.Max();
            if (new[] { condition.Length, a.Length, b.Length }.Any(l => l != 1 && l != n)) return;
            SetValue(node, Enumerable.Range(0, n).Select(i =>
                condition[condition.Length == 1 ? 0 : i] != 0 ? a[a.Length == 1 ? 0 : i] : b[b.Length == 1 ? 0 : i]).ToArray());
        }

        private void Arithmetic(NodeProto node)
        {
            if (node.Input.Count != 2 || Value(node, 0) is not { } a || Value(node, 1) is not { } b) return;
            if (a.Length != b.Length && a.Length != 1 && b.Length != 1) return;
            int n = Math.Max(a.Length, b.Length);
            var result = new Dim[n];
            for (int i = 0; i < n; i++)
            {
                var l = a[a.Length == 1 ? 0 : i];
                var r = b[b.Length == 1 ? 0 : i];
                result[i] = l.IsKnown && r.IsKnown
                    ? node.OpType switch
                    {
                        "Add" => Dim.Known(l.Value!.Value + r.Value!.Value),
                        "Sub" => Dim.Known(l.Value!.Value - r.Value!.Value),
                        "Mul" => Dim.Known(l.Value!.Value * r.Value!.Value),
                        "Div" when r.Value != 0 => Dim.Known(l.Value!.Value / r.Value!.Value),
                        _ => Dim.Unknown,
                    }
                    : node.OpType switch
                    {
                        "Mul" when r.Value == 1 => l,
                        "Mul" when l.Value == 1 => r,
                        "Div" when r.Value == 1 => l,
                        "Add" or "Sub" when r.Value == 0 => l,
                        _ => Dim.Unknown,
                    };
            }
            SetValue(node, result);
        }

        private void Slice(NodeProto node, TensorType x)
        {
            if (x.Shape is null) { Set(node, 0, x.ElemType, null); return; }
            long[]? starts, ends, axes, steps;
            if (_model.Opset < 10)
            {
                starts = Ints(node, "starts");
                ends = Ints(node, "ends");
                axes = Ints(node, "axes");
                steps = null;
            }
            else
            {
                starts = KnownValue(node, 1);
                ends = KnownValue(node, 2);
                axes = node.Input.Count > 3 && node.Input[3].Length > 0 ? KnownValue(node, 3) : null;
                steps = node.Input.Count > 4 && node.Input[4].Length > 0 ? KnownValue(node, 4) : null;
                if (axes is null && node.Input.Count > 3 && node.Input[3].Length > 0) starts = null;
                if (steps is null && node.Input.Count > 4 && node.Input[4].Length > 0) starts = null;
            }
            int rank = x.Shape.Length;
            if (starts is null || ends is null) { Set(node, 0, x.ElemType, x.Shape.Select(_ => Dim.Unknown).ToArray()); return; }
            axes ??= Enumerable.Range(0, starts.Length).Select(i => (long)i).ToArray();
            var shape = (Dim[])x.Shape.Clone();
            var value = Value(node, 0);
            for (int k = 0; k < axes.Length; k++)
            {
                int axis = (int)(axes[k] < 0 ? axes[k] + rank : axes[k]);
                long step = steps?[k] ?? 1;
                var dim = x.Shape[axis];
                if (dim.IsKnown)
                {
                    var (s, e) = ClampSlice(starts[k], ends[k], step, dim.Value!.Value);
                    long count = step > 0 ? Math.Max(0, (e - s + step - 1) / step) : Math.Max(0, (s - e + (-step) - 1) / (-step));
                    shape[axis] = Dim.Known(count);
                    if (rank == 1 && value is not null && value.Length == dim.Value)
                    {
                        var sliced = new List<Dim>();
                        for (long i = s; step > 0 ? i < e : i > e; i += step) sliced.Add(value[i]);
                        value = sliced.ToArray();
                    }
                }
                else
                {
                    shape[axis] = starts[k] == 0 && ends[k] >= int.MaxValue && step == 1 ? dim : Dim.Unknown;
                    value = null;
                }
            }
            Set(node, 0, x.ElemType, shape);
            if (rank == 1 && value is not null) SetValue(node, value);
        }
    }

    internal static (long Start, long End) ClampSlice(long start, long end, long step, long size)
    {
        if (start < 0) start += size;
        if (end < 0) end += size;
        if (step > 0)
        {
            start = Math.Clamp(start, 0, size);
            end = Math.Clamp(end, 0, size);
        }
        else
        {
            start = Math.Clamp(start, 0, size - 1);
            end = Math.Clamp(end, -1, size - 1);
        }
        return (start, end);
    }

    internal static Dim[]? Broadcast(Dim[]? a, Dim[]? b)
    {
        if (a is null || b is null) return null;
        int rank = Math.Max(a.Length, b.Length);
        var result = new Dim[rank];
        for (int i = 0; i < rank; i++)
        {
            var da = i - (rank - a.Length) >= 0 ? a[i - (rank - a.Length)] : Dim.Known(1);
            var db = i - (rank - b.Length) >= 0 ? b[i - (rank - b.Length)] : Dim.Known(1);
            result[i] = da.Value == 1 ? db
                : db.Value == 1 ? da
                : da.SameAs(db) ? da
                : da.IsKnown ? da
                : db.IsKnown ? db
                : Dim.Unknown;
        }
        return result;
    }

    internal static Dim[]? MatMulShape(Dim[]? a, Dim[]? b)
    {
        if (a is null || b is null || a.Length == 0 || b.Length == 0) return null;
        bool aVector = a.Length == 1, bVector = b.Length == 1;
        var a2 = aVector ? [Dim.Known(1), a[0]] : a;
        var b2 = bVector ? [b[0], Dim.Known(1)] : b;
        var batch = Broadcast(a2[..^2], b2[..^2])!;
        var result = new List<Dim>(batch);
        if (!aVector) result.Add(a2[^2]);
        if (!bVector) result.Add(b2[^1]);
        return result.ToArray();
    }

    /// <summary>Product of dims: known when all are known; the symbol itself when all others are 1.</summary>
    internal static Dim Product(IEnumerable<Dim> dims)
    {
        long known = 1;
        var symbols = new List<Dim>();
        foreach (var d in dims)
        {
            if (d.IsKnown) known *= d.Value!.Value;
            else symbols.Add(d);
        }
        if (symbols.Count == 0) return Dim.Known(known);
        if (symbols.Count == 1 && known == 1) return symbols[0];
        return Dim.Unknown;
    }

    private static Dim[]? ReshapeShape(Dim[]? input, Dim[] target, bool allowZero)
    {
        var shape = new Dim[target.Length];
        int inferred = -1;
        for (int i = 0; i < target.Length; i++)
        {
            var t = target[i];
            if (t.Value == 0 && !allowZero) shape[i] = input is not null && i < input.Length ? input[i] : Dim.Unknown;
            else if (t.Value == -1) { inferred = i; shape[i] = Dim.Unknown; }
            else shape[i] = t;
        }
        if (inferred >= 0 && input is not null)
        {
            // Cancel matching factors between the input and the other output dims; what remains is the -1 dim.
            var remaining = new List<Dim>(input);
            long divisor = 1;
            bool ok = true;
            for (int i = 0; i < shape.Length && ok; i++)
            {
                if (i == inferred) continue;
                var d = shape[i];
                int match = remaining.FindIndex(r => r.SameAs(d));
                if (match >= 0 && !d.IsKnown) remaining.RemoveAt(match);
                else if (d.IsKnown) divisor *= d.Value!.Value;
                else ok = false;
            }
            if (ok)
            {
                var rest = Product(remaining);
                if (rest.IsKnown && divisor != 0) shape[inferred] = Dim.Known(rest.Value!.Value / divisor);
                else if (!rest.IsKnown && rest.Symbol is not null && divisor == 1) shape[inferred] = rest;
                else if (remaining.Count(r => !r.IsKnown) == 1 && divisor != 0 &&
                         remaining.Where(r => r.IsKnown).Aggregate(1L, (p, r) => p * r.Value!.Value) == divisor)
                    shape[inferred] = remaining.First(r => !r.IsKnown);
            }
        }
        return shape;
    }
}
