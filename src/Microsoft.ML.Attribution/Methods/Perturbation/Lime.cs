using Microsoft.ML.Attribution.Oracles;
using Microsoft.ML.Attribution.Tensors;

namespace Microsoft.ML.Attribution.Methods;

/// <summary>
/// LIME (Ribeiro, Singh &amp; Guestrin 2016; Captum's Lime): sample binary coalitions of the features (each feature kept
/// with probability ½; absent features take the baseline), run the model on all of them, weight each sample by its
/// similarity to the input — exp(−d²/(2·width²)) with d the cosine distance between the input and the perturbed input,
/// as Captum's default — and fit an interpretable model (default Lasso, α = 0.01); its coefficients are the
/// attributions. All rows' samples run through the model in bounded chunks.
/// </summary>
public sealed class Lime
{
    private readonly IForwardOracle _oracle;
    private readonly IInterpretableModel _surrogate;
    private readonly double _kernelWidth;

    /// <summary>Creates Lime over any forward oracle.</summary>
    /// <param name="oracle">The model.</param>
    /// <param name="interpretableModel">The surrogate; default <see cref="LassoRegression"/> with α = 0.01.</param>
    /// <param name="kernelWidth">Width of the exponential similarity kernel (default 1.0).</param>
    public Lime(IForwardOracle oracle, IInterpretableModel? interpretableModel = null, double kernelWidth = 1.0)
    {
        _oracle = oracle ?? throw new ArgumentNullException(nameof(oracle));
        _surrogate = interpretableModel ?? new LassoRegression(0.01);
        if (kernelWidth <= 0) throw new ArgumentOutOfRangeException(nameof(kernelWidth), kernelWidth, "The kernel width must be positive.");
        _kernelWidth = kernelWidth;
    }

    /// <summary>Attributes each row's target output to its features.</summary>
    /// <param name="inputs">Rows to explain.</param>
    /// <param name="baselines">Values of absent features: null (zeros), one value, one row, or one per row.</param>
    /// <param name="target">Output index per row; default each row's prediction.</param>
    /// <param name="featureMask">Feature ids 0 … M−1; default one feature per element.</param>
    /// <param name="samples">Samples per row (Captum's n_samples, default 50).</param>
    /// <param name="seed">Seed of the samples.</param>
    /// <param name="internalBatchSize">Samples per model call.</param>
    public AttributionResult Attribute(NdArray<float> inputs, NdArray<float>? baselines = null, Target? target = null,
        NdArray<long>? featureMask = null, int samples = 50, int? seed = null, int? internalBatchSize = null)
    {
        if (samples < 1) throw new ArgumentOutOfRangeException(nameof(samples), samples, "Lime needs at least one sample.");
        var (_, m) = Coalitions.FromMask(featureMask, inputs, _oracle.InputName);
        var random = RandomDraws.Create(seed);
        var drawn = new bool[inputs.Rows][][];
        for (int r = 0; r < inputs.Rows; r++)
            drawn[r] = Enumerable.Range(0, samples).Select(_ => Enumerable.Range(0, m).Select(_ => random.NextDouble() < 0.5).ToArray()).ToArray();
        return Fit(_oracle, _surrogate, inputs, baselines, target, featureMask, r => drawn[r], Similarity, internalBatchSize);
    }

    /// <summary>The same with the coalitions given per row (e.g. Captum's recorded samples).</summary>
    internal AttributionResult Attribute(NdArray<float> inputs, Func<int, IReadOnlyList<bool[]>> coalitions, NdArray<float>? baselines,
        Target? target, NdArray<long>? featureMask, int? internalBatchSize) =>
        Fit(_oracle, _surrogate, inputs, baselines, target, featureMask, coalitions, Similarity, internalBatchSize);

    private double Similarity(ReadOnlySpan<float> original, ReadOnlySpan<float> perturbed, bool[] _)
    {
        double dot = 0, a = 0, b = 0;
        for (int j = 0; j < original.Length; j++)
        {
            dot += original[j] * (double)perturbed[j];
            a += original[j] * (double)original[j];
            b += perturbed[j] * (double)perturbed[j];
        }
        // PyTorch's CosineSimilarity clamps each norm at 1e-8.
        double cosine = dot / (Math.Max(Math.Sqrt(a), 1e-8) * Math.Max(Math.Sqrt(b), 1e-8));
        double distance = 1 - cosine;
        return Math.Exp(-distance * distance / (2 * _kernelWidth * _kernelWidth));
    }

    internal delegate double SimilarityFunction(ReadOnlySpan<float> original, ReadOnlySpan<float> perturbed, bool[] coalition);

