using Microsoft.ML.Attribution.Oracles;
using Microsoft.ML.Attribution.Tensors;

namespace Microsoft.ML.Attribution.Methods;

/// <summary>
/// Layer Activation: the values a layer takes for each input row (Captum's <c>LayerActivation</c>), shaped like the
/// layer, <c>[N, …]</c>.
/// </summary>
public sealed class LayerActivation
{
    private readonly ILayerOracle _oracle;

    /// <summary>Creates the method over a layer oracle.</summary>
    public LayerActivation(ILayerOracle oracle) => _oracle = oracle ?? throw new ArgumentNullException(nameof(oracle));

    /// <summary>The layer's activations for float32 input rows.</summary>
    /// <param name="inputs">Rows, <c>[N, …]</c>.</param>
    /// <param name="attributeToLayerInput">Return the layer's input rather than its output.</param>
    /// <param name="internalBatchSize">Rows per model call; default chosen from the row size.</param>
    public NdArray<float> Attribute(NdArray<float> inputs, bool attributeToLayerInput = false, int? internalBatchSize = null) =>
        Run(InputRows.Of(inputs ?? throw new ArgumentNullException(nameof(inputs))), attributeToLayerInput, internalBatchSize);

    /// <summary>The layer's activations for int64 token-id rows.</summary>
    /// <param name="tokenIds">Token ids, <c>[N, …]</c>.</param>
    /// <param name="attributeToLayerInput">Return the layer's input rather than its output.</param>
    /// <param name="internalBatchSize">Rows per model call; default chosen from the row size.</param>
    public NdArray<float> Attribute(NdArray<long> tokenIds, bool attributeToLayerInput = false, int? internalBatchSize = null) =>
        Run(InputRows.Of(tokenIds ?? throw new ArgumentNullException(nameof(tokenIds))), attributeToLayerInput, internalBatchSize);

    private NdArray<float> Run(InputRows rows, bool attributeToLayerInput, int? internalBatchSize)
    {
        _oracle.Validate(rows);
        string layer = _oracle.Resolve(attributeToLayerInput);
        int chunk = _oracle.ChunkRows(internalBatchSize, rows.RowSize);
        return LayerAttribution.Evaluate(_oracle, rows, chunk, layer)[0];
    }
}
