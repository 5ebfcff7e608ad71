using Microsoft.ML.Attribution.Oracles;
using Microsoft.ML.Attribution.Tensors;

namespace Microsoft.ML.Attribution.Methods;

/// <summary>How NoiseTunnel combines the attributions of the noisy copies of a row.</summary>
public enum NoiseTunnelType
{
    /// <summary>Mean (SmoothGrad, Smilkov et al. 2017).</summary>
    SmoothGrad,

    /// <summary>Mean of squares.</summary>
    SmoothGradSquared,

    /// <summary>Variance: mean of squares minus square of the mean (VarGrad, Adebayo et al. 2018).</summary>
    VarGrad,
}

/// <summary>
/// NoiseTunnel (Captum): runs a base attribution method on <c>samples</c> noisy copies x + N(0, σ²) of every row and
/// combines them (SmoothGrad, SmoothGrad², VarGrad). All copies of all rows go to the base method as one batch, in
/// Captum's order (the copies of a row are consecutive); baselines and targets are repeated alongside.
/// Targets are resolved once on the clean rows, so every copy explains the same output.
/// </summary>
public sealed class NoiseTunnel
{
    private readonly IForwardOracle _oracle;
    private readonly IAttributionMethod _method;

    /// <summary>
    /// Wraps a base method object, e.g. <c>MethodRegistry.Get("saliency").Bind(oracle, new SaliencyOptions { Abs = false })</c>;
    /// its model validates rows and resolves predicted targets.
    /// </summary>
    /// <param name="method">The base method, bound to its model and options.</param>
    public NoiseTunnel(IAttributionMethod method)
    {
        _method = method ?? throw new ArgumentNullException(nameof(method));
        _oracle = method.Model ?? throw new ArgumentException($"The base method '{method.Name}' has no model.", nameof(method));
    }

    /// <summary>The wrapped method.</summary>
    public IAttributionMethod BaseMethod => _method;

    /// <summary>Attributes each row with the noise-averaged base method.</summary>
    /// <param name="inputs">Rows to explain.</param>
    /// <param name="type">How copies are combined (Captum's nt_type; default SmoothGrad).</param>
    /// <param name="samples">Noisy copies per row (Captum's nt_samples; default 5).</param>
    /// <param name="stdev">Standard deviation of the Gaussian noise (Captum's stdevs; default 1.0).</param>
    /// <param name="baselines">Baselines for the base method (repeated for each copy), or null.</param>
    /// <param name="target">Output index per row; default each row's prediction on the clean input.</param>
    /// <param name="seed">Seed of the noise; the same seed gives the same numbers.</param>
    public AttributionResult Attribute(NdArray<float> inputs, NoiseTunnelType type = NoiseTunnelType.SmoothGrad, int samples = 5,
        double stdev = 1.0, NdArray<float>? baselines = null, Target? target = null, int? seed = null)
    {
        if (samples < 1) throw new ArgumentOutOfRangeException(nameof(samples), samples, "NoiseTunnel needs at least one sample.");
        if (stdev < 0) throw new ArgumentOutOfRangeException(nameof(stdev), stdev, "The noise standard deviation must be non-negative.");
        var noise = RandomDraws.Normal(RandomDraws.Create(seed), inputs.Length * samples, stdev);
        return Attribute(inputs, type, samples, new NdArray<float>(noise, [inputs.Rows * samples, .. inputs.RowShape]), baselines, target);
    }

    /// <summary>The same with the noise given (<c>[N·samples, …]</c>, copies of a row consecutive), e.g. to replay Captum's draws.</summary>
    internal AttributionResult Attribute(NdArray<float> inputs, NoiseTunnelType type, int samples, NdArray<float> noise,
        NdArray<float>? baselines, Target? target)
    {
        _oracle.ValidateInput(inputs);
        int rows = inputs.Rows, rowSize = inputs.RowSize;
        if (noise.Length != inputs.Length * samples)
            throw new ArgumentException($"Noise of {noise.Length} values does not fit {rows} rows × {samples} samples of {rowSize} values.");
        int chunk = Batcher.ChunkRows(_oracle, null, rowSize);
        var targets = (target ?? Target.Predicted).Resolve(_oracle, inputs, chunk);

        var noisy = new NdArray<float>([rows * samples, .. inputs.RowShape]);
        for (int r = 0; r < rows; r++)
        {
            for (int s = 0; s < samples; s++)
            {
                var dst = noisy.Row(r * samples + s);
                var src = inputs.Row(r);
                var n = noise.Data.AsSpan((r * samples + s) * rowSize, rowSize);
                for (int j = 0; j < rowSize; j++) dst[j] = src[j] + n[j];
            }
        }
        NdArray<float>? expandedBaselines = null;
        if (baselines is not null)
        {
            var full = Baselines.Expand(baselines, inputs, _oracle.InputName);
            expandedBaselines = new NdArray<float>(noisy.Shape);
            for (int i = 0; i < rows * samples; i++) full.Row(i / samples).CopyTo(expandedBaselines.Row(i));
        }
        var expandedTargets = Enumerable.Range(0, rows * samples).Select(i => targets[i / samples]).ToArray();
        var result = _method.Attribute(noisy, expandedBaselines, Target.PerRow(expandedTargets));
        if (result.Attributions.Rows != rows * samples)
            throw new InvalidOperationException($"The base method '{_method.Name}' returned {result.Attributions.Rows} rows for {rows * samples} noisy rows.");

        int outSize = result.Attributions.RowSize;
        var attributions = new NdArray<float>([rows, .. result.Attributions.RowShape]);
        for (int r = 0; r < rows; r++)
        {
            var dst = attributions.Row(r);
            for (int j = 0; j < outSize; j++)
            {
                double sum = 0, sumSquares = 0;
                for (int s = 0; s < samples; s++)
                {
                    double a = result.Attributions.Data[(r * samples + s) * outSize + j];
                    sum += a;
                    sumSquares += a * a;
                }
                double mean = sum / samples, meanSquares = sumSquares / samples;
                dst[j] = (float)(type switch
                {
                    NoiseTunnelType.SmoothGrad => mean,
                    NoiseTunnelType.SmoothGradSquared => meanSquares,
                    _ => meanSquares - mean * mean,
                });
            }
        }
        return new AttributionResult(attributions, targets, result.ConvergenceDelta);
    }
}
