using Microsoft.ML.Attribution.Autodiff;
using Microsoft.ML.Attribution.Autodiff.RuleSets;
using Microsoft.ML.Attribution.Oracles;
using Microsoft.ML.Attribution.Tensors;

namespace Microsoft.ML.Attribution.Methods;

/// <summary>
/// Layer DeepLIFT (Captum's <c>LayerDeepLift</c>): DeepLIFT's rescale multipliers of the target output with respect to a
/// layer, times the layer's change between the baseline and the input: attribution = (L(x) − L(x₀)) · m. Inputs and
/// baselines run as paired batches; the nonlinearities after the layer use Δout/Δin. Convergence delta per row:
/// Σ attributions − (f(x)[t] − f(x₀)[t]). Shaped like the layer.
/// </summary>
public sealed class LayerDeepLift
{
    private readonly ILayerOracle _oracle;
    private readonly bool _maxPoolRule;

    /// <summary>Creates the method over an ONNX layer oracle.</summary>
    /// <param name="oracle">The model and the layer (an <see cref="OnnxLayerOracle"/>: the rule swap needs the ONNX graph).</param>
    /// <param name="multiplyByInputs">Multiply the multipliers by L(x) − L(x₀) (Captum's default); false returns the multipliers.</param>
    /// <param name="maxPoolRule">Apply DeepLIFT's MaxPool rule (see <see cref="DeepLift"/>); default off, as Captum 0.8 computes.</param>
    public LayerDeepLift(ILayerOracle oracle, bool multiplyByInputs = true, bool maxPoolRule = false)
    {
        _oracle = oracle ?? throw new ArgumentNullException(nameof(oracle));
        MultiplyByInputs = multiplyByInputs;
        _maxPoolRule = maxPoolRule;
    }

    /// <summary>Whether attributions are multiplied by the layer's change.</summary>
    public bool MultiplyByInputs { get; }

    /// <summary>Attributes each row's target output to the layer's elements.</summary>
    /// <param name="inputs">Rows to explain.</param>
    /// <param name="baselines">References: null (zeros), one value, one row, or one per row.</param>
    /// <param name="target">Output index per row; default each row's prediction.</param>
    /// <param name="internalBatchSize">Input rows per model call (each call carries them and their baselines).</param>
    /// <param name="attributeToLayerInput">Attribute to the layer's input rather than its output.</param>
    public AttributionResult Attribute(NdArray<float> inputs, NdArray<float>? baselines = null, Target? target = null,
        int? internalBatchSize = null, bool attributeToLayerInput = false)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        var reference = Baselines.Expand(baselines, inputs, _oracle.InputName);
        var model = RuleSetLayer.Model(_oracle, "LayerDeepLift");
        model.ValidateInput(inputs);
        if (model.MaxRowsPerCall is < 2)
            throw new NotSupportedException($"LayerDeepLift runs inputs and baselines as paired batches; input '{_oracle.InputName}' has a fixed batch of 1.");
        int chunk = DeepLift.PairChunk(model, internalBatchSize, inputs.RowSize);
        var (targets, outputSize) = (target ?? Target.Predicted).ResolveWithWidth(model, inputs, chunk);
        return Run(model, _oracle.Resolve(attributeToLayerInput), inputs, reference, targets, outputSize, chunk);
    }

    /// <summary>The paired-batch pass (also used by <see cref="LayerDeepLiftShap"/>).</summary>
    internal AttributionResult Run(OnnxGradientOracle model, string layer, NdArray<float> inputs, NdArray<float> reference,
        int[] targets, int outputSize, int chunk)
    {
        var rules = _maxPoolRule ? DeepLiftRules.RescaleWithMaxPool : DeepLiftRules.Rescale;
        int rows = inputs.Rows, rowSize = inputs.RowSize;
        NdArray<float>? attributions = null;
        var delta = new float[rows];
        for (int start = 0; start < rows; start += chunk)
        {
            int k = Math.Min(chunk, rows - start);
            var batch = new NdArray<float>([2 * k, .. inputs.RowShape]);
            inputs.Data.AsSpan(start * rowSize, k * rowSize).CopyTo(batch.Data);
            reference.Data.AsSpan(start * rowSize, k * rowSize).CopyTo(batch.Data.AsSpan(k * rowSize));
            var seed = new NdArray<float>(2 * k, outputSize);
            for (int i = 0; i < k; i++)
            {
                seed.Data[i * outputSize + targets[start + i]] = 1f;
                seed.Data[(k + i) * outputSize + targets[start + i]] = 1f;
            }
            var (outputs, values, multipliers) = RuleSetLayer.Run(model, rules, layer, batch, seed);
            int layerSize = values.RowSize;
            attributions ??= new NdArray<float>([rows, .. values.RowShape]);
            for (int i = 0; i < k; i++)
            {
                int r = start + i;
                var x = values.Row(i);
                var b = values.Row(k + i);
                var m = multipliers.Row(i);
                var a = attributions.Row(r);
                double total = 0;
                for (int j = 0; j < layerSize; j++)
                {
                    a[j] = MultiplyByInputs ? (x[j] - b[j]) * m[j] : m[j];
                    total += (x[j] - b[j]) * m[j];
                }
                delta[r] = (float)(total - (outputs.Row(i)[targets[r]] - (double)outputs.Row(k + i)[targets[r]]));
            }
        }
        return new AttributionResult(attributions!, targets, delta);
    }
}

/// <summary>
/// Layer DeepLiftShap (Captum's <c>LayerDeepLiftShap</c>): Layer DeepLIFT against every row of a baseline
/// distribution, averaged. As Captum, the convergence delta has one entry per (row, baseline) pair, the pairs of a row
/// consecutive.
/// </summary>
public sealed class LayerDeepLiftShap
{
    private readonly ILayerOracle _oracle;
    private readonly bool _multiplyByInputs;
    private readonly bool _maxPoolRule;

