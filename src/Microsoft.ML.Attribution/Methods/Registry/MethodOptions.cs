namespace Microsoft.ML.Attribution.Methods;

/// <summary>
/// Settings of one attribution method. Each method has its own record; its property initialisers are the only place a
/// default is written (Captum's defaults), and every surface — typed C# calls, ML.NET steps, the CLI, the report and the
/// saved explainer JSON — reads them from here through <see cref="MethodRegistry"/>.
/// </summary>
public abstract record MethodOptions;

/// <summary>Options of methods that attribute to a layer (an ONNX tensor name).</summary>
public abstract record LayerMethodOptions : MethodOptions
{
    /// <summary>The ONNX tensor attributed to (an embedding output for text models).</summary>
    [RequiredOption]
    public string? Layer { get; init; }

    /// <summary>Attribute to the layer's input instead of its output (Captum's attribute_to_layer_input).</summary>
    public bool LayerInput { get; init; }
}

/// <summary>Marks an option that has no default: the method cannot run without it.</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class RequiredOptionAttribute : Attribute;

/// <summary>Options of methods that draw random numbers.</summary>
public interface ISeededOptions
{
    /// <summary>Seed of the draws; the same seed gives the same numbers.</summary>
    int Seed { get; }
}

/// <summary>Integrated Gradients (Sundararajan et al. 2017).</summary>
public sealed record IntegratedGradientsOptions : MethodOptions
{
    /// <summary>Integration points (Captum's n_steps).</summary>
    public int Steps { get; init; } = 50;

    /// <summary>Integration rule (Captum's method, default gausslegendre).</summary>
    public IntegrationMethod Integration { get; init; } = IntegrationMethod.GaussLegendre;
}

/// <summary>Saliency (Simonyan et al. 2013).</summary>
public sealed record SaliencyOptions : MethodOptions
{
    /// <summary>Absolute value of the gradient (Captum's abs, default true).</summary>
    public bool Abs { get; init; } = true;
}

/// <summary>Input × gradient.</summary>
public sealed record InputXGradientOptions : MethodOptions;

/// <summary>DeepLift (rescale rule; Shrikumar et al. 2017).</summary>
public sealed record DeepLiftOptions : MethodOptions
{
    /// <summary>Which rules apply (default Captum's: its max-pool rule takes effect except straight after a hooked nonlinearity).</summary>
    public DeepLiftMode Rules { get; init; } = DeepLiftMode.Captum;
}

/// <summary>DeepLift SHAP over a baseline distribution.</summary>
public sealed record DeepLiftShapOptions : MethodOptions
{
    /// <summary>Which rules apply (as for DeepLift).</summary>
    public DeepLiftMode Rules { get; init; } = DeepLiftMode.Captum;
}

/// <summary>Guided backpropagation.</summary>
public sealed record GuidedBackpropOptions : MethodOptions;

/// <summary>Deconvolution.</summary>
public sealed record DeconvolutionOptions : MethodOptions;

/// <summary>Gradient SHAP (expected gradients with noise).</summary>
public sealed record GradientShapOptions : MethodOptions, ISeededOptions
{
    /// <summary>Samples per row (Captum's n_samples).</summary>
    public int Samples { get; init; } = 5;

    /// <summary>Standard deviation of the input noise (Captum's stdevs).</summary>
    public double Stdevs { get; init; }

    /// <inheritdoc />
    public int Seed { get; init; } = 1;
}

/// <summary>NoiseTunnel (SmoothGrad, SmoothGrad², VarGrad) around another gradient method.</summary>
public sealed record NoiseTunnelOptions : MethodOptions, ISeededOptions
{
    /// <summary>The wrapped method's registry name.</summary>
    public string BaseMethod { get; init; } = "saliency";

    /// <summary>Options of the wrapped method (null: its defaults).</summary>
    public MethodOptions? BaseOptions { get; init; }

    /// <summary>Noise aggregation (Captum's nt_type).</summary>
    public NoiseTunnelType Noise { get; init; } = NoiseTunnelType.SmoothGrad;

    /// <summary>Noisy samples per row (Captum's nt_samples).</summary>
    public int Samples { get; init; } = 5;

    /// <summary>Standard deviation of the noise (Captum's stdevs).</summary>
    public double Stdevs { get; init; } = 1.0;

    /// <inheritdoc />
    public int Seed { get; init; } = 1;
}

/// <summary>Feature ablation.</summary>
public sealed record FeatureAblationOptions : MethodOptions;

/// <summary>Occlusion (sliding window ablation).</summary>
public sealed record OcclusionOptions : MethodOptions
{
    /// <summary>Per-row window shape, e.g. [1, 4, 4] (required).</summary>
    [RequiredOption]
    public int[]? Window { get; init; }

    /// <summary>Per-row strides (default 1 along every axis).</summary>
    public int[]? Stride { get; init; }
}

