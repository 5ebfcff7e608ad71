using System.Collections.Concurrent;
using Microsoft.ML.Attribution.Autodiff;
using Microsoft.ML.Attribution.Onnx;
using Microsoft.ML.Attribution.Runtime;
using Microsoft.ML.Attribution.Tensors;

namespace Microsoft.ML.Attribution.Oracles;

/// <summary>
/// An ONNX model seen through one of its intermediate tensors (a "layer"): the layer's activations, the gradient of
/// the explained output with respect to the layer at given inputs, and the same gradient when the layer's values are
/// given directly (the graph cut at the layer, so the layer becomes an input). The attributed input may be float32
/// features or int64/int32 token ids; the layer must be a float32 tensor. Every computation is batched over many rows and
/// steps per ONNX Runtime call, in chunks of a bounded number of items.
/// </summary>
public sealed class OnnxLayerOracle : ILayerOracle
{
    private readonly ConcurrentDictionary<string, Lazy<Entry>> _graphs = new(StringComparer.Ordinal);
    private readonly int[]? _inputRowShape;

    /// <summary>Opens an ONNX model file.</summary>
    /// <param name="modelPath">Path of the <c>.onnx</c> file.</param>
    /// <param name="layer">Name of the layer tensor (any float tensor of the graph, e.g. <c>/conv2/Conv_output_0</c>).</param>
    /// <param name="inputName">The attributed input; default: the model's first input.</param>
    /// <param name="outputName">The explained output (any tensor of the graph); default: the model's first output.</param>
    /// <param name="options">ONNX Runtime settings; default CPU.</param>
    /// <exception cref="ArgumentException">A tensor name is unknown (the message lists the nearest names).</exception>
    public OnnxLayerOracle(string modelPath, string layer, string? inputName = null, string? outputName = null, RuntimeOptions? options = null)
        : this(OnnxModel.Load(modelPath), layer, inputName, outputName, options) { }

    /// <summary>Wraps ONNX model bytes.</summary>
    /// <param name="modelBytes">The serialized model.</param>
    /// <param name="layer">Name of the layer tensor.</param>
    /// <param name="inputName">The attributed input; default: the model's first input.</param>
    /// <param name="outputName">The explained output; default: the model's first output.</param>
    /// <param name="options">ONNX Runtime settings; default CPU.</param>
    public OnnxLayerOracle(byte[] modelBytes, string layer, string? inputName = null, string? outputName = null, RuntimeOptions? options = null)
        : this(OnnxModel.Load(modelBytes), layer, inputName, outputName, options) { }

    /// <param name="model">The model.</param>
    /// <param name="layer">Name of the layer tensor.</param>
    /// <param name="inputName">The attributed input; default: the model's first input.</param>
    /// <param name="outputName">The explained output; default: the model's first output.</param>
    /// <param name="options">ONNX Runtime settings; default CPU.</param>
    /// <param name="held">
    /// The model's other inputs, one row each (<c>[1, …]</c>), fed repeated alongside every chunk (a multi-input model
    /// whose other inputs are held fixed, e.g. an attention mask); null for a single-input model.
    /// </param>
    internal OnnxLayerOracle(OnnxModel model, string layer, string? inputName, string? outputName, RuntimeOptions? options,
        IReadOnlyList<NamedInput>? held = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(layer);
        Options = options ?? RuntimeOptions.Default;
        if (model.Inputs.Count == 0) throw new ArgumentException("The ONNX model has no inputs.");
        InputName = inputName ?? model.Inputs[0].Name;
        if (!model.IsInput(InputName))
            throw new ArgumentException($"Input '{InputName}' is not an input of the model; its inputs are {string.Join(", ", model.Inputs.Select(i => i.Name))}.");
        _held = held ?? [];
        var missing = model.Inputs.Select(i => i.Name).Where(n => n != InputName && !_held.Any(h => h.Name == n)).ToList();
        if (missing.Count > 0)
            throw new ArgumentException($"The model has further inputs ({string.Join(", ", missing)}) besides '{InputName}'; " +
                "give them through MultiInputModel (Microsoft.ML.Attribution.MultiInput), which holds them fixed.");
        OutputName = outputName ?? model.Outputs[0].Name;
        model.RequireTensor(OutputName);
        var inputType = model.Types[InputName];
        InputIsTokenIds = inputType.ElemType is OnnxDataType.Int64 or OnnxDataType.Int32;
        // Token ids arrive as NdArray<long>; an int32 input gets them narrowed (range-checked) when fed.
        _tokenIdType = inputType.ElemType == OnnxDataType.Int32 ? "int32" : "int64";
        if (inputType.ElemType is not (OnnxDataType.Float or OnnxDataType.Int64 or OnnxDataType.Int32 or OnnxDataType.Undefined))
            throw new ArgumentException($"Input '{InputName}' has type {OnnxDataType.Name(inputType.ElemType)}; layer attribution feeds float32 features or int64/int32 token ids.");
        if (inputType.Shape is { Length: > 0 } shape)
        {
            if (shape[0].Value is long fixedRows) MaxRowsPerCall = (int)fixedRows;
            if (shape[1..].All(d => d.IsKnown)) _inputRowShape = shape[1..].Select(d => (int)d.Value!.Value).ToArray();
        }
        Model = model.Outputs.Count == 1 && model.Outputs[0].Name == OutputName ? model : model.WithOutputs([OutputName]);
        Full = model;
        LayerName = RequireLayer(layer);
        LayerInputName = model.Producer(LayerName) is { } producer
            ? producer.Input.FirstOrDefault(i => i.Length > 0 && !model.Initializers.ContainsKey(i))
            : null;
    }

