using Microsoft.ML.Attribution.Methods;
using Microsoft.ML.Attribution.Oracles;
using Microsoft.ML.Attribution.Tensors;

namespace Microsoft.ML.Attribution.Metrics;

/// <summary>
/// Makes the perturbations of the expanded rows: gets the inputs <c>[N·S, …]</c> (the S copies of a row consecutive)
/// and the baselines expanded alike (or null), and returns the perturbations I and the perturbed inputs, both shaped
/// like the inputs (Captum's <c>perturb_func</c>).
/// </summary>
public delegate (NdArray<float> Perturbations, NdArray<float> PerturbedInputs) InfidelityPerturbation(
    NdArray<float> expandedInputs, NdArray<float>? expandedBaselines);

/// <summary>
/// Explanation infidelity (Yeh et al. 2019, Captum's <c>infidelity</c>): per row, the mean over perturbations I of
/// (Iᵀ·Φ(x) − (f(x) − f(x − I)))², where Φ are the attributions and f the target output. With <c>normalize</c> the
/// attributions are first scaled by β = E[Iᵀ·Φ·(f(x) − f(x − I))] / E[(Iᵀ·Φ)²], which makes the score invariant to
/// constant scaling of the attributions. Lower is more faithful. The perturbed rows of all rows go through the model
/// together, in chunks of the internal batch size.
/// </summary>
public sealed class Infidelity
{
    /// <summary>Standard deviation of the standard Gaussian perturbation (the value in Captum's documented example).</summary>
    public const double DefaultNoiseStdev = 0.003;

    /// <summary>Perturbations per row (Captum's <c>n_perturb_samples</c> default).</summary>
    public const int DefaultSamples = 10;

    private readonly IForwardOracle _oracle;

    /// <summary>Measures the infidelity of attributions of <paramref name="oracle"/>'s outputs.</summary>
    public Infidelity(IForwardOracle oracle) => _oracle = oracle ?? throw new ArgumentNullException(nameof(oracle));

