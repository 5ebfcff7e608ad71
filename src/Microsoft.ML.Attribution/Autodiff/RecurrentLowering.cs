using Microsoft.ML.Attribution.Onnx;
using Microsoft.ML.Attribution.Onnx.Proto;
using static Microsoft.ML.Attribution.Onnx.TensorProtos;

namespace Microsoft.ML.Attribution.Autodiff;

/// <summary>
/// Rewrites ONNX's recurrent ops (LSTM, GRU, RNN) as the primitive ops they are defined by (MatMul, Add, Mul, Sub,
/// Sigmoid, Tanh, Split, Slice, Concat, …), unrolled over the sequence length, so that the ordinary gradient rules
/// differentiate them: backpropagation through time is then the chain rule over the unrolled graph.
/// The equations are those of the ONNX operator specification (gate order i, o, f, c for LSTM; z, r, h for GRU).
/// Unrolling needs the sequence length when the graph is built; a node whose length is only known at run time, or that
/// uses <c>sequence_lens</c>, <c>clip</c> or an activation outside <see cref="Activations"/>, is left as it is and
/// <see cref="Lower"/> reports why, so that the gradient builder can refuse it naming the reason.
/// </summary>
internal static class RecurrentLowering
{
    public static readonly IReadOnlySet<string> RecurrentOps = new HashSet<string>(StringComparer.Ordinal) { "LSTM", "GRU", "RNN" };

    /// <summary>Activations the unrolled graph can express (ONNX ops of the same name with no alpha/beta).</summary>
    private static readonly IReadOnlySet<string> Activations = new HashSet<string>(StringComparer.OrdinalIgnoreCase)
    {
        "Sigmoid", "Tanh", "Relu", "Softsign", "Softplus",
    };

    /// <summary>
    /// The model with every recurrent node that can be unrolled replaced by primitive ops (its outputs keep their names),
    /// and, for those that cannot, the reason by node label. Returns <paramref name="model"/> itself when it has none.
    /// </summary>
    public static (OnnxModel Model, IReadOnlyDictionary<string, string> Refused) Lower(OnnxModel model)
    {
        var refused = new Dictionary<string, string>(StringComparer.Ordinal);
        if (!model.Graph.Node.Any(IsRecurrent)) return (model, refused);
        // One node at a time, in graph order: a stacked layer's sequence length is known only once the layer below it
        // is made of ops that shape inference models.
        while (true)
        {
            var node = model.TopologicalOrder.FirstOrDefault(n => IsRecurrent(n) && !refused.ContainsKey(GradientContext.NodeLabel(n)));
            if (node is null) return (model, refused);
            string? reason = WhyNot(model, node);
            if (reason is not null)
            {
                refused[GradientContext.NodeLabel(node)] = reason;
                continue;
            }
            var emitter = new Emitter(model, node);
            emitter.Unroll();
            var proto = model.CloneProto();
            int at = model.Graph.Node.IndexOf(node);
            var nodes = proto.Graph.Node.ToList();
            nodes.RemoveAt(at);
            nodes.InsertRange(at, emitter.Nodes);
            proto.Graph.Node.Clear();
            proto.Graph.Node.AddRange(nodes);
            proto.Graph.Initializer.Add(emitter.Initializers);
            model = new OnnxModel(proto);
        }
    }

    private static bool IsRecurrent(NodeProto node) =>
        RecurrentOps.Contains(node.OpType) && (string.IsNullOrEmpty(node.Domain) || node.Domain == "ai.onnx");

    private static string? WhyNot(OnnxModel model, NodeProto node)
    {
        if (Input(node, 4) is not null)
            return "it uses sequence_lens (variable-length sequences); export with equal-length (padded) sequences instead";
        if (Attribute(node, "clip") is not null) return "it uses the clip attribute";
        if (Attribute(node, "activation_alpha") is not null || Attribute(node, "activation_beta") is not null)
            return "it uses activation_alpha/activation_beta";
        foreach (var a in Attribute(node, "activations")?.Strings.Select(s => s.ToStringUtf8()) ?? [])
        {
            if (!Activations.Contains(a)) return $"activation '{a}' is not supported (supported: {string.Join(", ", Activations)})";
        }
        long layout = Int(node, "layout", 0);
        var x = model.Types.GetValueOrDefault(node.Input[0])?.Shape;
        if (x is not { Length: 3 }) return $"the shape of its input '{node.Input[0]}' is unknown";
        var seq = x[layout == 0 ? 0 : 1];
        if (!seq.IsKnown)
            return $"its sequence length (axis {(layout == 0 ? 0 : 1)} of '{node.Input[0]}', {seq}) is not known when the graph is built; " +
                   "unrolling needs a fixed sequence length (export with a static sequence axis)";
        if (seq.Value == 0) return "its sequence length is 0";
        if (model.Types.GetValueOrDefault(node.Input[0]) is { IsFloating: false } t)
            return $"its input has type {OnnxDataType.Name(t.ElemType)}";
        return null;
    }

