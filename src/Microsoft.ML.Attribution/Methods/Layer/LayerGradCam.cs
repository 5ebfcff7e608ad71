using System.Numerics.Tensors;
using Microsoft.ML.Attribution.Oracles;
using Microsoft.ML.Attribution.Tensors;

namespace Microsoft.ML.Attribution.Methods;

/// <summary>
/// Grad-CAM (Selvaraju et al., "Grad-CAM: Visual Explanations from Deep Networks via Gradient-based Localization",
/// ICCV 2017), as Captum's <c>LayerGradCam</c>: with A the layer <c>[N, C, …]</c> and g = ∂f_t/∂A, the channel weights
/// are w_c = mean of g over the axes after the channel axis (none for a 2-D layer), and the map is Σ_c w_c · A_c kept as
/// <c>[N, 1, …]</c> (or w_c · A_c per channel when <c>attrDimSummation</c> is false), optionally through a ReLU.
/// </summary>
public sealed class LayerGradCam
{
    private readonly ILayerOracle _oracle;

    /// <summary>Creates the method over a layer oracle (typically the last convolution's output).</summary>
    public LayerGradCam(ILayerOracle oracle) => _oracle = oracle ?? throw new ArgumentNullException(nameof(oracle));

    /// <summary>Grad-CAM maps for float32 inputs.</summary>
    /// <param name="inputs">Rows, <c>[N, …]</c>.</param>
    /// <param name="target">Output index per row; default each row's prediction.</param>
    /// <param name="attributeToLayerInput">Use the layer's input rather than its output.</param>
    /// <param name="reluAttributions">Apply a ReLU to the map (the original Grad-CAM; Captum's default is false).</param>
    /// <param name="attrDimSummation">Sum over the channel axis (Captum's default true); false keeps one map per channel.</param>
    /// <param name="internalBatchSize">Rows per model call; default chosen from the row size.</param>
    public AttributionResult Attribute(NdArray<float> inputs, Target? target = null, bool attributeToLayerInput = false,
        bool reluAttributions = false, bool attrDimSummation = true, int? internalBatchSize = null) =>
        Run(InputRows.Of(inputs ?? throw new ArgumentNullException(nameof(inputs))), target, attributeToLayerInput, reluAttributions, attrDimSummation, internalBatchSize);

    /// <summary>Grad-CAM maps for int64 token-id inputs.</summary>
    /// <param name="tokenIds">Token ids, <c>[N, …]</c>.</param>
    /// <param name="target">Output index per row; default each row's prediction.</param>
    /// <param name="attributeToLayerInput">Use the layer's input rather than its output.</param>
    /// <param name="reluAttributions">Apply a ReLU to the map.</param>
    /// <param name="attrDimSummation">Sum over the channel axis.</param>
    /// <param name="internalBatchSize">Rows per model call; default chosen from the row size.</param>
    public AttributionResult Attribute(NdArray<long> tokenIds, Target? target = null, bool attributeToLayerInput = false,
        bool reluAttributions = false, bool attrDimSummation = true, int? internalBatchSize = null) =>
        Run(InputRows.Of(tokenIds ?? throw new ArgumentNullException(nameof(tokenIds))), target, attributeToLayerInput, reluAttributions, attrDimSummation, internalBatchSize);

    private AttributionResult Run(InputRows rows, Target? target, bool attributeToLayerInput, bool relu, bool summation, int? internalBatchSize)
    {
        if ((target ?? Target.Predicted).Explicit(rows.Rows) is { } known)
        {
            // Targets known up front: each row's map is made from the chunk's activations and gradients as they arrive,
            // without gathering the layer's activations and gradients for all rows.
            _oracle.Validate(rows);
            string layer = _oracle.Resolve(attributeToLayerInput);
            NdArray<float>? maps = null;
            int[] layerShape = [];
            _oracle.LayerGradients(layer, InputSource.Rows(rows), rows.Rows, _oracle.ChunkRows(internalBatchSize, rows.RowSize), r => known[r],
                (r, _, activation, gradient) => Map(gradient, activation, maps!.Row(r), layerShape, relu, summation),
                shape => maps = MapsFor(rows.Rows, layerShape = RequireChannels(shape, layer), summation));
            return new AttributionResult(maps ?? new NdArray<float>(0, 1), known);
        }
        var (gradients, activations, targets) = LayerGradientsAtInputs.Compute(_oracle, rows, target, attributeToLayerInput, internalBatchSize);
        var rowShape = RequireChannels(activations.RowShape, _oracle.Resolve(attributeToLayerInput));
        var result = MapsFor(activations.Rows, rowShape, summation);
        for (int r = 0; r < activations.Rows; r++) Map(gradients.Row(r), activations.Row(r), result.Row(r), rowShape, relu, summation);
        return new AttributionResult(result, targets);
    }

    private static int[] RequireChannels(int[] rowShape, string layer) => rowShape.Length >= 1 ? rowShape :
        throw new ArgumentException($"Grad-CAM needs a layer with a channel axis; '{layer}' is shaped {NdArray<float>.FormatShape([-1, .. rowShape])}.");

    private static NdArray<float> MapsFor(int rows, int[] layerRowShape, bool summation) =>
        summation ? new NdArray<float>([rows, 1, .. layerRowShape[1..]]) : new NdArray<float>([rows, .. layerRowShape]);

    // One row: channel weights are the spatial means of the gradient; the map is their weighted sum of activations
    // (or, without summation, each channel's weighted activations); optionally passed through ReLU. Vectorized: this
    // loop was 15% of a Grad-CAM call's sampled time (dotnet-trace) when written element by element.
    private static void Map(ReadOnlySpan<float> g, ReadOnlySpan<float> a, Span<float> map, int[] layerRowShape, bool relu, bool summation)
    {
        int channels = layerRowShape[0];
        int spatial = (int)NdArray<float>.ShapeSize(layerRowShape.AsSpan(1));
        for (int c = 0; c < channels; c++)
        {
            float weight = TensorPrimitives.Sum(g.Slice(c * spatial, spatial)) / spatial;
            var activation = a.Slice(c * spatial, spatial);
            if (summation) TensorPrimitives.MultiplyAdd(activation, weight, map, map);
            else TensorPrimitives.Multiply(activation, weight, map.Slice(c * spatial, spatial));
        }
        if (relu) TensorPrimitives.Max(map, 0f, map);
    }
}
