using Microsoft.ML.Attribution.Tabular;
using Microsoft.ML.Attribution.Tensors;
using Microsoft.ML.Data;

namespace Microsoft.ML.Attribution.Tests.Tabular;

/// <summary>
/// The committed wine data (samples/data/wine.csv: 178 rows, 13 features, labels 0–2) and small tree models trained on
/// it in the test, plus brute-force Shapley values (all 2^F coalitions) to check TreeSHAP against.
/// </summary>
internal static class WineTrees
{
    public static string CsvPath => Path.Combine(AppContext.BaseDirectory, "Data", "wine.csv");

    /// <summary>Wine with <c>Features</c> = the first <paramref name="features"/> columns (slot names from the header),
    /// <c>Label</c> (0–2, Single) and <c>IsClass0</c> (Boolean).</summary>
    public static IDataView Load(MLContext ml, int features = 13)
    {
        // The data sample lets the loader read slot names from the header.
        var data = ml.Data.CreateTextLoader([
            new TextLoader.Column("Features", DataKind.Single, 0, features - 1),
            new TextLoader.Column("Label", DataKind.Single, 13),
        ], separatorChar: ',', hasHeader: true, dataSample: new MultiFileSource(CsvPath)).Load(CsvPath);
        return ml.Transforms.CustomMapping<LabelIn, BinaryOut>((i, o) => o.IsClass0 = i.Label == 0, null).Fit(data).Transform(data);
    }

    public sealed class LabelIn
    {
        public float Label { get; set; }
    }

    public sealed class BinaryOut
    {
        public bool IsClass0 { get; set; }
    }

    public static NdArray<float> Features(IDataView data, int? maxRows = null)
    {
        var values = new List<float>();
        int n = 0, size = 0;
        foreach (var row in data.GetColumn<float[]>("Features"))
        {
            if (maxRows is not null && n >= maxRows) break;
            values.AddRange(row);
            size = row.Length;
            n++;
        }
        return new NdArray<float>([.. values], n, size);
    }

    /// <summary>Rows spread over the data set (every <paramref name="step"/>-th row).</summary>
    public static NdArray<float> EveryNth(NdArray<float> rows, int step)
    {
        var picked = Enumerable.Range(0, rows.Rows).Where(r => r % step == 0).ToArray();
        var result = new NdArray<float>(picked.Length, rows.RowSize);
        for (int i = 0; i < picked.Length; i++) rows.Row(picked[i]).CopyTo(result.Row(i));
        return result;
    }

    public static float[] Scores(ITransformer model, IDataView data) => model.Transform(data).GetColumn<float>("Score").ToArray();

    /// <summary>Exact Shapley values of a value function over F players by enumerating every coalition.</summary>
    public static double[] BruteForceShapley(int f, Func<bool[], double> value)
    {
        var factorial = new double[f + 1];
        factorial[0] = 1;
        for (int i = 1; i <= f; i++) factorial[i] = factorial[i - 1] * i;
        var v = new double[1 << f];
        var member = new bool[f];
        for (int s = 0; s < v.Length; s++)
        {
            for (int j = 0; j < f; j++) member[j] = (s >> j & 1) != 0;
            v[s] = value(member);
        }
        var phi = new double[f];
        for (int s = 0; s < v.Length; s++)
        {
            int size = System.Numerics.BitOperations.PopCount((uint)s);
            for (int i = 0; i < f; i++)
            {
                if ((s >> i & 1) != 0) continue;
                phi[i] += factorial[size] * factorial[f - size - 1] / factorial[f] * (v[s | 1 << i] - v[s]);
            }
        }
        return phi;
    }

    /// <summary>Exact Shapley interaction index (Lundberg et al. 2020) of a value function over F players: off the diagonal
    /// Σ_S |S|!(F−|S|−2)!/(2(F−1)!)·Δ_ij v(S); on it φ_i − Σ_{j≠i} Φ_ij.</summary>
    public static double[,] BruteForceInteractions(int f, Func<bool[], double> value)
    {
        var factorial = new double[f + 1];
        factorial[0] = 1;
        for (int i = 1; i <= f; i++) factorial[i] = factorial[i - 1] * i;
        var v = new double[1 << f];
        var member = new bool[f];
        for (int s = 0; s < v.Length; s++)
        {
            for (int j = 0; j < f; j++) member[j] = (s >> j & 1) != 0;
            v[s] = value(member);
        }
        var result = new double[f, f];
        for (int s = 0; s < v.Length; s++)
        {
            int size = System.Numerics.BitOperations.PopCount((uint)s);
            for (int i = 0; i < f; i++)
            {
                for (int j = 0; j < f; j++)
                {
                    if (i == j || (s >> i & 1) != 0 || (s >> j & 1) != 0) continue;
                    double delta = v[s | 1 << i | 1 << j] - v[s | 1 << i] - v[s | 1 << j] + v[s];
                    result[i, j] += factorial[size] * factorial[f - size - 2] / (2 * factorial[f - 1]) * delta;
                }
            }
        }
        var phi = BruteForceShapley(f, value);
        for (int i = 0; i < f; i++)
        {
            double off = 0;
            for (int j = 0; j < f; j++) off += i == j ? 0 : result[i, j];
            result[i, i] = phi[i] - off;
        }
        return result;
    }

    /// <summary>A coalition of groups as the slots it makes known.</summary>
    public static bool[] SlotsOf(bool[] knownGroups, int[] groupOfSlot) => groupOfSlot.Select(g => knownGroups[g]).ToArray();

    /// <summary>Path-dependent value function: E[f | x_S] with node covers, written independently of the TreeSHAP recursion.</summary>
    public static double PathDependentValue(TreeEnsemble model, double[][] covers, int output, ReadOnlySpan<float> x, bool[] known)
    {
        double total = model.Bias[output];
        for (int t = 0; t < model.Trees.Length; t++)
        {
            var tree = model.Trees[t];
            if (tree.Output != output) continue;
            total += Expect(tree, covers[t], x.ToArray(), known, 0);
        }
        return total;
    }

    private static double Expect(Tree tree, double[] cover, float[] x, bool[] known, int node)
    {
        if (tree.IsLeaf(node)) return tree.Value[node];
        int f = tree.Feature[node], l = tree.Left[node], r = tree.Right[node];
        if (known[f]) return Expect(tree, cover, x, known, tree.Child(node, x[f]));
        double pl = cover[node] > 0 ? cover[l] / cover[node] : 0.5, pr = cover[node] > 0 ? cover[r] / cover[node] : 0.5;
        return pl * Expect(tree, cover, x, known, l) + pr * Expect(tree, cover, x, known, r);
    }

    /// <summary>Interventional value function: mean over background z of f(x on S, z elsewhere).</summary>
    public static double InterventionalValue(TreeEnsemble model, NdArray<float> background, int output, ReadOnlySpan<float> x, bool[] known)
    {
        double total = 0;
        var hybrid = new float[x.Length];
        for (int b = 0; b < background.Rows; b++)
        {
            var z = background.Row(b);
            for (int j = 0; j < hybrid.Length; j++) hybrid[j] = known[j] ? x[j] : z[j];
            total += model.Evaluate(hybrid)[output];
        }
        return total / background.Rows;
    }
}
