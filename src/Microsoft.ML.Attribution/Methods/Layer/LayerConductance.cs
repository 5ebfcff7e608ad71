using Microsoft.ML.Attribution.Oracles;
using Microsoft.ML.Attribution.Tensors;

namespace Microsoft.ML.Attribution.Methods;

/// <summary>
/// Layer Conductance (Dhamdhere, Sundararajan &amp; Yan, "How Important Is a Neuron?", ICLR 2019), as Captum's
/// <c>LayerConductance</c>: the input path baseline + α_k (x − baseline) is evaluated at the n + 1 points of the
/// integration rule for n + 1 steps; with a_k the layer's value and g_k = ∂f_t/∂a at point k,
/// conductance = Σ_{k=0}^{n−1} g_k · (a_{k+1} − a_k). The rule's weights are not used — the layer differences play
/// their part. Convergence delta = Σ conductance − (f(x) − f(baseline)) per row.
/// </summary>
public sealed class LayerConductance
{
    private readonly ILayerOracle _oracle;

    /// <summary>Creates the method over a layer oracle.</summary>
    public LayerConductance(ILayerOracle oracle) => _oracle = oracle ?? throw new ArgumentNullException(nameof(oracle));

    /// <summary>Conductance of each layer element for each row's target output.</summary>
    /// <param name="inputs">Rows to explain, <c>[N, …]</c> (float32: the input path is interpolated).</param>
    /// <param name="baselines">Reference inputs: null (zeros), one value, one row, or <c>[N, …]</c>.</param>
    /// <param name="target">Output index per row; default each row's prediction.</param>
    /// <param name="steps">Captum's n_steps (default 50); n_steps + 1 points are evaluated.</param>
    /// <param name="method">Integration rule whose points are used (default Gauss–Legendre, as Captum).</param>
    /// <param name="internalBatchSize">Rows × points per model call; default chosen from the row size.</param>
    /// <param name="computeConvergenceDelta">Also report Σ conductance − (f(x) − f(baseline)) per row.</param>
    /// <param name="attributeToLayerInput">Attribute to the layer's input rather than its output.</param>
    public AttributionResult Attribute(NdArray<float> inputs, NdArray<float>? baselines = null, Target? target = null, int steps = 50,
        IntegrationMethod method = IntegrationMethod.GaussLegendre, int? internalBatchSize = null, bool computeConvergenceDelta = true,
        bool attributeToLayerInput = false)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        var rows = InputRows.Of(inputs);
        _oracle.Validate(rows);
        var reference = Baselines.Expand(baselines, inputs, _oracle.InputName);
        _oracle.Validate(InputRows.Of(reference));
        var (alphas, _) = IntegrationRule.Points(method, steps + 1);
        string layer = _oracle.Resolve(attributeToLayerInput);
        int n = inputs.Rows, points = steps + 1;
        int chunk = _oracle.ChunkRows(internalBatchSize, inputs.RowSize);

        var endpoints = LayerAttribution.Evaluate(_oracle, InputRows.Concat(rows, InputRows.Of(reference)), chunk, _oracle.OutputName, layer);
        var outputsAtInputs = LayerAttribution.Take(endpoints[0], 0, n);
        var targets = LayerAttribution.Targets(_oracle, target, outputsAtInputs);
        var layerShape = endpoints[1].RowShape;
        int layerSize = endpoints[1].RowSize;

        var attributions = new NdArray<float>([n, .. layerShape]);
        var sums = new double[n * layerSize];
        // Items arrive in order (row-major: row r, point k), so the previous point's gradient is all we keep.
        var previousGradient = new float[layerSize];
        var previousActivation = new float[layerSize];
        chunk = _oracle.ChunkRows(internalBatchSize, Math.Max(inputs.RowSize, layerSize));
        _oracle.LayerGradients(layer, InputSource.Path(inputs, reference, alphas), n * points, chunk, item => targets[item / points],
            (item, _, activation, gradient) =>
            {
                int r = item / points, k = item % points;
                if (k > 0)
                {
                    var acc = sums.AsSpan(r * layerSize, layerSize);
                    // Captum multiplies in float32: (a_{k+1} − a_k) · g_k, then sums over k.
                    for (int j = 0; j < layerSize; j++) acc[j] += (activation[j] - previousActivation[j]) * previousGradient[j];
                }
                gradient.CopyTo(previousGradient);
                activation.CopyTo(previousActivation);
            });
        for (int i = 0; i < sums.Length; i++) attributions.Data[i] = (float)sums[i];
        float[]? delta = computeConvergenceDelta
            ? LayerAttribution.Deltas(attributions, outputsAtInputs, LayerAttribution.Take(endpoints[0], n, n), targets)
            : null;
        return new AttributionResult(attributions, targets, delta);
    }
}
