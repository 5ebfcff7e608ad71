namespace Microsoft.ML.Attribution.Tabular;

/// <summary>
/// Path-dependent TreeSHAP (Lundberg, Erion &amp; Lee 2018, Algorithm 2) with per-thread scratch space. The path holds,
/// for each feature split on above the current node, the fraction of "feature unknown" weight (z, the cover ratio)
/// and of "feature known" weight (o, 1 when x takes this branch) flowing down, plus the Shapley permutation weights
/// w of the subsets of path features; EXTEND grows the path by one feature, UNWIND removes one.
/// </summary>
internal sealed class PathDependentTreeShap
{
    private struct Element
    {
        public int Feature;
        public double Zero; // z: share of the weight flowing here when the feature is unknown
        public double One;  // o: 1 when x itself takes this branch, else 0
        public double Weight;
    }

    private readonly int _stride;
    private readonly Element[] _path;
    private readonly double[] _inverse; // 1/k: multiplications are cheaper than the divisions in UNWIND's inner loop

    public PathDependentTreeShap(int maxDepth)
    {
        _inverse = new double[maxDepth + 3];
        for (int k = 1; k < _inverse.Length; k++) _inverse[k] = 1.0 / k;
        // Level k of the recursion keeps its own copy of the path (at most depth + 1 elements) at offset k·stride.
        _stride = maxDepth + 2;
        _path = new Element[_stride * (maxDepth + 2)];
    }

    /// <summary>v(∅): the cover-weighted mean of the leaves.</summary>
    public static double ExpectedValue(Tree tree, double[] cover)
    {
        double Walk(int node) => tree.IsLeaf(node) ? tree.Value[node]
            : TreeShap.CoverRatio(cover, node, tree.Left[node]) * Walk(tree.Left[node]) +
              TreeShap.CoverRatio(cover, node, tree.Right[node]) * Walk(tree.Right[node]);
        return Walk(0);
    }

    /// <summary>Per node, the share of its parent's weight it receives when the parent's feature is unknown.</summary>
    public static double[] Ratios(Tree tree, double[] cover)
    {
        var ratio = new double[tree.NodeCount];
        ratio[0] = 1;
        for (int n = 0; n < tree.InternalCount; n++)
        {
            ratio[tree.Left[n]] = TreeShap.CoverRatio(cover, n, tree.Left[n]);
            ratio[tree.Right[n]] = TreeShap.CoverRatio(cover, n, tree.Right[n]);
        }
        return ratio;
    }

    /// <summary>Adds the tree's SHAP values for row <paramref name="x"/> to <paramref name="phi"/>; <paramref name="ratio"/>
    /// comes from <see cref="Ratios"/>, and <paramref name="player"/> gives per internal node the player (feature or group)
    /// its split belongs to.</summary>
    public void Add(Tree tree, double[] ratio, int[] player, ReadOnlySpan<float> x, Span<double> phi) =>
        Recurse(tree, ratio, player, x, phi, 0, 0, 0, 1, 1, -1, 0);

    private void Recurse(Tree tree, double[] ratio, int[] player, ReadOnlySpan<float> x, Span<double> phi,
        int node, int parentOffset, int length, double pz, double po, int pi, int level)
    {
        int offset = level * _stride;
        if (level > 0) _path.AsSpan(parentOffset, length).CopyTo(_path.AsSpan(offset, length));
        var path = _path.AsSpan(offset, length + 1);
        Extend(path, length, pz, po, pi);
        length++;
        if (tree.IsLeaf(node))
        {
            double value = tree.Value[node];
            for (int i = 1; i < length; i++)
            {
                ref var e = ref path[i];
                phi[e.Feature] += UnwoundSum(path, i) * (e.One - e.Zero) * value;
            }
            return;
        }
        int feature = player[node];
        bool goesLeft = tree.GoesLeft(node, x[tree.Feature[node]]);
        int hot = goesLeft ? tree.Left[node] : tree.Right[node];
        int cold = goesLeft ? tree.Right[node] : tree.Left[node];
        double iz = 1, io = 1;
        for (int k = 1; k < length; k++)
        {
            if (path[k].Feature != feature) continue;
            // A feature split on twice along the path counts once: fold its earlier fractions into this split.
            iz = path[k].Zero;
            io = path[k].One;
            Unwind(path, k);
            length--;
            break;
        }
        double hz = iz * ratio[hot];
        double cz = iz * ratio[cold];
        // A branch with no weight either way adds exactly zero, and skipping it keeps UNWIND away from 0/0.
        if (hz != 0 || io != 0) Recurse(tree, ratio, player, x, phi, hot, offset, length, hz, io, feature, level + 1);
        if (cz != 0) Recurse(tree, ratio, player, x, phi, cold, offset, length, cz, 0, feature, level + 1);
    }

