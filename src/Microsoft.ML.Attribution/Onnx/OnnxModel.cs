using Google.Protobuf;
using Microsoft.ML.Attribution.Onnx.Proto;

namespace Microsoft.ML.Attribution.Onnx;

/// <summary>
/// An ONNX model held as its protobuf plus the indexes graph work needs: producers, consumers, initializers,
/// the real graph inputs (old exporters also list every initializer as an input), and a topological order.
/// Instances are treated as immutable; surgery returns a new model.
/// </summary>
internal sealed class OnnxModel
{
    private readonly Dictionary<string, NodeProto> _producers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<NodeProto>> _consumers = new(StringComparer.Ordinal);
    private (IReadOnlyDictionary<string, TensorType> Types, IReadOnlyDictionary<string, Dim[]> Values)? _inferred;

    public OnnxModel(ModelProto proto)
    {
        Proto = proto ?? throw new ArgumentNullException(nameof(proto));
        if (proto.Graph is null) throw new InvalidDataException("The ONNX model has no graph.");
        Graph = proto.Graph;
        Initializers = Graph.Initializer.ToDictionary(t => t.Name, StringComparer.Ordinal);
        Inputs = Graph.Input.Where(i => !Initializers.ContainsKey(i.Name)).ToList();
        foreach (var node in Graph.Node)
        {
            foreach (var output in node.Output)
            {
                if (output.Length > 0) _producers[output] = node;
            }
            foreach (var input in node.Input)
            {
                if (input.Length == 0) continue;
                if (!_consumers.TryGetValue(input, out var list)) _consumers[input] = list = [];
                list.Add(node);
            }
        }
        Opset = proto.OpsetImport.Where(o => string.IsNullOrEmpty(o.Domain) || o.Domain == "ai.onnx")
            .Select(o => (int)o.Version).DefaultIfEmpty(1).Max();
        TopologicalOrder = SortTopologically();
    }

    public ModelProto Proto { get; }

    public GraphProto Graph { get; }

    /// <summary>Opset of the default (ai.onnx) domain.</summary>
    public int Opset { get; }

    public IReadOnlyDictionary<string, TensorProto> Initializers { get; }

    /// <summary>Graph inputs that are fed at run time (initializers listed as inputs are excluded).</summary>
    public IReadOnlyList<ValueInfoProto> Inputs { get; }

    public IReadOnlyList<ValueInfoProto> Outputs => Graph.Output;

    public IReadOnlyList<NodeProto> TopologicalOrder { get; }

    /// <summary>Element types and shapes of every tensor (inputs, initializers, node outputs), inferred once.</summary>
    public IReadOnlyDictionary<string, TensorType> Types => (_inferred ??= ShapeInference.Infer(this)).Types;

    /// <summary>
    /// The values of an integer tensor (rank 0 or 1) when they are known before running the model: initializers,
    /// Constant nodes and shape arithmetic over static dims. Null otherwise.
    /// </summary>
    public long[]? ConstantInts(string tensor) =>
        (_inferred ??= ShapeInference.Infer(this)).Values.TryGetValue(tensor, out var dims) && dims.All(d => d.IsKnown)
            ? dims.Select(d => d.Value!.Value).ToArray() : null;

