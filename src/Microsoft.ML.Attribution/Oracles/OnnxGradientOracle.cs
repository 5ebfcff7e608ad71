using Microsoft.ML.Attribution.Autodiff;
using Microsoft.ML.Attribution.Onnx;
using Microsoft.ML.Attribution.Runtime;
using Microsoft.ML.Attribution.Tensors;

namespace Microsoft.ML.Attribution.Oracles;

/// <summary>
/// Forward and gradient oracle over an ONNX model: the forward pass runs the model as it is; gradients run the model
/// extended with its backward pass (built once per rule set and differentiated tensors as plain ONNX ops, cached
/// with its ONNX Runtime session).
/// </summary>
public sealed class OnnxGradientOracle : IRuleSetGradientOracle, IBufferedOracle, Methods.IMemoryEstimate
{
    private readonly object _gate = new();
    private readonly int[]? _rowShape;
    private OnnxSession? _forwardSession;
    private string? _modelHash;
    private readonly LearntRowShapes _rowShapes = new();
    private readonly OnnxModel? _float64Unwrapped;

    /// <summary>Opens an ONNX model file.</summary>
    /// <param name="modelPath">Path of the <c>.onnx</c> file.</param>
    /// <param name="inputName">The input to attribute; default: the model's only (first) input.</param>
    /// <param name="outputName">The output to explain (any tensor of the graph); default: the model's first output.</param>
    /// <param name="options">ONNX Runtime settings; default CPU.</param>
    public OnnxGradientOracle(string modelPath, string? inputName = null, string? outputName = null, RuntimeOptions? options = null)
        : this(OnnxModel.Load(modelPath), inputName, outputName, options) { }

    /// <summary>Wraps ONNX model bytes.</summary>
    public OnnxGradientOracle(byte[] modelBytes, string? inputName = null, string? outputName = null, RuntimeOptions? options = null)
        : this(OnnxModel.Load(modelBytes), inputName, outputName, options) { }

    /// <param name="model">The model.</param>
    /// <param name="inputName">The attributed input.</param>
    /// <param name="outputName">The explained output.</param>
    /// <param name="options">Runtime settings.</param>
    /// <param name="allowOtherInputs">
    /// Accept models with further inputs, which callers then feed through <see cref="Run"/> (e.g. a graph cut at a layer
    /// that still reads the original input through a skip connection).
    /// </param>
    internal OnnxGradientOracle(OnnxModel model, string? inputName, string? outputName, RuntimeOptions? options, bool allowOtherInputs = false)
    {
        Options = options ?? RuntimeOptions.Default;
        if (model.Inputs.Count == 0) throw new ArgumentException("The ONNX model has no inputs.");
        InputName = inputName ?? model.Inputs[0].Name;
        if (!model.IsInput(InputName))
            throw new ArgumentException($"Input '{InputName}' is not an input of the model; its inputs are {string.Join(", ", model.Inputs.Select(i => i.Name))}.");
        OtherInputs = model.Inputs.Where(i => i.Name != InputName).Select(i => i.Name).ToList();
        if (OtherInputs.Count > 0 && !allowOtherInputs)
            throw new ArgumentException($"The model has further inputs ({string.Join(", ", OtherInputs)}) besides '{InputName}'; this oracle feeds one input. " +
                "Use MultiInputModel (Microsoft.ML.Attribution.MultiInput) to attribute some inputs and hold the others.");
        OutputName = outputName ?? model.Outputs[0].Name;
        model.RequireTensor(OutputName);
        var inputType = model.Types[InputName];
        if (inputType.ElemType is not (OnnxDataType.Float or OnnxDataType.Undefined))
            throw new ArgumentException($"Input '{InputName}' has type {OnnxDataType.Name(inputType.ElemType)}; this oracle feeds float32 tensors.");
        if (inputType.Shape is { Length: > 0 } shape)
        {
            if (shape[0].Value is long fixedRows) MaxRowsPerCall = (int)fixedRows;
            if (shape[1..].All(d => d.IsKnown)) _rowShape = shape[1..].Select(d => (int)d.Value!.Value).ToArray();
        }
        // Expose the explained output even when it is an intermediate tensor.
        Model = model.Outputs.Count == 1 && model.Outputs[0].Name == OutputName ? model : model.WithOutputs([OutputName]);
        if (Options.Precision == ComputePrecision.Float64)
        {
            // Recurrent nodes are unrolled first: ONNX Runtime has no float64 LSTM/GRU/RNN kernel, their unrolled ops do.
            if (OtherInputs.Count > 0)
                throw new NotSupportedException("The float64 mode supports single-input models only; use ComputePrecision.Float32 here.");
            // Gradient graphs are built on the float64 graph before its float32-only ops are put between Casts, so that
            // their gradient rules run in float64; only those ops' forward values are rounded.
            _float64Unwrapped = Float64Conversion.ToFloat64(RecurrentLowering.Lower(Model).Model, Options.RequireFloat64Kernels, wrap: false);
            Model = Float64Conversion.WrapFloat32Only(_float64Unwrapped, strict: false);
        }
    }

