using Microsoft.ML.Attribution.Oracles;
using Microsoft.ML.Attribution.Tensors;

namespace Microsoft.ML.Attribution.Methods;

/// <summary>
/// Layer GradientShap (Captum's <c>LayerGradientShap</c>): GradientShap in a layer's space. For each row,
/// <c>samples</c> times: add Gaussian noise to the input (x̃), draw a baseline b from the distribution and α ~ U(0, 1),
/// and take (L(x̃) − L(b)) · ∂f_t/∂L at the input point α·x̃ + (1 − α)·b. The attribution is the mean over the samples,
/// shaped like the layer. As Captum, the convergence delta has one entry per sample (the samples of a row consecutive):
/// Σ sample attribution − (f(x̃)[t] − f(b)[t]). All samples of all rows run in bounded chunks.
/// </summary>
public sealed class LayerGradientShap
{
    private readonly ILayerOracle _oracle;

    /// <summary>Creates the method over a layer oracle.</summary>
    /// <param name="oracle">The model and the layer.</param>
    /// <param name="multiplyByInputs">Multiply the gradients by L(x̃) − L(b) (Captum's default).</param>
    public LayerGradientShap(ILayerOracle oracle, bool multiplyByInputs = true)
    {
        _oracle = oracle ?? throw new ArgumentNullException(nameof(oracle));
        MultiplyByInputs = multiplyByInputs;
    }

    /// <summary>Whether the gradients are multiplied by the layer's change.</summary>
    public bool MultiplyByInputs { get; }

