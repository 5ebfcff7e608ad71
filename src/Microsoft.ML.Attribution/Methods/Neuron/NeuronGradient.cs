using Microsoft.ML.Attribution.Oracles;
using Microsoft.ML.Attribution.Tensors;

namespace Microsoft.ML.Attribution.Methods;

/// <summary>One neuron of a layer: a multi-index into one row of the layer tensor (the batch axis excluded).</summary>
internal static class NeuronSelector
{
    /// <summary>
    /// The oracle whose output is the layer (or, with <paramref name="attributeToNeuronInput"/>, the layer's input) and
    /// the neuron's flat index within one of its rows.
    /// </summary>
    public static (IGradientOracle Oracle, int Index) Select(ILayerOracle oracle, NdArray<float> inputs, int[] neuron, bool attributeToNeuronInput)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        string tensor = oracle.Resolve(attributeToNeuronInput, nameof(attributeToNeuronInput));
        var layerOracle = oracle.AsGradientOracle(tensor);
        layerOracle.ValidateInput(inputs);
        var firstRow = new NdArray<float>(inputs.Data[..inputs.RowSize], [1, .. inputs.RowShape]);
        var layerRowShape = oracle.Evaluate([tensor], InputSource.Rows(InputRows.Of(firstRow)), 1, 1)[0].RowShape;
        return (layerOracle, FlatIndex(tensor, layerRowShape, neuron));
    }

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

/// <summary>NeuronGradient (Captum): the gradient of one neuron of a layer with respect to the input.</summary>
public sealed class NeuronGradient
{
    private readonly ILayerOracle _oracle;

    /// <summary>Creates the method over a layer oracle (the model and the layer holding the neuron).</summary>
    public NeuronGradient(ILayerOracle oracle) => _oracle = oracle ?? throw new ArgumentNullException(nameof(oracle));

    /// <summary>∂ layer[row][neuron] / ∂ input for every row.</summary>
    /// <param name="inputs">Rows to explain.</param>
    /// <param name="neuron">Index into one row of the layer tensor.</param>
    /// <param name="internalBatchSize">Rows per model call.</param>
    /// <param name="attributeToNeuronInput">Pick the neuron in the layer's input rather than its output.</param>
    public AttributionResult Attribute(NdArray<float> inputs, int[] neuron, int? internalBatchSize = null, bool attributeToNeuronInput = false)
    {
        var (oracle, index) = NeuronSelector.Select(_oracle, inputs, neuron, attributeToNeuronInput);
        return new Saliency(oracle).Attribute(inputs, Target.Class(index), abs: false, internalBatchSize);
    }
}

/// <summary>NeuronIntegratedGradients (Captum): Integrated Gradients of one neuron of a layer with respect to the input.</summary>
public sealed class NeuronIntegratedGradients
{
    private readonly ILayerOracle _oracle;

    /// <summary>Creates the method over a layer oracle (the model and the layer holding the neuron).</summary>
    public NeuronIntegratedGradients(ILayerOracle oracle) => _oracle = oracle ?? throw new ArgumentNullException(nameof(oracle));

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
        var (oracle, index) = NeuronSelector.Select(_oracle, inputs, neuron, attributeToNeuronInput);
        return new IntegratedGradients(oracle).Attribute(inputs, baselines, Target.Class(index), steps, method, internalBatchSize);
    }
}
