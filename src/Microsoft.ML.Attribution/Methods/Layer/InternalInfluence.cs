using Microsoft.ML.Attribution.Oracles;
using Microsoft.ML.Attribution.Tensors;

namespace Microsoft.ML.Attribution.Methods;

/// <summary>
/// Internal Influence (Leino et al., "Influence-Directed Explanations for Deep Convolutional Networks", 2018), as
/// Captum's <c>InternalInfluence</c>: the gradient of the target output with respect to the layer, integrated along
/// the input path baseline + α (x − baseline): Σ_k w_k · ∂f_t/∂a at point k. Not multiplied by anything; no delta.
/// </summary>
public sealed class InternalInfluence
{
    private readonly ILayerOracle _oracle;

    /// <summary>Creates the method over a layer oracle.</summary>
    public InternalInfluence(ILayerOracle oracle) => _oracle = oracle ?? throw new ArgumentNullException(nameof(oracle));

    /// <summary>Internal influence of each layer element for each row's target output.</summary>
    /// <param name="inputs">Rows to explain, <c>[N, …]</c> (float32: the input path is interpolated).</param>
    /// <param name="baselines">Reference inputs: null (zeros), one value, one row, or <c>[N, …]</c>.</param>
    /// <param name="target">Output index per row; default each row's prediction.</param>
    /// <param name="steps">Number of integration points (Captum's n_steps, default 50).</param>
    /// <param name="method">Integration rule (default Gauss–Legendre, as Captum).</param>
    /// <param name="internalBatchSize">Rows × steps per model call; default chosen from the row size.</param>
    /// <param name="attributeToLayerInput">Attribute to the layer's input rather than its output.</param>
    public AttributionResult Attribute(NdArray<float> inputs, NdArray<float>? baselines = null, Target? target = null, int steps = 50,
        IntegrationMethod method = IntegrationMethod.GaussLegendre, int? internalBatchSize = null, bool attributeToLayerInput = false)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        var rows = InputRows.Of(inputs);
        _oracle.Validate(rows);
        var reference = Baselines.Expand(baselines, inputs, _oracle.InputName);
        _oracle.Validate(InputRows.Of(reference));
        var (alphas, weights) = IntegrationRule.Points(method, steps);
        string layer = _oracle.Resolve(attributeToLayerInput);
        int n = inputs.Rows;
        int chunk = _oracle.ChunkRows(internalBatchSize, inputs.RowSize);

        var evaluated = LayerAttribution.Evaluate(_oracle, rows, chunk, _oracle.OutputName, layer);
        var targets = LayerAttribution.Targets(_oracle, target, evaluated[0]);
        int layerSize = evaluated[1].RowSize;
        var sums = new double[n * layerSize];
        chunk = _oracle.ChunkRows(internalBatchSize, Math.Max(inputs.RowSize, layerSize));
        _oracle.LayerGradients(layer, InputSource.Path(inputs, reference, alphas), n * steps, chunk, item => targets[item / steps],
            (item, _, _, gradient) =>
            {
                double w = weights[item % steps];
                var acc = sums.AsSpan(item / steps * layerSize, layerSize);
                for (int j = 0; j < layerSize; j++) acc[j] += w * gradient[j];
            });
        var attributions = new NdArray<float>(evaluated[1].Shape);
        for (int i = 0; i < sums.Length; i++) attributions.Data[i] = (float)sums[i];
        return new AttributionResult(attributions, targets);
    }
}