/// <summary>Feature permutation (permutes each feature across the batch).</summary>
public sealed record FeaturePermutationOptions : MethodOptions, ISeededOptions
{
    /// <inheritdoc />
    public int Seed { get; init; } = 1;
}

/// <summary>Exact Shapley values over all coalitions.</summary>
public sealed record ShapleyValuesOptions : MethodOptions;

/// <summary>Shapley value sampling (permutations).</summary>
public sealed record ShapleyValueSamplingOptions : MethodOptions, ISeededOptions
{
    /// <summary>Orderings per row (Captum's n_samples).</summary>
    public int Samples { get; init; } = 25;

    /// <inheritdoc />
    public int Seed { get; init; } = 1;
}

/// <summary>Kernel SHAP.</summary>
public sealed record KernelShapOptions : MethodOptions, ISeededOptions
{
    /// <summary>Coalitions per row including the full and empty ones (Captum's n_samples).</summary>
    public int Samples { get; init; } = 25;

    /// <inheritdoc />
    public int Seed { get; init; } = 1;
}

/// <summary>LIME with a lasso surrogate.</summary>
public sealed record LimeOptions : MethodOptions, ISeededOptions
{
    /// <summary>Samples per row (Captum's n_samples).</summary>
    public int Samples { get; init; } = 50;

    /// <summary>Width of the exponential similarity kernel.</summary>
    public double KernelWidth { get; init; } = 1.0;

    /// <summary>Lasso penalty of the surrogate.</summary>
    public double Alpha { get; init; } = 0.01;

    /// <inheritdoc />
    public int Seed { get; init; } = 1;
}

/// <summary>Grad-CAM at a layer.</summary>
public sealed record LayerGradCamOptions : LayerMethodOptions
{
    /// <summary>Apply ReLU to the map (Captum's relu_attributions).</summary>
    public bool Relu { get; init; }

    /// <summary>Sum the map over the layer's channel axis (Captum's attr_dim_summation).</summary>
    public bool AttrDimSummation { get; init; } = true;
}

/// <summary>Guided Grad-CAM.</summary>
public sealed record GuidedGradCamOptions : LayerMethodOptions;

/// <summary>Integrated Gradients in a layer's space.</summary>
public sealed record LayerIntegratedGradientsOptions : LayerMethodOptions
{
    /// <summary>Integration points.</summary>
    public int Steps { get; init; } = 50;

    /// <summary>Integration rule.</summary>
    public IntegrationMethod Integration { get; init; } = IntegrationMethod.GaussLegendre;
}

/// <summary>Layer conductance.</summary>
public sealed record LayerConductanceOptions : LayerMethodOptions
{
    /// <summary>Integration points.</summary>
    public int Steps { get; init; } = 50;

    /// <summary>Integration rule.</summary>
    public IntegrationMethod Integration { get; init; } = IntegrationMethod.GaussLegendre;
}

/// <summary>The layer's activation.</summary>
public sealed record LayerActivationOptions : LayerMethodOptions;

/// <summary>Layer gradient × activation.</summary>
public sealed record LayerGradientXActivationOptions : LayerMethodOptions
{
    /// <summary>Multiply the gradient by the activation (Captum's multiply_by_inputs).</summary>
    public bool MultiplyByInputs { get; init; } = true;
}

/// <summary>Internal influence.</summary>
public sealed record InternalInfluenceOptions : LayerMethodOptions
{
    /// <summary>Integration points.</summary>
    public int Steps { get; init; } = 50;

    /// <summary>Integration rule.</summary>
    public IntegrationMethod Integration { get; init; } = IntegrationMethod.GaussLegendre;
}

/// <summary>Options of neuron methods.</summary>
public abstract record NeuronMethodOptions : LayerMethodOptions
{
    /// <summary>Index of the neuron within one row of the layer, e.g. [0, 3, 3] (required).</summary>
    [RequiredOption]
    public int[]? Neuron { get; init; }
}

/// <summary>Gradient of one neuron.</summary>
public sealed record NeuronGradientOptions : NeuronMethodOptions;

/// <summary>Integrated Gradients of one neuron.</summary>
public sealed record NeuronIntegratedGradientsOptions : NeuronMethodOptions
{
    /// <summary>Integration points.</summary>
    public int Steps { get; init; } = 50;

    /// <summary>Integration rule.</summary>
    public IntegrationMethod Integration { get; init; } = IntegrationMethod.GaussLegendre;
}

/// <summary>Neuron conductance.</summary>
public sealed record NeuronConductanceOptions : NeuronMethodOptions
{
    /// <summary>Integration points.</summary>
    public int Steps { get; init; } = 50;

    /// <summary>Integration rule (Captum's default for neuron conductance is riemann_trapezoid).</summary>
    public IntegrationMethod Integration { get; init; } = IntegrationMethod.RiemannTrapezoid;

