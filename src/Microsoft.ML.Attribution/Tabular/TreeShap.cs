using Microsoft.ML.Attribution.Tensors;

namespace Microsoft.ML.Attribution.Tabular;

/// <summary>Which exact TreeSHAP value function was used.</summary>
public enum TreeShapAlgorithm
{
    /// <summary>
    /// Path-dependent TreeSHAP (Lundberg, Erion &amp; Lee 2018, "Consistent Individualized Feature Attribution for Tree
    /// Ensembles", Algorithm 2): v(S) = E[f(x) | x_S] where a split on a feature outside S sends the expectation down
    /// both children weighted by node cover. ML.NET stores no cover, so covers come from routing the background rows
    /// through the trees; a node no background row reaches splits its weight evenly between its children.
    /// O(T·L·D²) per row.
    /// </summary>
    PathDependent,

    /// <summary>
    /// Interventional TreeSHAP: v(S) = mean over background rows z of f(x_S, z_rest). Exact, O(T·L·B) per row: for one
    /// z a leaf is reached iff every feature in A (where x's branch was needed) is in S and none in B (z's branch) is,
    /// and that game's Shapley values are v·(|A|−1)!|B|!/(|A|+|B|)! for A and −v·|A|!(|B|−1)!/(|A|+|B|)! for B.
    /// </summary>
    Interventional,
}

/// <summary>Exact SHAP values of an ML.NET tree ensemble's raw score.</summary>
/// <param name="Values">SHAP values <c>[n, outputs, P]</c>, P = features (or groups when a group map was given).</param>
/// <param name="ExpectedValues">Per output, the value with no feature known (the background's expected raw score).</param>
/// <param name="Algorithm">The value function used.</param>
/// <param name="Explained">What the explained outputs are (see <see cref="TreeEnsemble.Explained"/>).</param>
public sealed record TreeShapResult(NdArray<float> Values, double[] ExpectedValues, TreeShapAlgorithm Algorithm, string Explained)
{
    /// <summary>The SHAP values of one output as <c>[n, P]</c>.</summary>
    public NdArray<float> ForOutput(int output)
    {
        int n = Values.Shape[0], k = Values.Shape[1], f = Values.Shape[2];
        if (output < 0 || output >= k) throw new ArgumentOutOfRangeException(nameof(output), $"Output {output} is not in 0..{k - 1}.");
        var result = new NdArray<float>(n, f);
        for (int r = 0; r < n; r++) Values.Data.AsSpan((r * k + output) * f, f).CopyTo(result.Row(r));
        return result;
    }
}

/// <summary>Exact SHAP interaction values (Lundberg et al. 2020) of an ML.NET tree ensemble's raw score.</summary>
/// <param name="Values">Interaction values <c>[n, outputs, P, P]</c>, symmetric; row i of a row's matrix sums to that
/// row's SHAP value φ_i, so all entries sum to raw score − expected value.</param>
/// <param name="ExpectedValues">Per output, the SHAP base value.</param>
/// <param name="Explained">What the explained outputs are (see <see cref="TreeEnsemble.Explained"/>).</param>
public sealed record TreeShapInteractionResult(NdArray<float> Values, double[] ExpectedValues, string Explained);

/// <summary>
/// Exact TreeSHAP for ML.NET tree ensembles: per row and output, SHAP values φ with
/// <c>Σφ + ExpectedValue = raw score</c> (to float rounding).
/// </summary>
/// <remarks>
/// <para><b>Players.</b> By default each feature slot is a player. With a group map (<c>groupOfSlot[slot] = group</c>,
/// e.g. the one-hot slots of one source column in one group) the players are the groups and the values are the exact
/// Shapley values of the game whose players are the groups: the value functions only ask which players are known, so
/// TreeSHAP with every split relabelled to its group's player computes exactly that game.</para>
/// <para><b>Speed.</b> Path-dependent values use per-leaf tables (Fast TreeSHAP v2, see
/// <see cref="PathDependentTables"/>): O(trees·leaves·depth) per row after a one-off build, with at most
/// 2^d·d doubles per leaf whose path splits on d ≤ 10 distinct players (wider leaves are computed per row).
/// Batches are split into blocks of rows processed in parallel, each thread with its own scratch.</para>
/// <para><b>Missing values.</b> NaN features follow the model's own routing (see <see cref="TreeEnsemble"/>), so values
/// of rows with NaN still add up to the model's raw score. Infinities route like any other value.</para>
/// </remarks>
public sealed class TreeShap
{
    private readonly TreeEnsemble _model;
    private readonly NdArray<float> _background;
    private readonly double[][]? _ratios;
    private readonly int[][] _players;
    private readonly PathDependentTables? _tables;
    private readonly double[] _expected;
    private readonly int _depth;
    private readonly ThreadLocal<object> _rowScratch;

