using Microsoft.ML.Attribution.Oracles;
using Microsoft.ML.Attribution.Runtime;

namespace Microsoft.ML.Attribution.MLNet;

/// <summary>What an explanation step explains: ONNX model bytes (gradients available) or a fitted ML.NET predictor.</summary>
internal sealed class ExplainedModel
{
    private readonly object _gate = new();
    private IForwardOracle? _oracle;
    private OnnxLayerOracle? _layerOracle;

    private ExplainedModel(byte[]? onnx, ITransformer? predictor)
    {
        OnnxBytes = onnx;
        Predictor = predictor;
    }

    public static ExplainedModel Onnx(byte[] bytes) => new(bytes ?? throw new ArgumentNullException(nameof(bytes)), null);

    public static ExplainedModel MLNet(ITransformer predictor) => new(null, predictor ?? throw new ArgumentNullException(nameof(predictor)));

    public byte[]? OnnxBytes { get; }

    /// <summary>The ML.NET model scoring the feature vector (the last transformer of a fitted chain).</summary>
    public ITransformer? Predictor { get; }

    public bool HasGradients => OnnxBytes is not null;

    /// <summary>The layer oracle of an ONNX model, created once.</summary>
    public OnnxLayerOracle LayerOracle(ExplainOptions options, Action<string>? log)
    {
        lock (_gate)
        {
            return _layerOracle ??= new OnnxLayerOracle(OnnxBytes ?? throw new InvalidOperationException("Layer methods need an ONNX model."),
                options.Layer!, outputName: options.OnnxOutputName,
                options: new RuntimeOptions { Device = options.UseCuda ? ExecutionDevice.Cuda : ExecutionDevice.Cpu, Log = log });
        }
    }

    /// <summary>How many times <see cref="Oracle"/> built an oracle (tests prove serving reuses the batched path's).</summary>
    internal int OracleBuilds { get; private set; }

    /// <summary>The oracle, created once (its ONNX Runtime sessions are cached with it).</summary>
    public IForwardOracle Oracle(ExplainOptions options, DataViewSchema schema, Action<string>? log)
    {
        lock (_gate)
        {
            if (_oracle is null) OracleBuilds++;
            return _oracle ??= OnnxBytes is not null
                ? new OnnxGradientOracle(OnnxBytes, outputName: options.OnnxOutputName,
                    options: new RuntimeOptions { Device = options.UseCuda ? ExecutionDevice.Cuda : ExecutionDevice.Cpu, Log = log })
                : new MLNetForwardOracle(Predictor!, schema, options.InputColumnName);
        }
    }
}