    /// <summary>Evaluates the coalitions, weights them and fits the surrogate per row (shared by Lime and KernelShap).</summary>
    internal static AttributionResult Fit(IForwardOracle oracle, IInterpretableModel surrogate, NdArray<float> inputs,
        NdArray<float>? baselines, Target? target, NdArray<long>? featureMask, Func<int, IReadOnlyList<bool[]>> coalitionsOfRow,
        SimilarityFunction similarity, int? internalBatchSize, NdArray<float>? background = null)
    {
        oracle.ValidateInput(inputs);
        Coalitions.ValidateBackground(background, inputs, oracle.InputName, baselines);
        var (groups, m) = Coalitions.FromMask(featureMask, inputs, oracle.InputName);
        var reference = Baselines.Expand(baselines, inputs, oracle.InputName);
        int chunk = Batcher.ChunkRows(oracle, internalBatchSize, inputs.RowSize);
        var targets = (target ?? Target.Predicted).Resolve(oracle, inputs, chunk);
        var values = new Coalitions(oracle, inputs, reference, groups, m, background).Values(coalitionsOfRow, targets, chunk);

        var attributions = new NdArray<float>(inputs.Shape);
        var perturbed = new float[inputs.RowSize];
        for (int r = 0; r < inputs.Rows; r++)
        {
            var list = coalitionsOfRow(r);
            int n = list.Count;
            var x = new double[n * m];
            var weights = new double[n];
            var sets = groups(r);
            for (int s = 0; s < n; s++)
            {
                reference.Row(r).CopyTo(perturbed);
                for (int f = 0; f < m; f++)
                {
                    if (!list[s][f]) continue;
                    x[s * m + f] = 1;
                    foreach (int j in sets[f]) perturbed[j] = inputs.Row(r)[j];
                }
                weights[s] = similarity(inputs.Row(r), perturbed, list[s]);
            }
            var beta = surrogate.Fit(x, n, m, values[r], weights);
            ShapleyValues.Spread(attributions.Row(r), sets, beta);
        }
        return new AttributionResult(attributions, targets);
    }
}

/// <summary>
/// Kernel SHAP (Lundberg &amp; Lee 2017; Captum's KernelShap): Lime whose coalitions are drawn from the Shapley kernel —
/// the size k with probability ∝ (M−1)/(k(M−k)), then k features uniformly — plus the full and empty coalitions with
/// weight 10⁶ (all others weight 1), fitted by weighted least squares with an intercept. Converges to the exact
/// Shapley values as samples grow.
/// </summary>
public sealed class KernelShap
{
    private readonly IForwardOracle _oracle;

    /// <summary>Creates the method over any forward oracle.</summary>
    public KernelShap(IForwardOracle oracle) => _oracle = oracle ?? throw new ArgumentNullException(nameof(oracle));

    /// <summary>Approximate Shapley values of each row's features.</summary>
    /// <param name="inputs">Rows to explain.</param>
    /// <param name="baselines">Values of absent features: null (zeros), one value, one row, or one per row.</param>
    /// <param name="target">Output index per row; default each row's prediction.</param>
    /// <param name="featureMask">Feature ids 0 … M−1; default one feature per element.</param>
    /// <param name="samples">Coalitions per row including the full and empty ones (Captum's n_samples, default 25).</param>
    /// <param name="seed">Seed of the coalitions.</param>
    /// <param name="internalBatchSize">Coalitions per model call.</param>
    /// <param name="background">Background rows <c>[B, …]</c> instead of baselines: SHAP's expected value over them.</param>
    public AttributionResult Attribute(NdArray<float> inputs, NdArray<float>? baselines = null, Target? target = null,
        NdArray<long>? featureMask = null, int samples = 25, int? seed = null, int? internalBatchSize = null, NdArray<float>? background = null)
    {
        if (samples < 2) throw new ArgumentOutOfRangeException(nameof(samples), samples, "Kernel SHAP needs at least the full and the empty coalition.");
        var (_, m) = Coalitions.FromMask(featureMask, inputs, _oracle.InputName);
        if (m < 2) throw new ArgumentException("Kernel SHAP needs at least two features.");
        var random = RandomDraws.Create(seed);
        // P(k) ∝ (M−1)/(k(M−k)) for k = 1 … M−1.
        var cumulative = new double[m];
        for (int k = 1; k < m; k++) cumulative[k] = cumulative[k - 1] + (m - 1.0) / (k * (double)(m - k));
        var drawn = new bool[inputs.Rows][][];
        for (int r = 0; r < inputs.Rows; r++)
        {
            var list = new List<bool[]> { Enumerable.Repeat(true, m).ToArray(), new bool[m] };
            while (list.Count < samples)
            {
                double u = random.NextDouble() * cumulative[m - 1];
                int k = 1;
                while (k < m - 1 && cumulative[k] < u) k++;
                var order = Enumerable.Range(0, m).ToArray();
                random.Shuffle(order);
                var members = new bool[m];
                for (int i = 0; i < k; i++) members[order[i]] = true;
                list.Add(members);
            }
            drawn[r] = list.ToArray();
        }
        return Attribute(inputs, r => drawn[r], baselines, target, featureMask, internalBatchSize, background);
    }

    /// <summary>The same with the coalitions given per row (e.g. Captum's recorded samples).</summary>
    internal AttributionResult Attribute(NdArray<float> inputs, Func<int, IReadOnlyList<bool[]>> coalitions, NdArray<float>? baselines,
        Target? target, NdArray<long>? featureMask, int? internalBatchSize, NdArray<float>? background = null) =>
        Lime.Fit(_oracle, new WeightedLinearRegression(), inputs, baselines, target, featureMask, coalitions,
            (_, _, members) => members.All(b => b) || !members.Any(b => b) ? 1e6 : 1.0, internalBatchSize, background);
}
