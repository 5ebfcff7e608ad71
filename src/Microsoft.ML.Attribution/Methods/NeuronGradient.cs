using Microsoft.ML.Attribution.Oracles;
using Microsoft.ML.Attribution.Tensors;

namespace Microsoft.ML.Attribution.Methods;

/// <summary>One neuron of a layer: a multi-index into one row of the layer tensor (the batch axis excluded).</summary>
internal static class NeuronSelector
{
    /// <summary>An oracle over the same model whose explained output is the layer tensor (any tensor name).</summary>
    public static OnnxGradientOracle LayerOracle(OnnxGradientOracle model, string layer)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(layer);
        if (!model.Model.HasTensor(layer)) throw new ArgumentException(model.Model.UnknownTensorMessage(layer));
        return new OnnxGradientOracle(model.Model, model.InputName, layer, model.Options);
    }

    /// <summary>The flat index of the neuron within one row of the layer.</summary>
    public static int FlatIndex(OnnxGradientOracle layerOracle, int[] neuron, NdArray<float> sample)
    {
        ArgumentNullException.ThrowIfNull(neuron);
        string layer = layerOracle.OutputName;
        layerOracle.ValidateInput(sample);
        var shape = layerOracle.OutputRowShape(sample);
        if (neuron.Length != shape.Length)
            throw new ArgumentException($"Neuron [{string.Join(", ", neuron)}] has {neuron.Length} indices; rows of layer '{layer}' are shaped {NdArray<float>.FormatShape(shape)}.");
        int flat = 0;
        for (int d = 0; d < shape.Length; d++)
        {
            if (neuron[d] < 0 || neuron[d] >= shape[d])
                throw new ArgumentOutOfRangeException(nameof(neuron), $"Neuron [{string.Join(", ", neuron)}] is outside rows of layer '{layer}' shaped {NdArray<float>.FormatShape(shape)} (axis {d}).");
            flat = flat * shape[d] + neuron[d];
        }
        return flat;
    }
}

/// <summary>NeuronGradient (Captum): the gradient of one neuron of a layer with respect to the input.</summary>
public sealed class NeuronGradient
{
    private readonly OnnxGradientOracle _layer;

    /// <summary>Creates the method for a layer (any tensor name) of the oracle's model.</summary>
    /// <exception cref="ArgumentException">The layer does not exist (the message lists the nearest names).</exception>
    public NeuronGradient(OnnxGradientOracle model, string layer) => _layer = NeuronSelector.LayerOracle(model, layer);

    /// <summary>∂ layer[row][neuron] / ∂ input for every row.</summary>
    /// <param name="inputs">Rows to explain.</param>
    /// <param name="neuron">Index into one row of the layer tensor.</param>
    /// <param name="internalBatchSize">Rows per model call.</param>
    public AttributionResult Attribute(NdArray<float> inputs, int[] neuron, int? internalBatchSize = null)
    {
        int index = NeuronSelector.FlatIndex(_layer, neuron, inputs);
        return new Saliency(_layer).Attribute(inputs, Target.Class(index), abs: false, internalBatchSize);
    }
}

/// <summary>NeuronIntegratedGradients (Captum): Integrated Gradients of one neuron of a layer with respect to the input.</summary>
public sealed class NeuronIntegratedGradients
{
    private readonly OnnxGradientOracle _layer;

    /// <summary>Creates the method for a layer (any tensor name) of the oracle's model.</summary>
    /// <exception cref="ArgumentException">The layer does not exist (the message lists the nearest names).</exception>
    public NeuronIntegratedGradients(OnnxGradientOracle model, string layer) => _layer = NeuronSelector.LayerOracle(model, layer);

    /// <summary>IG of layer[row][neuron] along the straight path from the baseline to each row.</summary>
    /// <param name="inputs">Rows to explain.</param>
    /// <param name="neuron">Index into one row of the layer tensor.</param>
    /// <param name="baselines">Null (zeros), one value, one row, or one per row.</param>
    /// <param name="steps">Integration points (default 50).</param>
    /// <param name="method">Integration rule (default Gauss–Legendre).</param>
    /// <param name="internalBatchSize">Rows × steps per model call.</param>
    public AttributionResult Attribute(NdArray<float> inputs, int[] neuron, NdArray<float>? baselines = null, int steps = 50,
        IntegrationMethod method = IntegrationMethod.GaussLegendre, int? internalBatchSize = null)
    {
        int index = NeuronSelector.FlatIndex(_layer, neuron, inputs);
        return new IntegratedGradients(_layer).Attribute(inputs, baselines, Target.Class(index), steps, method, internalBatchSize);
    }
}
