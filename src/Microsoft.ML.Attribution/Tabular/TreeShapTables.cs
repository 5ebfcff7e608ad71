using System.Runtime.Intrinsics.X86;

namespace Microsoft.ML.Attribution.Tabular;

/// <summary>
/// Path-dependent TreeSHAP by leaf tables, after Fast TreeSHAP v2 (Yang 2021, "Fast TreeSHAP: Accelerating SHAP Value
/// Computation for Trees"). For one leaf with value v whose path splits on the distinct players U (d = |U|; a player
/// split on twice counts once), path-dependent TreeSHAP's value function is the product game
/// <c>v(S) = v·Π_{u∈S} o_u·Π_{u∈U∖S} z_u</c>, where z_u is the product of the cover ratios of u's splits on the path and
/// o_u ∈ {0,1} says whether x follows all of them. A row enters only through its pattern P = {u : o_u = 1}, so the
/// leaf's Shapley values <c>φ_i = v(o_i − z_i)·Σ_{S⊆P∖{i}} |S|!(d−1−|S|)!/d!·Π_{U∖S∖{i}} z</c> are tabulated once per
/// (leaf, P): a row then costs one pattern and d additions per leaf, O(T·L·D). The sum over S is a polynomial in which
/// each u ∈ P∖{i} contributes (z_u + t) and every other u the constant z_u; coefficient k weights subsets of size k.
/// Leaves wider than <see cref="MaxTableWidth"/> compute the same formula per row instead of storing 2^d·d entries.
/// Shapley interaction values (Lundberg et al. 2020) of the product game follow the same way for pairs, with weights
/// <c>|S|!(d−2−|S|)!/(2(d−1)!)</c> and factor (o_i − z_i)(o_j − z_j).
/// <para><b>Dense rows.</b> For trees of at most 64 internal nodes a row is routed once per tree into a bit mask (bit n:
/// x goes left at node n, NaN as the model sends it). Each leaf keeps the mask of its path's nodes and of the sides the
/// path takes; its players are numbered in node order, so when no player repeats on the path the pattern is one parallel
/// bit extract of the agreeing bits (BMI2 <c>PEXT</c>, or a scalar loop on CPUs without it). Tables hold floats. The
/// per-row methods are compiled fully optimized on first call (a serving path is warm at once; tiering would keep them
/// unoptimized for the first calls, or longer when a loaded machine starves the background compiler).</para>
/// </summary>
internal sealed class PathDependentTables
{
    /// <summary>Patterns are bit masks in an int: leaves wider than this need the recursive algorithm.</summary>
    public const int MaxWidthSupported = 30;

    /// <summary>Leaves splitting on more players than this are not tabulated (2^10·10 doubles = 80 KB per leaf at most).</summary>
    public const int MaxTableWidth = 10;

    private readonly int[] _treeFirstLeaf;   // tree t owns leaves _treeFirstLeaf[t] .. _treeFirstLeaf[t+1]−1
    private readonly int[] _treeOutput;
    private readonly int[] _leafPathStart;   // into _pathNode/_pathBit/_pathLeft
    private readonly int[] _pathNode;
    private readonly int[] _pathBit;
    private readonly int[] _pathLeft;      // 1 when the path goes left at that node
    private readonly int[] _leafPlayerStart; // into _player/_zero
    private readonly int[] _player;
    private readonly double[] _zero;
    private readonly double[] _leafValue;
    private readonly long[] _tableStart;     // −1 when the leaf is computed per row
    private readonly float[] _table;
    private readonly Tree[] _trees;
    private readonly bool[] _treeDense;      // ≤ 64 internal nodes: routed into a bit mask
    private readonly ulong[] _leafMask;      // the path's nodes
    private readonly ulong[] _leafSide;      // of those, the nodes where the path goes left
    private readonly bool[] _leafDistinct;   // no player repeats on the path: pattern = PEXT of the agreeing bits

