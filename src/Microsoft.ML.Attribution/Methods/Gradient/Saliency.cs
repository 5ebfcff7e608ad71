using Microsoft.ML.Attribution.Oracles;
using Microsoft.ML.Attribution.Tensors;

namespace Microsoft.ML.Attribution.Methods;

/// <summary>
/// Saliency (Simonyan, Vedaldi &amp; Zisserman, "Deep Inside Convolutional Networks", 2014): the gradient of the target
/// output with respect to the input, by default in absolute value (as Captum).
/// </summary>
public sealed class Saliency
{
    private readonly IGradientOracle _oracle;

    /// <summary>Creates the method over a gradient oracle.</summary>
    public Saliency(IGradientOracle oracle) => _oracle = oracle ?? throw new ArgumentNullException(nameof(oracle));

    /// <summary>Attributes each row's target output to the input elements.</summary>
    /// <param name="inputs">Rows to explain.</param>
    /// <param name="target">Output index per row; default each row's prediction.</param>
    /// <param name="abs">Return |gradient| (Captum's default) rather than the signed gradient.</param>
    /// <param name="internalBatchSize">Rows per model call; default chosen from the row size.</param>
    public AttributionResult Attribute(NdArray<float> inputs, Target? target = null, bool abs = true, int? internalBatchSize = null)
    {
        var (gradients, targets) = InputGradients.Compute(_oracle, inputs, target, internalBatchSize);
        if (abs)
        {
            for (int i = 0; i < gradients.Length; i++) gradients.Data[i] = MathF.Abs(gradients.Data[i]);
        }
        return new AttributionResult(gradients, targets);
    }
}

/// <summary>
/// Input × Gradient (Shrikumar et al., "Not Just a Black Box", 2016): attribution = x · ∂f/∂x.
/// </summary>
public sealed class InputXGradient
{
    private readonly IGradientOracle _oracle;

    /// <summary>Creates the method over a gradient oracle.</summary>
    public InputXGradient(IGradientOracle oracle) => _oracle = oracle ?? throw new ArgumentNullException(nameof(oracle));

    /// <summary>Attributes each row's target output to the input elements.</summary>
    public AttributionResult Attribute(NdArray<float> inputs, Target? target = null, int? internalBatchSize = null)
    {
        var (gradients, targets) = InputGradients.Compute(_oracle, inputs, target, internalBatchSize);
        for (int i = 0; i < gradients.Length; i++) gradients.Data[i] *= inputs.Data[i];
        return new AttributionResult(gradients, targets);
    }
}

/// <summary>The gradient of each row's target output at the inputs themselves, batched.</summary>
internal static class InputGradients
{
    public static (NdArray<float> Gradients, int[] Targets) Compute(IGradientOracle oracle, NdArray<float> inputs, Target? target, int? internalBatchSize)
    {
        oracle.ValidateInput(inputs);
        int chunk = Batcher.ChunkRows(oracle, internalBatchSize, inputs.RowSize);
        var (targets, outputSize) = (target ?? Target.Predicted).ResolveWithWidth(oracle, inputs, chunk);
        var gradients = new NdArray<float>(inputs.Shape);
        Batcher.Gradient(oracle, inputs.Rows, inputs.RowShape, outputSize, chunk,
            fill: (r, dst) => inputs.Row(r).CopyTo(dst),
            targetOf: r => targets[r],
            consume: (r, gradient, _) => gradient.CopyTo(gradients.Row(r)));
        return (gradients, targets);
    }
}
