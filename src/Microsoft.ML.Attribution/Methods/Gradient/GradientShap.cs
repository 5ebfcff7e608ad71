using Microsoft.ML.Attribution.Oracles;
using Microsoft.ML.Attribution.Tensors;

namespace Microsoft.ML.Attribution.Methods;

/// <summary>
/// GradientShap (Lundberg &amp; Lee 2017; Captum's GradientShap): expected gradients. For each row, <c>samples</c> times:
/// add Gaussian noise to the input, draw a baseline from the given distribution and a point α ~ U(0, 1) between them,
/// and take (x̃ − b)·∂f/∂x at b + α(x̃ − b). The attribution is the mean over the samples, and approximates SHAP values
/// when the model is linearisable between inputs and baselines. All samples of all rows run in bounded chunks.
/// </summary>
public sealed class GradientShap
{
    private readonly IGradientOracle _oracle;

    /// <summary>Creates the method over a gradient oracle.</summary>
    public GradientShap(IGradientOracle oracle) => _oracle = oracle ?? throw new ArgumentNullException(nameof(oracle));

    /// <summary>Attributes each row's target output.</summary>
    /// <param name="inputs">Rows to explain.</param>
    /// <param name="baselineDistribution">Reference rows <c>[B, …]</c> the baselines are drawn from.</param>
    /// <param name="target">Output index per row; default each row's prediction.</param>
    /// <param name="samples">Samples per row (Captum's n_samples, default 5).</param>
    /// <param name="stdev">Standard deviation of the input noise (Captum's stdevs, default 0).</param>
    /// <param name="seed">Seed; the same seed gives the same numbers.</param>
    /// <param name="internalBatchSize">Rows × samples per model call; default chosen from the row size.</param>
    public AttributionResult Attribute(NdArray<float> inputs, NdArray<float> baselineDistribution, Target? target = null,
        int samples = 5, double stdev = 0.0, int? seed = null, int? internalBatchSize = null)
    {
        if (samples < 1) throw new ArgumentOutOfRangeException(nameof(samples), samples, "GradientShap needs at least one sample.");
        ArgumentNullException.ThrowIfNull(baselineDistribution);
        var random = RandomDraws.Create(seed);
        int n = inputs.Rows * samples;
        var noise = RandomDraws.Normal(random, inputs.Length * samples, stdev);
        var indices = Enumerable.Range(0, n).Select(_ => (long)random.Next(Math.Max(1, baselineDistribution.Rows))).ToArray();
        var alphas = Enumerable.Range(0, n).Select(_ => (float)random.NextDouble()).ToArray();
        return Attribute(inputs, baselineDistribution, target, samples, new NdArray<float>(noise, [n, .. inputs.RowShape]),
            indices, alphas, internalBatchSize);
    }

    /// <summary>
    /// The same with the random draws given, in Captum's order (the samples of a row are consecutive): noise
    /// <c>[N·samples, …]</c>, baseline row indices and α per sample — e.g. to replay Captum's draws.
    /// </summary>
    internal AttributionResult Attribute(NdArray<float> inputs, NdArray<float> baselineDistribution, Target? target, int samples,
        NdArray<float> noise, long[] baselineIndices, float[] alphas, int? internalBatchSize)
    {
        _oracle.ValidateInput(inputs);
        int rows = inputs.Rows, rowSize = inputs.RowSize, n = rows * samples;
        bool oneRow = baselineDistribution.Shape.SequenceEqual(inputs.RowShape);
        if (!oneRow && !baselineDistribution.RowShape.SequenceEqual(inputs.RowShape))
            throw new ArgumentException($"Baseline distribution shaped {baselineDistribution.ShapeText} does not fit input '{_oracle.InputName}' " +
                $"rows shaped {NdArray<float>.FormatShape(inputs.RowShape)}; give [B, {string.Join(", ", inputs.RowShape)}].");
        if (noise.Length != n * rowSize || baselineIndices.Length != n || alphas.Length != n)
            throw new ArgumentException($"Random draws do not fit {rows} rows × {samples} samples.");
        int baselineRows = oneRow ? 1 : baselineDistribution.Rows;
        foreach (var index in baselineIndices)
        {
            if (index < 0 || index >= baselineRows)
                throw new ArgumentOutOfRangeException(nameof(baselineIndices), index, $"Baseline index out of range [0, {baselineRows}).");
        }
        int chunk = Batcher.ChunkRows(_oracle, internalBatchSize, rowSize);
        var (targets, outputSize) = (target ?? Target.Predicted).ResolveWithWidth(_oracle, inputs, chunk);

        ReadOnlySpan<float> BaselineOf(int item) => baselineDistribution.Data.AsSpan((int)baselineIndices[item] * rowSize, rowSize);
        var sums = new double[inputs.Length];
        Batcher.Gradient(_oracle, n, inputs.RowShape, outputSize, chunk,
            fill: (item, dst) =>
            {
                var x = inputs.Row(item / samples);
                var e = noise.Data.AsSpan(item * rowSize, rowSize);
                var b = BaselineOf(item);
                float alpha = alphas[item];
                for (int j = 0; j < rowSize; j++) dst[j] = alpha * (x[j] + e[j]) + (1f - alpha) * b[j];
            },
            targetOf: item => targets[item / samples],
            consume: (item, gradient, _) =>
            {
                int r = item / samples;
                var x = inputs.Row(r);
                var e = noise.Data.AsSpan(item * rowSize, rowSize);
                var b = BaselineOf(item);
                var acc = sums.AsSpan(r * rowSize, rowSize);
                for (int j = 0; j < rowSize; j++) acc[j] += (x[j] + e[j] - b[j]) * (double)gradient[j];
            });
        var attributions = new NdArray<float>(inputs.Shape);
        for (int i = 0; i < sums.Length; i++) attributions.Data[i] = (float)(sums[i] / samples);
        return new AttributionResult(attributions, targets);
    }
}