    /// <inheritdoc />
    public string InputName { get; }

    /// <inheritdoc />
    public string OutputName { get; }

    /// <inheritdoc />
    public int? MaxRowsPerCall { get; }

    /// <summary>The ONNX Runtime settings.</summary>
    public RuntimeOptions Options { get; }

    /// <summary>The device the forward session runs on (CPU when CUDA was asked for but is not available).</summary>
    public ExecutionDevice Device => ForwardSession.Device;

    /// <summary>The forward model, with the explained output as its only output.</summary>
    internal OnnxModel Model { get; }

    /// <inheritdoc />
    // The backward pass keeps the forward activations and adds about as much again.
    long Methods.IMemoryEstimate.BytesPerRow => _bytesPerRow ??= 2 * Model.EstimatedBytesPerRow();

    private long? _bytesPerRow;

    /// <summary>The shape of one input row when the model fixes it (e.g. [C, H, W]), else null.</summary>
    internal int[]? RowShape => _rowShape;

    /// <summary>Model inputs besides the attributed one (only when constructed with allowOtherInputs).</summary>
    internal IReadOnlyList<string> OtherInputs { get; }

    private OnnxSession ForwardSession
    {
        get
        {
            lock (_gate)
            {
                if (_forwardSession is null)
                {
                    _forwardSession = _modelHash is not null ? OnnxSession.TryGet(_modelHash, Options) : null;
                    _forwardSession ??= OnnxSession.Get(Model.ToBytes(), Options);
                    _modelHash = _forwardSession.ModelHash;
                }
                return _forwardSession;
            }
        }
    }

    /// <summary>SHA-256 of the forward model's bytes: the key of its sessions and gradient graphs, in memory and on disk.</summary>
    private string ModelHash
    {
        get { lock (_gate) return _modelHash ??= _forwardSession?.ModelHash ?? DiskCache.Hash(Model.ToBytes()); }
    }

    /// <summary>
    /// The gradient graph of the output with respect to <paramref name="wrt"/> under <paramref name="rules"/>, returning
    /// <paramref name="extraOutputs"/> as well, with its session: built on first use, shared by every oracle over the
    /// same model in the process, and kept between processes under <see cref="RuntimeOptions.CacheDirectory"/>.
    /// </summary>
    internal GradientSession Graph(GradientRuleSet rules, IReadOnlyList<string> wrt, IReadOnlyList<string>? extraOutputs = null) =>
        GradientSessions.Get(_float64Unwrapped ?? Model, ModelHash, OutputName, wrt, rules, extraOutputs, Options);

    /// <summary>The same model, input and output seen through one of its tensors, for the layer methods.</summary>
    /// <param name="layer">Name of the layer tensor (any float tensor of the graph).</param>
    /// <exception cref="ArgumentException">The tensor does not exist (the message lists the nearest names).</exception>
    /// <exception cref="NotSupportedException">The oracle runs in <see cref="ComputePrecision.Float64"/>.</exception>
    public OnnxLayerOracle AtLayer(string layer) => new(Model, layer, InputName, OutputName, Options);

    /// <summary>Builds the standard gradient graph now rather than on first use.</summary>
    /// <exception cref="UnsupportedOperatorException">The model uses ops without gradient rules.</exception>
    public void BuildGradients() => _ = Graph(GradientRuleSet.Standard, [InputName]);

