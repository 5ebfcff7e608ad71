using Microsoft.ML.Attribution.Oracles;
using Microsoft.ML.Attribution.Tensors;

namespace Microsoft.ML.Attribution.Methods;

/// <summary>One neuron of a layer: a multi-index into one row of the layer tensor (the batch axis excluded).</summary>
internal static class NeuronSelector
{
    /// <summary>The flat index of <paramref name="neuron"/> within one row of <paramref name="layer"/>, shaped <paramref name="shape"/>.</summary>
    public static int FlatIndex(string layer, int[] shape, int[] neuron)
    {
        ArgumentNullException.ThrowIfNull(neuron);
        if (neuron.Length != shape.Length)
            throw new ArgumentException($"Neuron [{string.Join(", ", neuron)}] has {neuron.Length} indices; layer '{layer}' rows are shaped " +
                $"{NdArray<float>.FormatShape(shape)} ({shape.Length} indices).");
        int flat = 0;
        for (int d = 0; d < shape.Length; d++)
        {
            if (neuron[d] < 0 || neuron[d] >= shape[d])
                throw new ArgumentOutOfRangeException(nameof(neuron), $"Neuron index {neuron[d]} on axis {d + 1} of layer '{layer}' is outside [0, {shape[d]}).");
            flat = flat * shape[d] + neuron[d];
        }
        return flat;
    }
}

/// <summary>
/// The model seen with one layer (or the layer's input) as its output: gradient methods applied to it attribute one
/// neuron of the layer to the input. Built on first use for each of the two tensors and kept.
/// </summary>
internal sealed class NeuronOracles(OnnxLayerOracle oracle)
{
    private readonly Lazy<OnnxGradientOracle>[] _oracles =
    [
        new(() => oracle.AsGradientOracle(oracle.Resolve(false))),
        new(() => oracle.AsGradientOracle(oracle.Resolve(true, "attributeToNeuronInput"))),
    ];

    public OnnxLayerOracle Layer { get; } = oracle ?? throw new ArgumentNullException(nameof(oracle));

    /// <summary>The oracle whose output is the layer (or its input) and the neuron's flat index in one of its rows.</summary>
    public (OnnxGradientOracle Oracle, int Index) For(NdArray<float> inputs, int[] neuron, bool attributeToNeuronInput)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        var layerOracle = _oracles[attributeToNeuronInput ? 1 : 0].Value;
        layerOracle.ValidateInput(inputs);
        return (layerOracle, NeuronSelector.FlatIndex(layerOracle.OutputName, layerOracle.OutputRowShape(inputs), neuron));
    }
}

/// <summary>NeuronGradient (Captum): the gradient of one neuron of a layer with respect to the input.</summary>
public sealed class NeuronGradient
{
    private readonly NeuronOracles _oracles;

    /// <summary>Creates the method over a layer oracle (the model and the layer holding the neuron).</summary>
    public NeuronGradient(OnnxLayerOracle oracle) => _oracles = new NeuronOracles(oracle);

    /// <summary>∂ layer[row][neuron] / ∂ input for every row.</summary>
    /// <param name="inputs">Rows to explain.</param>
    /// <param name="neuron">Index into one row of the layer tensor.</param>
    /// <param name="internalBatchSize">Rows per model call.</param>
    /// <param name="attributeToNeuronInput">Pick the neuron in the layer's input rather than its output.</param>
    public AttributionResult Attribute(NdArray<float> inputs, int[] neuron, int? internalBatchSize = null, bool attributeToNeuronInput = false)
    {
        var (oracle, index) = _oracles.For(inputs, neuron, attributeToNeuronInput);
        return new Saliency(oracle).Attribute(inputs, Target.Class(index), abs: false, internalBatchSize);
    }
}

/// <summary>NeuronIntegratedGradients (Captum): Integrated Gradients of one neuron of a layer with respect to the input.</summary>
public sealed class NeuronIntegratedGradients
{
    private readonly NeuronOracles _oracles;

    /// <summary>Creates the method over a layer oracle (the model and the layer holding the neuron).</summary>
    public NeuronIntegratedGradients(OnnxLayerOracle oracle) => _oracles = new NeuronOracles(oracle);

    /// <summary>IG of layer[row][neuron] along the straight path from the baseline to each row.</summary>
    /// <param name="inputs">Rows to explain.</param>
    /// <param name="neuron">Index into one row of the layer tensor.</param>
    /// <param name="baselines">Null (zeros), one value, one row, or one per row.</param>
    /// <param name="steps">Integration points (default 50).</param>
    /// <param name="method">Integration rule (default Gauss–Legendre).</param>
    /// <param name="internalBatchSize">Rows × steps per model call.</param>
    /// <param name="attributeToNeuronInput">Pick the neuron in the layer's input rather than its output.</param>
    public AttributionResult Attribute(NdArray<float> inputs, int[] neuron, NdArray<float>? baselines = null, int steps = 50,
        IntegrationMethod method = IntegrationMethod.GaussLegendre, int? internalBatchSize = null, bool attributeToNeuronInput = false)
    {
        var (oracle, index) = _oracles.For(inputs, neuron, attributeToNeuronInput);
        return new IntegratedGradients(oracle).Attribute(inputs, baselines, Target.Class(index), steps, method, internalBatchSize);
    }
}
