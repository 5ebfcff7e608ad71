using Microsoft.ML.Attribution.Methods;
using Microsoft.ML.Attribution.Tensors;

namespace Microsoft.ML.Attribution.Metrics;

/// <summary>The norm SensitivityMax takes of an explanation's change (Captum's <c>norm_ord</c>).</summary>
public enum SensitivityNorm
{
    /// <summary>Euclidean norm of the flattened explanation (Captum's default "fro").</summary>
    Frobenius,

    /// <summary>Sum of absolute values.</summary>
    L1,

    /// <summary>Largest absolute value.</summary>
    Infinity,
}

/// <summary>
/// Max-sensitivity (Yeh et al. 2019, Captum's <c>sensitivity_max</c>): per row, the largest relative change
/// ‖Φ(x) − Φ(x + ε)‖ / ‖Φ(x)‖ of the explanation over <c>samples</c> perturbations ε drawn uniformly from
/// [−radius, radius] per element (a zero norm of Φ(x) counts as 1). Lower is more robust. Works with any method: all
/// perturbed copies of all rows go to it in one call (or one per chunk of samples), copies of a row consecutive.
/// </summary>
public sealed class SensitivityMax
{
    /// <summary>Half-width of the uniform perturbation (Captum's default).</summary>
    public const double DefaultRadius = 0.02;

    /// <summary>Perturbations per row (Captum's default).</summary>
    public const int DefaultSamples = 10;

    private readonly IAttributionMethod _method;

    /// <summary>Measures the sensitivity of a method object, e.g. <c>MethodRegistry.Get("saliency").Bind(oracle)</c>.</summary>
    public SensitivityMax(IAttributionMethod method) => _method = method ?? throw new ArgumentNullException(nameof(method));

    /// <summary>
    /// Measures the sensitivity of a registry method run with <paramref name="context"/>'s model and settings (its rows,
    /// baselines and target are replaced per call: give baselines to Compute) and <paramref name="options"/>.
    /// </summary>
    public SensitivityMax(AttributionMethod method, MethodInputs context, MethodOptions? options = null)
        : this((method ?? throw new ArgumentNullException(nameof(method))).Bind(context, options)) { }