    /// <summary>Infidelity under the standard noise: I ~ N(0, σ²) per element, perturbed input x − I.</summary>
    /// <param name="inputs">Explained rows <c>[N, …]</c>.</param>
    /// <param name="attributions">Their attributions, shaped like <paramref name="inputs"/>.</param>
    /// <param name="target">The explained output per row; default each row's prediction.</param>
    /// <param name="samples">Perturbations per row.</param>
    /// <param name="noiseStdev">σ of the Gaussian perturbation.</param>
    /// <param name="normalize">Scale the attributions by the optimal β first (Captum's <c>normalize</c>).</param>
    /// <param name="seed">Seed of the noise; the same seed gives the same numbers.</param>
    /// <param name="internalBatchSize">Perturbed rows per model call.</param>
    /// <returns>One infidelity per row.</returns>
    public float[] Compute(NdArray<float> inputs, NdArray<float> attributions, Target? target = null, int samples = DefaultSamples,
        double noiseStdev = DefaultNoiseStdev, bool normalize = false, int? seed = null, int? internalBatchSize = null)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        CheckSamples(samples);
        if (!(noiseStdev >= 0)) throw new ArgumentOutOfRangeException(nameof(noiseStdev), noiseStdev, "The noise standard deviation must be non-negative.");
        // Drawn item by item as the chunks fill, so memory stays bounded by a chunk, not by rows × samples.
        var random = RandomDraws.Create(seed);
        int rowSize = inputs.RowSize;
        return Run(inputs, attributions, target, samples, normalize, internalBatchSize, (i, dst) =>
        {
            var noise = RandomDraws.Normal(random, rowSize, noiseStdev);
            var x = inputs.Row(i / samples);
            var phi = attributions.Row(i / samples);
            double a = 0;
            for (int j = 0; j < rowSize; j++)
            {
                dst[j] = x[j] - noise[j];
                a += (double)phi[j] * noise[j];
            }
            return a;
        });
    }

    /// <summary>Infidelity under a perturbation function (called once on all rows × samples, as Captum calls it).</summary>
    /// <param name="inputs">Explained rows <c>[N, …]</c>.</param>
    /// <param name="attributions">Their attributions, shaped like <paramref name="inputs"/>.</param>
    /// <param name="perturb">Makes the perturbations and perturbed inputs.</param>
    /// <param name="baselines">Baselines handed to <paramref name="perturb"/> (one value, one row, or one per row), or null.</param>
    /// <param name="target">The explained output per row; default each row's prediction.</param>
    /// <param name="samples">Perturbations per row.</param>
    /// <param name="normalize">Scale the attributions by the optimal β first.</param>
    /// <param name="internalBatchSize">Perturbed rows per model call.</param>
    public float[] Compute(NdArray<float> inputs, NdArray<float> attributions, InfidelityPerturbation perturb, NdArray<float>? baselines = null,
        Target? target = null, int samples = DefaultSamples, bool normalize = false, int? internalBatchSize = null)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(perturb);
        CheckSamples(samples);
        var expanded = Repeat(inputs, samples);
        var expandedBaselines = baselines is null ? null : Repeat(Baselines.Expand(baselines, inputs, _oracle.InputName), samples);
        var (perturbations, perturbed) = perturb(expanded, expandedBaselines);
        return Compute(inputs, attributions, perturbations, perturbed, target, samples, normalize, internalBatchSize);
    }

    /// <summary>
    /// Infidelity with the perturbations given: <paramref name="perturbations"/> I and <paramref name="perturbedInputs"/>
    /// both <c>[N·samples, …]</c>, the copies of a row consecutive (e.g. Captum's draws replayed).
    /// </summary>
    /// <param name="inputs">Explained rows <c>[N, …]</c>.</param>
    /// <param name="attributions">Their attributions, shaped like <paramref name="inputs"/>.</param>
    /// <param name="perturbations">I per expanded row (multiplies the attributions).</param>
    /// <param name="perturbedInputs">The model input per expanded row.</param>
    /// <param name="target">The explained output per row; default each row's prediction on the clean input.</param>
    /// <param name="samples">Perturbations per row.</param>
    /// <param name="normalize">Scale the attributions by the optimal β first.</param>
    /// <param name="internalBatchSize">Perturbed rows per model call.</param>
    public float[] Compute(NdArray<float> inputs, NdArray<float> attributions, NdArray<float> perturbations, NdArray<float> perturbedInputs,
        Target? target = null, int samples = DefaultSamples, bool normalize = false, int? internalBatchSize = null)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(attributions);
        ArgumentNullException.ThrowIfNull(perturbations);
        ArgumentNullException.ThrowIfNull(perturbedInputs);
        CheckSamples(samples);
        int rows = inputs.Rows, items = rows * samples;
        int[] expandedShape = [items, .. inputs.RowShape];
        if (!perturbations.Shape.SequenceEqual(expandedShape))
            throw new ArgumentException($"Perturbations shaped {perturbations.ShapeText}; expected {NdArray<float>.FormatShape(expandedShape)} ({rows} rows × {samples} samples).", nameof(perturbations));
        if (!perturbedInputs.Shape.SequenceEqual(expandedShape))
            throw new ArgumentException($"Perturbed inputs shaped {perturbedInputs.ShapeText}; expected {NdArray<float>.FormatShape(expandedShape)} ({rows} rows × {samples} samples).", nameof(perturbedInputs));

        return Run(inputs, attributions, target, samples, normalize, internalBatchSize, (i, dst) =>
        {
            perturbedInputs.Row(i).CopyTo(dst);
            var phi = attributions.Row(i / samples);
            var perturbation = perturbations.Row(i);
            double a = 0;
            for (int j = 0; j < phi.Length; j++) a += (double)phi[j] * perturbation[j];
            return a;
        });
    }

    /// <summary>Writes expanded item <c>item</c>'s perturbed input into <c>destination</c> and returns Iᵀ·Φ of its row.</summary>
    private delegate double PerturbedItem(int item, Span<float> destination);

    private float[] Run(NdArray<float> inputs, NdArray<float> attributions, Target? target, int samples, bool normalize,
        int? internalBatchSize, PerturbedItem perturbed)
    {
        ArgumentNullException.ThrowIfNull(attributions);
        _oracle.ValidateInput(inputs);
        if (!attributions.Shape.SequenceEqual(inputs.Shape))
            throw new ArgumentException($"Attributions shaped {attributions.ShapeText} do not match input '{_oracle.InputName}' shaped {inputs.ShapeText}.", nameof(attributions));
        int rows = inputs.Rows, rowSize = inputs.RowSize, items = rows * samples;
        int chunk = Batcher.ChunkRows(_oracle, internalBatchSize, rowSize);
        var clean = Batcher.ForwardRows(_oracle, inputs, chunk);
        var targets = (target ?? Target.Predicted).Resolve(_oracle, inputs, chunk, target is null ? clean : null, clean.RowSize);

        // Per row: Σ(a − d)², or Σa², Σa·d, Σd² for the normalized score (a = Iᵀ·Φ, d = f(x) − f(x − I)).
        var products = new double[items];
        var sums = new double[rows * 3];
        Batcher.Forward(_oracle, items, inputs.RowShape, chunk, (i, dst) => products[i] = perturbed(i, dst), (i, output) =>
        {
            int r = i / samples;
            double d = clean.Data[r * clean.RowSize + targets[r]] - (double)output[targets[r]];
            double a = products[i];
            if (normalize)
            {
                sums[r * 3] += a * a;
                sums[r * 3 + 1] += a * d;
                sums[r * 3 + 2] += d * d;
            }
            else sums[r * 3] += (a - d) * (a - d);
        });
        var result = new float[rows];
        for (int r = 0; r < rows; r++)
        {
            double value = sums[r * 3];
            if (normalize)
            {
                // β as Captum's safe_div: a zero denominator counts as 1.
                double aa = sums[r * 3], ad = sums[r * 3 + 1], dd = sums[r * 3 + 2];
                double beta = ad / (aa != 0 ? aa : 1);
                value = beta * beta * aa - 2 * beta * ad + dd;
            }
            result[r] = (float)(value / samples);
        }
        return result;
    }

    /// <summary>
    /// A perturbation from a function that returns only the perturbed inputs (Captum's
    /// <c>infidelity_perturb_func_decorator</c>): the perturbation is x − x′, divided element by element by x − baseline
    /// (zero baselines when none are given; a zero difference divides by 1) when <paramref name="multiplyByInputs"/> —
    /// the binary-style perturbation for global attributions such as IG or DeepLift that factor in the input.
    /// </summary>
    /// <param name="perturb">Gets the expanded inputs and baselines (or null), returns the perturbed inputs x′.</param>
    /// <param name="multiplyByInputs">Divide by x − baseline (global attributions); false for local ones (Saliency).</param>
    public static InfidelityPerturbation FromPerturbedInputs(Func<NdArray<float>, NdArray<float>?, NdArray<float>> perturb, bool multiplyByInputs = true)
    {
        ArgumentNullException.ThrowIfNull(perturb);
        return (inputs, baselines) =>
        {
            var perturbed = perturb(inputs, baselines);
            if (!perturbed.Shape.SequenceEqual(inputs.Shape))
                throw new ArgumentException($"The perturbation function returned inputs shaped {perturbed.ShapeText} for {inputs.ShapeText}.");
            var perturbations = new NdArray<float>(inputs.Shape);
            for (int i = 0; i < inputs.Length; i++)
            {
                float difference = inputs.Data[i] - perturbed.Data[i];
                float denominator = multiplyByInputs ? inputs.Data[i] - (baselines?.Data[i] ?? 0f) : 1f;
                perturbations.Data[i] = difference / (denominator != 0 ? denominator : 1f);
            }
            return (perturbations, perturbed);
        };
    }

    private static void CheckSamples(int samples)
    {
        if (samples < 1) throw new ArgumentOutOfRangeException(nameof(samples), samples, "Infidelity needs at least one perturbation per row.");
    }

    /// <summary>Each row repeated <paramref name="times"/> times, copies consecutive (torch's repeat_interleave).</summary>
    internal static NdArray<float> Repeat(NdArray<float> rows, int times)
    {
        var result = new NdArray<float>([rows.Rows * times, .. rows.RowShape]);
        for (int i = 0; i < rows.Rows * times; i++) rows.Row(i / times).CopyTo(result.Row(i));
        return result;
    }
}