    private static string? Input(NodeProto node, int i) => i < node.Input.Count && node.Input[i].Length > 0 ? node.Input[i] : null;

    /// <summary>Emits the unrolled graph of one recurrent node.</summary>
    private sealed class Emitter
    {
        private readonly OnnxModel _model;
        private readonly NodeProto _node;
        private readonly string _prefix;
        private readonly int _opset;
        private readonly int _elemType;
        private readonly long _hidden;
        private readonly int _seq;
        private readonly bool _batchFirst;
        private readonly HashSet<string> _names;
        private int _counter;

        public Emitter(OnnxModel model, NodeProto node)
        {
            _model = model;
            _node = node;
            _prefix = GradientContext.NodeLabel(node) + "/unrolled/";
            _opset = model.Opset;
            _elemType = model.Types[node.Input[0]].ElemType;
            _hidden = Int(node, "hidden_size", 0);
            if (_hidden <= 0)
                throw new InvalidOperationException($"{node.OpType} node '{GradientContext.NodeLabel(node)}' has no hidden_size attribute.");
            _batchFirst = Int(node, "layout", 0) != 0;
            _seq = checked((int)model.Types[node.Input[0]].Shape![_batchFirst ? 1 : 0].Value!.Value);
            _names = new HashSet<string>(model.TensorNames.Concat(model.Initializers.Keys), StringComparer.Ordinal);
        }

        public List<NodeProto> Nodes { get; } = [];

        public List<TensorProto> Initializers { get; } = [];

        private int GateCount => _node.OpType switch { "LSTM" => 4, "GRU" => 3, _ => 1 };

        private int ActivationsPerDirection => _node.OpType switch { "LSTM" => 3, "GRU" => 2, _ => 1 };

        public void Unroll()
        {
            string direction = String(_node, "direction") ?? "forward";
            int[] directions = direction switch
            {
                "forward" => [0],
                "reverse" => [1],
                "bidirectional" => [0, 1],
                _ => throw new InvalidOperationException(
                    $"{_node.OpType} node '{GradientContext.NodeLabel(_node)}' has unknown direction '{direction}'."),
            };
            var activations = Attribute(_node, "activations")?.Strings.Select(s => s.ToStringUtf8()).ToArray();
            string x = _node.Input[0];
            if (_batchFirst) x = Transpose(x, 1, 0, 2);

            var ys = new List<string>();
            var hs = new List<string>();
            var cs = new List<string>();
            for (int d = 0; d < directions.Length; d++)
            {
                var acts = DirectionActivations(activations, d);
                var (y, h, c) = Direction(x, d, reverse: directions[d] == 1, acts);
                ys.Add(y);
                hs.Add(h);
                if (c is not null) cs.Add(c);
            }
            // Y: [seq, num_directions, batch, hidden]; Y_h, Y_c: [num_directions, batch, hidden] (layout 0).
            string yAll = Concat(ys.Select(y => Unsqueeze(y, 1)).ToArray(), 1);
            string hAll = Concat(hs.ToArray(), 0);
            string? cAll = cs.Count > 0 ? Concat(cs.ToArray(), 0) : null;
            if (_batchFirst)
            {
                yAll = Transpose(yAll, 2, 0, 1, 3);
                hAll = Transpose(hAll, 1, 0, 2);
                if (cAll is not null) cAll = Transpose(cAll, 1, 0, 2);
            }
            Bind(0, yAll);
            Bind(1, hAll);
            if (cAll is not null) Bind(2, cAll);
        }

        private string[] DirectionActivations(string[]? given, int d)
        {
            int n = ActivationsPerDirection;
            string[] defaults = _node.OpType switch
            {
                "LSTM" => ["Sigmoid", "Tanh", "Tanh"],
                "GRU" => ["Sigmoid", "Tanh"],
                _ => ["Tanh"],
            };
            if (given is null || given.Length == 0) return defaults;
            if (given.Length >= (d + 1) * n) return given.Skip(d * n).Take(n).ToArray();
            if (given.Length == n) return given;
            throw new InvalidOperationException(
                $"{_node.OpType} node '{GradientContext.NodeLabel(_node)}' lists {given.Length} activations; expected {n} per direction.");
        }

