using Microsoft.ML.Attribution.Oracles;
using Microsoft.ML.Attribution.Tensors;

namespace Microsoft.ML.Attribution.Methods;

/// <summary>
/// Feature ablation (Captum's FeatureAblation): each feature — an input element, or a group of elements sharing an id
/// in the feature mask — is replaced by its baseline, and every element of the feature is attributed
/// f(x)[t] − f(x with the feature ablated)[t].
/// </summary>
public sealed class FeatureAblation
{
    private readonly IForwardOracle _oracle;

    /// <summary>Creates the method over any forward oracle (no gradients needed).</summary>
    public FeatureAblation(IForwardOracle oracle) => _oracle = oracle ?? throw new ArgumentNullException(nameof(oracle));

    /// <summary>Attributes each row's target output to its features.</summary>
    /// <param name="inputs">Rows to explain.</param>
    /// <param name="baselines">Replacement values: null (zeros), one value, one row, or one per row.</param>
    /// <param name="target">Output index per row; default each row's prediction.</param>
    /// <param name="featureMask">
    /// Non-negative group ids, shaped like <paramref name="inputs"/> or like one row (optionally with a leading 1);
    /// default: every element is its own feature.
    /// </param>
    /// <param name="internalBatchSize">Perturbed rows per model call; default chosen from the row size.</param>
    public AttributionResult Attribute(NdArray<float> inputs, NdArray<float>? baselines = null, Target? target = null,
        NdArray<long>? featureMask = null, int? internalBatchSize = null)
    {
        _oracle.ValidateInput(inputs);
        var reference = Baselines.Expand(baselines, inputs, _oracle.InputName);
        var groups = FeatureMask.Groups(featureMask, inputs, _oracle.InputName);
        var attributions = new NdArray<float>(inputs.Shape);
        var targets = Ablation.Run(_oracle, inputs, reference, target, internalBatchSize, r => groups(r),
            (r, elements, difference) =>
            {
                var row = attributions.Row(r);
                foreach (int j in elements) row[j] = difference;
            });
        return new AttributionResult(attributions, targets);
    }
}

/// <summary>Feature masks as Captum takes them: group ids per element, for all rows or per row.</summary>
internal static class FeatureMask
{
    /// <summary>For each row, the element index sets of its groups in ascending group id order.</summary>
    public static Func<int, IReadOnlyList<int[]>> Groups(NdArray<long>? mask, NdArray<float> inputs, string inputName)
    {
        int rowSize = inputs.RowSize;
        if (mask is null)
        {
            var singles = Enumerable.Range(0, rowSize).Select(j => new[] { j }).ToArray();
            return _ => singles;
        }
        bool perRow = mask.Shape.SequenceEqual(inputs.Shape) && inputs.Rows != 1;
        bool shared = mask.Shape.SequenceEqual(inputs.RowShape) ||
                      (mask.Rank == inputs.Rank && mask.Shape[0] == 1 && mask.RowShape.SequenceEqual(inputs.RowShape));
        if (!perRow && !shared)
            throw new ArgumentException($"Feature mask shaped {mask.ShapeText} does not fit input '{inputName}' shaped {inputs.ShapeText}: " +
                $"give {inputs.ShapeText} or one row {NdArray<float>.FormatShape([1, .. inputs.RowShape])}.");
        for (int i = 0; i < mask.Length; i++)
        {
            if (mask.Data[i] < 0)
                throw new ArgumentException($"Feature mask holds {mask.Data[i]} at flat index {i}; group ids must be non-negative.");
        }
        IReadOnlyList<int[]> GroupsOf(ReadOnlySpan<long> ids)
        {
            var byId = new SortedDictionary<long, List<int>>();
            for (int j = 0; j < ids.Length; j++)
            {
                if (!byId.TryGetValue(ids[j], out var list)) byId[ids[j]] = list = [];
                list.Add(j);
            }
            return byId.Values.Select(l => l.ToArray()).ToArray();
        }
        if (!perRow)
        {
            var common = GroupsOf(mask.Data.AsSpan(0, rowSize));
            return _ => common;
        }
        var cache = new IReadOnlyList<int[]>[inputs.Rows];
        return r => cache[r] ??= GroupsOf(mask.Data.AsSpan(r * rowSize, rowSize));
    }
}