    /// <inheritdoc />
    public void ValidateInput(NdArray<float> inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        if (inputs.Rank == 0)
            throw new ArgumentException($"Input '{InputName}' must have a batch axis; got a scalar.");
        if (inputs.Rows == 0)
            throw new ArgumentException($"Input '{InputName}' has 0 rows (shape {inputs.ShapeText}); at least one row is needed.");
        if (_rowShape is not null && !inputs.RowShape.SequenceEqual(_rowShape))
            throw new ArgumentException($"Input '{InputName}' expects rows shaped {NdArray<float>.FormatShape(_rowShape)} " +
                $"(batch {NdArray<float>.FormatShape([-1, .. _rowShape])}); got {inputs.ShapeText}.");
        for (int i = 0; i < inputs.Length; i++)
        {
            if (!float.IsFinite(inputs.Data[i]))
                throw new ArgumentException($"Input '{InputName}' holds {inputs.Data[i]} at flat index {i} (row {i / Math.Max(1, inputs.RowSize)}); inputs must be finite.");
        }
    }

    /// <inheritdoc />
    public NdArray<float> Forward(NdArray<float> inputs) => Forward(inputs, []);

    /// <summary>Forward pass feeding the other model inputs as well.</summary>
    internal NdArray<float> Forward(NdArray<float> inputs, IReadOnlyList<NamedInput> otherInputs)
    {
        if (KnownOutputRowShape(inputs.Shape) is { } rowShape)
        {
            // Shape known: ONNX Runtime writes straight into the result array.
            var result = new NdArray<float>([inputs.Rows, .. rowShape]);
            ForwardSession.RunInto([NamedInput.Of(InputName, inputs), .. otherInputs], [new NamedOutput(OutputName, result.Data, result.Shape)]);
            return AsRows(result, inputs.Rows);
        }
        var output = ForwardSession.Run([NamedInput.Of(InputName, inputs), .. otherInputs], [OutputName])[0];
        var rows = AsRows(output, inputs.Rows); // checks the batch axis before the shape is trusted for binding
        _rowShapes.Learn(OutputName, inputs.RowShape, output.Shape[1..]);
        return rows;
    }

    /// <inheritdoc />
    public (NdArray<float> Outputs, NdArray<float> Gradients) ForwardBackward(NdArray<float> inputs, NdArray<float> seed)
    {
        var graph = Graph(GradientRuleSet.Standard, [InputName]);
        var results = Run(graph, inputs, seed, [OutputName, graph.GradientOutputs[0]]);
        return (AsRows(results[0], inputs.Rows), results[1]);
    }

    /// <inheritdoc />
    public (NdArray<float> Outputs, NdArray<float> Gradients) ForwardBackward(NdArray<float> inputs, NdArray<float> seed, GradientRules rules)
    {
        var graph = Graph(RuleSet(rules), [InputName]);
        var results = Run(graph, inputs, seed, [OutputName, graph.GradientOutputs[0]]);
        return (AsRows(results[0], inputs.Rows), results[1]);
    }

    internal static GradientRuleSet RuleSet(GradientRules rules) => rules switch
    {
        GradientRules.Standard => GradientRuleSet.Standard,
        GradientRules.DeepLiftRescale => Autodiff.RuleSets.DeepLiftRules.Rescale,
        GradientRules.DeepLiftRescaleWithMaxPool => Autodiff.RuleSets.DeepLiftRules.RescaleWithMaxPool,
        GradientRules.GuidedBackprop => Autodiff.RuleSets.GuidedBackpropRules.Guided,
        GradientRules.Deconvolution => Autodiff.RuleSets.GuidedBackpropRules.Deconvolution,
        GradientRules.DeepLiftCaptum => Autodiff.RuleSets.DeepLiftRules.CaptumHooks,
        _ => throw new ArgumentOutOfRangeException(nameof(rules), rules, "Unknown gradient rule set."),
    };

    int[] IBufferedOracle.OutputRowShape(ReadOnlySpan<float> firstRow, int[] rowShape)
    {
        return KnownOutputRowShape([1, .. rowShape]) ?? LearnOutputRowShape(new NdArray<float>(firstRow.ToArray(), [1, .. rowShape]), []);
    }

    void IBufferedOracle.ForwardInto(float[] inputs, int[] shape, Memory<float> outputs) =>
        ForwardSession.RunInto([new NamedInput(InputName, inputs, shape)],
            [new NamedOutput(OutputName, outputs, [shape[0], .. RequireOutputRowShape(shape)])]);

    void IBufferedOracle.ForwardBackwardInto(float[] inputs, int[] shape, float[] seed, Memory<float> outputs, Memory<float> gradients)
    {
        var graph = Graph(GradientRuleSet.Standard, [InputName]);
        var session = graph.Session;
        int[] outputShape = [shape[0], .. RequireOutputRowShape(shape)];
        session.RunInto([new NamedInput(InputName, inputs, shape), new NamedInput(graph.SeedInput, seed, outputShape)],
            [new NamedOutput(OutputName, outputs, outputShape), new NamedOutput(graph.GradientOutputs[0], gradients, shape)]);
    }