    /// <summary>Max-sensitivity under uniform noise in [−radius, radius].</summary>
    /// <param name="inputs">Explained rows <c>[N, …]</c>.</param>
    /// <param name="baselines">Baselines for the method (one per row ones are repeated for each copy), or null.</param>
    /// <param name="target">The explained output per row, repeated for each copy; default each copy's prediction.</param>
    /// <param name="radius">Half-width of the uniform perturbation.</param>
    /// <param name="samples">Perturbations per row.</param>
    /// <param name="norm">Norm of the explanation change.</param>
    /// <param name="seed">Seed of the noise; the same seed gives the same numbers.</param>
    /// <param name="samplesPerCall">Perturbations per row in one call to the method (bounds memory); default all.</param>
    /// <returns>One sensitivity per row.</returns>
    public float[] Compute(NdArray<float> inputs, NdArray<float>? baselines = null, Target? target = null, double radius = DefaultRadius,
        int samples = DefaultSamples, SensitivityNorm norm = SensitivityNorm.Frobenius, int? seed = null, int? samplesPerCall = null)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        if (!(radius >= 0)) throw new ArgumentOutOfRangeException(nameof(radius), radius, "The perturbation radius must be non-negative.");
        if (samples < 1) throw new ArgumentOutOfRangeException(nameof(samples), samples, "SensitivityMax needs at least one perturbation per row.");
        var random = RandomDraws.Create(seed);
        var perturbed = Infidelity.Repeat(inputs, samples);
        for (int i = 0; i < perturbed.Length; i++) perturbed.Data[i] += (float)((random.NextDouble() * 2 - 1) * radius);
        return Compute(inputs, perturbed, baselines, target, samples, norm, samplesPerCall);
    }

    /// <summary>
    /// Max-sensitivity with the perturbed inputs given: <c>[N·samples, …]</c>, the copies of a row consecutive (e.g.
    /// Captum's draws replayed).
    /// </summary>
    /// <param name="inputs">Explained rows <c>[N, …]</c>.</param>
    /// <param name="perturbedInputs">The perturbed copies.</param>
    /// <param name="baselines">Baselines for the method, or null.</param>
    /// <param name="target">The explained output per row; default each copy's prediction.</param>
    /// <param name="samples">Perturbations per row.</param>
    /// <param name="norm">Norm of the explanation change.</param>
    /// <param name="samplesPerCall">Perturbations per row in one call to the method; default all.</param>
    public float[] Compute(NdArray<float> inputs, NdArray<float> perturbedInputs, NdArray<float>? baselines, Target? target,
        int samples = DefaultSamples, SensitivityNorm norm = SensitivityNorm.Frobenius, int? samplesPerCall = null)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(perturbedInputs);
        if (samples < 1) throw new ArgumentOutOfRangeException(nameof(samples), samples, "SensitivityMax needs at least one perturbation per row.");
        if (samplesPerCall is < 1) throw new ArgumentOutOfRangeException(nameof(samplesPerCall), samplesPerCall, "At least one sample per call.");
        int rows = inputs.Rows, rowSize = inputs.RowSize;
        int[] expandedShape = [rows * samples, .. inputs.RowShape];
        if (!perturbedInputs.Shape.SequenceEqual(expandedShape))
            throw new ArgumentException($"Perturbed inputs shaped {perturbedInputs.ShapeText}; expected {NdArray<float>.FormatShape(expandedShape)} ({rows} rows × {samples} samples).", nameof(perturbedInputs));

        var clean = _method.Attribute(inputs, baselines, target ?? Target.Predicted).Attributions;
        if (clean.Rows != rows)
            throw new InvalidOperationException($"The method returned {clean.Rows} rows of attributions for {rows} rows.");
        int outSize = clean.RowSize;
        var cleanNorms = new double[rows];
        for (int r = 0; r < rows; r++)
        {
            double n = Norm(clean.Row(r), norm);
            cleanNorms[r] = n == 0 ? 1 : n;
        }
        int[]? explicitTargets = target?.Explicit(rows);
        bool perRowBaselines = baselines is not null && baselines.Shape.SequenceEqual(inputs.Shape);

        var result = Enumerable.Repeat(float.NegativeInfinity, rows).ToArray();
        int step = Math.Min(samplesPerCall ?? samples, samples);
        var difference = new float[outSize];
        for (int first = 0; first < samples; first += step)
        {
            int k = Math.Min(step, samples - first);
            var batch = new NdArray<float>([rows * k, .. inputs.RowShape]);
            for (int i = 0; i < rows * k; i++) perturbedInputs.Row(i / k * samples + first + i % k).CopyTo(batch.Row(i));
            var batchBaselines = perRowBaselines ? Infidelity.Repeat(baselines!, k) : baselines;
            var batchTarget = explicitTargets is null ? Target.Predicted
                : Target.PerRow(Enumerable.Range(0, rows * k).Select(i => explicitTargets[i / k]).ToArray());
            var explained = _method.Attribute(batch, batchBaselines, batchTarget).Attributions;
            if (explained.Rows != rows * k || explained.RowSize != outSize)
                throw new InvalidOperationException($"The method returned attributions shaped {explained.ShapeText} for {rows * k} perturbed rows; expected {outSize} values per row.");
            for (int i = 0; i < rows * k; i++)
            {
                int r = i / k;
                var e = explained.Row(i);
                var c = clean.Row(r);
                for (int j = 0; j < outSize; j++) difference[j] = c[j] - e[j];
                float value = (float)(Norm(difference, norm) / cleanNorms[r]);
                if (value > result[r] || float.IsNaN(value)) result[r] = value;
            }
        }
        return result;
    }

    private static double Norm(ReadOnlySpan<float> values, SensitivityNorm norm)
    {
        double result = 0;
        foreach (float v in values)
        {
            double a = Math.Abs((double)v);
            result = norm switch
            {
                SensitivityNorm.L1 => result + a,
                SensitivityNorm.Infinity => Math.Max(result, a),
                _ => result + a * a,
            };
        }
        return norm == SensitivityNorm.Frobenius ? Math.Sqrt(result) : result;
    }
}