    /// <summary>The attributed model input.</summary>
    public string InputName { get; }

    /// <summary>The explained output.</summary>
    public string OutputName { get; }

    /// <summary>The layer tensor.</summary>
    public string LayerName { get; }

    /// <summary>
    /// The layer's input (Captum's <c>attribute_to_layer_input</c>): the first non-weight input of the node that produces
    /// the layer tensor; null when the layer is a graph input.
    /// </summary>
    public string? LayerInputName { get; }

    /// <summary>True when the attributed input holds token ids (int64 or int32) rather than float32 features.</summary>
    public bool InputIsTokenIds { get; }

    private readonly string _tokenIdType;

    /// <summary>The held inputs, one row each; swapped between rows when they differ per row.</summary>
    internal IReadOnlyList<NamedInput> Held
    {
        get => _held;
        set
        {
            if (value.Count != _held.Count || value.Any(v => !_held.Any(h => h.Name == v.Name)))
                throw new ArgumentException("The held inputs of a layer oracle keep their names.");
            _held = value;
            foreach (var oracle in _tensorOracles.Values)
            {
                if (oracle.IsValueCreated && oracle.Value is MultiInput.MultiInputOracle multi) multi.Held = value;
            }
        }
    }

    private IReadOnlyList<NamedInput> _held;

    /// <summary>The feeds plus the held inputs the session reads, each repeated for <paramref name="n"/> rows.</summary>
    private IReadOnlyList<NamedInput> WithHeld(OnnxSession session, IReadOnlyList<NamedInput> feeds, int n) =>
        _held.Count == 0 ? feeds : [.. feeds, .. MultiInput.MultiInputOracle.Repeat(_held.Where(h => session.InputNames.Contains(h.Name)), n)];

    /// <summary>The most rows one call may carry (a model exported with a fixed batch), or null for no limit.</summary>
    public int? MaxRowsPerCall { get; }

    /// <summary>The ONNX Runtime settings.</summary>
    public RuntimeOptions Options { get; }

    /// <summary>The model with the explained output as its only output.</summary>
    internal OnnxModel Model { get; }

    private OnnxModel Full { get; }

    private readonly ConcurrentDictionary<string, Lazy<IGradientOracle>> _tensorOracles = new(StringComparer.Ordinal);

    /// <summary>
    /// A gradient oracle over the same model whose explained output is <paramref name="tensor"/> (e.g. the layer), made
    /// once per tensor and kept, so its gradient graph is built once however many method objects use it.
    /// </summary>
    IGradientOracle ILayerOracle.AsGradientOracle(string tensor) => AsGradientOracle(tensor);

    internal IGradientOracle AsGradientOracle(string tensor)
    {
        if (InputIsTokenIds)
            throw new ArgumentException($"Input '{InputName}' holds token ids, which have no gradient; neuron gradients need float32 inputs.");
        return _tensorOracles.GetOrAdd(tensor, t => new Lazy<IGradientOracle>(() => _held.Count == 0 ? new OnnxGradientOracle(Full, InputName, t, Options)
            : new MultiInput.MultiInputOracle(Full, t, [new MultiInput.InputSlot(InputName, _inputRowShape ?? throw new ArgumentException(
                $"Input '{InputName}' has no fixed row shape; neuron gradients of a multi-input model need one."), 0, false)], _held, Options))).Value;
    }

