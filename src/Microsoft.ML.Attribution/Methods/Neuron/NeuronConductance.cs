using Microsoft.ML.Attribution.Oracles;
using Microsoft.ML.Attribution.Tensors;

namespace Microsoft.ML.Attribution.Methods;

/// <summary>
/// Neuron Conductance (Dhamdhere, Sundararajan &amp; Yan, "How Important Is a Neuron?", ICLR 2019), as Captum's
/// <c>NeuronConductance</c>: how much each input element contributes to the target output THROUGH one neuron y of a
/// layer: attribution_i = (x_i − x'_i) · Σ_k w_k · ∂f_t/∂y · ∂y/∂x_i, both gradients at the input path point
/// x' + α_k (x − x'). Captum's default rule here is the trapezoid (riemann_trapezoid), not Gauss–Legendre.
/// Shaped like the input.
/// </summary>
public sealed class NeuronConductance
{
    private readonly ILayerOracle _oracle;

    /// <summary>Creates the method over a layer oracle.</summary>
    /// <param name="oracle">The model and the layer holding the neuron.</param>
    /// <param name="multiplyByInputs">Multiply by (x − baseline) (Captum's default); false returns the integrated gradients alone.</param>
    public NeuronConductance(ILayerOracle oracle, bool multiplyByInputs = true)
    {
        _oracle = oracle ?? throw new ArgumentNullException(nameof(oracle));
        MultiplyByInputs = multiplyByInputs;
    }

    /// <summary>Whether attributions are multiplied by (inputs − baselines).</summary>
    public bool MultiplyByInputs { get; }

    /// <summary>Conductance of each input element through one neuron, for each row's target output.</summary>
    /// <param name="inputs">Rows to explain, <c>[N, …]</c>.</param>
    /// <param name="neuron">Index of the neuron within one row of the layer (one entry per layer axis after the batch axis).</param>
    /// <param name="baselines">Reference inputs: null (zeros), one value, one row, or <c>[N, …]</c>.</param>
    /// <param name="target">Output index per row; default each row's prediction.</param>
    /// <param name="steps">Number of integration points (default 50).</param>
    /// <param name="method">Integration rule (default riemann_trapezoid, as Captum's NeuronConductance).</param>
    /// <param name="internalBatchSize">Rows × steps per model call; default chosen from the row size.</param>
    /// <param name="attributeToNeuronInput">Pick the neuron in the layer's input rather than its output.</param>
    public AttributionResult Attribute(NdArray<float> inputs, int[] neuron, NdArray<float>? baselines = null, Target? target = null,
        int steps = 50, IntegrationMethod method = IntegrationMethod.RiemannTrapezoid, int? internalBatchSize = null,
        bool attributeToNeuronInput = false)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(neuron);
        var rows = InputRows.Of(inputs);
        _oracle.Validate(rows);
        var reference = Baselines.Expand(baselines, inputs, _oracle.InputName);
        _oracle.Validate(InputRows.Of(reference));
        var (alphas, weights) = IntegrationRule.Points(method, steps);
        string layer = _oracle.Resolve(attributeToNeuronInput, nameof(attributeToNeuronInput));
        int n = inputs.Rows, rowSize = inputs.RowSize;
        int chunk = _oracle.ChunkRows(internalBatchSize, rowSize);

        var evaluated = LayerAttribution.Evaluate(_oracle, rows, chunk, _oracle.OutputName, layer);
        var targets = LayerAttribution.Targets(_oracle, target, evaluated[0]);
        var layerShape = evaluated[1].RowShape;
        int flat = NeuronSelector.FlatIndex(layer, layerShape, neuron);
        chunk = _oracle.ChunkRows(internalBatchSize, Math.Max(rowSize, evaluated[1].RowSize));

        // Two graphs per point: ∂f_t/∂layer (read at the neuron) and ∂neuron/∂x; their product is the path gradient.
        var path = InputSource.Path(inputs, reference, alphas);
        int items = n * steps;
        var sums = new double[n * rowSize];
        for (int start = 0; start < items; start += chunk)
        {
            int count = Math.Min(chunk, items - start);
            var outputGradient = new float[count];
            var window = new ShiftedSource(path, start);
            _oracle.LayerGradients(layer, window, count, count, i => targets[(start + i) / steps],
                (i, _, _, gradient) => outputGradient[i] = gradient[flat]);
            _oracle.NeuronInputGradients(layer, layerShape, flat, window, count, count, (i, gradient) =>
            {
                int item = start + i;
                double scale = weights[item % steps] * outputGradient[i];
                var acc = sums.AsSpan(item / steps * rowSize, rowSize);
                for (int j = 0; j < rowSize; j++) acc[j] += scale * gradient[j];
            });
        }

        var attributions = new NdArray<float>(inputs.Shape);
        for (int i = 0; i < attributions.Length; i++)
        {
            attributions.Data[i] = MultiplyByInputs
                ? (float)((inputs.Data[i] - (double)reference.Data[i]) * sums[i])
                : (float)sums[i];
        }
        return new AttributionResult(attributions, targets);
    }

    /// <summary>A window of another source starting at item <c>offset</c>, so two graphs run on the same chunk.</summary>
    private sealed class ShiftedSource(InputSource inner, int offset) : InputSource
    {
        public override int[] RowShape => inner.RowShape;

        public override Runtime.NamedInput Chunk(string name, int start, int count) => inner.Chunk(name, offset + start, count);
    }
}
