using Microsoft.ML.Attribution.Oracles;
using Microsoft.ML.Attribution.Tensors;

namespace Microsoft.ML.Attribution.Methods;

/// <summary>The neuron's tensor as the explained output of an oracle whose backward pass can swap rules.</summary>
internal static class NeuronRuleSet
{
    public static (IRuleSetGradientOracle Oracle, int Index) Select(ILayerOracle oracle, NdArray<float> inputs, int[] neuron,
        bool attributeToNeuronInput, string method)
    {
        var (selected, index) = NeuronSelector.Select(oracle, inputs, neuron, attributeToNeuronInput);
        return selected is IRuleSetGradientOracle rules ? (rules, index)
            : throw new NotSupportedException($"{method} swaps rules in the backward pass; the layer oracle's model ({selected.GetType().Name}) cannot.");
    }
}

/// <summary>NeuronDeepLift (Captum): DeepLIFT (rescale rule) of one neuron of a layer with respect to the input.</summary>
public sealed class NeuronDeepLift
{
    private readonly ILayerOracle _oracle;
    private readonly bool _maxPoolRule;

    /// <summary>Creates the method over a layer oracle (the model and the layer holding the neuron).</summary>
    /// <param name="oracle">The model and the layer.</param>
    /// <param name="maxPoolRule">Apply DeepLIFT's MaxPool rule (see <see cref="DeepLift"/>).</param>
    public NeuronDeepLift(ILayerOracle oracle, bool maxPoolRule = false)
    {
        _oracle = oracle ?? throw new ArgumentNullException(nameof(oracle));
        _maxPoolRule = maxPoolRule;
    }

    /// <summary>(x − x₀) · DeepLIFT multipliers of layer[row][neuron].</summary>
    /// <param name="inputs">Rows to explain.</param>
    /// <param name="neuron">Index into one row of the layer tensor.</param>
    /// <param name="baselines">References: null (zeros), one value, one row, or one per row.</param>
    /// <param name="internalBatchSize">Input rows per model call.</param>
    /// <param name="attributeToNeuronInput">Pick the neuron in the layer's input rather than its output.</param>
    public AttributionResult Attribute(NdArray<float> inputs, int[] neuron, NdArray<float>? baselines = null, int? internalBatchSize = null,
        bool attributeToNeuronInput = false)
    {
        var (oracle, index) = NeuronRuleSet.Select(_oracle, inputs, neuron, attributeToNeuronInput, "NeuronDeepLift");
        return new DeepLift(oracle, _maxPoolRule).Attribute(inputs, baselines, Target.Class(index), internalBatchSize);
    }
}

/// <summary>NeuronDeepLiftShap (Captum): DeepLiftShap of one neuron of a layer over a baseline distribution.</summary>
public sealed class NeuronDeepLiftShap
{
    private readonly ILayerOracle _oracle;
    private readonly bool _maxPoolRule;

    /// <summary>Creates the method over a layer oracle (the model and the layer holding the neuron).</summary>
    /// <param name="oracle">The model and the layer.</param>
    /// <param name="maxPoolRule">Apply DeepLIFT's MaxPool rule (see <see cref="DeepLift"/>).</param>
    public NeuronDeepLiftShap(ILayerOracle oracle, bool maxPoolRule = false)
    {
        _oracle = oracle ?? throw new ArgumentNullException(nameof(oracle));
        _maxPoolRule = maxPoolRule;
    }

    /// <summary>DeepLIFT of layer[row][neuron] against every baseline row, averaged.</summary>
    /// <param name="inputs">Rows to explain.</param>
    /// <param name="neuron">Index into one row of the layer tensor.</param>
    /// <param name="baselineDistribution">Reference rows <c>[B, …]</c>.</param>
    /// <param name="internalBatchSize">(row, baseline) pairs per model call.</param>
    /// <param name="attributeToNeuronInput">Pick the neuron in the layer's input rather than its output.</param>
    public AttributionResult Attribute(NdArray<float> inputs, int[] neuron, NdArray<float> baselineDistribution, int? internalBatchSize = null,
        bool attributeToNeuronInput = false)
    {
        var (oracle, index) = NeuronRuleSet.Select(_oracle, inputs, neuron, attributeToNeuronInput, "NeuronDeepLiftShap");
        return new DeepLiftShap(oracle, _maxPoolRule).Attribute(inputs, baselineDistribution, Target.Class(index), internalBatchSize);
    }
}

/// <summary>NeuronGradientShap (Captum): GradientShap (expected gradients) of one neuron of a layer.</summary>
public sealed class NeuronGradientShap
{
    private readonly ILayerOracle _oracle;

    /// <summary>Creates the method over a layer oracle (the model and the layer holding the neuron).</summary>
    public NeuronGradientShap(ILayerOracle oracle) => _oracle = oracle ?? throw new ArgumentNullException(nameof(oracle));

