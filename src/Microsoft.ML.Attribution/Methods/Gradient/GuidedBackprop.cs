using Microsoft.ML.Attribution.Oracles;
using Microsoft.ML.Attribution.Tensors;

namespace Microsoft.ML.Attribution.Methods;

/// <summary>
/// Guided backpropagation (Springenberg et al., "Striving for Simplicity", 2015; Captum's GuidedBackprop): the gradient
/// with every Relu passing only positive gradients to positive inputs.
/// </summary>
public sealed class GuidedBackprop
{
    private readonly IRuleSetGradientOracle _oracle;

    /// <summary>Creates the method over a model whose backward pass can swap its Relu rule (e.g. an <see cref="OnnxGradientOracle"/>).</summary>
    public GuidedBackprop(IRuleSetGradientOracle oracle) => _oracle = oracle ?? throw new ArgumentNullException(nameof(oracle));

    /// <summary>Guided gradients of each row's target output.</summary>
    public AttributionResult Attribute(NdArray<float> inputs, Target? target = null, int? internalBatchSize = null) =>
        ModifiedGradients.Compute(_oracle, GradientRules.GuidedBackprop, inputs, target, internalBatchSize);
}

/// <summary>
/// Deconvolution (Zeiler &amp; Fergus 2014; Captum's Deconvolution): the gradient with every Relu passing relu(dY),
/// regardless of its input.
/// </summary>
public sealed class Deconvolution
{
    private readonly IRuleSetGradientOracle _oracle;

    /// <summary>Creates the method over a model whose backward pass can swap its Relu rule (e.g. an <see cref="OnnxGradientOracle"/>).</summary>
    public Deconvolution(IRuleSetGradientOracle oracle) => _oracle = oracle ?? throw new ArgumentNullException(nameof(oracle));

    /// <summary>Deconvolution gradients of each row's target output.</summary>
    public AttributionResult Attribute(NdArray<float> inputs, Target? target = null, int? internalBatchSize = null) =>
        ModifiedGradients.Compute(_oracle, GradientRules.Deconvolution, inputs, target, internalBatchSize);
}

/// <summary>The input gradient of each row's target under a swapped rule set, batched.</summary>
internal static class ModifiedGradients
{
    public static AttributionResult Compute(IRuleSetGradientOracle oracle, GradientRules rules, NdArray<float> inputs, Target? target, int? internalBatchSize)
    {
        oracle.ValidateInput(inputs);
        int chunk = Batcher.ChunkRows(oracle, internalBatchSize, inputs.RowSize);
        var (targets, outputSize) = (target ?? Target.Predicted).ResolveWithWidth(oracle, inputs, chunk);
        var gradients = new NdArray<float>(inputs.Shape);
        for (int start = 0; start < inputs.Rows; start += chunk)
        {
            int k = Math.Min(chunk, inputs.Rows - start);
            var batch = new NdArray<float>(inputs.Data[(start * inputs.RowSize)..((start + k) * inputs.RowSize)], [k, .. inputs.RowShape]);
            var seed = new NdArray<float>(k, outputSize);
            for (int i = 0; i < k; i++) seed.Data[i * outputSize + targets[start + i]] = 1f;
            var (_, g) = oracle.ForwardBackward(batch, seed, rules);
            g.Data.CopyTo(gradients.Data, start * inputs.RowSize);
        }
        return new AttributionResult(gradients, targets);
    }
}