    /// <param name="trees">The trees.</param>
    /// <param name="ratios">Per tree and node, the cover share it receives from its parent.</param>
    /// <param name="players">Per tree and internal node, the player its split belongs to.</param>
    /// <param name="maxTableWidth">Widest leaf to tabulate (tests lower it to exercise the per-row formula).</param>
    public PathDependentTables(Tree[] trees, double[][] ratios, int[][] players, int maxTableWidth = MaxTableWidth)
    {
        _trees = trees;
        _treeFirstLeaf = new int[trees.Length + 1];
        _treeOutput = trees.Select(t => t.Output).ToArray();
        var pathStart = new List<int> { 0 };
        var pathNode = new List<int>();
        var pathBit = new List<int>();
        var pathLeft = new List<int>();
        var playerStart = new List<int> { 0 };
        var player = new List<int>();
        var zero = new List<double>();
        var value = new List<double>();
        var tableStart = new List<long>();
        var leafMask = new List<ulong>();
        var leafSide = new List<ulong>();
        var leafDistinct = new List<bool>();
        _treeDense = trees.Select(t => t.InternalCount <= 64).ToArray();
        long tableSize = 0;
        for (int t = 0; t < trees.Length; t++)
        {
            var tree = trees[t];
            foreach (var (leaf, path) in LeafPaths(tree))
            {
                int first = player.Count;
                // Players in node order: a parallel bit extract over the path's nodes then yields the pattern directly.
                path.Sort((a, b) => a.Node.CompareTo(b.Node));
                ulong mask = 0, side = 0;
                foreach (var (node, left) in path)
                {
                    int p = players[t][node];
                    int child = left ? tree.Left[node] : tree.Right[node];
                    int slot = player.IndexOf(p, first);
                    if (slot < 0)
                    {
                        slot = player.Count;
                        player.Add(p);
                        zero.Add(1);
                    }
                    zero[slot] *= ratios[t][child];
                    if (_treeDense[t])
                    {
                        mask |= 1UL << node;
                        if (left) side |= 1UL << node;
                    }
                    pathNode.Add(node);
                    pathBit.Add(1 << (slot - first));
                    pathLeft.Add(left ? 1 : 0);
                }
                int d = player.Count - first;
                if (d > MaxWidthSupported)
                    throw new NotSupportedException($"Tree {t} leaf {leaf} splits on {d} distinct features; leaf tables support {MaxWidthSupported}.");
                pathStart.Add(pathNode.Count);
                leafMask.Add(mask);
                leafSide.Add(side);
                leafDistinct.Add(_treeDense[t] && d == path.Count);
                playerStart.Add(player.Count);
                value.Add(tree.Value[leaf]);
                if (d <= maxTableWidth)
                {
                    tableStart.Add(tableSize);
                    tableSize += (long)d << d;
                }
                else tableStart.Add(-1);
            }
            _treeFirstLeaf[t + 1] = value.Count;
        }
        (_leafPathStart, _pathNode, _pathBit, _pathLeft) = ([.. pathStart], [.. pathNode], [.. pathBit], [.. pathLeft]);
        (_leafPlayerStart, _player, _zero, _leafValue, _tableStart) = ([.. playerStart], [.. player], [.. zero], [.. value], [.. tableStart]);
        (_leafMask, _leafSide, _leafDistinct) = ([.. leafMask], [.. leafSide], [.. leafDistinct]);
        MaxWidth = _leafValue.Length == 0 ? 0 : Enumerable.Range(0, _leafValue.Length).Max(Width);
        MaxInternalCount = trees.Length == 0 ? 0 : trees.Max(t => t.InternalCount);
        _inverseBinomial = new double[MaxWidth + 1][];
        for (int n = 0; n <= MaxWidth; n++) _inverseBinomial[n] = Enumerable.Range(0, n + 1).Select(k => 1 / Binomial(n, k)).ToArray();
        _table = new float[tableSize];
        var coefficients = new double[MaxWidth + 2];
        var values = new double[Math.Max(1, MaxWidth)];
        for (int leaf = 0; leaf < _leafValue.Length; leaf++)
        {
            if (_tableStart[leaf] < 0) continue;
            int d = Width(leaf);
            for (int pattern = 0; pattern < 1 << d; pattern++)
            {
                LeafValues(leaf, pattern, values.AsSpan(0, d), coefficients);
                for (int i = 0; i < d; i++) _table[_tableStart[leaf] + (long)pattern * d + i] = (float)values[i];
            }
        }
    }