    /// <summary>Creates the method over an ONNX layer oracle.</summary>
    /// <param name="oracle">The model and the layer (an <see cref="OnnxLayerOracle"/>).</param>
    /// <param name="multiplyByInputs">Multiply by the layer's change (Captum's default).</param>
    /// <param name="maxPoolRule">Apply DeepLIFT's MaxPool rule (see <see cref="DeepLift"/>).</param>
    public LayerDeepLiftShap(ILayerOracle oracle, bool multiplyByInputs = true, bool maxPoolRule = false)
    {
        _oracle = oracle ?? throw new ArgumentNullException(nameof(oracle));
        _multiplyByInputs = multiplyByInputs;
        _maxPoolRule = maxPoolRule;
    }

    /// <summary>Attributes each row's target output to the layer against the baseline distribution.</summary>
    /// <param name="inputs">Rows to explain.</param>
    /// <param name="baselineDistribution">Reference rows <c>[B, …]</c> (at least one).</param>
    /// <param name="target">Output index per row; default each row's prediction.</param>
    /// <param name="internalBatchSize">(row, baseline) pairs per model call.</param>
    /// <param name="attributeToLayerInput">Attribute to the layer's input rather than its output.</param>
    public AttributionResult Attribute(NdArray<float> inputs, NdArray<float> baselineDistribution, Target? target = null,
        int? internalBatchSize = null, bool attributeToLayerInput = false)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(baselineDistribution);
        var model = RuleSetLayer.Model(_oracle, "LayerDeepLiftShap");
        model.ValidateInput(inputs);
        if (!baselineDistribution.RowShape.SequenceEqual(inputs.RowShape) || baselineDistribution.Rows < 1)
            throw new ArgumentException($"Baseline distribution shaped {baselineDistribution.ShapeText} does not fit input '{_oracle.InputName}' " +
                $"rows shaped {NdArray<float>.FormatShape(inputs.RowShape)}; give [B, {string.Join(", ", inputs.RowShape)}].");
        int rows = inputs.Rows, count = baselineDistribution.Rows;
        int chunk = DeepLift.PairChunk(model, internalBatchSize, inputs.RowSize);
        var (targets, outputSize) = (target ?? Target.Predicted).ResolveWithWidth(model, inputs, chunk);
        var expanded = new NdArray<float>([rows * count, .. inputs.RowShape]);
        var references = new NdArray<float>(expanded.Shape);
        for (int r = 0; r < rows; r++)
        {
            for (int b = 0; b < count; b++)
            {
                inputs.Row(r).CopyTo(expanded.Row(r * count + b));
                baselineDistribution.Row(b).CopyTo(references.Row(r * count + b));
            }
        }
        var pairs = new LayerDeepLift(_oracle, _multiplyByInputs, _maxPoolRule).Run(model, _oracle.Resolve(attributeToLayerInput),
            expanded, references, Enumerable.Range(0, rows * count).Select(i => targets[i / count]).ToArray(), outputSize, chunk);
        var attributions = new NdArray<float>([rows, .. pairs.Attributions.RowShape]);
        int size = attributions.RowSize;
        for (int r = 0; r < rows; r++)
        {
            var a = attributions.Row(r);
            var sum = new double[size];
            for (int b = 0; b < count; b++)
            {
                var pair = pairs.Attributions.Row(r * count + b);
                for (int j = 0; j < size; j++) sum[j] += pair[j];
            }
            for (int j = 0; j < size; j++) a[j] = (float)(sum[j] / count);
        }
        return new AttributionResult(attributions, targets, pairs.ConvergenceDelta);
    }
}

/// <summary>Gradients with respect to a layer under a swapped rule set, for the ONNX layer oracle.</summary>
internal static class RuleSetLayer
{
    /// <summary>The gradient oracle of the layer oracle's model and explained output, whose graph can take rule sets.</summary>
    public static OnnxGradientOracle Model(ILayerOracle oracle, string method) => oracle is OnnxLayerOracle onnx
        ? onnx.AsGradientOracle(onnx.OutputName) as OnnxGradientOracle
            ?? throw new NotSupportedException($"{method} swaps rules in the ONNX backward pass of a single-input model; this layer oracle holds further model inputs.")
        : throw new NotSupportedException($"{method} swaps rules in the ONNX backward pass; it needs an OnnxLayerOracle, not {oracle.GetType().Name}.");

    /// <summary>Outputs <c>[n, outputs]</c>, the layer's values and the gradient of the seeded outputs with respect to the layer under <paramref name="rules"/>.</summary>
    public static (NdArray<float> Outputs, NdArray<float> Values, NdArray<float> Gradients) Run(OnnxGradientOracle model, GradientRuleSet rules,
        string layer, NdArray<float> batch, NdArray<float> seed)
    {
        var graph = model.Graph(rules, [layer], [layer]);
        var results = model.Run(graph, batch, seed, [model.OutputName, graph.GradientOutputs[0], layer]);
        int n = batch.Rows;
        var outputs = results[0].Reshape(n, results[0].Length / n);
        return (outputs, AsRows(results[2], layer, n), AsRows(results[1], layer, n));
    }

    private static NdArray<float> AsRows(NdArray<float> tensor, string layer, int rows) =>
        tensor.Rank > 0 && tensor.Shape[0] == rows ? tensor
        : throw new InvalidOperationException($"Layer '{layer}' has shape {tensor.ShapeText} for {rows} input rows; its first axis must be the batch axis.");
}