    public static OnnxModel Load(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"ONNX model '{path}' does not exist.", path);
        return Load(File.ReadAllBytes(path), path);
    }

    public static OnnxModel Load(byte[] bytes, string? origin = null)
    {
        ModelProto proto;
        try
        {
            proto = ModelProto.Parser.ParseFrom(bytes);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new InvalidDataException($"'{origin ?? "model bytes"}' is not a valid ONNX model: {e.Message}", e);
        }
        return new OnnxModel(proto);
    }

    public byte[] ToBytes() => Proto.ToByteArray();

    public void Save(string path) => File.WriteAllBytes(path, ToBytes());

    public NodeProto? Producer(string tensor) => _producers.GetValueOrDefault(tensor);

    public IReadOnlyList<NodeProto> Consumers(string tensor) =>
        _consumers.TryGetValue(tensor, out var list) ? list : [];

    public bool IsInput(string tensor) => Inputs.Any(i => i.Name == tensor);

    /// <summary>True when the name is a graph input, an initializer or a node output.</summary>
    public bool HasTensor(string tensor) => IsInput(tensor) || Initializers.ContainsKey(tensor) || _producers.ContainsKey(tensor);

    /// <summary>Every tensor name in the graph, inputs first, then node outputs in topological order.</summary>
    public IEnumerable<string> TensorNames =>
        Inputs.Select(i => i.Name).Concat(TopologicalOrder.SelectMany(n => n.Output).Where(o => o.Length > 0));

    /// <summary>Distinct op types (with their domain when not the default one).</summary>
    public IEnumerable<string> OpTypes => Graph.Node.Select(OpName).Distinct();

    public static string OpName(NodeProto node) =>
        string.IsNullOrEmpty(node.Domain) || node.Domain == "ai.onnx" ? node.OpType : $"{node.Domain}.{node.OpType}";

    /// <summary>
    /// Approximate bytes one input row occupies across the graph: every floating tensor whose first axis is symbolic
    /// (the batch) counts its other dims (unknown dims count as 1). Zero when no tensor carries a symbolic batch.
    /// </summary>
    public long EstimatedBytesPerRow()
    {
        long total = 0;
        foreach (var type in Types.Values)
        {
            if (!type.IsFloating || type.Shape is not { Length: > 0 } shape || shape[0].IsKnown || shape[0].Symbol is null) continue;
            long elements = 1;
            foreach (var d in shape[1..]) elements *= d.Value ?? 1;
            total += elements * (type.ElemType == OnnxDataType.Double ? 8 : 4);
        }
        return total;
    }

    /// <summary>A copy of the protobuf to edit; build a new <see cref="OnnxModel"/> from it afterwards.</summary>
    public ModelProto CloneProto() => Proto.Clone();

    /// <summary>
    /// Returns a model whose outputs are <paramref name="outputs"/> (any tensors of the graph) and whose nodes are only
    /// those needed to compute them.
    /// </summary>
    public OnnxModel WithOutputs(IEnumerable<string> outputs)
    {
        var proto = CloneProto();
        proto.Graph.Output.Clear();
        foreach (var name in outputs)
        {
            RequireTensor(name);
            proto.Graph.Output.Add(ValueInfo(name));
        }
        return Prune(proto);
    }

    /// <summary>
    /// Cuts the graph at <paramref name="tensor"/>: it becomes a graph input, and nodes needed only to compute it are
    /// removed. Other inputs the remaining nodes still read (e.g. an attention mask) stay inputs.
    /// </summary>
    public OnnxModel CutAt(string tensor)
    {
        RequireTensor(tensor);
        if (IsInput(tensor)) return this;
        var proto = CloneProto();
        var producer = Producer(tensor) ?? throw new ArgumentException($"Tensor '{tensor}' is an initializer (a weight); cut at an activation instead.");
        var node = proto.Graph.Node[Graph.Node.IndexOf(producer)];
        int slot = node.Output.IndexOf(tensor);
        node.Output[slot] = ""; // the remaining outputs of the producer (if any) stay computed
        if (node.Output.All(o => o.Length == 0)) proto.Graph.Node.Remove(node);
        proto.Graph.Input.Add(ValueInfo(tensor));
        return Prune(proto);
    }

    /// <summary>A ValueInfoProto with the inferred element type and shape (unknown dims left free).</summary>
    public ValueInfoProto ValueInfo(string name)
    {
        var vi = new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor() } };
        if (Types.TryGetValue(name, out var type))
        {
            vi.Type.TensorType.ElemType = type.ElemType;
            if (type.Shape is not null)
            {
                var shape = new TensorShapeProto();
                foreach (var d in type.Shape)
                {
                    var dim = new TensorShapeProto.Types.Dimension();
                    if (d.Value.HasValue) dim.DimValue = d.Value.Value;
                    else if (d.Symbol is not null) dim.DimParam = d.Symbol;
                    shape.Dim.Add(dim);
                }
                vi.Type.TensorType.Shape = shape;
            }
        }
        return vi;
    }

    public void RequireTensor(string name)
    {
        if (!HasTensor(name))
            throw new ArgumentException(UnknownTensorMessage(name));
    }

    /// <summary>"Tensor 'x' does not exist in the model; nearest names: a, b, c."</summary>
    public string UnknownTensorMessage(string name)
    {
        var nearest = TensorNames.Distinct()
            .OrderBy(n => Levenshtein(n.ToLowerInvariant(), name.ToLowerInvariant()))
            .Take(5);
        return $"Tensor '{name}' does not exist in the model; nearest names: {string.Join(", ", nearest)}.";
    }

    /// <summary>
    /// Removes nodes and initializers that no graph output depends on, and the graph inputs nothing reads (with
    /// <paramref name="keepInputs"/>, only inputs that merely named a removed initializer). Works whatever the node
    /// order (ONNX Runtime accepts graphs that are not sorted); the kept nodes keep their order.
    /// </summary>
    internal static OnnxModel Prune(ModelProto proto, bool keepInputs = false)
    {
        var graph = proto.Graph;
        var producer = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < graph.Node.Count; i++)
        {
            foreach (var output in graph.Node[i].Output)
            {
                if (output.Length > 0) producer[output] = i;
            }
        }
        var needed = new HashSet<string>(StringComparer.Ordinal);
        var pending = new Stack<string>();
        var kept = new bool[graph.Node.Count];
        void Need(string tensor)
        {
            if (tensor.Length > 0 && needed.Add(tensor)) pending.Push(tensor);
        }
        foreach (var o in graph.Output) Need(o.Name);
        while (pending.Count > 0)
        {
            if (!producer.TryGetValue(pending.Pop(), out int i) || kept[i]) continue;
            kept[i] = true;
            var node = graph.Node[i];
            foreach (var input in node.Input) Need(input);
            foreach (var attr in node.Attribute)
            {
                // Subgraphs (If/Loop/Scan) may read outer-scope tensors.
                foreach (var g in attr.Graphs.Append(attr.G).Where(g => g is not null))
                {
                    foreach (var n in g.Node)
                    {
                        foreach (var input in n.Input) Need(input);
                    }
                }
            }
        }
        var keep = graph.Node.Where((_, i) => kept[i]).ToList();
        graph.Node.Clear();
        graph.Node.AddRange(keep);
        // An IR < 4 model may list initializers among its inputs: an input whose initializer is removed goes too.
        var removedInitializers = graph.Initializer.Select(t => t.Name).Where(n => !needed.Contains(n)).ToHashSet(StringComparer.Ordinal);
        var inputs = graph.Input.Where(i => needed.Contains(i.Name) || (keepInputs && !removedInitializers.Contains(i.Name))).ToList();
        var initializers = graph.Initializer.Where(t => needed.Contains(t.Name)).ToList();
        graph.Initializer.Clear();
        graph.Initializer.AddRange(initializers);
        graph.Input.Clear();
        graph.Input.AddRange(inputs);
        return new OnnxModel(proto);
    }

    private List<NodeProto> SortTopologically()
    {
        var available = new HashSet<string>(StringComparer.Ordinal);
        foreach (var i in Graph.Input) available.Add(i.Name);
        foreach (var t in Graph.Initializer) available.Add(t.Name);
        available.Add("");
        var order = new List<NodeProto>(Graph.Node.Count);
        var pending = new List<NodeProto>(Graph.Node);
        var outerScope = new HashSet<string>(StringComparer.Ordinal);
        while (pending.Count > 0)
        {
            int before = pending.Count;
            pending.RemoveAll(node =>
            {
                if (!node.Input.All(available.Contains)) return false;
                order.Add(node);
                foreach (var o in node.Output) available.Add(o);
                return true;
            });
            if (pending.Count == before)
            {
                var missing = pending.SelectMany(n => n.Input).Where(i => !available.Contains(i)).Distinct().Take(5);
                throw new InvalidDataException(
                    $"The ONNX graph has a cycle or reads undefined tensors: {string.Join(", ", missing)}.");
            }
        }
        return order;
    }

    private static int Levenshtein(string a, string b)
    {
        var prev = new int[b.Length + 1];
        var cur = new int[b.Length + 1];
        for (int j = 0; j <= b.Length; j++) prev[j] = j;
        for (int i = 1; i <= a.Length; i++)
        {
            cur[0] = i;
            for (int j = 1; j <= b.Length; j++)
            {
                int cost = a[i - 1] == b[j - 1] ? 0 : 1;
                cur[j] = Math.Min(Math.Min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + cost);
            }
            (prev, cur) = (cur, prev);
        }
        return prev[b.Length];
    }
}