    /// <summary>Bytes held by the leaf tables.</summary>
    public long TableBytes => _table.LongLength * sizeof(float);

    /// <summary>Whether patterns use BMI2's parallel bit extract (default where the CPU has it); tests turn it off to
    /// compare with the scalar extract.</summary>
    public bool UseBmi2 { get; set; } = Bmi2.X64.IsSupported;

    /// <summary>The most distinct players on one leaf's path.</summary>
    public int MaxWidth { get; }

    public int MaxInternalCount { get; }

    /// <summary>v(∅) per tree: Σ over leaves of v·Π z.</summary>
    public double ExpectedValue(int tree)
    {
        double sum = 0;
        for (int leaf = _treeFirstLeaf[tree]; leaf < _treeFirstLeaf[tree + 1]; leaf++)
        {
            double product = _leafValue[leaf];
            for (int i = _leafPlayerStart[leaf]; i < _leafPlayerStart[leaf + 1]; i++) product *= _zero[i];
            sum += product;
        }
        return sum;
    }

    /// <summary>Per-row working memory, one per thread.</summary>
    public sealed class Scratch(int maxInternal, int maxWidth)
    {
        public readonly int[] GoesLeft = new int[Math.Max(1, maxInternal)];
        public readonly double[] Coefficients = new double[maxWidth + 2];
        public readonly double[] Values = new double[Math.Max(1, maxWidth)];
    }

    public Scratch CreateScratch() => new(MaxInternalCount, MaxWidth);

    /// <summary>Adds the SHAP values of row <paramref name="x"/> to <paramref name="phi"/> (<c>[outputs, players]</c> flattened).</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public void Add(ReadOnlySpan<float> x, Span<double> phi, int playerCount, Scratch scratch)
    {
        for (int t = 0; t < _trees.Length; t++) AddTree(t, x, phi.Slice(_treeOutput[t] * playerCount, playerCount), scratch);
    }

