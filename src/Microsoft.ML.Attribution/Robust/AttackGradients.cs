using Microsoft.ML.Attribution.Methods;
using Microsoft.ML.Attribution.Oracles;
using Microsoft.ML.Attribution.Tensors;

namespace Microsoft.ML.Attribution.Robust;

/// <summary>Gradients of a per-row attack loss with respect to the input rows, batched through the oracle.</summary>
internal static class AttackGradients
{
    /// <summary>
    /// ∂loss/∂x of every row. A loss of the target output alone takes one forward-backward pass (seed one-hot, gradient
    /// scaled by the loss's derivative at the output); any other loss takes a forward pass for its output gradient first.
    /// </summary>
    public static NdArray<float> Compute(IGradientOracle oracle, NdArray<float> inputs, int[] targets, int outputSize,
        AttackLoss loss, int chunkRows)
    {
        var gradients = new NdArray<float>(inputs.Shape);
        if (loss.TargetDerivative is { } derivative)
        {
            Batcher.Gradient(oracle, inputs.Rows, inputs.RowShape, outputSize, chunkRows,
                fill: (r, dst) => inputs.Row(r).CopyTo(dst),
                targetOf: r => targets[r],
                consume: (r, gradient, output) =>
                {
                    float scale = derivative(output[targets[r]]);
                    var dst = gradients.Row(r);
                    for (int j = 0; j < dst.Length; j++) dst[j] = gradient[j] * scale;
                });
            return gradients;
        }
        int rowSize = inputs.RowSize;
        for (int start = 0; start < inputs.Rows; start += chunkRows)
        {
            int n = Math.Min(chunkRows, inputs.Rows - start);
            var batch = new NdArray<float>(inputs.Data.AsSpan(start * rowSize, n * rowSize).ToArray(), [n, .. inputs.RowShape]);
            var outputs = oracle.Forward(batch);
            if (outputs.RowSize != outputSize)
                throw new ArgumentException($"Output '{oracle.OutputName}' has {outputs.RowSize} values per row; expected {outputSize}.");
            var seed = new NdArray<float>(outputs.Shape);
            for (int i = 0; i < n; i++) loss.Evaluate(outputs.Row(i), targets[start + i], seed.Row(i));
            var (_, g) = oracle.ForwardBackward(batch, seed);
            g.Data.AsSpan(0, n * rowSize).CopyTo(gradients.Data.AsSpan(start * rowSize, n * rowSize));
        }
        return gradients;
    }

    /// <summary>The mask as one value per input element: null (all ones), a row-shaped mask repeated, or a full one.</summary>
    public static Func<int, float> MaskOf(NdArray<float>? mask, NdArray<float> inputs)
    {
        if (mask is null) return _ => 1f;
        if (mask.Length == inputs.Length && mask.Shape.SequenceEqual(inputs.Shape)) return i => mask.Data[i];
        if (mask.Length == inputs.RowSize && (mask.Shape.SequenceEqual(inputs.RowShape) || mask.Shape.SequenceEqual([1, .. inputs.RowShape])))
        {
            int rowSize = inputs.RowSize;
            return i => mask.Data[i % rowSize];
        }
        throw new ArgumentException($"The mask has shape {mask.ShapeText}; expected the inputs' shape {inputs.ShapeText} or one row's {NdArray<float>.FormatShape(inputs.RowShape)}.", nameof(mask));
    }

    public static void CheckBounds(float lower, float upper)
    {
        if (float.IsNaN(lower) || float.IsNaN(upper) || lower > upper)
            throw new ArgumentException($"The input range [{lower}, {upper}] is empty; the lower bound must not exceed the upper bound.");
    }

    public static float Clamp(float value, float lower, float upper) => value < lower ? lower : value > upper ? upper : value;
}