    private string RequireLayer(string layer)
    {
        Full.RequireTensor(layer);
        if (Full.Initializers.ContainsKey(layer) && !Full.IsInput(layer))
            throw new ArgumentException($"Tensor '{layer}' is an initializer (a weight); name an activation as the layer.");
        var type = Full.Types.GetValueOrDefault(layer);
        if (type is not null && type.ElemType is not (OnnxDataType.Float or OnnxDataType.Undefined))
            throw new ArgumentException($"Layer '{layer}' has type {OnnxDataType.Name(type.ElemType)}; layer attribution needs a float32 tensor.");
        return layer;
    }

    /// <summary>Checks that a batch fits the attributed input (element type, row shape, finite features).</summary>
    void ILayerOracle.Validate(InputRows inputs) => Validate(inputs);

    internal void Validate(InputRows inputs)
    {
        if (inputs.IsTokenIds != InputIsTokenIds)
            throw new ArgumentException($"Input '{InputName}' takes {(InputIsTokenIds ? $"{_tokenIdType} token ids (NdArray<long>)" : "float32 features (NdArray<float>)")}; " +
                $"got {(inputs.IsTokenIds ? "token ids" : "float32 values")}.");
        if (inputs.Rows == 0)
            throw new ArgumentException($"Input '{InputName}' has 0 rows (shape {NdArray<float>.FormatShape(inputs.Shape)}); at least one row is needed.");
        if (_inputRowShape is not null && !inputs.RowShape.SequenceEqual(_inputRowShape))
            throw new ArgumentException($"Input '{InputName}' expects rows shaped {NdArray<float>.FormatShape(_inputRowShape)}; got {NdArray<float>.FormatShape(inputs.Shape)}.");
        if (inputs.Data is float[] data)
        {
            for (int i = 0; i < data.Length; i++)
            {
                if (!float.IsFinite(data[i]))
                    throw new ArgumentException($"Input '{InputName}' holds {data[i]} at flat index {i}; inputs must be finite.");
            }
        }
    }

    /// <summary>Rows per ONNX Runtime call for items of <paramref name="rowSize"/> elements.</summary>
    int ILayerOracle.ChunkRows(int? internalBatchSize, int rowSize) => ChunkRows(internalBatchSize, rowSize);

    internal int ChunkRows(int? internalBatchSize, int rowSize) =>
        internalBatchSize is null && (_bytesPerRow ??= 2 * Model.EstimatedBytesPerRow()) is > 0 and var bytes
            ? (int)Math.Clamp(Methods.Batcher.DefaultChunkBytes / bytes, 1, MaxRowsPerCall is int max && max > 0 ? Math.Min(max, Methods.Batcher.DefaultMaxChunkRows) : Methods.Batcher.DefaultMaxChunkRows)
            : Methods.Batcher.ChunkRows(internalBatchSize, rowSize, MaxRowsPerCall);

    private long? _bytesPerRow;

    /// <summary>
    /// The values of <paramref name="tensors"/> (e.g. the output and a layer) for every item of <paramref name="source"/>:
    /// one <c>[items, …]</c> array per tensor.
    /// </summary>
    NdArray<float>[] ILayerOracle.Evaluate(IReadOnlyList<string> tensors, InputSource source, int items, int chunkRows) =>
        Evaluate(tensors, source, items, chunkRows);

