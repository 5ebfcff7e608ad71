using Microsoft.ML.Attribution.Oracles;
using Microsoft.ML.Attribution.Tensors;

namespace Microsoft.ML.Attribution.Methods;

/// <summary>
/// Layer Gradient × Activation (Captum's <c>LayerGradientXActivation</c>): attribution = a · ∂f_t/∂a for every element
/// a of the layer, or the plain gradient when <c>multiplyByInputs</c> is false. Shaped like the layer.
/// </summary>
public sealed class LayerGradientXActivation
{
    private readonly ILayerOracle _oracle;

    /// <summary>Creates the method over a layer oracle.</summary>
    /// <param name="oracle">The model and its layer.</param>
    /// <param name="multiplyByInputs">Multiply the gradient by the activation (Captum's default, "global" attribution).</param>
    public LayerGradientXActivation(ILayerOracle oracle, bool multiplyByInputs = true)
    {
        _oracle = oracle ?? throw new ArgumentNullException(nameof(oracle));
        MultiplyByInputs = multiplyByInputs;
    }

    /// <summary>Whether attributions are multiplied by the layer's activations.</summary>
    public bool MultiplyByInputs { get; }

    /// <summary>Attributes each row's target output to the layer's elements (float32 inputs).</summary>
    /// <param name="inputs">Rows, <c>[N, …]</c>.</param>
    /// <param name="target">Output index per row; default each row's prediction.</param>
    /// <param name="attributeToLayerInput">Attribute to the layer's input rather than its output.</param>
    /// <param name="internalBatchSize">Rows per model call; default chosen from the row size.</param>
    public AttributionResult Attribute(NdArray<float> inputs, Target? target = null, bool attributeToLayerInput = false, int? internalBatchSize = null) =>
        Run(InputRows.Of(inputs ?? throw new ArgumentNullException(nameof(inputs))), target, attributeToLayerInput, internalBatchSize);

    /// <summary>Attributes each row's target output to the layer's elements (int64 token ids).</summary>
    /// <param name="tokenIds">Token ids, <c>[N, …]</c>.</param>
    /// <param name="target">Output index per row; default each row's prediction.</param>
    /// <param name="attributeToLayerInput">Attribute to the layer's input rather than its output.</param>
    /// <param name="internalBatchSize">Rows per model call; default chosen from the row size.</param>
    public AttributionResult Attribute(NdArray<long> tokenIds, Target? target = null, bool attributeToLayerInput = false, int? internalBatchSize = null) =>
        Run(InputRows.Of(tokenIds ?? throw new ArgumentNullException(nameof(tokenIds))), target, attributeToLayerInput, internalBatchSize);

    private AttributionResult Run(InputRows rows, Target? target, bool attributeToLayerInput, int? internalBatchSize)
    {
        var (gradients, activations, targets) = LayerGradientsAtInputs.Compute(_oracle, rows, target, attributeToLayerInput, internalBatchSize);
        if (MultiplyByInputs)
        {
            for (int i = 0; i < gradients.Length; i++) gradients.Data[i] *= activations.Data[i];
        }
        return new AttributionResult(gradients, targets);
    }
}

/// <summary>Layer activations and the gradient of each row's target output with respect to them, at the inputs.</summary>
internal static class LayerGradientsAtInputs
{
    public static (NdArray<float> Gradients, NdArray<float> Activations, int[] Targets) Compute(ILayerOracle oracle, InputRows rows,
        Target? target, bool attributeToLayerInput, int? internalBatchSize)
    {
        oracle.Validate(rows);
        string layer = oracle.Resolve(attributeToLayerInput);
        int chunk = oracle.ChunkRows(internalBatchSize, rows.RowSize);
        if ((target ?? Target.Predicted).Explicit(rows.Rows) is { } known)
        {
            // Targets known up front: activations and gradients come from the one forward + backward pass.
            float[]? gradientData = null, activationData = null;
            int[] layerShape = [];
            oracle.LayerGradients(layer, InputSource.Rows(rows), rows.Rows, chunk, r => known[r], (r, _, activation, gradient) =>
            {
                activationData ??= new float[rows.Rows * activation.Length];
                gradientData ??= new float[rows.Rows * gradient.Length];
                activation.CopyTo(activationData.AsSpan(r * activation.Length));
                gradient.CopyTo(gradientData.AsSpan(r * gradient.Length));
            }, shape => layerShape = shape);
            int[] full = [rows.Rows, .. layerShape];
            return (new NdArray<float>(gradientData ?? [], full), new NdArray<float>(activationData ?? [], full), known);
        }
        var evaluated = LayerAttribution.Evaluate(oracle, rows, chunk, oracle.OutputName, layer);
        var targets = LayerAttribution.Targets(oracle, target, evaluated[0]);
        var activations = evaluated[1];
        chunk = oracle.ChunkRows(internalBatchSize, Math.Max(rows.RowSize, activations.RowSize));
        var gradients = new NdArray<float>(activations.Shape);
        oracle.LayerGradients(layer, InputSource.Rows(rows), rows.Rows, chunk, r => targets[r],
            (r, _, _, gradient) => gradient.CopyTo(gradients.Row(r)));
        return (gradients, activations, targets);
    }
}
