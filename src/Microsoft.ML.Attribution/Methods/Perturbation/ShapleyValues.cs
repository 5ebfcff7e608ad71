using Microsoft.ML.Attribution.Oracles;
using Microsoft.ML.Attribution.Tensors;

namespace Microsoft.ML.Attribution.Methods;

/// <summary>
/// Exact Shapley values (Shapley 1953; Captum's ShapleyValues): φᵢ = Σ_{S ⊆ N∖{i}} |S|!(M−|S|−1)!/M! · (v(S ∪ {i}) − v(S)),
/// with v(S) = f(x on S, baseline elsewhere)[t]. Captum averages marginal contributions over all M! orderings; the same
/// numbers come from the 2^M coalitions, which is what is evaluated here (all rows' coalitions batched).
/// Efficiency: Σφ = f(x) − f(baseline).
/// </summary>
public sealed class ShapleyValues
{
    /// <summary>The most features the exact method enumerates (2^M evaluations per row).</summary>
    public const int MaxFeatures = 20;

    private readonly IForwardOracle _oracle;

    /// <summary>Creates the method over any forward oracle.</summary>
    public ShapleyValues(IForwardOracle oracle) => _oracle = oracle ?? throw new ArgumentNullException(nameof(oracle));

    /// <summary>Exact Shapley values of each row's features.</summary>
    /// <param name="inputs">Rows to explain.</param>
    /// <param name="baselines">Values of absent features: null (zeros), one value, one row, or one per row.</param>
    /// <param name="target">Output index per row; default each row's prediction.</param>
    /// <param name="featureMask">Feature ids 0 … M−1 shaped like the inputs or one row; default one feature per element.</param>
    /// <param name="internalBatchSize">Coalitions per model call.</param>
    /// <param name="background">
    /// Background rows <c>[B, …]</c> instead of baselines: absent features take each background row in turn and the
    /// model's outputs are averaged (SHAP's expected value over the background), costing B× the evaluations.
    /// </param>
    public AttributionResult Attribute(NdArray<float> inputs, NdArray<float>? baselines = null, Target? target = null,
        NdArray<long>? featureMask = null, int? internalBatchSize = null, NdArray<float>? background = null)
    {
        _oracle.ValidateInput(inputs);
        Coalitions.ValidateBackground(background, inputs, _oracle.InputName, baselines);
        var (groups, m) = Coalitions.FromMask(featureMask, inputs, _oracle.InputName);
        if (m > MaxFeatures)
            throw new ArgumentException($"Exact Shapley values over {m} features need 2^{m} model runs per row; " +
                $"group features with a mask (at most {MaxFeatures}) or use ShapleyValueSampling or KernelShap.");
        var reference = Baselines.Expand(baselines, inputs, _oracle.InputName);
        int chunk = Batcher.ChunkRows(_oracle, internalBatchSize, inputs.RowSize);
        var targets = (target ?? Target.Predicted).Resolve(_oracle, inputs, chunk);

        int subsets = 1 << m;
        var all = Enumerable.Range(0, subsets).Select(s => Enumerable.Range(0, m).Select(f => (s >> f & 1) == 1).ToArray()).ToArray();
        var values = new Coalitions(_oracle, inputs, reference, groups, m, background).Values(_ => all, targets, chunk);

        // weight[s] = s!(M−s−1)!/M!, computed as 1 / (M · C(M−1, s)).
        var weight = new double[m];
        for (int s = 0; s < m; s++) weight[s] = 1.0 / (m * Binomial(m - 1, s));
        var attributions = new NdArray<float>(inputs.Shape);
        for (int r = 0; r < inputs.Rows; r++)
        {
            var phi = new double[m];
            for (int s = 0; s < subsets; s++)
            {
                int size = System.Numerics.BitOperations.PopCount((uint)s);
                for (int f = 0; f < m; f++)
                {
                    if ((s >> f & 1) == 1) continue;
                    phi[f] += weight[size] * (values[r][s | 1 << f] - values[r][s]);
                }
            }
            Spread(attributions.Row(r), groups(r), phi);
        }
        return new AttributionResult(attributions, targets);
    }

    internal static double Binomial(int n, int k)
    {
        double result = 1;
        for (int i = 1; i <= k; i++) result = result * (n - k + i) / i;
        return result;
    }

    /// <summary>Gives every element of feature f the value φ_f.</summary>
    internal static void Spread(Span<float> row, IReadOnlyList<int[]> groups, double[] phi)
    {
        for (int f = 0; f < phi.Length; f++)
        {
            foreach (int j in groups[f]) row[j] = (float)phi[f];
        }
    }
}