    internal NdArray<float>[] Evaluate(IReadOnlyList<string> tensors, InputSource source, int items, int chunkRows)
    {
        string key = "forward|" + string.Join("\u0001", tensors);
        var entry = _graphs.GetOrAdd(key, _ => new Lazy<Entry>(() =>
        {
            foreach (var t in tensors) RequireLayer(t);
            var model = Full.WithOutputs(tensors);
            return new Entry(model, null, OnnxSession.Get(model.ToBytes(), Options));
        })).Value;
        var data = new float[tensors.Count][];
        var shapes = new int[tensors.Count][];
        // Rows [start, start + n) of tensor t's result array (allocated once its row shape is known).
        Memory<float> Window(int t, int[] rowShape, int start, int n)
        {
            int size = (int)NdArray<float>.ShapeSize(rowShape);
            if (data[t] is null)
            {
                shapes[t] = [items, .. rowShape];
                data[t] = new float[(long)items * size];
            }
            return data[t].AsMemory(start * size, n * size);
        }
        using var scratch = new Scratch(tensors.Count);
        for (int start = 0; start < items; start += chunkRows)
        {
            int n = Math.Min(chunkRows, items - start);
            // Once shapes are known, ONNX Runtime writes every chunk straight into the result arrays.
            var results = RunChunk(entry.Session, [source.Chunk(InputName, start, n)], tensors, source.RowShape, n, scratch,
                (t, rowShape) => Window(t, rowShape, start, n));
            for (int t = 0; t < tensors.Count; t++)
            {
                var window = Window(t, RowShapes.Get(tensors[t], source.RowShape)!, start, n);
                if (!results[t].Span.Overlaps(window.Span)) results[t].Span.CopyTo(window.Span);
            }
        }
        if (items == 0) return tensors.Select(_ => new NdArray<float>(0, 0)).ToArray();
        return data.Select((d, t) => new NdArray<float>(d, shapes[t])).ToArray();
    }

    /// <summary>
    /// Runs one chunk of <paramref name="n"/> rows. When the row shapes of all outputs are known (learnt from an earlier
    /// run with inputs of the same row shape), ONNX Runtime writes each output into the memory <paramref name="into"/>
    /// returns for it, or into the reusable <paramref name="scratch"/> buffers; otherwise the outputs are copied out of
    /// ONNX Runtime once and their row shapes recorded.
    /// </summary>
    private ReadOnlyMemory<float>[] RunChunk(OnnxSession session, IReadOnlyList<NamedInput> feeds, IReadOnlyList<string> outputs,
        int[] inputRowShape, int n, Scratch scratch, Func<int, int[], Memory<float>?>? into = null)
    {
        var rowShapes = outputs.Select(o => RowShapes.Get(o, inputRowShape)).ToArray();
        if (rowShapes.All(r => r is not null))
        {
            var memories = new Memory<float>[outputs.Count];
            var bound = new NamedOutput[outputs.Count];
            for (int t = 0; t < outputs.Count; t++)
            {
                int size = checked(n * (int)NdArray<float>.ShapeSize(rowShapes[t]!));
                memories[t] = into?.Invoke(t, rowShapes[t]!) ?? scratch[t].Take(size).AsMemory(0, size);
                bound[t] = new NamedOutput(outputs[t], memories[t], [n, .. rowShapes[t]!]);
            }
            session.RunInto(WithHeld(session, feeds, n), bound);
            return memories.Select(m => (ReadOnlyMemory<float>)m).ToArray();
        }
        var results = session.Run(WithHeld(session, feeds, n), outputs);
        for (int t = 0; t < outputs.Count; t++)
        {
            RequireBatchAxis(results[t], outputs[t], n);
            RowShapes.Learn(outputs[t], inputRowShape, results[t].Shape[1..]);
        }
        return results.Select(r => (ReadOnlyMemory<float>)r.Data).ToArray();
    }

    private LearntRowShapes RowShapes { get; } = new();

    /// <summary>One reusable output buffer per output of a chunked run.</summary>
    private sealed class Scratch(int count) : IDisposable
    {
        private readonly PooledBuffer[] _buffers = Enumerable.Range(0, count).Select(_ => new PooledBuffer()).ToArray();

        public PooledBuffer this[int output] => _buffers[output];

        public void Dispose()
        {
            foreach (var b in _buffers) b.Dispose();
        }
    }

    /// <summary>
    /// Forward and backward at the items of <paramref name="source"/>: for each item, the output row, the layer's
    /// activation and the gradient of output element <paramref name="targetOf"/>(item) with respect to the layer.
    /// Items are consumed in order.
    /// </summary>
    void ILayerOracle.LayerGradients(string layer, InputSource source, int items, int chunkRows, Func<int, int> targetOf,
        Action<int, ReadOnlySpan<float>, ReadOnlySpan<float>, ReadOnlySpan<float>> consume, Action<int[]>? layerRowShape) =>
        LayerGradients(layer, source, items, chunkRows, targetOf, consume, layerRowShape);