    /// <summary>GradientShap of layer[row][neuron].</summary>
    /// <param name="inputs">Rows to explain.</param>
    /// <param name="neuron">Index into one row of the layer tensor.</param>
    /// <param name="baselineDistribution">Reference rows <c>[B, …]</c> the baselines are drawn from.</param>
    /// <param name="samples">Samples per row (Captum's n_samples, default 5).</param>
    /// <param name="stdev">Standard deviation of the input noise (default 0).</param>
    /// <param name="seed">Seed; the same seed gives the same numbers.</param>
    /// <param name="internalBatchSize">Rows × samples per model call.</param>
    /// <param name="attributeToNeuronInput">Pick the neuron in the layer's input rather than its output.</param>
    public AttributionResult Attribute(NdArray<float> inputs, int[] neuron, NdArray<float> baselineDistribution, int samples = 5,
        double stdev = 0.0, int? seed = null, int? internalBatchSize = null, bool attributeToNeuronInput = false)
    {
        var (oracle, index) = NeuronSelector.Select(_oracle, inputs, neuron, attributeToNeuronInput);
        return new GradientShap(oracle).Attribute(inputs, baselineDistribution, Target.Class(index), samples, stdev, seed, internalBatchSize);
    }

    /// <summary>The same with Captum's random draws given (see <see cref="GradientShap"/>).</summary>
    internal AttributionResult Attribute(NdArray<float> inputs, int[] neuron, NdArray<float> baselineDistribution, int samples,
        NdArray<float> noise, long[] baselineIndices, float[] alphas, int? internalBatchSize, bool attributeToNeuronInput = false)
    {
        var (oracle, index) = NeuronSelector.Select(_oracle, inputs, neuron, attributeToNeuronInput);
        return new GradientShap(oracle).Attribute(inputs, baselineDistribution, Target.Class(index), samples, noise, baselineIndices, alphas, internalBatchSize);
    }
}

/// <summary>NeuronGuidedBackprop (Captum): guided backpropagation of one neuron of a layer.</summary>
public sealed class NeuronGuidedBackprop
{
    private readonly ILayerOracle _oracle;

    /// <summary>Creates the method over a layer oracle (the model and the layer holding the neuron).</summary>
    public NeuronGuidedBackprop(ILayerOracle oracle) => _oracle = oracle ?? throw new ArgumentNullException(nameof(oracle));

    /// <summary>Guided gradients of layer[row][neuron] with respect to the input.</summary>
    /// <param name="inputs">Rows to explain.</param>
    /// <param name="neuron">Index into one row of the layer tensor.</param>
    /// <param name="internalBatchSize">Rows per model call.</param>
    /// <param name="attributeToNeuronInput">Pick the neuron in the layer's input rather than its output.</param>
    public AttributionResult Attribute(NdArray<float> inputs, int[] neuron, int? internalBatchSize = null, bool attributeToNeuronInput = false)
    {
        var (oracle, index) = NeuronRuleSet.Select(_oracle, inputs, neuron, attributeToNeuronInput, "NeuronGuidedBackprop");
        return new GuidedBackprop(oracle).Attribute(inputs, Target.Class(index), internalBatchSize);
    }
}

/// <summary>NeuronDeconvolution (Captum): deconvolution of one neuron of a layer.</summary>
public sealed class NeuronDeconvolution
{
    private readonly ILayerOracle _oracle;

    /// <summary>Creates the method over a layer oracle (the model and the layer holding the neuron).</summary>
    public NeuronDeconvolution(ILayerOracle oracle) => _oracle = oracle ?? throw new ArgumentNullException(nameof(oracle));

    /// <summary>Deconvolution gradients of layer[row][neuron] with respect to the input.</summary>
    /// <param name="inputs">Rows to explain.</param>
    /// <param name="neuron">Index into one row of the layer tensor.</param>
    /// <param name="internalBatchSize">Rows per model call.</param>
    /// <param name="attributeToNeuronInput">Pick the neuron in the layer's input rather than its output.</param>
    public AttributionResult Attribute(NdArray<float> inputs, int[] neuron, int? internalBatchSize = null, bool attributeToNeuronInput = false)
    {
        var (oracle, index) = NeuronRuleSet.Select(_oracle, inputs, neuron, attributeToNeuronInput, "NeuronDeconvolution");
        return new Deconvolution(oracle).Attribute(inputs, Target.Class(index), internalBatchSize);
    }
}

/// <summary>
/// NeuronFeatureAblation (Captum): each input feature (element or mask group) is replaced by its baseline and attributed
/// neuron(x) − neuron(x with the feature ablated), for one neuron of a layer.
/// </summary>
public sealed class NeuronFeatureAblation
{
    private readonly ILayerOracle _oracle;

    /// <summary>Creates the method over a layer oracle (the model and the layer holding the neuron).</summary>
    public NeuronFeatureAblation(ILayerOracle oracle) => _oracle = oracle ?? throw new ArgumentNullException(nameof(oracle));

    /// <summary>Ablation attributions of layer[row][neuron] to the input features.</summary>
    /// <param name="inputs">Rows to explain.</param>
    /// <param name="neuron">Index into one row of the layer tensor.</param>
    /// <param name="baselines">Replacement values: null (zeros), one value, one row, or one per row.</param>
    /// <param name="featureMask">Group ids over the input (see <see cref="FeatureAblation"/>); default one feature per element.</param>
    /// <param name="internalBatchSize">Perturbed rows per model call.</param>
    /// <param name="attributeToNeuronInput">Pick the neuron in the layer's input rather than its output.</param>
    public AttributionResult Attribute(NdArray<float> inputs, int[] neuron, NdArray<float>? baselines = null, NdArray<long>? featureMask = null,
        int? internalBatchSize = null, bool attributeToNeuronInput = false)
    {
        var (oracle, index) = NeuronSelector.Select(_oracle, inputs, neuron, attributeToNeuronInput);
        return new FeatureAblation(oracle).Attribute(inputs, baselines, Target.Class(index), featureMask, internalBatchSize);
    }
}