    /// <summary>
    /// Adds the SHAP values of <paramref name="count"/> rows from <paramref name="first"/> to <paramref name="phi"/>
    /// (<c>[count, outputs, players]</c> flattened), tree by tree: one tree's tables (tens of KB) then serve every row of
    /// the block from cache, where row by row each leaf lookup would miss in megabytes of tables.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public void AddBlock(Tensors.NdArray<float> rows, int first, int count, Span<double> phi, int playerCount, Scratch scratch)
    {
        int stride = phi.Length / count;
        for (int t = 0; t < _trees.Length; t++)
        {
            int offset = _treeOutput[t] * playerCount;
            for (int r = 0; r < count; r++) AddTree(t, rows.Row(first + r), phi.Slice(r * stride + offset, playerCount), scratch);
        }
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private void AddTree(int t, ReadOnlySpan<float> x, Span<double> target, Scratch scratch)
    {
        var table = _table;
        var player = _player;
        var goesLeft = scratch.GoesLeft;
        bool dense = _treeDense[t];
        ulong goes = dense ? RouteBits(_trees[t], x) : 0;
        if (!dense) Route(t, x, goesLeft);
        for (int leaf = _treeFirstLeaf[t]; leaf < _treeFirstLeaf[t + 1]; leaf++)
        {
            int first = _leafPlayerStart[leaf], d = _leafPlayerStart[leaf + 1] - first;
            if (d == 0) continue;
            int pattern = dense ? Pattern(leaf, goes) : Pattern(leaf, goesLeft);
            long start = _tableStart[leaf];
            if (start >= 0)
            {
                int offset = (int)(start + (long)pattern * d);
                for (int i = 0; i < d; i++) target[player[first + i]] += table[offset + i];
            }
            else
            {
                var values = scratch.Values.AsSpan(0, d);
                LeafValues(leaf, pattern, values, scratch.Coefficients);
                for (int i = 0; i < d; i++) target[player[first + i]] += values[i];
            }
        }
    }

    /// <summary>
    /// Adds the off-diagonal SHAP interaction values of row <paramref name="x"/> to <paramref name="phi"/>
    /// (<c>[outputs, players, players]</c> flattened); the caller fills the diagonal as φ_i − Σ_{j≠i} Φ_ij.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public void AddInteractions(ReadOnlySpan<float> x, Span<double> phi, int playerCount, Scratch scratch)
    {
        int square = playerCount * playerCount;
        for (int t = 0; t < _trees.Length; t++)
        {
            var target = phi.Slice(_treeOutput[t] * square, square);
            bool dense = _treeDense[t];
            ulong goes = dense ? RouteBits(_trees[t], x) : 0;
            if (!dense) Route(t, x, scratch.GoesLeft);
            for (int leaf = _treeFirstLeaf[t]; leaf < _treeFirstLeaf[t + 1]; leaf++)
            {
                int first = _leafPlayerStart[leaf], d = _leafPlayerStart[leaf + 1] - first;
                if (d < 2) continue;
                int pattern = dense ? Pattern(leaf, goes) : Pattern(leaf, scratch.GoesLeft);
                double v = _leafValue[leaf];
                for (int i = 0; i < d; i++)
                {
                    double di = ((pattern >> i) & 1) - _zero[first + i];
                    if (di == 0) continue;
                    for (int j = i + 1; j < d; j++)
                    {
                        double dj = ((pattern >> j) & 1) - _zero[first + j];
                        if (dj == 0) continue;
                        var c = Polynomial(first, d, pattern, i, j, scratch.Coefficients);
                        // |S|!(d−2−|S|)!/(2(d−1)!) = 1/(2(d−1)·C(d−2, |S|)).
                        double sum = 0;
                        for (int k = 0; k <= d - 2; k++) sum += c[k] * _inverseBinomial[d - 2][k];
                        double value = v * di * dj * sum / (2.0 * (d - 1));
                        target[_player[first + i] * playerCount + _player[first + j]] += value;
                        target[_player[first + j] * playerCount + _player[first + i]] += value;
                    }
                }
            }
        }
    }

    private void Route(int t, ReadOnlySpan<float> x, int[] goesLeft)
    {
        var tree = _trees[t];
        var feature = tree.Feature;
        for (int node = 0; node < feature.Length; node++) goesLeft[node] = tree.GoesLeft(node, x[feature[node]]) ? 1 : 0;
    }

    /// <summary>Bit n set when x goes left at internal node n (at most 64 nodes); NaN goes where the model sends it.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    internal static ulong RouteBits(Tree tree, ReadOnlySpan<float> x)
    {
        var feature = tree.Feature;
        var threshold = tree.Threshold;
        var nanLeft = tree.NanGoesLeft;
        ulong bits = 0;
        for (int node = 0; node < feature.Length; node++)
        {
            float v = x[feature[node]];
            // Non-short-circuit: NaN compares false, and then the model's missing-value side decides.
            bool left = (v <= threshold[node]) | (float.IsNaN(v) & nanLeft[node]);
            bits |= (ulong)System.Runtime.CompilerServices.Unsafe.As<bool, byte>(ref left) << node;
        }
        return bits;
    }

    /// <summary>The leaf's pattern (bit i: x agrees with every split of the leaf's player i) from a routed bit mask.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private int Pattern(int leaf, ulong goes)
    {
        ulong agree = ~(goes ^ _leafSide[leaf]);
        if (_leafDistinct[leaf]) return (int)(UseBmi2 ? Bmi2.X64.ParallelBitExtract(agree, _leafMask[leaf]) : ExtractScalar(agree, _leafMask[leaf]));
        int pattern = (1 << (_leafPlayerStart[leaf + 1] - _leafPlayerStart[leaf])) - 1;
        for (int k = _leafPathStart[leaf]; k < _leafPathStart[leaf + 1]; k++)
            pattern &= ~(_pathBit[k] & -(int)(((goes >> _pathNode[k]) ^ (ulong)_pathLeft[k]) & 1));
        return pattern;
    }

    /// <summary>PEXT without BMI2: the bits of <paramref name="value"/> at <paramref name="mask"/>'s set bits, packed low.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    internal static ulong ExtractScalar(ulong value, ulong mask)
    {
        ulong result = 0;
        for (int k = 0; mask != 0; k++, mask &= mask - 1)
        {
            if ((value & mask & (~mask + 1)) != 0) result |= 1UL << k;
        }
        return result;
    }

    private int Pattern(int leaf, int[] goesLeft)
    {
        int pattern = (1 << (_leafPlayerStart[leaf + 1] - _leafPlayerStart[leaf])) - 1;
        // Branch-free: across rows x's side at a split is unpredictable, and a mispredicted branch per split costs
        // more than the arithmetic. −(0 or 1) is 0 or all ones, selecting the player's bit to clear.
        for (int k = _leafPathStart[leaf]; k < _leafPathStart[leaf + 1]; k++)
            pattern &= ~(_pathBit[k] & -(goesLeft[_pathNode[k]] ^ _pathLeft[k]));
        return pattern;
    }

    /// <summary>The leaf's Shapley values for <paramref name="pattern"/>, by the polynomial of the class summary.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private void LeafValues(int leaf, int pattern, Span<double> values, double[] coefficients)
    {
        int first = _leafPlayerStart[leaf], d = _leafPlayerStart[leaf + 1] - first;
        double v = _leafValue[leaf];
        for (int i = 0; i < d; i++)
        {
            double delta = ((pattern >> i) & 1) - _zero[first + i];
            if (delta == 0 || v == 0)
            {
                values[i] = 0;
                continue;
            }
            var c = Polynomial(first, d, pattern, i, -1, coefficients);
            // |S|!(d−1−|S|)!/d! = 1/(d·C(d−1, |S|)).
            double sum = 0;
            for (int k = 0; k <= d - 1; k++) sum += c[k] * _inverseBinomial[d - 1][k];
            values[i] = v * delta * sum / d;
        }
    }

    /// <summary>Coefficients of Π over players other than i, j of (z_u + t) for u in the pattern, z_u otherwise.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private Span<double> Polynomial(int first, int d, int pattern, int i, int j, double[] c)
    {
        int degree = 0;
        c[0] = 1;
        for (int u = 0; u < d; u++)
        {
            if (u == i || u == j) continue;
            double z = _zero[first + u];
            if (((pattern >> u) & 1) == 0)
            {
                for (int k = 0; k <= degree; k++) c[k] *= z;
                continue;
            }
            c[degree + 1] = 0;
            for (int k = degree + 1; k > 0; k--) c[k] = c[k] * z + c[k - 1];
            c[0] *= z;
            degree++;
        }
        for (int k = degree + 1; k < d; k++) c[k] = 0;
        return c;
    }

    private static double Binomial(int n, int k)
    {
        double result = 1;
        for (int i = 1; i <= k; i++) result = result * (n - k + i) / i;
        return result;
    }

    private readonly double[][] _inverseBinomial;

    private int Width(int leaf) => _leafPlayerStart[leaf + 1] - _leafPlayerStart[leaf];

    /// <summary>Each leaf with its root-to-leaf path as (internal node, goes left) pairs, in node order.</summary>
    private static IEnumerable<(int Leaf, List<(int Node, bool Left)> Path)> LeafPaths(Tree tree)
    {
        var result = new List<(int, List<(int, bool)>)>();
        var path = new List<(int, bool)>();
        void Walk(int node)
        {
            if (tree.IsLeaf(node))
            {
                result.Add((node, [.. path]));
                return;
            }
            path.Add((node, true));
            Walk(tree.Left[node]);
            path[^1] = (node, false);
            Walk(tree.Right[node]);
            path.RemoveAt(path.Count - 1);
        }
        Walk(0);
        return result;
    }
}
