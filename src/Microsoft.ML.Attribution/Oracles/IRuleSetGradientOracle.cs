using Microsoft.ML.Attribution.Tensors;

namespace Microsoft.ML.Attribution.Oracles;

/// <summary>The backward-pass rules a <see cref="IRuleSetGradientOracle"/> can apply in place of the true gradient.</summary>
public enum GradientRules
{
    /// <summary>True gradients.</summary>
    Standard,

    /// <summary>DeepLIFT's rescale rule on elementwise nonlinearities; MaxPool keeps its ordinary gradient.</summary>
    DeepLiftRescale,

    /// <summary>DeepLIFT's rescale rule with its MaxPool rule (exact summation-to-delta through MaxPool).</summary>
    DeepLiftRescaleWithMaxPool,

    /// <summary>Guided backpropagation: Relu passes only positive gradients to positive inputs.</summary>
    GuidedBackprop,

    /// <summary>Deconvolution: Relu passes relu(dY) regardless of its input.</summary>
    Deconvolution,

    /// <summary>
    /// DeepLIFT as Captum's module hooks compute it (DeepLift's default): rescale and MaxPool rules, where an op fed
    /// straight by another hooked op hands that op its ordinary gradient (so after a ReLU the MaxPool rule has no effect).
    /// </summary>
    DeepLiftCaptum,
}

/// <summary>
/// A gradient oracle whose backward pass can swap the rules of its nonlinearities (DeepLift, guided backpropagation,
/// deconvolution). A model with no nonlinearity affected by a rule set (e.g. a linear model) returns its true gradient.
/// </summary>
public interface IRuleSetGradientOracle : IGradientOracle
{
    /// <summary>
    /// Forward and backward on <c>[n, …]</c> rows under <paramref name="rules"/>; <paramref name="seed"/> is
    /// <c>[n, outputs per row]</c>. Returns the outputs <c>[n, outputs per row]</c> and the gradients, shaped like
    /// <paramref name="inputs"/>. For the DeepLift rules the batch is paired: k inputs then their k baselines, and the
    /// multipliers are shared by each pair.
    /// </summary>
    (NdArray<float> Outputs, NdArray<float> Gradients) ForwardBackward(NdArray<float> inputs, NdArray<float> seed, GradientRules rules);
}
