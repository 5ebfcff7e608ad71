using Microsoft.ML.Attribution.Oracles;
using Microsoft.ML.Attribution.Tensors;

namespace Microsoft.ML.Attribution.Methods;

/// <summary>
/// Evaluates the model on coalitions of features: a coalition keeps the input's values for its features and the
/// baseline's everywhere else — or, with a background set, the mean of f over the background rows filling the absent
/// features (SHAP's interventional expectation). The coalitions of all rows run through the oracle in bounded chunks;
/// a coalition repeated within a row (e.g. ∅ and the full set across permutations) is evaluated once.
/// </summary>
internal sealed class Coalitions
{
    private readonly IForwardOracle _oracle;
    private readonly NdArray<float> _inputs;
    private readonly NdArray<float> _reference;
    private readonly NdArray<float>? _background;
    private readonly Func<int, IReadOnlyList<int[]>> _groups;

    /// <param name="oracle">The model.</param>
    /// <param name="inputs">Rows.</param>
    /// <param name="reference">Baselines expanded to the inputs' shape.</param>
    /// <param name="groups">Per row, the element sets of features 0 … M−1 (global feature ids; a set may be empty).</param>
    /// <param name="featureCount">M.</param>
    /// <param name="background">Background rows <c>[B, …]</c>; when given, absent features average over them instead of the reference.</param>
    public Coalitions(IForwardOracle oracle, NdArray<float> inputs, NdArray<float> reference, Func<int, IReadOnlyList<int[]>> groups, int featureCount,
        NdArray<float>? background = null)
    {
        _oracle = oracle;
        _inputs = inputs;
        _reference = reference;
        _groups = groups;
        _background = background;
        FeatureCount = featureCount;
    }

    /// <summary>Validates a background set against the inputs' row shape.</summary>
    public static void ValidateBackground(NdArray<float>? background, NdArray<float> inputs, string inputName, NdArray<float>? baselines)
    {
        if (background is null) return;
        if (baselines is not null) throw new ArgumentException("Give baselines or a background set, not both.");
        if (background.Rank != inputs.Rank || !background.RowShape.SequenceEqual(inputs.RowShape) || background.Rows < 1)
            throw new ArgumentException($"Background set shaped {background.ShapeText} does not fit input '{inputName}' rows shaped " +
                $"{NdArray<float>.FormatShape(inputs.RowShape)}; give [B, {string.Join(", ", inputs.RowShape)}].");
    }

    public int FeatureCount { get; }

    /// <summary>
    /// f(coalition)[target of the row] for every coalition of every row. <paramref name="coalitionsOfRow"/>(r) lists
    /// row r's coalitions as membership flags over the M features.
    /// </summary>
    public double[][] Values(Func<int, IReadOnlyList<bool[]>> coalitionsOfRow, int[] targets, int chunkRows)
    {
        int rows = _inputs.Rows;
        var lists = new IReadOnlyList<bool[]>[rows];
        var unique = new List<(int Row, bool[] Members)>();
        var slotOf = new int[rows][];
        // A row's repeated coalitions are evaluated once. Up to 64 features the key is a bit mask (no allocation per
        // coalition: keys were 20% of a ShapleyValueSampling call as strings); beyond, the flags as text.
        var seenBits = new Dictionary<ulong, int>();
        var seenText = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int r = 0; r < rows; r++)
        {
            lists[r] = coalitionsOfRow(r);
            seenBits.Clear();
            seenText.Clear();
            slotOf[r] = new int[lists[r].Count];
            for (int k = 0; k < lists[r].Count; k++)
            {
                var members = lists[r][k];
                if (members.Length != FeatureCount)
                    throw new ArgumentException($"Coalition of {members.Length} flags for {FeatureCount} features.");
                bool found;
                int slot;
                if (FeatureCount <= 64)
                {
                    ulong bits = 0;
                    for (int i = 0; i < members.Length; i++) if (members[i]) bits |= 1UL << i;
                    found = seenBits.TryGetValue(bits, out slot);
                    if (!found) seenBits[bits] = unique.Count;
                }
                else
                {
                    string text = string.Create(members.Length, members, (span, m) => { for (int i = 0; i < m.Length; i++) span[i] = m[i] ? '1' : '0'; });
                    found = seenText.TryGetValue(text, out slot);
                    if (!found) seenText[text] = unique.Count;
                }
                if (!found)
                {
                    slot = unique.Count;
                    unique.Add((r, members));
                }
                slotOf[r][k] = slot;
            }
        }

