using Microsoft.ML.Attribution.Oracles;
using Microsoft.ML.Attribution.Tensors;

namespace Microsoft.ML.Attribution.Methods;

/// <summary>
/// Guided Grad-CAM (Selvaraju et al. 2017; Captum's GuidedGradCam): the Grad-CAM map of a layer (with ReLU), resized to
/// the input's spatial size by nearest-neighbour interpolation (PyTorch's rule: source index ⌊i · in/out⌋), times the
/// guided-backpropagation attribution, channel by channel. Inputs are <c>[N, C, spatial…]</c>.
/// </summary>
public sealed class GuidedGradCam
{
    private readonly GuidedBackprop _guided;
    private readonly LayerGradCam _gradCam;

    /// <summary>Creates the method from the model and the same model seen at a layer (typically the last convolution's output).</summary>
    /// <param name="model">The model, for guided backpropagation (e.g. an <see cref="OnnxGradientOracle"/>).</param>
    /// <param name="layer">The model at the Grad-CAM layer (e.g. <see cref="OnnxGradientOracle.AtLayer"/>).</param>
    public GuidedGradCam(IRuleSetGradientOracle model, ILayerOracle layer)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(layer);
        if (layer.InputName != model.InputName || layer.OutputName != model.OutputName)
            throw new ArgumentException($"The layer oracle explains '{layer.OutputName}' from '{layer.InputName}'; the model explains " +
                $"'{model.OutputName}' from '{model.InputName}'. Both must see the same input and output.", nameof(layer));
        _guided = new GuidedBackprop(model);
        _gradCam = new LayerGradCam(layer);
    }

    /// <summary>Guided Grad-CAM attributions, shaped like the inputs.</summary>
    /// <param name="inputs">Rows <c>[N, C, spatial…]</c>.</param>
    /// <param name="target">Output index per row; default each row's prediction.</param>
    /// <param name="attributeToLayerInput">Use the layer's input for Grad-CAM.</param>
    /// <param name="internalBatchSize">Rows per model call.</param>
    public AttributionResult Attribute(NdArray<float> inputs, Target? target = null, bool attributeToLayerInput = false, int? internalBatchSize = null)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        if (inputs.Rank < 3)
            throw new ArgumentException($"Guided Grad-CAM needs inputs shaped [N, C, spatial…]; got {inputs.ShapeText}.");
        var guided = _guided.Attribute(inputs, target, internalBatchSize);
        var cam = _gradCam.Attribute(inputs, Target.PerRow(guided.Targets), attributeToLayerInput, reluAttributions: true,
            internalBatchSize: internalBatchSize).Attributions;
        var spatial = inputs.Shape[2..];
        var camSpatial = cam.Shape[2..];
        if (camSpatial.Length != spatial.Length)
            throw new ArgumentException($"The Grad-CAM map {cam.ShapeText} has {camSpatial.Length} spatial axes; the inputs {inputs.ShapeText} have {spatial.Length}.");
        int channels = inputs.Shape[1], area = (int)NdArray<float>.ShapeSize(spatial), camArea = (int)NdArray<float>.ShapeSize(camSpatial);
        // Nearest source element of the map for each input position.
        var source = new int[area];
        var index = new int[spatial.Length];
        for (int p = 0; p < area; p++)
        {
            int rest = p, flat = 0;
            for (int d = spatial.Length - 1; d >= 0; d--) { index[d] = rest % spatial[d]; rest /= spatial[d]; }
            for (int d = 0; d < spatial.Length; d++)
                flat = flat * camSpatial[d] + Math.Min(camSpatial[d] - 1, (int)Math.Floor(index[d] * (double)camSpatial[d] / spatial[d]));
            source[p] = flat;
        }
        var result = guided.Attributions;
        for (int r = 0; r < inputs.Rows; r++)
        {
            var map = cam.Data.AsSpan(r * camArea * cam.Shape[1], camArea);
            var row = result.Row(r);
            for (int c = 0; c < channels; c++)
            {
                for (int p = 0; p < area; p++) row[c * area + p] *= map[source[p]];
            }
        }
        return new AttributionResult(result, guided.Targets);
    }
}