    internal void LayerGradients(string layer, InputSource source, int items, int chunkRows, Func<int, int> targetOf,
        Action<int, ReadOnlySpan<float>, ReadOnlySpan<float>, ReadOnlySpan<float>> consume, Action<int[]>? layerRowShape = null)
    {
        if (layer == InputName && InputIsTokenIds)
            throw new ArgumentException($"Input '{InputName}' holds token ids, which have no gradient; name the embedding output as the layer.");
        var entry = GradientEntry("at|" + layer, () =>
            GradientGraphBuilder.Build(Model, OutputName, [layer], GradientRuleSet.Standard, [layer]));
        var graph = entry.Graph!;
        string[] outputs = [OutputName, layer, graph.GradientOutputs[0]];
        var outputRowShape = OutputRowShape(source);
        using var scratch = new Scratch(outputs.Length);
        for (int start = 0; start < items; start += chunkRows)
        {
            int n = Math.Min(chunkRows, items - start);
            var seed = Seed(outputRowShape, n, start, targetOf);
            var results = RunChunk(entry.Session, [source.Chunk(InputName, start, n), new NamedInput(graph.SeedInput, seed.Data, seed.Shape)],
                outputs, source.RowShape, n, scratch);
            if (start == 0) layerRowShape?.Invoke(RowShapes.Get(layer, source.RowShape)!);
            int o = results[0].Length / n, a = results[1].Length / n;
            var output = results[0].Span;
            var activation = results[1].Span;
            var gradient = results[2].Span;
            for (int i = 0; i < n; i++)
            {
                consume(start + i, output.Slice(i * o, o), activation.Slice(i * a, a), gradient.Slice(i * a, a));
            }
        }
    }

    /// <summary>
    /// Gradients of the output with respect to the layer when the layer's VALUES are given: the graph is cut at the
    /// layer, <paramref name="fillLayer"/> writes item i's layer values, and whatever else the remaining graph reads
    /// from the model input (a skip connection, token ids feeding a mask or positions) is fed with row
    /// <paramref name="rowOf"/>(i) of <paramref name="originals"/>. Items are consumed in order with their output row
    /// and layer gradient.
    /// </summary>
    void ILayerOracle.CutGradients(string layer, int[] layerRowShape, InputRows originals, Func<int, int> rowOf, int items, int chunkRows,
        Action<int, Span<float>> fillLayer, Func<int, int> targetOf, Action<int, ReadOnlySpan<float>, ReadOnlySpan<float>> consume) =>
        CutGradients(layer, layerRowShape, originals, rowOf, items, chunkRows, fillLayer, targetOf, consume);

    internal void CutGradients(string layer, int[] layerRowShape, InputRows originals, Func<int, int> rowOf, int items, int chunkRows,
        Action<int, Span<float>> fillLayer, Func<int, int> targetOf, Action<int, ReadOnlySpan<float>, ReadOnlySpan<float>> consume)
    {
        var entry = GradientEntry("cut|" + layer, () =>
        {
            var cut = Model.CutAt(layer);
            var others = cut.Inputs.Select(i => i.Name).Where(n => n != layer && n != InputName && !_held.Any(h => h.Name == n)).ToList();
            if (others.Count > 0)
                throw new InvalidOperationException($"The graph cut at '{layer}' reads inputs {string.Join(", ", others)} that cannot be fed.");
            return GradientGraphBuilder.Build(cut, OutputName, [layer], GradientRuleSet.Standard);
        });
        var graph = entry.Graph!;
        bool needsInput = layer != InputName && entry.Model.IsInput(InputName);
        var originalSource = InputSource.Rows(originals, rowOf);
        var outputRowShape = OutputRowShape(InputSource.Rows(originals));
        int layerSize = (int)NdArray<float>.ShapeSize(layerRowShape);
        string[] outputs = [OutputName, graph.GradientOutputs[0]];
        using var layerValues = new PooledBuffer();
        using var scratch = new Scratch(outputs.Length);
        for (int start = 0; start < items; start += chunkRows)
        {
            int n = Math.Min(chunkRows, items - start);
            var values = layerValues.Take(n * layerSize);
            for (int i = 0; i < n; i++) fillLayer(start + i, values.AsSpan(i * layerSize, layerSize));
            var seed = Seed(outputRowShape, n, start, targetOf);
            var feeds = new List<NamedInput>
            {
                new(layer, values, [n, .. layerRowShape]),
                new(graph.SeedInput, seed.Data, seed.Shape),
            };
            if (needsInput) feeds.Add(originalSource.Chunk(InputName, start, n));
            // Both shapes are known: the output's and the gradient's (the layer's).
            int o = (int)NdArray<float>.ShapeSize(outputRowShape);
            var output = scratch[0].Take(n * o).AsMemory(0, n * o);
            var gradient = scratch[1].Take(n * layerSize).AsMemory(0, n * layerSize);
            entry.Session.RunInto(WithHeld(entry.Session, feeds, n), [new NamedOutput(OutputName, output, [n, .. outputRowShape]),
                new NamedOutput(graph.GradientOutputs[0], gradient, [n, .. layerRowShape])]);
            for (int i = 0; i < n; i++)
                consume(start + i, output.Span.Slice(i * o, o), gradient.Span.Slice(i * layerSize, layerSize));
        }
    }