    /// <summary>Attributes each row's target output to the layer.</summary>
    /// <param name="inputs">Rows to explain.</param>
    /// <param name="baselineDistribution">Reference rows <c>[B, …]</c> the baselines are drawn from.</param>
    /// <param name="target">Output index per row; default each row's prediction.</param>
    /// <param name="samples">Samples per row (Captum's n_samples, default 5).</param>
    /// <param name="stdev">Standard deviation of the input noise (Captum's stdevs, default 0).</param>
    /// <param name="seed">Seed; the same seed gives the same numbers.</param>
    /// <param name="internalBatchSize">Rows × samples per model call.</param>
    /// <param name="attributeToLayerInput">Attribute to the layer's input rather than its output.</param>
    public AttributionResult Attribute(NdArray<float> inputs, NdArray<float> baselineDistribution, Target? target = null, int samples = 5,
        double stdev = 0.0, int? seed = null, int? internalBatchSize = null, bool attributeToLayerInput = false)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(baselineDistribution);
        if (samples < 1) throw new ArgumentOutOfRangeException(nameof(samples), samples, "LayerGradientShap needs at least one sample.");
        var random = RandomDraws.Create(seed);
        int n = inputs.Rows * samples;
        var noise = RandomDraws.Normal(random, inputs.Length * samples, stdev);
        var indices = Enumerable.Range(0, n).Select(_ => (long)random.Next(Math.Max(1, baselineDistribution.Rows))).ToArray();
        var alphas = Enumerable.Range(0, n).Select(_ => (float)random.NextDouble()).ToArray();
        return Attribute(inputs, baselineDistribution, target, samples, new NdArray<float>(noise, [n, .. inputs.RowShape]), indices, alphas,
            internalBatchSize, attributeToLayerInput);
    }

    /// <summary>
    /// The same with the random draws given in Captum's order (the samples of a row consecutive): noise
    /// <c>[N·samples, …]</c>, baseline row indices and α per sample.
    /// </summary>
    internal AttributionResult Attribute(NdArray<float> inputs, NdArray<float> baselineDistribution, Target? target, int samples,
        NdArray<float> noise, long[] baselineIndices, float[] alphas, int? internalBatchSize, bool attributeToLayerInput)
    {
        var rows = InputRows.Of(inputs);
        _oracle.Validate(rows);
        int n = inputs.Rows, rowSize = inputs.RowSize, items = n * samples;
        bool oneRow = baselineDistribution.Shape.SequenceEqual(inputs.RowShape);
        if (!oneRow && !baselineDistribution.RowShape.SequenceEqual(inputs.RowShape))
            throw new ArgumentException($"Baseline distribution shaped {baselineDistribution.ShapeText} does not fit input '{_oracle.InputName}' " +
                $"rows shaped {NdArray<float>.FormatShape(inputs.RowShape)}; give [B, {string.Join(", ", inputs.RowShape)}].");
        var distribution = oneRow ? baselineDistribution.Reshape([1, .. inputs.RowShape]) : baselineDistribution;
        if (noise.Length != items * rowSize || baselineIndices.Length != items || alphas.Length != items)
            throw new ArgumentException($"Random draws do not fit {n} rows × {samples} samples.");
        foreach (var index in baselineIndices)
        {
            if (index < 0 || index >= distribution.Rows)
                throw new ArgumentOutOfRangeException(nameof(baselineIndices), index, $"Baseline index out of range [0, {distribution.Rows}).");
        }
        string layer = _oracle.Resolve(attributeToLayerInput);
        int chunk = _oracle.ChunkRows(internalBatchSize, rowSize);
        var targets = LayerAttribution.Targets(_oracle, target, LayerAttribution.Evaluate(_oracle, rows, chunk, _oracle.OutputName)[0]);

        // Noisy inputs and the points between them and their baselines.
        var noisy = new NdArray<float>([items, .. inputs.RowShape]);
        var points = new NdArray<float>(noisy.Shape);
        for (int item = 0; item < items; item++)
        {
            var x = inputs.Row(item / samples);
            var e = noise.Data.AsSpan(item * rowSize, rowSize);
            var b = distribution.Row((int)baselineIndices[item]);
            var xt = noisy.Row(item);
            var p = points.Row(item);
            float alpha = alphas[item];
            for (int j = 0; j < rowSize; j++)
            {
                xt[j] = x[j] + e[j];
                p[j] = alpha * xt[j] + (1f - alpha) * b[j];
            }
        }
        var noisyEvaluated = LayerAttribution.Evaluate(_oracle, InputRows.Of(noisy), chunk, _oracle.OutputName, layer);
        var baselineEvaluated = LayerAttribution.Evaluate(_oracle, InputRows.Of(distribution), chunk, _oracle.OutputName, layer);
        var (atNoisy, atBaselines) = (noisyEvaluated[1], baselineEvaluated[1]);
        var (outNoisy, outBaselines) = (noisyEvaluated[0].Reshape(items, noisyEvaluated[0].RowSize), baselineEvaluated[0].Reshape(distribution.Rows, baselineEvaluated[0].RowSize));
        int layerSize = atNoisy.RowSize;
        chunk = _oracle.ChunkRows(internalBatchSize, Math.Max(rowSize, layerSize));
        var sums = new double[n * layerSize];
        var delta = new float[items];
        _oracle.LayerGradients(layer, InputSource.Rows(InputRows.Of(points)), items, chunk, item => targets[item / samples],
            (item, _, _, gradient) =>
            {
                var acc = sums.AsSpan(item / samples * layerSize, layerSize);
                var l = atNoisy.Row(item);
                int b = (int)baselineIndices[item];
                var lb = atBaselines.Row(b);
                double total = 0;
                for (int j = 0; j < layerSize; j++)
                {
                    double a = MultiplyByInputs ? (l[j] - lb[j]) * (double)gradient[j] : gradient[j];
                    acc[j] += a;
                    total += a;
                }
                int t = targets[item / samples];
                delta[item] = (float)(total - (outNoisy.Row(item)[t] - (double)outBaselines.Row(b)[t]));
            });
        var attributions = new NdArray<float>([n, .. atNoisy.RowShape]);
        for (int i = 0; i < sums.Length; i++) attributions.Data[i] = (float)(sums[i] / samples);
        return new AttributionResult(attributions, targets, delta);
    }
}