        /// <summary>One direction: Y [seq, batch, hidden], last H [1, batch, hidden], last C (LSTM) [1, batch, hidden].</summary>
        private (string Y, string H, string? C) Direction(string x, int d, bool reverse, string[] acts)
        {
            int gates = GateCount;
            long hsz = _hidden;
            // Per-direction slices, kept with their leading axis of 1 so every step is [1, batch, ·].
            string w = SliceAxis0(_node.Input[1], d);               // [1, gates·H, input]
            string r = SliceAxis0(_node.Input[2], d);               // [1, gates·H, H]
            string wT = Transpose(w, 0, 2, 1);                     // [1, input, gates·H]
            string rT = Transpose(r, 0, 2, 1);                     // [1, H, gates·H]
            string? wb = null, rb = null;
            if (Input(_node, 3) is { } b)
            {
                var halves = Split(SliceAxis0(b, d), 1, [gates * hsz, gates * hsz]); // [1, gates·H] each
                (wb, rb) = (halves[0], halves[1]);
            }
            // All input projections at once: [seq, batch, gates·H] (+ Wb, and Rb except GRU's h gate, added below).
            string xw = Emit("MatMul", [x, wT]);
            string? h = Input(_node, 5) is { } h0 ? InitialState(h0, d) : null;
            string? c = Input(_node, 6) is { } c0 && _node.OpType == "LSTM" ? InitialState(c0, d) : null;
            string[]? peep = Input(_node, 7) is { } p && _node.OpType == "LSTM" ? Split(SliceAxis0(p, d), 1, [hsz, hsz, hsz]) : null;
            bool linearBeforeReset = _node.OpType == "GRU" && Int(_node, "linear_before_reset", 0) != 0;

            string[] rTParts = [];
            string[] rbParts = [];
            string xwb = xw;
            if (_node.OpType == "GRU")
            {
                // GRU's h gate reads R·H (and Rbh) inside the reset product: the z, r parts and the h part go apart.
                rTParts = Split(rT, 2, [2 * hsz, hsz]);
                if (wb is not null) xwb = Emit("Add", [xw, wb]);
                if (rb is not null) rbParts = Split(rb, 1, [2 * hsz, hsz]);
            }
            else
            {
                if (wb is not null) xwb = Emit("Add", [xw, Emit("Add", [wb, rb!])]);
            }
            var steps = Split(xwb, 0, Enumerable.Repeat(1L, _seq).ToArray()); // [1, batch, gates·H] each

            var outputs = new string[_seq];
            for (int k = 0; k < _seq; k++)
            {
                int t = reverse ? _seq - 1 - k : k;
                switch (_node.OpType)
                {
                    case "RNN":
                        {
                            string pre = h is null ? steps[t] : Emit("Add", [steps[t], Emit("MatMul", [h, rT])]);
                            h = Activate(acts[0], pre);
                            break;
                        }
                    case "LSTM":
                        {
                            string pre = h is null ? steps[t] : Emit("Add", [steps[t], Emit("MatMul", [h, rT])]);
                            var g = Split(pre, 2, [hsz, hsz, hsz, hsz]); // i, o, f, c
                            string gi = g[0], go = g[1], gf = g[2], gc = g[3];
                            if (peep is not null && c is not null)
                            {
                                gi = Emit("Add", [gi, Emit("Mul", [peep[0], c])]);
                                gf = Emit("Add", [gf, Emit("Mul", [peep[2], c])]);
                            }
                            string i = Activate(acts[0], gi);
                            string f = Int(_node, "input_forget", 0) != 0 ? Emit("Sub", [One(), i]) : Activate(acts[0], gf);
                            string cand = Activate(acts[1], gc);
                            string ic = Emit("Mul", [i, cand]);
                            c = c is null ? ic : Emit("Add", [Emit("Mul", [f, c]), ic]);
                            if (peep is not null) go = Emit("Add", [go, Emit("Mul", [peep[1], c])]);
                            string o = Activate(acts[0], go);
                            h = Emit("Mul", [o, Activate(acts[2], c)]);
                            break;
                        }
                    default: // GRU
                        {
                            var xg = Split(steps[t], 2, [2 * hsz, hsz]); // [z r], h
                            string zr = xg[0];
                            string? hr = null; // H·Rzr^T (+ Rbzr)
                            if (h is not null) hr = Emit("MatMul", [h, rTParts[0]]);
                            if (rbParts.Length > 0) hr = hr is null ? rbParts[0] : Emit("Add", [hr, rbParts[0]]);
                            if (hr is not null) zr = Emit("Add", [zr, hr]);
                            var zrGates = Split(zr, 2, [hsz, hsz]);
                            string z = Activate(acts[0], zrGates[0]);
                            string rg = Activate(acts[0], zrGates[1]);
                            string? recurrent;
                            if (linearBeforeReset)
                            {
                                string? hh = h is null ? null : Emit("MatMul", [h, rTParts[1]]);
                                if (rbParts.Length > 0) hh = hh is null ? rbParts[1] : Emit("Add", [hh, rbParts[1]]);
                                recurrent = hh is null ? null : Emit("Mul", [rg, hh]);
                            }
                            else
                            {
                                string? hh = h is null ? null : Emit("MatMul", [Emit("Mul", [rg, h]), rTParts[1]]);
                                if (rbParts.Length > 0) hh = hh is null ? rbParts[1] : Emit("Add", [hh, rbParts[1]]);
                                recurrent = hh;
                            }
                            string hPre = recurrent is null ? xg[1] : Emit("Add", [xg[1], recurrent]);
                            string cand = Activate(acts[1], hPre);
                            string keep = Emit("Sub", [One(), z]);
                            string next = Emit("Mul", [keep, cand]);
                            h = h is null ? next : Emit("Add", [next, Emit("Mul", [z, h])]);
                            break;
                        }
                }
                outputs[t] = h!;
            }
            return (Concat(outputs, 0), h!, _node.OpType == "LSTM" ? c : null);
        }