    /// <summary>Multiply by the input difference (Captum's multiply_by_inputs).</summary>
    public bool MultiplyByInputs { get; init; } = true;
}

/// <summary>Exact TreeSHAP for ML.NET tree ensembles.</summary>
public sealed record TreeShapOptions : MethodOptions
{
    /// <summary>Path-dependent (trees' cover, no background) or interventional (over the background rows).</summary>
    public Tabular.TreeShapAlgorithm Algorithm { get; init; } = Tabular.TreeShapAlgorithm.PathDependent;
}

/// <summary>Exact linear SHAP: w·(x − E[x]) over the background.</summary>
public sealed record LinearShapOptions : MethodOptions;

/// <summary>Layer DeepLift (rescale rule) at a layer.</summary>
public sealed record LayerDeepLiftOptions : LayerMethodOptions
{
    /// <summary>Multiply the multipliers by the layer's change (Captum's multiply_by_inputs).</summary>
    public bool MultiplyByInputs { get; init; } = true;

    /// <summary>Apply DeepLift's max-pool rule.</summary>
    public bool MaxPoolRule { get; init; }
}

/// <summary>Layer DeepLift SHAP over a baseline distribution.</summary>
public sealed record LayerDeepLiftShapOptions : LayerMethodOptions
{
    /// <summary>Multiply the multipliers by the layer's change (Captum's multiply_by_inputs).</summary>
    public bool MultiplyByInputs { get; init; } = true;

    /// <summary>Apply DeepLift's max-pool rule.</summary>
    public bool MaxPoolRule { get; init; }
}

/// <summary>Layer gradient SHAP.</summary>
public sealed record LayerGradientShapOptions : LayerMethodOptions, ISeededOptions
{
    /// <summary>Samples per row (Captum's n_samples).</summary>
    public int Samples { get; init; } = 5;

    /// <summary>Standard deviation of the input noise (Captum's stdevs).</summary>
    public double Stdevs { get; init; }

    /// <summary>Multiply the gradients by the layer's change (Captum's multiply_by_inputs).</summary>
    public bool MultiplyByInputs { get; init; } = true;

    /// <inheritdoc />
    public int Seed { get; init; } = 1;
}

/// <summary>Layer feature ablation (layer elements replaced by 0).</summary>
public sealed record LayerFeatureAblationOptions : LayerMethodOptions;

/// <summary>Layer feature permutation (layer elements shuffled across the batch).</summary>
public sealed record LayerFeaturePermutationOptions : LayerMethodOptions, ISeededOptions
{
    /// <inheritdoc />
    public int Seed { get; init; } = 1;
}

/// <summary>DeepLift of one neuron.</summary>
public sealed record NeuronDeepLiftOptions : NeuronMethodOptions
{
    /// <summary>Apply DeepLift's max-pool rule.</summary>
    public bool MaxPoolRule { get; init; }
}

/// <summary>DeepLift SHAP of one neuron over a baseline distribution.</summary>
public sealed record NeuronDeepLiftShapOptions : NeuronMethodOptions
{
    /// <summary>Apply DeepLift's max-pool rule.</summary>
    public bool MaxPoolRule { get; init; }
}

/// <summary>Gradient SHAP of one neuron.</summary>
public sealed record NeuronGradientShapOptions : NeuronMethodOptions, ISeededOptions
{
    /// <summary>Samples per row (Captum's n_samples).</summary>
    public int Samples { get; init; } = 5;

    /// <summary>Standard deviation of the input noise (Captum's stdevs).</summary>
    public double Stdevs { get; init; }

    /// <inheritdoc />
    public int Seed { get; init; } = 1;
}

/// <summary>Guided backpropagation of one neuron.</summary>
public sealed record NeuronGuidedBackpropOptions : NeuronMethodOptions;

/// <summary>Deconvolution of one neuron.</summary>
public sealed record NeuronDeconvolutionOptions : NeuronMethodOptions;

/// <summary>Feature ablation of one neuron.</summary>
public sealed record NeuronFeatureAblationOptions : NeuronMethodOptions;

/// <summary>Layer-wise relevance propagation.</summary>
public sealed record LrpOptions : MethodOptions
{
    /// <summary>Rules laid over Captum's defaults, e.g. "Conv=gamma:0.25,/fc1/Gemm=epsilon:1e-6" (see <see cref="LrpRules.Parse"/>); null for the defaults.</summary>
    public string? Rules { get; init; }
}

/// <summary>Layer-wise relevance propagation to a layer.</summary>
public sealed record LayerLrpOptions : LayerMethodOptions
{
    /// <summary>Rules laid over Captum's defaults (see <see cref="LrpRules.Parse"/>); null for the defaults.</summary>
    public string? Rules { get; init; }
}