    private int[] RequireOutputRowShape(int[] inputShape) => KnownOutputRowShape(inputShape) ?? throw new InvalidOperationException(
        $"The shape of output '{OutputName}' for inputs shaped {NdArray<float>.FormatShape(inputShape)} is learnt from a first forward run; none has run yet.");

    private int[]? KnownOutputRowShape(int[] inputShape) => _rowShapes.Get(OutputName, inputShape.AsSpan(Math.Min(1, inputShape.Length)));

    private int[] LearnOutputRowShape(NdArray<float> firstRow, IReadOnlyList<NamedInput> otherInputs)
    {
        Forward(firstRow, otherInputs);
        return KnownOutputRowShape(firstRow.Shape)!;
    }

    /// <summary>
    /// Runs a gradient graph of this oracle on <c>[n, …]</c> rows with a seed of <c>[n, outputs per row]</c> values
    /// (reshaped to the output's own shape), returning the named outputs (forward tensors or gradients). Outputs whose
    /// shapes are known before the run (the explained output, gradients of the input) are written by ONNX Runtime
    /// straight into the returned arrays.
    /// </summary>
    internal NdArray<float>[] Run(GradientSession graph, NdArray<float> inputs, NdArray<float> seed, IReadOnlyList<string> outputs,
        IReadOnlyList<NamedInput>? otherInputs = null)
    {
        var session = graph.Session;
        otherInputs ??= [];
        // The seed takes the output's own shape (rows arrive flattened); learn symbolic dims from one forward run.
        var outputRowShape = KnownOutputRowShape(inputs.Shape) ?? LearnOutputRowShape(FirstRow(inputs), otherInputs.Select(FirstRow).ToList());
        int[] seedShape = [inputs.Rows, .. outputRowShape];
        if (NdArray<float>.ShapeSize(seedShape) != seed.Length)
            throw new ArgumentException($"Seed of {seed.Length} values does not match output '{OutputName}' shaped {NdArray<float>.FormatShape(seedShape)}.");
        List<NamedInput> feeds = [NamedInput.Of(InputName, inputs), new NamedInput(graph.SeedInput, seed.Data, seedShape), .. otherInputs];
        int wrtInput = graph.Wrt.ToList().IndexOf(InputName);
        int[]? KnownShape(string name) =>
            name == OutputName ? seedShape : wrtInput >= 0 && name == graph.GradientOutputs[wrtInput] ? inputs.Shape : null;
        if (outputs.All(o => KnownShape(o) is not null))
        {
            var results = outputs.Select(o => new NdArray<float>(KnownShape(o)!)).ToArray();
            session.RunInto(feeds, outputs.Select((o, k) => new NamedOutput(o, results[k].Data, results[k].Shape)).ToList());
            return results;
        }
        return session.Run(feeds, outputs);
    }

    /// <summary>The shape of one row of the explained output, learnt from a forward run of <paramref name="sample"/>'s first row if needed.</summary>
    internal int[] OutputRowShape(NdArray<float> sample)
    {
        return KnownOutputRowShape(sample.Shape) ?? LearnOutputRowShape(FirstRow(sample), []);
    }

    private static NdArray<float> FirstRow(NdArray<float> batch) =>
        new(batch.Data[..batch.RowSize], [1, .. batch.RowShape]);

    private static NamedInput FirstRow(NamedInput input)
    {
        int rowSize = input.Shape.Length == 0 ? 1 : (int)NdArray<float>.ShapeSize(input.Shape.AsSpan(1));
        var row = Array.CreateInstance(input.Data.GetType().GetElementType()!, rowSize);
        Array.Copy(input.Data, input.Offset, row, 0, rowSize);
        return new NamedInput(input.Name, row, [1, .. input.Shape[1..]]);
    }

    private NdArray<float> AsRows(NdArray<float> output, int rows)
    {
        if (output.Rank == 0 || output.Shape[0] != rows)
            throw new InvalidOperationException($"Output '{OutputName}' has shape {output.ShapeText} for {rows} input rows; " +
                "its first axis must be the batch axis.");
        return output.Reshape(rows, output.Length / Math.Max(1, rows));
    }
}