    /// <summary>EXTEND: appends element <paramref name="l"/> to the first <paramref name="l"/> of <paramref name="path"/>.</summary>
    private static void Extend(Span<Element> path, int l, double pz, double po, int pi)
    {
        path[l] = new Element { Feature = pi, Zero = pz, One = po, Weight = l == 0 ? 1 : 0 };
        double scale = 1.0 / (l + 1);
        for (int i = l - 1; i >= 0; i--)
        {
            path[i + 1].Weight += po * path[i].Weight * (i + 1) * scale;
            path[i].Weight = pz * path[i].Weight * (l - i) * scale;
        }
    }

    // In path-dependent TreeSHAP "one" fractions are products of 0/1 indicators, so UNWIND's division by o is by 1.

    private static void Unwind(Span<Element> path, int index)
    {
        int l = path.Length;
        bool one = path[index].One != 0;
        double z = path[index].Zero;
        double next = path[l - 1].Weight;
        for (int j = l - 2; j >= 0; j--)
        {
            if (one)
            {
                double previous = path[j].Weight;
                path[j].Weight = next * l / (j + 1);
                next = previous - path[j].Weight * z * (l - j - 1) / l;
            }
            else
            {
                path[j].Weight = path[j].Weight * l / (z * (l - j - 1));
            }
        }
        for (int j = index; j < l - 1; j++)
        {
            double w = path[j].Weight;
            path[j] = path[j + 1];
            path[j].Weight = w;
        }
    }

    /// <summary>Σ of the weights UNWIND would leave after removing element <paramref name="index"/>, without changing the path.</summary>
    private double UnwoundSum(Span<Element> path, int index)
    {
        int l = path.Length;
        double z = path[index].Zero;
        double total = 0;
        if (path[index].One != 0)
        {
            double next = path[l - 1].Weight;
            double zOverL = z / l;
            for (int j = l - 2; j >= 0; j--)
            {
                double t = next * l * _inverse[j + 1];
                total += t;
                next = path[j].Weight - t * zOverL * (l - j - 1);
            }
        }
        else
        {
            for (int j = l - 2; j >= 0; j--) total += path[j].Weight * _inverse[l - j - 1];
            total *= l / z;
        }
        return total;
    }
}

/// <summary>
/// Interventional TreeSHAP against each background row: walks the tree for the pair (x, z), branching where x and z
/// part ways, and credits each reached leaf to the features that decided it (see <see cref="TreeShapAlgorithm.Interventional"/>).
/// </summary>
internal sealed class InterventionalTreeShap
{
    private readonly sbyte[] _side; // per feature: 0 undecided, +1 x's branch taken (in A), −1 z's branch (in B)
    private readonly int[] _a, _b;
    private readonly double[,] _weightA, _weightB;

    public InterventionalTreeShap(int maxDepth, int players)
    {
        _side = new sbyte[players];
        _a = new int[maxDepth + 1];
        _b = new int[maxDepth + 1];
        int m = maxDepth + 1;
        _weightA = new double[m + 1, m + 1];
        _weightB = new double[m + 1, m + 1];
        for (int a = 0; a <= m; a++)
        {
            for (int b = 0; b <= m; b++)
            {
                // (a−1)!·b!/(a+b)! = 1/(a·C(a+b, a)); symmetric for B.
                if (a > 0) _weightA[a, b] = 1.0 / (a * Binomial(a + b, a));
                if (b > 0) _weightB[a, b] = 1.0 / (b * Binomial(a + b, b));
            }
        }
    }

    private static double Binomial(int n, int k)
    {
        double result = 1;
        for (int i = 1; i <= k; i++) result = result * (n - k + i) / i;
        return result;
    }

    /// <summary>Adds the tree's SHAP values of x, averaged over the background rows, to <paramref name="phi"/>;
    /// <paramref name="player"/> gives per internal node the player (feature or group) its split belongs to.</summary>
    public void Add(Tree tree, int[] player, ReadOnlySpan<float> x, Tensors.NdArray<float> background, Span<double> phi)
    {
        double share = 1.0 / background.Rows;
        for (int r = 0; r < background.Rows; r++)
            Walk(tree, player, x, background.Row(r), phi, 0, 0, 0, share);
    }

    private void Walk(Tree tree, int[] player, ReadOnlySpan<float> x, ReadOnlySpan<float> z, Span<double> phi, int node, int na, int nb, double share)
    {
        while (!tree.IsLeaf(node))
        {
            int f = player[node];
            int xChild = tree.Child(node, x[tree.Feature[node]]);
            int zChild = tree.Child(node, z[tree.Feature[node]]);
            if (xChild == zChild || _side[f] > 0) node = xChild;
            else if (_side[f] < 0) node = zChild;
            else
            {
                _side[f] = 1;
                _a[na] = f;
                Walk(tree, player, x, z, phi, xChild, na + 1, nb, share);
                _side[f] = -1;
                _b[nb] = f;
                Walk(tree, player, x, z, phi, zChild, na, nb + 1, share);
                _side[f] = 0;
                return;
            }
        }
        if (na + nb == 0) return;
        double value = tree.Value[node] * share;
        double forA = value * _weightA[na, nb], forB = value * _weightB[na, nb];
        for (int i = 0; i < na; i++) phi[_a[i]] += forA;
        for (int i = 0; i < nb; i++) phi[_b[i]] -= forB;
    }
}