/// <summary>
/// Shapley value sampling (Castro et al. 2009; Captum's ShapleyValueSampling): for each of <c>samples</c> random
/// orderings of the features, add the features one by one from the baseline to the input and credit each with the
/// change of f; average over orderings. Each ordering costs M evaluations per row; coalitions shared by orderings are
/// evaluated once, and the prefixes of all rows and orderings run through the model in large chunks (no coalition is
/// built as an array: a prefix is its ordering and length).
/// </summary>
public sealed class ShapleyValueSampling
{
    private readonly IForwardOracle _oracle;

    /// <summary>Creates the method over any forward oracle.</summary>
    public ShapleyValueSampling(IForwardOracle oracle) => _oracle = oracle ?? throw new ArgumentNullException(nameof(oracle));

    /// <summary>Sampled Shapley values of each row's features.</summary>
    /// <param name="inputs">Rows to explain.</param>
    /// <param name="baselines">Values of absent features: null (zeros), one value, one row, or one per row.</param>
    /// <param name="target">Output index per row; default each row's prediction.</param>
    /// <param name="featureMask">Feature ids 0 … M−1; default one feature per element.</param>
    /// <param name="samples">Orderings (Captum's n_samples, default 25).</param>
    /// <param name="seed">Seed of the orderings.</param>
    /// <param name="internalBatchSize">Coalitions per model call.</param>
    /// <param name="background">Background rows <c>[B, …]</c> instead of baselines (see <see cref="ShapleyValues"/>).</param>
    public AttributionResult Attribute(NdArray<float> inputs, NdArray<float>? baselines = null, Target? target = null,
        NdArray<long>? featureMask = null, int samples = 25, int? seed = null, int? internalBatchSize = null, NdArray<float>? background = null)
    {
        if (samples < 1) throw new ArgumentOutOfRangeException(nameof(samples), samples, "Shapley value sampling needs at least one ordering.");
        _oracle.ValidateInput(inputs);
        var (_, m) = Coalitions.FromMask(featureMask, inputs, _oracle.InputName);
        var random = RandomDraws.Create(seed);
        var orderings = new int[samples][];
        for (int k = 0; k < samples; k++)
        {
            orderings[k] = Enumerable.Range(0, m).ToArray();
            random.Shuffle(orderings[k]);
        }
        return Attribute(inputs, orderings, baselines, target, featureMask, internalBatchSize, background);
    }

    /// <summary>The same with the feature orderings given (shared by all rows), e.g. to replay Captum's permutations.</summary>
    internal AttributionResult Attribute(NdArray<float> inputs, int[][] orderings, NdArray<float>? baselines, Target? target,
        NdArray<long>? featureMask, int? internalBatchSize, NdArray<float>? background = null)
    {
        _oracle.ValidateInput(inputs);
        Coalitions.ValidateBackground(background, inputs, _oracle.InputName, baselines);
        var (groups, m) = Coalitions.FromMask(featureMask, inputs, _oracle.InputName);
        var seen = new bool[m];
        foreach (var ordering in orderings)
        {
            bool valid = ordering.Length == m;
            Array.Clear(seen);
            for (int step = 0; valid && step < m; step++)
            {
                int f = ordering[step];
                valid = f >= 0 && f < m && !seen[f];
                if (valid) seen[f] = true;
            }
            if (!valid) throw new ArgumentException($"Each ordering must be a permutation of the {m} features.");
        }
        var reference = Baselines.Expand(baselines, inputs, _oracle.InputName);
        int chunk = Batcher.ChunkRows(_oracle, internalBatchSize, inputs.RowSize);
        var targets = (target ?? Target.Predicted).Resolve(_oracle, inputs, chunk);

        // Per ordering the prefixes ∅, {o₀}, {o₀, o₁}, …, all (M + 1 coalitions), equal ones evaluated once per row.
        var (values, unique, column) = new Coalitions(_oracle, inputs, reference, groups, m, background).PrefixValues(orderings, targets, chunk);
        var attributions = new NdArray<float>(inputs.Shape);
        var phi = new double[m];
        for (int r = 0; r < inputs.Rows; r++)
        {
            Array.Clear(phi);
            int rowStart = r * unique;
            for (int k = 0; k < orderings.Length; k++)
            {
                int first = k * (m + 1);
                for (int step = 0; step < m; step++)
                    phi[orderings[k][step]] += values[rowStart + column[first + step + 1]] - values[rowStart + column[first + step]];
            }
            for (int f = 0; f < m; f++) phi[f] /= orderings.Length;
            ShapleyValues.Spread(attributions.Row(r), groups(r), phi);
        }
        return new AttributionResult(attributions, targets);
    }
}
