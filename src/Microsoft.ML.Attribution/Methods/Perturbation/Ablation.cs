using Microsoft.ML.Attribution.Oracles;
using Microsoft.ML.Attribution.Tensors;

namespace Microsoft.ML.Attribution.Methods;

/// <summary>
/// The shared core of feature ablation and occlusion: for every row and every set of input elements, replace those
/// elements by the baseline, run the model, and report f(x)[t] − f(x with the set ablated)[t]. All (row, set) pairs
/// of all rows are batched together.
/// </summary>
/// <summary>The values that replace element set <c>set</c> of row <c>row</c> (a whole row; only the set's elements are read).</summary>
internal delegate ReadOnlySpan<float> ReplacementRow(int row, int set);

internal static class Ablation
{
    /// <summary>
    /// <c>perturbations(row)</c> lists the element sets (flat indices within the row) to ablate one at a time;
    /// <c>consume</c> gets (row, element set, output difference) for every pair. Returns the resolved targets.
    /// </summary>
    public static int[] Run(IForwardOracle oracle, NdArray<float> inputs, NdArray<float> reference, Target? target,
        int? internalBatchSize, Func<int, IReadOnlyList<int[]>> perturbations, Action<int, int[], float> consume) =>
        Run(oracle, inputs, (r, _) => reference.Row(r), target, internalBatchSize, perturbations, consume);

    /// <summary>The same with replacement values chosen per (row, set), e.g. another row's values for permutation.</summary>
    public static int[] Run(IForwardOracle oracle, NdArray<float> inputs, ReplacementRow replacement, Target? target,
        int? internalBatchSize, Func<int, IReadOnlyList<int[]>> perturbations, Action<int, int[], float> consume)
    {
        int rows = inputs.Rows;
        int chunk = Batcher.ChunkRows(oracle, internalBatchSize, inputs.RowSize);
        var outputs = Batcher.ForwardRows(oracle, inputs, chunk);
        var targets = (target ?? Target.Predicted).Resolve(oracle, inputs, chunk, outputs);

        var sets = new IReadOnlyList<int[]>[rows];
        var firstItem = new int[rows + 1];
        for (int r = 0; r < rows; r++)
        {
            sets[r] = perturbations(r);
            firstItem[r + 1] = firstItem[r] + sets[r].Count;
        }
        // Items arrive in order, so each lookup first tries the row of the previous item and the next one.
        int RowOf(int item, ref int hint)
        {
            for (int r = hint; r < rows && r <= hint + 1; r++)
            {
                if (item >= firstItem[r] && item < firstItem[r + 1]) return hint = r;
            }
            int found = Array.BinarySearch(firstItem, item);
            if (found < 0) found = ~found - 1;
            while (found + 1 < firstItem.Length && firstItem[found + 1] == item) found++; // skip rows with no sets
            return hint = found;
        }

        int fillHint = 0, consumeHint = 0;
        Batcher.Forward(oracle, firstItem[rows], inputs.RowShape, chunk,
            fill: (item, dst) =>
            {
                int r = RowOf(item, ref fillHint);
                inputs.Row(r).CopyTo(dst);
                int set = item - firstItem[r];
                var b = replacement(r, set);
                foreach (int j in sets[r][set]) dst[j] = b[j];
            },
            consume: (item, output) =>
            {
                int r = RowOf(item, ref consumeHint);
                int t = targets[r];
                consume(r, sets[r][item - firstItem[r]], outputs.Data[r * outputs.RowSize + t] - output[t]);
            });
        return targets;
    }
}