        int perCoalition = _background?.Rows ?? 1;
        var values = new double[unique.Count];
        Batcher.Forward(_oracle, unique.Count * perCoalition, _inputs.RowShape, chunkRows,
            fill: (item, dst) =>
            {
                var (r, members) = unique[item / perCoalition];
                (_background is null ? _reference.Row(r) : _background.Row(item % perCoalition)).CopyTo(dst);
                var x = _inputs.Row(r);
                var sets = _groups(r);
                for (int f = 0; f < members.Length; f++)
                {
                    if (!members[f]) continue;
                    foreach (int j in sets[f]) dst[j] = x[j];
                }
            },
            consume: (item, output) => values[item / perCoalition] += output[targets[unique[item / perCoalition].Row]] / (double)perCoalition);
        var result = new double[rows][];
        for (int r = 0; r < rows; r++) result[r] = slotOf[r].Select(s => values[s]).ToArray();
        return result;
    }

    /// <summary>
    /// f(coalition)[target of the row] for every prefix of every ordering, the orderings shared by all rows (Shapley value
    /// sampling): prefix l of ordering k holds its first l features. Prefixes equal as sets (∅, the full set, orderings
    /// that agree up to order on their first l features) are evaluated once per row. No coalition is materialized:
    /// equal prefixes are found by a hash kept along each ordering (XOR of one random word per feature, O(1) per prefix)
    /// and confirmed on the orderings' position tables, so a hash collision cannot merge two different sets.
    /// </summary>
    /// <returns>
    /// <c>Values</c>, <c>[rows × Unique]</c> row-major, and <c>Column</c>: for prefix l of ordering k, at
    /// <c>k·(M+1) + l</c>, its column among the unique coalitions.
    /// </returns>
    public (double[] Values, int Unique, int[] Column) PrefixValues(int[][] orderings, int[] targets, int chunkRows)
    {
        int m = FeatureCount;
        var hashRandom = new Random(1_000_003); // the hash's words only; the result does not depend on them
        var word = new ulong[m];
        for (int f = 0; f < m; f++) word[f] = (ulong)hashRandom.NextInt64() ^ (ulong)hashRandom.NextInt64() << 1;
        var position = new int[orderings.Length][];
        for (int k = 0; k < orderings.Length; k++)
        {
            position[k] = new int[m];
            for (int step = 0; step < m; step++) position[k][orderings[k][step]] = step;
        }
        // Prefix (k, l) equals prefix (j, l) iff every one of ordering k's first l features sits among ordering j's first l.
        bool SameSet(int k, int j, int length)
        {
            for (int step = 0; step < length; step++) if (position[j][orderings[k][step]] >= length) return false;
            return true;
        }
        var column = new int[orderings.Length * (m + 1)];
        var unique = new List<(int Ordering, int Length)>();
        var firstWithHash = new Dictionary<(ulong, int), int>();
        for (int k = 0; k < orderings.Length; k++)
        {
            ulong hash = 0;
            for (int length = 0; length <= m; length++)
            {
                if (length > 0) hash ^= word[orderings[k][length - 1]];
                int found = -1;
                if (firstWithHash.TryGetValue((hash, length), out int candidate))
                {
                    if (SameSet(k, unique[candidate].Ordering, length)) found = candidate;
                    else
                    {
                        // A hash collision (about one in 2⁶⁴ per pair): fall back to comparing with every coalition of this size.
                        for (int u = 0; u < unique.Count && found < 0; u++)
                            if (unique[u].Length == length && SameSet(k, unique[u].Ordering, length)) found = u;
                    }
                }
                if (found < 0)
                {
                    found = unique.Count;
                    unique.Add((k, length));
                    firstWithHash.TryAdd((hash, length), found);
                }
                column[k * (m + 1) + length] = found;
            }
        }

        int rows = _inputs.Rows, count = unique.Count;
        int perCoalition = _background?.Rows ?? 1;
        var values = new double[rows * count];
        Batcher.Forward(_oracle, checked(rows * count * perCoalition), _inputs.RowShape, chunkRows,
            fill: (item, dst) =>
            {
                int cell = item / perCoalition, r = cell / count;
                var (k, length) = unique[cell % count];
                (_background is null ? _reference.Row(r) : _background.Row(item % perCoalition)).CopyTo(dst);
                var x = _inputs.Row(r);
                var sets = _groups(r);
                var ordering = orderings[k];
                for (int step = 0; step < length; step++)
                {
                    foreach (int j in sets[ordering[step]]) dst[j] = x[j];
                }
            },
            consume: (item, output) =>
            {
                int cell = item / perCoalition;
                values[cell] += output[targets[cell / count]] / (double)perCoalition;
            });
        return (values, count, column);
    }

    /// <summary>
    /// Feature groups as global ids 0 … M−1 from a mask (Captum's convention: ids are the feature indices); without a
    /// mask every element is a feature.
    /// </summary>
    public static (Func<int, IReadOnlyList<int[]>> Groups, int Count) FromMask(NdArray<long>? mask, NdArray<float> inputs, string inputName)
    {
        if (mask is null)
        {
            var singles = Enumerable.Range(0, inputs.RowSize).Select(j => new[] { j }).ToArray();
            return (_ => singles, inputs.RowSize);
        }
        _ = FeatureMask.Groups(mask, inputs, inputName); // validates the shape and that ids are non-negative
        bool shared = mask.Length == inputs.RowSize;
        long max = mask.Data.Max();
        if (max >= 1 << 20) throw new ArgumentException($"Feature mask id {max} is too large; number the features 0 … M−1.");
        int count = (int)max + 1;
        var cache = new IReadOnlyList<int[]>[inputs.Rows];
        IReadOnlyList<int[]> Build(int r)
        {
            var ids = mask.Data.AsSpan(shared ? 0 : r * inputs.RowSize, inputs.RowSize);
            var sets = Enumerable.Range(0, count).Select(_ => new List<int>()).ToArray();
            for (int j = 0; j < ids.Length; j++) sets[ids[j]].Add(j);
            return sets.Select(s => s.ToArray()).ToArray();
        }
        return (r => cache[shared ? 0 : r] ??= Build(shared ? 0 : r), count);
    }
}