    /// <summary>Prepares TreeSHAP over a background (e.g. a sample of the training data's feature vectors).</summary>
    /// <param name="model">The trees.</param>
    /// <param name="background">Background rows <c>[B, F]</c>: they give the node covers (path-dependent) or are the
    /// reference distribution (interventional). NaN follows the model's missing-value routing.</param>
    /// <param name="algorithm">The value function.</param>
    /// <param name="groupOfSlot">Optional: per feature slot (length F), the group it belongs to, in
    /// <c>0..groupCount−1</c>; values are then per group. Null: one player per slot.</param>
    /// <param name="groupCount">Number of groups; defaults to the largest group index + 1. Groups no slot maps to get 0.</param>
    /// <exception cref="ArgumentException">The background is not <c>[B ≥ 1, F]</c> or the group map does not fit it.</exception>
    public TreeShap(TreeEnsemble model, NdArray<float> background, TreeShapAlgorithm algorithm = TreeShapAlgorithm.PathDependent,
        int[]? groupOfSlot = null, int? groupCount = null)
    {
        _model = model ?? throw new ArgumentNullException(nameof(model));
        _background = background ?? throw new ArgumentNullException(nameof(background));
        if (background.Rank != 2 || background.Rows == 0)
            throw new ArgumentException($"Background must be [B, F] with B ≥ 1; got {background.ShapeText}.", nameof(background));
        model.RequireWidth(background.Shape[1]);
        Algorithm = algorithm;
        FeatureCount = background.Shape[1];
        PlayerCount = ValidateGroups(groupOfSlot, groupCount, FeatureCount);
        GroupOfSlot = groupOfSlot is null ? null : (int[])groupOfSlot.Clone();
        _players = model.Trees.Select(t => t.Feature.Select(f => GroupOfSlot?[f] ?? f).ToArray()).ToArray();
        _depth = model.Trees.Length == 0 ? 0 : model.Trees.Max(t => t.Depth);
        _expected = (double[])model.Bias.Clone();
        if (algorithm == TreeShapAlgorithm.PathDependent)
        {
            var covers = model.Trees.Select(t => Covers(t, background)).ToArray();
            _ratios = model.Trees.Select((t, i) => PathDependentTreeShap.Ratios(t, covers[i])).ToArray();
            _tables = _depth <= PathDependentTables.MaxWidthSupported ? new PathDependentTables(model.Trees, _ratios, _players) : null;
            for (int t = 0; t < model.Trees.Length; t++)
                _expected[model.Trees[t].Output] += PathDependentTreeShap.ExpectedValue(model.Trees[t], covers[t]);
        }
        else
        {
            for (int b = 0; b < background.Rows; b++)
            {
                var row = background.Row(b);
                foreach (var tree in model.Trees) _expected[tree.Output] += tree.Value[tree.Leaf(row)] / background.Rows;
            }
        }
        _rowScratch = new ThreadLocal<object>(CreateScratch);
    }

    /// <summary>The value function used.</summary>
    public TreeShapAlgorithm Algorithm { get; }

    /// <summary>Width of the rows explained.</summary>
    public int FeatureCount { get; }

    /// <summary>Number of players: the group count when a group map was given, else <see cref="FeatureCount"/>.</summary>
    public int PlayerCount { get; }

    /// <summary>Raw outputs explained per row (1, or one per class).</summary>
    public int OutputCount => _model.OutputCount;

    /// <summary>The slot → group map, or null when each slot is its own player.</summary>
    public IReadOnlyList<int>? GroupOfSlot { get; }

    /// <summary>Per output, the expected raw score (the SHAP base value).</summary>
    public IReadOnlyList<double> ExpectedValues => _expected;

    /// <summary>Bytes held by the path-dependent leaf tables (0 for interventional).</summary>
    public long TableBytes => _tables?.TableBytes ?? 0;

    /// <summary>Test hook: false makes path-dependent values use the recursive algorithm (Lundberg 2018, Algorithm 2).</summary>
    internal bool UseLeafTables { get; set; } = true;