        /// <summary>Initial state of direction d as [1, batch, hidden] (layout 1 stores it as [batch, dirs, hidden]).</summary>
        private string InitialState(string state, int d) =>
            _batchFirst ? SliceAxis0(Transpose(state, 1, 0, 2), d) : SliceAxis0(state, d);

        private string Activate(string activation, string x)
        {
            string op = Activations.First(a => string.Equals(a, activation, StringComparison.OrdinalIgnoreCase));
            // ONNX Runtime's CPU provider runs Softsign and Softplus in float32 only: written out in ops that have float64
            // kernels, the unrolled graph runs in float64 too. Softplus as relu(x) + log(1 + exp(−|x|)), which cannot overflow.
            return op switch
            {
                "Softsign" => Emit("Div", [x, Emit("Add", [One(), Emit("Abs", [x])])]),
                "Softplus" => Emit("Add", [Emit("Relu", [x]), Emit("Log", [Emit("Add", [One(), Emit("Exp", [Emit("Neg", [Emit("Abs", [x])])])])])]),
                _ => Emit(op, [x]),
            };
        }

        private string? _one;

        private string One()
        {
            if (_one is not null) return _one;
            _one = NewName("one");
            Initializers.Add(FromDouble(_one, _elemType, [1.0]));
            return _one;
        }

        private string Int64s(params long[] values)
        {
            string name = NewName("ints");
            Initializers.Add(FromInt64(name, values, values.Length));
            return name;
        }

        private string SliceAxis0(string x, int d) => _opset >= 10
            ? Emit("Slice", [x, Int64s(d), Int64s(d + 1), Int64s(0)])
            : Emit("Slice", [x], IntsAttr("starts", d), IntsAttr("ends", d + 1), IntsAttr("axes", 0));

        private string[] Split(string x, long axis, long[] sizes)
        {
            if (sizes.Length == 1) return [x];
            return _opset >= 13
                ? EmitMany("Split", [x, Int64s(sizes)], sizes.Length, IntAttr("axis", axis))
                : EmitMany("Split", [x], sizes.Length, IntAttr("axis", axis), IntsAttr("split", sizes));
        }

        private string Concat(string[] parts, long axis) =>
            parts.Length == 1 ? parts[0] : Emit("Concat", parts, IntAttr("axis", axis));

        private string Unsqueeze(string x, long axis) => _opset >= 13
            ? Emit("Unsqueeze", [x, Int64s(axis)])
            : Emit("Unsqueeze", [x], IntsAttr("axes", axis));

        private string Transpose(string x, params long[] perm) => Emit("Transpose", [x], IntsAttr("perm", perm));

        /// <summary>Makes the node's output <paramref name="i"/> (when it is used) the value of <paramref name="tensor"/>.</summary>
        private void Bind(int i, string tensor)
        {
            if (i >= _node.Output.Count || _node.Output[i].Length == 0) return;
            var identity = new NodeProto { OpType = "Identity", Name = NewName("Identity_node") };
            identity.Input.Add(tensor);
            identity.Output.Add(_node.Output[i]);
            Nodes.Add(identity);
        }

        private string Emit(string op, string[] inputs, params AttributeProto[] attributes) => EmitMany(op, inputs, 1, attributes)[0];

        private string[] EmitMany(string op, string[] inputs, int outputs, params AttributeProto[] attributes)
        {
            var node = new NodeProto { OpType = op, Name = NewName(op + "_node") };
            node.Input.AddRange(inputs);
            var names = Enumerable.Range(0, outputs).Select(_ => NewName(op)).ToArray();
            node.Output.AddRange(names);
            node.Attribute.AddRange(attributes);
            Nodes.Add(node);
            return names;
        }

        private string NewName(string hint)
        {
            string name;
            do { name = $"{_prefix}{hint}_{_counter++}"; } while (!_names.Add(name));
            return name;
        }
    }
}
