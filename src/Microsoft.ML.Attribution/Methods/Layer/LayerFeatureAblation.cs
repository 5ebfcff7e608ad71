using Microsoft.ML.Attribution.Oracles;
using Microsoft.ML.Attribution.Tensors;

namespace Microsoft.ML.Attribution.Methods;

/// <summary>
/// Layer feature ablation (Captum's <c>LayerFeatureAblation</c>): each feature of a layer — an element, or a group of
/// elements sharing an id in the layer mask — is replaced by its layer baseline (default 0) while the rest of the graph
/// reads the original input, and every element of the feature is attributed f(x)[t] − f(x with the layer feature
/// ablated)[t]. Shaped like the layer. All (row, feature) pairs run batched through the graph cut at the layer.
/// </summary>
public sealed class LayerFeatureAblation
{
    private readonly ILayerOracle _oracle;

    /// <summary>Creates the method over a layer oracle.</summary>
    public LayerFeatureAblation(ILayerOracle oracle) => _oracle = oracle ?? throw new ArgumentNullException(nameof(oracle));

    /// <summary>Attributes each row's target output to the layer's features.</summary>
    /// <param name="inputs">Rows to explain.</param>
    /// <param name="layerBaselines">Replacement layer values: null (zeros), one value, one layer row, or one per row.</param>
    /// <param name="target">Output index per row; default each row's prediction.</param>
    /// <param name="layerMask">Group ids shaped like the layer (all rows or one row, optionally with a leading 1); default one feature per element.</param>
    /// <param name="internalBatchSize">Perturbed rows per model call.</param>
    /// <param name="attributeToLayerInput">Ablate the layer's input rather than its output.</param>
    public AttributionResult Attribute(NdArray<float> inputs, NdArray<float>? layerBaselines = null, Target? target = null,
        NdArray<long>? layerMask = null, int? internalBatchSize = null, bool attributeToLayerInput = false)
    {
        var layer = LayerPerturbation.Prepare(_oracle, inputs, target, internalBatchSize, attributeToLayerInput);
        var reference = Baselines.Expand(layerBaselines, layer.Values, layer.Name);
        var groups = FeatureMask.Groups(layerMask, layer.Values, layer.Name);
        return layer.Run(_oracle, r => groups(r), (r, _) => reference.Row(r), internalBatchSize);
    }
}

/// <summary>
/// Layer feature permutation (Captum's <c>LayerFeaturePermutation</c>): each feature of a layer (element or mask group)
/// is shuffled across the rows of the batch while the rest of the graph reads the original inputs, and every row is
/// attributed f(x)[t] − f(x with the layer feature taken from another row)[t]. Needs at least two rows.
/// </summary>
public sealed class LayerFeaturePermutation
{
    private readonly ILayerOracle _oracle;

    /// <summary>Creates the method over a layer oracle.</summary>
    public LayerFeaturePermutation(ILayerOracle oracle) => _oracle = oracle ?? throw new ArgumentNullException(nameof(oracle));

    /// <summary>Attributes each row's target output to the layer's features by shuffling them across the batch.</summary>
    /// <param name="inputs">Rows to explain (at least 2).</param>
    /// <param name="target">Output index per row; default each row's prediction.</param>
    /// <param name="layerMask">Group ids shaped like one layer row (optionally with a leading 1); default one feature per element.</param>
    /// <param name="seed">Seed of the permutations.</param>
    /// <param name="internalBatchSize">Permuted rows per model call.</param>
    /// <param name="attributeToLayerInput">Permute the layer's input rather than its output.</param>
    public AttributionResult Attribute(NdArray<float> inputs, Target? target = null, NdArray<long>? layerMask = null, int? seed = null,
        int? internalBatchSize = null, bool attributeToLayerInput = false)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        int rows = inputs.Rows;
        if (rows < 2) throw new ArgumentException($"Layer feature permutation needs at least 2 rows to shuffle; got {rows}.", nameof(inputs));
        var layer = LayerPerturbation.Prepare(_oracle, inputs, target, internalBatchSize, attributeToLayerInput);
        var random = RandomDraws.Create(seed);
        int features = FeatureMask.Groups(layerMask, layer.Values, layer.Name)(0).Count;
        var permutations = new int[features][];
        for (int f = 0; f < features; f++)
        {
            var perm = Enumerable.Range(0, rows).ToArray();
            do { random.Shuffle(perm); } while (perm.Select((p, i) => p == i).All(same => same));
            permutations[f] = perm;
        }
        return Run(layer, permutations, layerMask, internalBatchSize);
    }

    /// <summary>The same with the permutations given: <paramref name="permutations"/>[f][r] is the row whose layer values feature f of row r takes.</summary>
    internal AttributionResult Attribute(NdArray<float> inputs, int[][] permutations, Target? target, NdArray<long>? layerMask,
        int? internalBatchSize, bool attributeToLayerInput = false) =>
        Run(LayerPerturbation.Prepare(_oracle, inputs, target, internalBatchSize, attributeToLayerInput), permutations, layerMask, internalBatchSize);

    private AttributionResult Run(LayerPerturbation layer, int[][] permutations, NdArray<long>? layerMask, int? internalBatchSize)
    {
        if (layerMask is not null && layerMask.Length != layer.Values.RowSize)
            throw new ArgumentException($"Layer feature permutation takes one mask for all rows, shaped {NdArray<float>.FormatShape([1, .. layer.Values.RowShape])}; got {layerMask.ShapeText}.");
        var groups = FeatureMask.Groups(layerMask, layer.Values, layer.Name);
        int rows = layer.Values.Rows;
        if (permutations.Length != groups(0).Count || permutations.Any(p => p.Length != rows || p.Any(i => i < 0 || i >= rows)))
            throw new ArgumentException($"Give one permutation of the {rows} rows for each of the {groups(0).Count} layer features.");
        return layer.Run(_oracle, groups, (r, set) => layer.Values.Row(permutations[set][r]), internalBatchSize);
    }
}

