namespace Microsoft.ML.Attribution.Tabular;

/// <summary>
/// Path-dependent TreeSHAP (Lundberg, Erion &amp; Lee 2018, Algorithm 2) with per-thread scratch space. The path holds,
/// for each feature split on above the current node, the fraction of "feature unknown" weight (z, the cover ratio)
/// and of "feature known" weight (o, 1 when x takes this branch) flowing down, plus the Shapley permutation weights
/// w of the subsets of path features; EXTEND grows the path by one feature, UNWIND removes one.
/// </summary>
internal sealed class PathDependentTreeShap
{
    private readonly int _stride;
    private readonly int[] _d;
    private readonly double[] _z, _o, _w;

    public PathDependentTreeShap(int maxDepth)
    {
        // Level k of the recursion keeps its own copy of the path (at most depth + 1 elements) at offset k·stride.
        _stride = maxDepth + 2;
        int size = _stride * (maxDepth + 2);
        _d = new int[size];
        _z = new double[size];
        _o = new double[size];
        _w = new double[size];
    }

    /// <summary>v(∅): the cover-weighted mean of the leaves.</summary>
    public static double ExpectedValue(Tree tree, double[] cover)
    {
        double Walk(int node) => tree.IsLeaf(node) ? tree.Value[node]
            : TreeShap.CoverRatio(cover, node, tree.Left[node]) * Walk(tree.Left[node]) +
              TreeShap.CoverRatio(cover, node, tree.Right[node]) * Walk(tree.Right[node]);
        return Walk(0);
    }

    /// <summary>Adds the tree's SHAP values for row <paramref name="x"/> to <paramref name="phi"/>.</summary>
    public void Add(Tree tree, double[] cover, ReadOnlySpan<float> x, Span<double> phi) =>
        Recurse(tree, cover, x, phi, 0, 0, 0, 1, 1, -1, 0);

    private void Recurse(Tree tree, double[] cover, ReadOnlySpan<float> x, Span<double> phi,
        int node, int parentOffset, int length, double pz, double po, int pi, int level)
    {
        int offset = level * _stride;
        if (level > 0)
        {
            Array.Copy(_d, parentOffset, _d, offset, length);
            Array.Copy(_z, parentOffset, _z, offset, length);
            Array.Copy(_o, parentOffset, _o, offset, length);
            Array.Copy(_w, parentOffset, _w, offset, length);
        }
        Extend(offset, length, pz, po, pi);
        length++;
        if (tree.IsLeaf(node))
        {
            double value = tree.Value[node];
            for (int i = 1; i < length; i++)
            {
                double w = UnwoundSum(offset, length, i);
                phi[_d[offset + i]] += w * (_o[offset + i] - _z[offset + i]) * value;
            }
            return;
        }
        int feature = tree.Feature[node];
        bool goesLeft = x[feature] <= tree.Threshold[node];
        int hot = goesLeft ? tree.Left[node] : tree.Right[node];
        int cold = goesLeft ? tree.Right[node] : tree.Left[node];
        double iz = 1, io = 1;
        for (int k = 1; k < length; k++)
        {
            if (_d[offset + k] != feature) continue;
            // A feature split on twice along the path counts once: fold its earlier fractions into this split.
            iz = _z[offset + k];
            io = _o[offset + k];
            Unwind(offset, length, k);
            length--;
            break;
        }
        double hz = iz * TreeShap.CoverRatio(cover, node, hot);
        double cz = iz * TreeShap.CoverRatio(cover, node, cold);
        // A branch with no weight either way adds exactly zero, and skipping it keeps UNWIND away from 0/0.
        if (hz != 0 || io != 0) Recurse(tree, cover, x, phi, hot, offset, length, hz, io, feature, level + 1);
        if (cz != 0) Recurse(tree, cover, x, phi, cold, offset, length, cz, 0, feature, level + 1);
    }

    private void Extend(int offset, int length, double pz, double po, int pi)
    {
        int l = length;
        _d[offset + l] = pi;
        _z[offset + l] = pz;
        _o[offset + l] = po;
        _w[offset + l] = l == 0 ? 1 : 0;
        for (int i = l - 1; i >= 0; i--)
        {
            _w[offset + i + 1] += po * _w[offset + i] * (i + 1) / (l + 1);
            _w[offset + i] = pz * _w[offset + i] * (l - i) / (l + 1);
        }
    }

    private void Unwind(int offset, int length, int index)
    {
        int l = length;
        double o = _o[offset + index], z = _z[offset + index];
        double next = _w[offset + l - 1];
        for (int j = l - 2; j >= 0; j--)
        {
            if (o != 0)
            {
                double previous = _w[offset + j];
                _w[offset + j] = next * l / ((j + 1) * o);
                next = previous - _w[offset + j] * z * (l - j - 1) / l;
            }
            else
            {
                _w[offset + j] = _w[offset + j] * l / (z * (l - j - 1));
            }
        }
        for (int j = index; j < l - 1; j++)
        {
            _d[offset + j] = _d[offset + j + 1];
            _z[offset + j] = _z[offset + j + 1];
            _o[offset + j] = _o[offset + j + 1];
        }
    }

    /// <summary>Σ of the weights UNWIND would leave after removing element <paramref name="index"/>, without changing the path.</summary>
    private double UnwoundSum(int offset, int length, int index)
    {
        int l = length;
        double o = _o[offset + index], z = _z[offset + index];
        double next = _w[offset + l - 1], total = 0;
        for (int j = l - 2; j >= 0; j--)
        {
            if (o != 0)
            {
                double t = next * l / ((j + 1) * o);
                total += t;
                next = _w[offset + j] - t * z * (l - j - 1) / l;
            }
            else
            {
                total += _w[offset + j] * l / (z * (l - j - 1));
            }
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

    public InterventionalTreeShap(int maxDepth, int features)
    {
        _side = new sbyte[features];
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

    /// <summary>Adds the tree's SHAP values of x, averaged over the background rows, to <paramref name="phi"/>.</summary>
    public void Add(Tree tree, ReadOnlySpan<float> x, Tensors.NdArray<float> background, Span<double> phi)
    {
        double share = 1.0 / background.Rows;
        for (int r = 0; r < background.Rows; r++)
            Walk(tree, x, background.Row(r), phi, 0, 0, 0, share);
    }

    private void Walk(Tree tree, ReadOnlySpan<float> x, ReadOnlySpan<float> z, Span<double> phi, int node, int na, int nb, double share)
    {
        while (!tree.IsLeaf(node))
        {
            int f = tree.Feature[node];
            float threshold = tree.Threshold[node];
            int xChild = x[f] <= threshold ? tree.Left[node] : tree.Right[node];
            int zChild = z[f] <= threshold ? tree.Left[node] : tree.Right[node];
            if (xChild == zChild || _side[f] > 0) node = xChild;
            else if (_side[f] < 0) node = zChild;
            else
            {
                _side[f] = 1;
                _a[na] = f;
                Walk(tree, x, z, phi, xChild, na + 1, nb, share);
                _side[f] = -1;
                _b[nb] = f;
                Walk(tree, x, z, phi, zChild, na, nb + 1, share);
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
