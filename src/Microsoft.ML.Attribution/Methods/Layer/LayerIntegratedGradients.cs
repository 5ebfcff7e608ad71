using Microsoft.ML.Attribution.Oracles;
using Microsoft.ML.Attribution.Tensors;

namespace Microsoft.ML.Attribution.Methods;

/// <summary>
/// Layer Integrated Gradients (Captum's <c>LayerIntegratedGradients</c>): Integrated Gradients in the space of a layer.
/// With L(x) the layer's value, the path runs from L(baseline) to L(x): attribution = (L(x) − L(baseline)) ·
/// Σ_k w_k · ∂f_t/∂L at L(baseline) + α_k (L(x) − L(baseline)), the rest of the graph reading the original input
/// (the graph is cut at the layer; a skip connection or a mask computed from token ids still sees x). Works for token
/// ids: attribute to the embedding output, with baseline ids (default all zeros, e.g. the padding id, as Captum).
/// Convergence delta = Σ attribution − (f(x) − f(baseline)) per row, f(baseline) running the whole model on the baseline.
/// </summary>
public sealed class LayerIntegratedGradients
{
    private readonly ILayerOracle _oracle;

    /// <summary>Creates the method over a layer oracle.</summary>
    public LayerIntegratedGradients(ILayerOracle oracle) => _oracle = oracle ?? throw new ArgumentNullException(nameof(oracle));

    /// <summary>Attributes each row's target output to the layer's elements (float32 inputs).</summary>
    /// <param name="inputs">Rows to explain, <c>[N, …]</c>.</param>
    /// <param name="baselines">Reference inputs: null (zeros), one value, one row, or <c>[N, …]</c>.</param>
    /// <param name="target">Output index per row; default each row's prediction.</param>
    /// <param name="steps">Number of integration points (Captum's n_steps, default 50).</param>
    /// <param name="method">Integration rule (default Gauss–Legendre, as Captum).</param>
    /// <param name="internalBatchSize">Rows × steps per model call; default chosen from the row size.</param>
    /// <param name="computeConvergenceDelta">Also report Σ attribution − (f(x) − f(baseline)) per row.</param>
    /// <param name="attributeToLayerInput">Integrate in the space of the layer's input rather than its output.</param>
    public AttributionResult Attribute(NdArray<float> inputs, NdArray<float>? baselines = null, Target? target = null, int steps = 50,
        IntegrationMethod method = IntegrationMethod.GaussLegendre, int? internalBatchSize = null, bool computeConvergenceDelta = true,
        bool attributeToLayerInput = false)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        var reference = Baselines.Expand(baselines, inputs, _oracle.InputName);
        return Run(InputRows.Of(inputs), InputRows.Of(reference), target, steps, method, internalBatchSize, computeConvergenceDelta, attributeToLayerInput);
    }

    /// <summary>Attributes each row's target output to the layer's elements (int64 token ids, e.g. to the embedding output).</summary>
    /// <param name="tokenIds">Token ids to explain, <c>[N, …]</c>.</param>
    /// <param name="baselines">Reference ids: null (all zeros, as Captum), one id (e.g. [PAD]), one row, or <c>[N, …]</c>.</param>
    /// <param name="target">Output index per row; default each row's prediction.</param>
    /// <param name="steps">Number of integration points (default 50).</param>
    /// <param name="method">Integration rule (default Gauss–Legendre).</param>
    /// <param name="internalBatchSize">Rows × steps per model call; default chosen from the row size.</param>
    /// <param name="computeConvergenceDelta">Also report Σ attribution − (f(x) − f(baseline)) per row.</param>
    /// <param name="attributeToLayerInput">Integrate in the space of the layer's input rather than its output.</param>
    public AttributionResult Attribute(NdArray<long> tokenIds, NdArray<long>? baselines = null, Target? target = null, int steps = 50,
        IntegrationMethod method = IntegrationMethod.GaussLegendre, int? internalBatchSize = null, bool computeConvergenceDelta = true,
        bool attributeToLayerInput = false)
    {
        ArgumentNullException.ThrowIfNull(tokenIds);
        var reference = Baselines.Expand(baselines, tokenIds, _oracle.InputName);
        return Run(InputRows.Of(tokenIds), InputRows.Of(reference), target, steps, method, internalBatchSize, computeConvergenceDelta, attributeToLayerInput);
    }

    private AttributionResult Run(InputRows inputs, InputRows reference, Target? target, int steps, IntegrationMethod method,
        int? internalBatchSize, bool computeConvergenceDelta, bool attributeToLayerInput)
    {
        _oracle.Validate(inputs);
        _oracle.Validate(reference);
        var (alphas, weights) = IntegrationRule.Points(method, steps);
        string layer = _oracle.Resolve(attributeToLayerInput);
        int rows = inputs.Rows;
        int chunk = _oracle.ChunkRows(internalBatchSize, inputs.RowSize);

        // Layer values and outputs at inputs and baselines, in one pass of 2N rows.
        var both = LayerAttribution.Evaluate(_oracle, InputRows.Concat(inputs, reference), chunk, _oracle.OutputName, layer);
        var outputsAtInputs = LayerAttribution.Take(both[0], 0, rows);
        var targets = LayerAttribution.Targets(_oracle, target, outputsAtInputs);
        var layerAtInputs = LayerAttribution.Take(both[1], 0, rows);
        var layerAtBaselines = LayerAttribution.Take(both[1], rows, rows);
        int layerSize = layerAtInputs.RowSize;

        chunk = _oracle.ChunkRows(internalBatchSize, Math.Max(inputs.RowSize, layerSize));
        var sums = new double[rows * layerSize];
        _oracle.CutGradients(layer, layerAtInputs.RowShape, inputs, item => item / steps, rows * steps, chunk,
            fillLayer: (item, dst) =>
            {
                int r = item / steps;
                float alpha = (float)alphas[item % steps];
                var x = layerAtInputs.Row(r);
                var b = layerAtBaselines.Row(r);
                for (int j = 0; j < dst.Length; j++) dst[j] = b[j] + alpha * (x[j] - b[j]);
            },
            targetOf: item => targets[item / steps],
            consume: (item, _, gradient) =>
            {
                double w = weights[item % steps];
                var acc = sums.AsSpan(item / steps * layerSize, layerSize);
                for (int j = 0; j < acc.Length; j++) acc[j] += w * gradient[j];
            });

        var attributions = new NdArray<float>(layerAtInputs.Shape);
        for (int i = 0; i < attributions.Length; i++)
            attributions.Data[i] = (float)((layerAtInputs.Data[i] - (double)layerAtBaselines.Data[i]) * sums[i]);
        float[]? delta = computeConvergenceDelta
            ? LayerAttribution.Deltas(attributions, outputsAtInputs, LayerAttribution.Take(both[0], rows, rows), targets)
            : null;
        return new AttributionResult(attributions, targets, delta);
    }
}
