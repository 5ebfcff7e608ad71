using Microsoft.ML.Attribution.Oracles;
using Microsoft.ML.Attribution.Tensors;

namespace Microsoft.ML.Attribution.Methods;

/// <summary>
/// Occlusion (Zeiler &amp; Fergus, "Visualizing and Understanding Convolutional Networks", 2014): a window slides over
/// each row with the given strides; at each position the covered elements are replaced by the baseline, and every
/// covered element receives f(x)[t] − f(occluded)[t]. An element covered by several windows gets the mean of their
/// effects. As in Captum the last window along an axis is cut at the edge when the stride does not fit.
/// </summary>
public sealed class Occlusion
{
    private readonly IForwardOracle _oracle;

    /// <summary>Creates the method over any forward oracle (no gradients needed).</summary>
    public Occlusion(IForwardOracle oracle) => _oracle = oracle ?? throw new ArgumentNullException(nameof(oracle));

    /// <summary>Attributes each row's target output by sliding an occluding window over it.</summary>
    /// <param name="inputs">Rows to explain, <c>[N, …]</c>.</param>
    /// <param name="slidingWindowShape">Window shape over one row (rank = row rank).</param>
    /// <param name="strides">Step per axis (one value for all axes, or one per axis); default 1.</param>
    /// <param name="baselines">Replacement values: null (zeros), one value, one row, or one per row.</param>
    /// <param name="target">Output index per row; default each row's prediction.</param>
    /// <param name="internalBatchSize">Occluded rows per model call; default chosen from the row size.</param>
    public AttributionResult Attribute(NdArray<float> inputs, int[] slidingWindowShape, int[]? strides = null,
        NdArray<float>? baselines = null, Target? target = null, int? internalBatchSize = null)
    {
        _oracle.ValidateInput(inputs);
        var windows = Windows(inputs.RowShape, slidingWindowShape, strides);
        var coverage = new int[inputs.RowSize];
        foreach (var window in windows)
        {
            foreach (int j in window) coverage[j]++;
        }
        var reference = Baselines.Expand(baselines, inputs, _oracle.InputName);
        var sums = new double[inputs.Length];
        var targets = Ablation.Run(_oracle, inputs, reference, target, internalBatchSize, _ => windows,
            (r, elements, difference) =>
            {
                int offset = r * inputs.RowSize;
                foreach (int j in elements) sums[offset + j] += difference;
            });
        var attributions = new NdArray<float>(inputs.Shape);
        for (int i = 0; i < sums.Length; i++) attributions.Data[i] = (float)(sums[i] / coverage[i % inputs.RowSize]);
        return new AttributionResult(attributions, targets);
    }

    /// <summary>Flat element indices (within a row) of every window position, in row-major order of positions.</summary>
    internal static int[][] Windows(int[] rowShape, int[] window, int[]? strides)
    {
        ArgumentNullException.ThrowIfNull(window);
        int rank = rowShape.Length;
        if (window.Length != rank)
            throw new ArgumentException($"Sliding window {NdArray<float>.FormatShape(window)} has rank {window.Length}; rows are shaped {NdArray<float>.FormatShape(rowShape)} (rank {rank}).");
        var step = strides is null ? Enumerable.Repeat(1, rank).ToArray()
            : strides.Length == 1 ? Enumerable.Repeat(strides[0], rank).ToArray()
            : strides.Length == rank ? strides
            : throw new ArgumentException($"Strides {NdArray<float>.FormatShape(strides)} must have one value or {rank} (the row rank).");
        for (int d = 0; d < rank; d++)
        {
            if (window[d] < 1 || window[d] > rowShape[d])
                throw new ArgumentException($"Sliding window {NdArray<float>.FormatShape(window)} does not fit rows shaped {NdArray<float>.FormatShape(rowShape)} (axis {d}).");
            if (step[d] < 1) throw new ArgumentException($"Stride {step[d]} on axis {d} must be at least 1.");
        }
        // Positions per axis: ceil((size − window) / stride) + 1, the last one possibly cut at the edge (as Captum).
        var counts = Enumerable.Range(0, rank).Select(d => (rowShape[d] - window[d] + step[d] - 1) / step[d] + 1).ToArray();
        var strideOf = new int[rank];
        for (int d = rank - 1, s = 1; d >= 0; d--) { strideOf[d] = s; s *= rowShape[d]; }
        var result = new List<int[]>();
        var position = new int[rank];
        while (true)
        {
            var lo = new int[rank];
            var hi = new int[rank];
            for (int d = 0; d < rank; d++) { lo[d] = position[d] * step[d]; hi[d] = Math.Min(lo[d] + window[d], rowShape[d]); }
            var elements = new List<int>();
            var index = (int[])lo.Clone();
            while (true)
            {
                int flat = 0;
                for (int d = 0; d < rank; d++) flat += index[d] * strideOf[d];
                elements.Add(flat);
                int k = rank - 1;
                while (k >= 0 && ++index[k] >= hi[k]) { index[k] = lo[k]; k--; }
                if (k < 0) break;
            }
            result.Add(elements.ToArray());
            int a = rank - 1;
            while (a >= 0 && ++position[a] >= counts[a]) { position[a] = 0; a--; }
            if (a < 0) break;
        }
        return result.ToArray();
    }
}