    /// <summary>SHAP values of every row, in blocks of rows processed in parallel.</summary>
    /// <param name="rows">Rows <c>[n, F]</c>; NaN follows the model's missing-value routing.</param>
    /// <param name="maxThreads">Most threads to use; 0 (default) lets the thread pool decide.</param>
    /// <returns>Values <c>[n, outputs, players]</c>.</returns>
    public TreeShapResult Explain(NdArray<float> rows, int maxThreads = 0)
    {
        RequireRows(rows);
        int n = rows.Rows, width = OutputCount * PlayerCount;
        var values = new float[(long)n * width];
        ForBlocks(n, maxThreads, width, (first, count, scratch, phi) =>
        {
            if (scratch is PathDependentTables.Scratch tables) _tables!.AddBlock(rows, first, count, phi.AsSpan(0, count * width), PlayerCount, tables);
            else
            {
                for (int r = 0; r < count; r++) Accumulate(rows.Row(first + r), phi.AsSpan(r * width, width), scratch);
            }
            for (int i = 0; i < count * width; i++) values[(long)first * width + i] = (float)phi[i];
        });
        return new TreeShapResult(new NdArray<float>(values, n, OutputCount, PlayerCount), (double[])_expected.Clone(), Algorithm, _model.Explained);
    }

    /// <summary>SHAP values of one row into <paramref name="values"/> (<c>[outputs, players]</c> flattened), allocating
    /// nothing after the calling thread's first call.</summary>
    /// <exception cref="ArgumentException">The row is not F wide or <paramref name="values"/> is not outputs·players long.</exception>
    public void ExplainRow(ReadOnlySpan<float> row, Span<double> values)
    {
        if (row.Length != FeatureCount)
            throw new ArgumentException($"The row has {row.Length} features; this explainer expects {FeatureCount}.", nameof(row));
        if (values.Length != OutputCount * PlayerCount)
            throw new ArgumentException($"values has length {values.Length}; expected outputs × players = {OutputCount} × {PlayerCount}.", nameof(values));
        values.Clear();
        Accumulate(row, values, _rowScratch.Value!);
    }

    /// <summary>Exact path-dependent SHAP interaction values of every row (over the players: groups when grouped).</summary>
    /// <param name="rows">Rows <c>[n, F]</c>.</param>
    /// <param name="maxThreads">Most threads to use; 0 (default) lets the thread pool decide.</param>
    /// <returns>Values <c>[n, outputs, players, players]</c>; each row of a matrix sums to that player's SHAP value.</returns>
    /// <exception cref="NotSupportedException">The explainer is interventional.</exception>
    public TreeShapInteractionResult ExplainInteractions(NdArray<float> rows, int maxThreads = 0)
    {
        if (_tables is null)
            throw new NotSupportedException(Algorithm == TreeShapAlgorithm.PathDependent
                ? $"Interaction values need leaf tables, which support paths splitting on at most {PathDependentTables.MaxWidthSupported} distinct features; these trees are {_depth} deep."
                : "Interaction values are implemented for path-dependent TreeSHAP only; construct TreeShap with TreeShapAlgorithm.PathDependent.");
        RequireRows(rows);
        int n = rows.Rows, k = OutputCount, p = PlayerCount, square = p * p;
        var values = new float[(long)n * k * square];
        int rowWidth = k * square + k * p;
        ForBlocks(n, maxThreads, rowWidth, (first, count, scratch, block) =>
        {
            var tables = (PathDependentTables.Scratch)scratch;
            for (int r = first; r < first + count; r++)
            {
                var buffer = block.AsSpan((r - first) * rowWidth, rowWidth);
                var matrix = buffer[..(k * square)];
                var main = buffer.Slice(k * square, k * p);
                _tables.Add(rows.Row(r), main, p, tables);
                _tables.AddInteractions(rows.Row(r), matrix, p, tables);
                for (int o = 0; o < k; o++)
                {
                    for (int i = 0; i < p; i++)
                    {
                        // Lundberg et al. 2020: Φ_ii = φ_i − Σ_{j≠i} Φ_ij, so each row sums to φ_i.
                        double off = 0;
                        for (int j = 0; j < p; j++) off += matrix[o * square + i * p + j];
                        matrix[o * square + i * p + i] = main[o * p + i] - off;
                    }
                }
                long start = (long)r * k * square;
                for (int i = 0; i < matrix.Length; i++) values[start + i] = (float)matrix[i];
            }
        });
        return new TreeShapInteractionResult(new NdArray<float>(values, n, k, p, p), (double[])_expected.Clone(), _model.Explained);
    }

    private delegate void BlockAction(int first, int count, object scratch, double[] buffer);

    /// <summary>Rows per block: one tree's leaf tables are reused across a block while they sit in cache.</summary>
    private const int BlockRows = 64;

