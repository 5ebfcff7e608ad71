using Microsoft.ML.Attribution.Oracles;
using Microsoft.ML.Attribution.Tensors;

namespace Microsoft.ML.Attribution.Methods;

/// <summary>
/// Feature permutation (Captum's FeaturePermutation; Breiman 2001, Fisher et al. 2019): each feature (element or mask
/// group) is shuffled across the rows of the batch, and every row is attributed f(x)[t] − f(x with the feature taken
/// from another row)[t]. Needs at least two rows. Every feature gets its own permutation (never the identity).
/// </summary>
public sealed class FeaturePermutation
{
    private readonly IForwardOracle _oracle;

    /// <summary>Creates the method over any forward oracle.</summary>
    public FeaturePermutation(IForwardOracle oracle) => _oracle = oracle ?? throw new ArgumentNullException(nameof(oracle));

    /// <summary>Attributes each row's target output to its features by shuffling them across the batch.</summary>
    /// <param name="inputs">Rows to explain (at least 2).</param>
    /// <param name="target">Output index per row; default each row's prediction.</param>
    /// <param name="featureMask">Group ids shaped like one row (optionally with a leading 1); default one feature per element.</param>
    /// <param name="seed">Seed of the permutations.</param>
    /// <param name="internalBatchSize">Permuted rows per model call.</param>
    public AttributionResult Attribute(NdArray<float> inputs, Target? target = null, NdArray<long>? featureMask = null,
        int? seed = null, int? internalBatchSize = null)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        int rows = inputs.Rows;
        if (rows < 2) throw new ArgumentException($"Feature permutation needs at least 2 rows to shuffle; got {rows}.", nameof(inputs));
        var random = RandomDraws.Create(seed);
        int features = FeatureMask.Groups(featureMask, inputs, _oracle.InputName)(0).Count;
        var permutations = new int[features][];
        for (int f = 0; f < features; f++)
        {
            var perm = Enumerable.Range(0, rows).ToArray();
            do { random.Shuffle(perm); } while (perm.Select((p, i) => p == i).All(same => same));
            permutations[f] = perm;
        }
        return Attribute(inputs, permutations, target, featureMask, internalBatchSize);
    }

    /// <summary>
    /// The same with the permutations given: <paramref name="permutations"/>[f][r] is the row whose values feature f of
    /// row r takes (features in ascending group-id order).
    /// </summary>
    internal AttributionResult Attribute(NdArray<float> inputs, int[][] permutations, Target? target, NdArray<long>? featureMask, int? internalBatchSize)
    {
        _oracle.ValidateInput(inputs);
        if (featureMask is not null && featureMask.Length != inputs.RowSize)
            throw new ArgumentException($"Feature permutation takes one mask for all rows, shaped {NdArray<float>.FormatShape([1, .. inputs.RowShape])}; got {featureMask.ShapeText}.");
        var groups = FeatureMask.Groups(featureMask, inputs, _oracle.InputName);
        var sets = groups(0);
        if (permutations.Length != sets.Count || permutations.Any(p => p.Length != inputs.Rows || p.Any(i => i < 0 || i >= inputs.Rows)))
            throw new ArgumentException($"Give one permutation of the {inputs.Rows} rows for each of the {sets.Count} features.");
        var attributions = new NdArray<float>(inputs.Shape);
        var targets = Ablation.Run(_oracle, inputs, (r, set) => inputs.Row(permutations[set][r]), target, internalBatchSize, groups,
            (r, elements, difference) =>
            {
                var row = attributions.Row(r);
                foreach (int j in elements) row[j] = difference;
            });
        return new AttributionResult(attributions, targets);
    }
}