/// <summary>The shared core of the layer perturbation methods: layer values and outputs at the inputs, then every (row, element set) pair through the cut graph.</summary>
internal sealed class LayerPerturbation
{
    private LayerPerturbation(string name, InputRows inputs, NdArray<float> values, NdArray<float> outputs, int[] targets)
    {
        Name = name;
        Inputs = inputs;
        Values = values;
        Outputs = outputs;
        Targets = targets;
    }

    public string Name { get; }

    public InputRows Inputs { get; }

    /// <summary>The layer's values at the inputs, <c>[N, …]</c>.</summary>
    public NdArray<float> Values { get; }

    /// <summary>The outputs at the inputs, <c>[N, outputs]</c>.</summary>
    public NdArray<float> Outputs { get; }

    public int[] Targets { get; }

    public static LayerPerturbation Prepare(ILayerOracle oracle, NdArray<float> inputs, Target? target, int? internalBatchSize, bool attributeToLayerInput)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        var rows = InputRows.Of(inputs);
        oracle.Validate(rows);
        string layer = oracle.Resolve(attributeToLayerInput);
        var evaluated = LayerAttribution.Evaluate(oracle, rows, oracle.ChunkRows(internalBatchSize, inputs.RowSize), oracle.OutputName, layer);
        var outputs = evaluated[0].Reshape(inputs.Rows, evaluated[0].RowSize);
        return new LayerPerturbation(layer, rows, evaluated[1], outputs, LayerAttribution.Targets(oracle, target, outputs));
    }

    /// <summary>Runs every (row, element set) pair; each element of a set gets f(x)[t] − f(perturbed)[t].</summary>
    public AttributionResult Run(ILayerOracle oracle, Func<int, IReadOnlyList<int[]>> sets, ReplacementRow replacement, int? internalBatchSize)
    {
        int rows = Values.Rows, size = Values.RowSize;
        var owner = new List<(int Row, int Set)>();
        for (int r = 0; r < rows; r++)
        {
            for (int s = 0; s < sets(r).Count; s++) owner.Add((r, s));
        }
        var attributions = new NdArray<float>(Values.Shape);
        int chunk = oracle.ChunkRows(internalBatchSize, Math.Max(Inputs.RowSize, size));
        oracle.CutGradients(Name, Values.RowShape, Inputs, item => owner[item].Row, owner.Count, chunk,
            fillLayer: (item, dst) =>
            {
                var (r, s) = owner[item];
                Values.Row(r).CopyTo(dst);
                var b = replacement(r, s);
                foreach (int j in sets(r)[s]) dst[j] = b[j];
            },
            targetOf: item => Targets[owner[item].Row],
            consume: (item, output, _) =>
            {
                var (r, s) = owner[item];
                int t = Targets[r];
                float difference = Outputs.Row(r)[t] - output[t];
                var row = attributions.Row(r);
                foreach (int j in sets(r)[s]) row[j] = difference;
            });
        return new AttributionResult(attributions, Targets);
    }
}