    /// <summary>
    /// Runs <paramref name="action"/> over rows 0..n−1 in contiguous blocks of <see cref="BlockRows"/>; each worker owns
    /// one scratch and one buffer (<c>BlockRows × rowLength</c>, zeroed per block), so the hot loop allocates nothing
    /// and threads write disjoint, block-sized output ranges.
    /// </summary>
    private void ForBlocks(int n, int maxThreads, int rowLength, BlockAction action)
    {
        if (maxThreads < 0) throw new ArgumentOutOfRangeException(nameof(maxThreads), $"maxThreads is {maxThreads}; use 0 for the default or a positive count.");
        int workers = maxThreads == 0 ? Environment.ProcessorCount : maxThreads;
        int blocks = (n + BlockRows - 1) / BlockRows;
        void RunBlock(int b, object scratch, double[] buffer)
        {
            int first = b * BlockRows, count = Math.Min(n, first + BlockRows) - first;
            Array.Clear(buffer, 0, count * rowLength);
            action(first, count, scratch, buffer);
        }
        if (workers == 1 || blocks <= 1)
        {
            var scratch = CreateScratch();
            var buffer = new double[BlockRows * rowLength];
            for (int b = 0; b < blocks; b++) RunBlock(b, scratch, buffer);
            return;
        }
        Parallel.For(0, blocks, new ParallelOptions { MaxDegreeOfParallelism = workers },
            () => (CreateScratch(), new double[BlockRows * rowLength]),
            (b, _, local) =>
            {
                RunBlock(b, local.Item1, local.Item2);
                return local;
            }, _ => { });
    }

    private object CreateScratch() => Algorithm == TreeShapAlgorithm.Interventional
        ? new InterventionalTreeShap(_depth, PlayerCount)
        : UseLeafTables && _tables is not null ? _tables.CreateScratch() : new PathDependentTreeShap(_depth);

    private void Accumulate(ReadOnlySpan<float> x, Span<double> phi, object scratch)
    {
        int p = PlayerCount;
        if (scratch is PathDependentTables.Scratch tables && UseLeafTables)
        {
            _tables!.Add(x, phi, p, tables);
            return;
        }
        if (scratch is PathDependentTables.Scratch) scratch = new PathDependentTreeShap(_depth);
        for (int t = 0; t < _model.Trees.Length; t++)
        {
            var tree = _model.Trees[t];
            var target = phi.Slice(tree.Output * p, p);
            if (scratch is PathDependentTreeShap pd) pd.Add(tree, _ratios![t], _players[t], x, target);
            else ((InterventionalTreeShap)scratch).Add(tree, _players[t], x, _background, target);
        }
    }

    private void RequireRows(NdArray<float> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        if (rows.Rank != 2 || rows.Shape[1] != FeatureCount)
            throw new ArgumentException($"Rows must be [n, {FeatureCount}] like the background; got {rows.ShapeText}.", nameof(rows));
    }

    private static int ValidateGroups(int[]? groupOfSlot, int? groupCount, int features)
    {
        if (groupOfSlot is null)
        {
            if (groupCount is not null) throw new ArgumentException("groupCount was given without groupOfSlot.", nameof(groupCount));
            return features;
        }
        if (groupOfSlot.Length != features)
            throw new ArgumentException($"groupOfSlot has {groupOfSlot.Length} entries but rows have {features} slots.", nameof(groupOfSlot));
        int count = groupCount ?? (features == 0 ? 0 : groupOfSlot.Max() + 1);
        for (int s = 0; s < features; s++)
        {
            if (groupOfSlot[s] < 0 || groupOfSlot[s] >= count)
                throw new ArgumentException($"groupOfSlot[{s}] = {groupOfSlot[s]} is not a group in 0..{count - 1}.", nameof(groupOfSlot));
        }
        return count;
    }

    /// <summary>Number of background rows reaching each node (NaN routed as the model routes it).</summary>
    internal static double[] Covers(Tree tree, NdArray<float> background)
    {
        var cover = new double[tree.NodeCount];
        for (int b = 0; b < background.Rows; b++)
        {
            var row = background.Row(b);
            int node = 0;
            cover[0]++;
            while (!tree.IsLeaf(node))
            {
                node = tree.Child(node, row[tree.Feature[node]]);
                cover[node]++;
            }
        }
        return cover;
    }

    /// <summary>Share of a node's weight that flows to <paramref name="child"/> when its split feature is unknown.</summary>
    internal static double CoverRatio(double[] cover, int node, int child) =>
        cover[node] > 0 ? cover[child] / cover[node] : 0.5;
}
