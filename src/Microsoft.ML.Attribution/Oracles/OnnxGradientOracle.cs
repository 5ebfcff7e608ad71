using Microsoft.ML.Attribution.Autodiff;
using Microsoft.ML.Attribution.Onnx;
using Microsoft.ML.Attribution.Runtime;
using Microsoft.ML.Attribution.Tensors;

namespace Microsoft.ML.Attribution.Oracles;

/// <summary>
/// Forward and gradient oracle over an ONNX model: the forward pass runs the model as it is; gradients run the model
/// extended with its backward pass (built once as plain ONNX ops, cached with its session).
/// </summary>
public sealed class OnnxGradientOracle : IGradientOracle
{
    private readonly object _gate = new();
    private readonly OnnxModel _model;
    private readonly int[]? _rowShape;
    private byte[]? _forwardBytes;
    private GradientGraph? _gradientGraph;
    private byte[]? _gradientBytes;
    private int[]? _outputRowShape;

    /// <summary>Opens an ONNX model file.</summary>
    /// <param name="modelPath">Path of the <c>.onnx</c> file.</param>
    /// <param name="inputName">The input to attribute; default: the model's only (first) input.</param>
    /// <param name="outputName">The output to explain; default: the model's first output.</param>
    /// <param name="options">ONNX Runtime settings; default CPU.</param>
    public OnnxGradientOracle(string modelPath, string? inputName = null, string? outputName = null, RuntimeOptions? options = null)
        : this(OnnxModel.Load(modelPath), inputName, outputName, options) { }

    /// <summary>Wraps ONNX model bytes.</summary>
    public OnnxGradientOracle(byte[] modelBytes, string? inputName = null, string? outputName = null, RuntimeOptions? options = null)
        : this(OnnxModel.Load(modelBytes), inputName, outputName, options) { }

    internal OnnxGradientOracle(OnnxModel model, string? inputName, string? outputName, RuntimeOptions? options)
    {
        Options = options ?? RuntimeOptions.Default;
        if (model.Inputs.Count == 0) throw new ArgumentException("The ONNX model has no inputs.");
        InputName = inputName ?? model.Inputs[0].Name;
        if (!model.IsInput(InputName))
            throw new ArgumentException($"Input '{InputName}' is not an input of the model; its inputs are {string.Join(", ", model.Inputs.Select(i => i.Name))}.");
        var others = model.Inputs.Where(i => i.Name != InputName).Select(i => i.Name).ToList();
        if (others.Count > 0)
            throw new ArgumentException($"The model has further inputs ({string.Join(", ", others)}) besides '{InputName}'; only single-input models are supported by this oracle.");
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
        _model = model.Outputs.Count == 1 && model.Outputs[0].Name == OutputName ? model : model.WithOutputs([OutputName]);
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
    public ExecutionDevice Device => OnnxSession.Get(ForwardBytes, Options).Device;

    private byte[] ForwardBytes
    {
        get { lock (_gate) return _forwardBytes ??= _model.ToBytes(); }
    }

    internal GradientGraph GradientGraph
    {
        get
        {
            lock (_gate)
            {
                if (_gradientGraph is null)
                {
                    _gradientGraph = GradientGraphBuilder.Build(_model, OutputName, [InputName]);
                    _gradientBytes = _gradientGraph.Model.ToBytes();
                }
                return _gradientGraph;
            }
        }
    }

    /// <summary>
    /// Builds the gradient graph now rather than on first use.
    /// </summary>
    /// <exception cref="UnsupportedOperatorException">The model uses ops without gradient rules.</exception>
    public void BuildGradients() => _ = GradientGraph;

    /// <inheritdoc />
    public void ValidateInput(NdArray<float> inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        if (inputs.Rank == 0)
            throw new ArgumentException($"Input '{InputName}' must have a batch axis; got a scalar.");
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
    public NdArray<float> Forward(NdArray<float> inputs)
    {
        var session = OnnxSession.Get(ForwardBytes, Options);
        var output = session.Run([NamedInput.Of(InputName, inputs)], [OutputName])[0];
        lock (_gate) _outputRowShape ??= output.Shape.Length > 0 ? output.Shape[1..] : [];
        return AsRows(output, inputs.Rows);
    }

    /// <inheritdoc />
    public (NdArray<float> Outputs, NdArray<float> Gradients) ForwardBackward(NdArray<float> inputs, NdArray<float> seed)
    {
        var graph = GradientGraph;
        var session = OnnxSession.Get(_gradientBytes!, Options);
        // The seed takes the output's own shape (rows arrive flattened); learn symbolic dims from one forward run.
        if (_outputRowShape is null) Forward(new NdArray<float>(inputs.Data[..inputs.RowSize], [1, .. inputs.RowShape]));
        int[] seedShape = [inputs.Rows, .. _outputRowShape!];
        if (NdArray<float>.ShapeSize(seedShape) != seed.Length)
            throw new ArgumentException($"Seed of {seed.Length} values does not match output '{OutputName}' shaped {NdArray<float>.FormatShape(seedShape)}.");
        var results = session.Run(
            [NamedInput.Of(InputName, inputs), new NamedInput(graph.SeedInput, seed.Data, seedShape)],
            [OutputName, graph.GradientOutputs[0]]);
        return (AsRows(results[0], inputs.Rows), results[1]);
    }

    private NdArray<float> AsRows(NdArray<float> output, int rows)
    {
        if (output.Rank == 0 || output.Shape[0] != rows)
            throw new InvalidOperationException($"Output '{OutputName}' has shape {output.ShapeText} for {rows} input rows; " +
                "its first axis must be the batch axis.");
        return output.Reshape(rows, output.Length / Math.Max(1, rows));
    }
}