    /// <summary>
    /// Gradient of one layer element (flat index <paramref name="neuron"/> within a row) with respect to the model input,
    /// at the items of <paramref name="source"/>; items consumed in order.
    /// </summary>
    void ILayerOracle.NeuronInputGradients(string layer, int[] layerRowShape, int neuron, InputSource source, int items, int chunkRows,
        Action<int, ReadOnlySpan<float>> consume) => NeuronInputGradients(layer, layerRowShape, neuron, source, items, chunkRows, consume);

    internal void NeuronInputGradients(string layer, int[] layerRowShape, int neuron, InputSource source, int items, int chunkRows,
        Action<int, ReadOnlySpan<float>> consume)
    {
        if (InputIsTokenIds)
            throw new ArgumentException($"Input '{InputName}' holds token ids, which have no gradient.");
        int layerSize = (int)NdArray<float>.ShapeSize(layerRowShape);
        if (neuron < 0 || neuron >= layerSize)
            throw new ArgumentOutOfRangeException(nameof(neuron), neuron, $"Layer '{layer}' has {layerSize} elements per row.");
        var entry = GradientEntry("neuron|" + layer, () =>
            GradientGraphBuilder.Build(Full.WithOutputs([layer]), layer, [InputName], GradientRuleSet.Standard));
        var graph = entry.Graph!;
        RowShapes.Learn(graph.GradientOutputs[0], source.RowShape, source.RowShape); // shaped like the input rows
        using var scratch = new Scratch(1);
        for (int start = 0; start < items; start += chunkRows)
        {
            int n = Math.Min(chunkRows, items - start);
            var seed = new float[n * layerSize];
            for (int i = 0; i < n; i++) seed[i * layerSize + neuron] = 1f;
            var results = RunChunk(entry.Session, [source.Chunk(InputName, start, n), new NamedInput(graph.SeedInput, seed, [n, .. layerRowShape])],
                [graph.GradientOutputs[0]], source.RowShape, n, scratch);
            int g = results[0].Length / n;
            var gradient = results[0].Span;
            for (int i = 0; i < n; i++) consume(start + i, gradient.Slice(i * g, g));
        }
    }

    /// <summary>The output's row shape (learned from one forward pass the first time).</summary>
    internal int[] OutputRowShape(InputSource source)
    {
        if (RowShapes.Get(OutputName, source.RowShape) is null) Evaluate([OutputName], source, 1, 1);
        return RowShapes.Get(OutputName, source.RowShape)!;
    }

    private NdArray<float> Seed(int[] outputRowShape, int n, int start, Func<int, int> targetOf)
    {
        int size = (int)NdArray<float>.ShapeSize(outputRowShape);
        var seed = new NdArray<float>([n, .. outputRowShape]);
        for (int i = 0; i < n; i++)
        {
            int t = targetOf(start + i);
            if (t < 0 || t >= size)
                throw new ArgumentOutOfRangeException(nameof(targetOf), t, $"Output '{OutputName}' has {size} value(s) per row.");
            seed.Data[i * size + t] = 1f;
        }
        return seed;
    }

    private Entry GradientEntry(string key, Func<GradientGraph> build) =>
        _graphs.GetOrAdd(key, _ => new Lazy<Entry>(() =>
        {
            var graph = build();
            return new Entry(graph.Model, graph, OnnxSession.Get(graph.Model.ToBytes(), Options));
        })).Value;

    private static void RequireBatchAxis(NdArray<float> result, string tensor, int rows)
    {
        if (result.Rank == 0 || result.Shape[0] != rows)
            throw new InvalidOperationException($"Tensor '{tensor}' has shape {result.ShapeText} for {rows} input rows; " +
                "its first axis must be the batch axis.");
    }

    private sealed record Entry(OnnxModel Model, GradientGraph? Graph, OnnxSession Session);
}
