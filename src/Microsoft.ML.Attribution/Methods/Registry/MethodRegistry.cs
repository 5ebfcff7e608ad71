using Microsoft.ML.Attribution.Oracles;
using Microsoft.ML.Attribution.Tabular;
using Microsoft.ML.Attribution.Tensors;

namespace Microsoft.ML.Attribution.Methods;

/// <summary>What a method needs and gives; every surface decides from these, never from a method's name.</summary>
[Flags]
public enum MethodCapabilities
{
    /// <summary>Nothing declared.</summary>
    None = 0,

    /// <summary>Needs gradients (an ONNX model).</summary>
    Gradients = 1 << 0,

    /// <summary>Works on any model that scores rows (ONNX or ML.NET).</summary>
    BlackBox = 1 << 1,

    /// <summary>Exact Shapley values for tree ensembles.</summary>
    ExactForTrees = 1 << 2,

    /// <summary>Exact Shapley values for linear models.</summary>
    ExactForLinear = 1 << 3,

    /// <summary>Attributes to a layer tensor (needs <see cref="LayerMethodOptions.Layer"/>).</summary>
    TakesLayer = 1 << 4,

    /// <summary>Attributes one neuron of a layer (needs <see cref="NeuronMethodOptions.Neuron"/>).</summary>
    Neuron = 1 << 5,

    /// <summary>Returns a convergence delta per row.</summary>
    ConvergenceDelta = 1 << 6,

    /// <summary>Takes a feature mask (groups of elements attributed as one feature).</summary>
    FeatureGroups = 1 << 7,

    /// <summary>Draws random numbers (options carry a seed).</summary>
    Seeded = 1 << 8,

    /// <summary>Takes baselines (or a baseline distribution).</summary>
    Baselines = 1 << 9,

    /// <summary>Takes a background set; its attributions plus the expected output add up to the output.</summary>
    Background = 1 << 10,

    /// <summary>Accepts int64 token ids as the model input.</summary>
    TokenIds = 1 << 11,

    /// <summary>Needs a baseline distribution (not optional).</summary>
    RequiresBaselines = 1 << 12,

    /// <summary>Wraps another method.</summary>
    Wrapper = 1 << 13,

    /// <summary>Takes a layer but attributes to the input elements (attributions shaped like the input, not the layer).</summary>
    AttributesToInput = 1 << 14,
}

/// <summary>One attribution method, declared once: name, options record, capabilities, and how it runs.</summary>
public sealed class AttributionMethod
{
    private readonly Func<MethodInputs, MethodOptions, AttributionResult> _run;

    internal AttributionMethod(string name, string summary, Type optionsType, MethodCapabilities capabilities,
        Func<MethodInputs, MethodOptions, AttributionResult> run)
    {
        Name = name;
        Summary = summary;
        OptionsType = optionsType;
        Capabilities = capabilities;
        _run = run;
    }

    /// <summary>Kebab-case name used by the CLI, config files and <c>ExplainOptions.Method</c>.</summary>
    public string Name { get; }

    /// <summary>One line for help texts and docs.</summary>
    public string Summary { get; }

    /// <summary>The method's options record type.</summary>
    public Type OptionsType { get; }

    /// <summary>What the method needs and gives.</summary>
    public MethodCapabilities Capabilities { get; }

    /// <summary>True when every flag given is declared.</summary>
    public bool Has(MethodCapabilities capabilities) => (Capabilities & capabilities) == capabilities;

    /// <summary>A new options record holding the defaults.</summary>
    public MethodOptions CreateDefaultOptions() => (MethodOptions)Activator.CreateInstance(OptionsType)!;

    /// <summary>Runs the method.</summary>
    /// <param name="inputs">Model, rows and data-valued settings.</param>
    /// <param name="options">The method's options (its own record type); null for the defaults.</param>
    public AttributionResult Attribute(MethodInputs inputs, MethodOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        options ??= CreateDefaultOptions();
        if (options.GetType() != OptionsType)
            throw new ArgumentException($"Method '{Name}' takes {OptionsType.Name}, got {options.GetType().Name}.", nameof(options));
        if (inputs.Target is { IsAll: true })
        {
            var model = inputs.ForwardModel(Name);
            var rows = inputs.Rows ?? throw new ArgumentException($"Target.All on token ids: give Target.Class for each output index of '{model.OutputName}'.");
            return Target.ForEachOutput(model, rows, target => _run(WithTarget(inputs, target), options));
        }
        return _run(inputs, options);
    }

    /// <summary>A copy of <paramref name="inputs"/> (every field, whatever it holds) with another target.</summary>
    private static MethodInputs WithTarget(MethodInputs inputs, Target target)
    {
        var copy = (MethodInputs)CloneMethod.Invoke(inputs, null)!;
        TargetProperty.SetValue(copy, target);
        return copy;
    }

    private static readonly System.Reflection.MethodInfo CloneMethod =
        typeof(object).GetMethod("MemberwiseClone", System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.NonPublic)!;

    private static readonly System.Reflection.PropertyInfo TargetProperty = typeof(MethodInputs).GetProperty(nameof(MethodInputs.Target))!;

    /// <summary>
    /// This method with its model and options fixed, as a method object (e.g. the base method of a
    /// <see cref="NoiseTunnel"/>); each call supplies the rows, baselines and target.
    /// </summary>
    /// <param name="model">The model (an oracle).</param>
    /// <param name="options">The method's options (its own record type); null for the defaults.</param>
    public IAttributionMethod Bind(IForwardOracle model, MethodOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        return Bind(new MethodInputs { Model = model }, options);
    }

    /// <summary>
    /// This method bound to the model-valued parts of <paramref name="context"/> (model, layer model, trees, background,
    /// feature mask, batch size) and to <paramref name="options"/>; its rows, baselines and target are ignored.
    /// </summary>
    /// <param name="context">What stays fixed across calls.</param>
    /// <param name="options">The method's options (its own record type); null for the defaults.</param>
    public IAttributionMethod Bind(MethodInputs context, MethodOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(context);
        options ??= CreateDefaultOptions();
        if (options.GetType() != OptionsType)
            throw new ArgumentException($"Method '{Name}' takes {OptionsType.Name}, got {options.GetType().Name}.", nameof(options));
        _ = context.ForwardModel(Name);
        return new BoundMethod(this, context, options);
    }

    /// <inheritdoc />
    public override string ToString() => Name;
}

/// <summary>
/// Every attribution method the library (or a package) offers, each declared once. <c>ExplainOptions</c>, the typed
/// ML.NET catalog, the CLI, the report and the docs read this list; nothing else lists methods.
/// </summary>
public static class MethodRegistry
{
    private static readonly object Gate = new();
    private static readonly List<AttributionMethod> Methods = [];
    private static readonly Dictionary<string, string> Elsewhere = new(StringComparer.Ordinal);

    static MethodRegistry()
    {
        const MethodCapabilities G = MethodCapabilities.Gradients, B = MethodCapabilities.Baselines, D = MethodCapabilities.ConvergenceDelta,
            L = MethodCapabilities.TakesLayer, P = MethodCapabilities.BlackBox | MethodCapabilities.FeatureGroups, S = MethodCapabilities.Seeded,
            T = MethodCapabilities.TokenIds, N = MethodCapabilities.Neuron | MethodCapabilities.TakesLayer | MethodCapabilities.AttributesToInput | G;

        Add<IntegratedGradientsOptions>("integrated-gradients", "Integrated Gradients: path integral of gradients from a baseline (Sundararajan 2017)", G | B | D,
            (i, o) => new IntegratedGradients(i.GradientModel("integrated-gradients")).Attribute(i.FloatRows("integrated-gradients"), i.Baselines, i.Target, o.Steps, o.Integration, i.InternalBatchSize));
        Add<SaliencyOptions>("saliency", "Saliency: the gradient (absolute by default)", G,
            (i, o) => new Saliency(i.GradientModel("saliency")).Attribute(i.FloatRows("saliency"), i.Target, o.Abs, i.InternalBatchSize));
        Add<InputXGradientOptions>("input-x-gradient", "Input × gradient", G,
            (i, o) => new InputXGradient(i.GradientModel("input-x-gradient")).Attribute(i.FloatRows("input-x-gradient"), i.Target, i.InternalBatchSize));
        Add<DeepLiftOptions>("deeplift", "DeepLift rescale rule (Shrikumar 2017)", G | B | D,
            (i, o) => new DeepLift(i.RuleSetModel("deeplift"), o.Rules).Attribute(i.FloatRows("deeplift"), i.Baselines, i.Target, i.InternalBatchSize));
        Add<DeepLiftShapOptions>("deeplift-shap", "DeepLift SHAP over a baseline distribution", G | B | D | MethodCapabilities.RequiresBaselines,
            (i, o) => new DeepLiftShap(i.RuleSetModel("deeplift-shap"), o.Rules).Attribute(i.FloatRows("deeplift-shap"), i.RequiredBaselines("deeplift-shap"), i.Target, i.InternalBatchSize));
        Add<GuidedBackpropOptions>("guided-backprop", "Guided backpropagation", G,
            (i, _) => new GuidedBackprop(i.RuleSetModel("guided-backprop")).Attribute(i.FloatRows("guided-backprop"), i.Target, i.InternalBatchSize));
        Add<DeconvolutionOptions>("deconvolution", "Deconvolution", G,
            (i, _) => new Deconvolution(i.RuleSetModel("deconvolution")).Attribute(i.FloatRows("deconvolution"), i.Target, i.InternalBatchSize));
        Add<GradientShapOptions>("gradient-shap", "Gradient SHAP: expected gradients over a baseline distribution", G | B | S | MethodCapabilities.RequiresBaselines,
            (i, o) => new GradientShap(i.GradientModel("gradient-shap")).Attribute(i.FloatRows("gradient-shap"), i.RequiredBaselines("gradient-shap"), i.Target,
                o.Samples, o.Stdevs, o.Seed, i.InternalBatchSize));
        Add<NoiseTunnelOptions>("noise-tunnel", "NoiseTunnel: SmoothGrad, SmoothGrad² or VarGrad around a gradient method", G | B | S | MethodCapabilities.Wrapper, RunNoiseTunnel);

        Add<FeatureAblationOptions>("feature-ablation", "Feature ablation: output change when a feature is replaced by its baseline", P | B,
            (i, _) => new FeatureAblation(i.ForwardModel("feature-ablation")).Attribute(i.FloatRows("feature-ablation"), i.Baselines, i.Target, i.FeatureMask, i.InternalBatchSize));
        Add<OcclusionOptions>("occlusion", "Occlusion: feature ablation with a sliding window", MethodCapabilities.BlackBox | B,
            (i, o) => new Occlusion(i.ForwardModel("occlusion")).Attribute(i.FloatRows("occlusion"),
                o.Window ?? throw new ArgumentException("Method 'occlusion' needs a window (Window, a per-row shape such as [1, 4, 4])."), o.Stride, i.Baselines, i.Target, i.InternalBatchSize));
        Add<FeaturePermutationOptions>("feature-permutation", "Feature permutation across the batch", P | S,
            (i, o) => new FeaturePermutation(i.ForwardModel("feature-permutation")).Attribute(i.FloatRows("feature-permutation"), i.Target, i.FeatureMask, o.Seed, i.InternalBatchSize));
        Add<ShapleyValuesOptions>("shapley-values", "Exact Shapley values over every coalition (≤ 20 features or groups)", P | B | MethodCapabilities.Background,
            (i, _) => new ShapleyValues(i.ForwardModel("shapley-values")).Attribute(i.FloatRows("shapley-values"), i.Baselines, i.Target, i.FeatureMask, i.InternalBatchSize, i.Background));
        Add<ShapleyValueSamplingOptions>("shapley-value-sampling", "Shapley value sampling over random orderings", P | B | S | MethodCapabilities.Background,
            (i, o) => new ShapleyValueSampling(i.ForwardModel("shapley-value-sampling")).Attribute(i.FloatRows("shapley-value-sampling"), i.Baselines, i.Target, i.FeatureMask,
                o.Samples, o.Seed, i.InternalBatchSize, i.Background));
        Add<KernelShapOptions>("kernel-shap", "Kernel SHAP: weighted linear regression over coalitions", P | B | S | MethodCapabilities.Background,
            (i, o) => new KernelShap(i.ForwardModel("kernel-shap")).Attribute(i.FloatRows("kernel-shap"), i.Baselines, i.Target, i.FeatureMask,
                o.Samples, o.Seed, i.InternalBatchSize, i.Background));
        Add<LimeOptions>("lime", "LIME with a lasso surrogate", P | B | S,
            (i, o) => new Lime(i.ForwardModel("lime"), new LassoRegression(o.Alpha), o.KernelWidth).Attribute(i.FloatRows("lime"), i.Baselines, i.Target, i.FeatureMask,
                o.Samples, o.Seed, i.InternalBatchSize));

        Add<LayerGradCamOptions>("gradcam", "Grad-CAM at a layer", G | L | T,
            (i, o) =>
            {
                var method = new LayerGradCam(i.Layer("gradcam", o));
                return i.TokenIds is { } ids
                    ? method.Attribute(ids, i.Target, o.LayerInput, o.Relu, o.AttrDimSummation, i.InternalBatchSize)
                    : method.Attribute(i.FloatRows("gradcam"), i.Target, o.LayerInput, o.Relu, o.AttrDimSummation, i.InternalBatchSize);
            });
        Add<GuidedGradCamOptions>("guided-gradcam", "Guided Grad-CAM: guided backprop × upsampled Grad-CAM", G | L | MethodCapabilities.AttributesToInput,
            (i, o) => new GuidedGradCam(i.RuleSetModel("guided-gradcam"), i.Layer("guided-gradcam", o))
                .Attribute(i.FloatRows("guided-gradcam"), i.Target, o.LayerInput, i.InternalBatchSize));
        Add<LayerIntegratedGradientsOptions>("layer-integrated-gradients", "Integrated Gradients in a layer's space (token embeddings for text)", G | L | B | D | T,
            (i, o) =>
            {
                var method = new LayerIntegratedGradients(i.Layer("layer-integrated-gradients", o));
                return i.TokenIds is { } ids
                    ? method.Attribute(ids, i.TokenBaselines, i.Target, o.Steps, o.Integration, i.InternalBatchSize, attributeToLayerInput: o.LayerInput)
                    : method.Attribute(i.FloatRows("layer-integrated-gradients"), i.Baselines, i.Target, o.Steps, o.Integration, i.InternalBatchSize, attributeToLayerInput: o.LayerInput);
            });
        Add<LayerConductanceOptions>("layer-conductance", "Layer conductance", G | L | B | D,
            (i, o) => new LayerConductance(i.Layer("layer-conductance", o)).Attribute(i.FloatRows("layer-conductance"), i.Baselines, i.Target, o.Steps, o.Integration,
                i.InternalBatchSize, attributeToLayerInput: o.LayerInput));
        Add<LayerActivationOptions>("layer-activation", "The layer's activation", L | T,
            (i, o) =>
            {
                var method = new LayerActivation(i.Layer("layer-activation", o));
                var activation = i.TokenIds is { } ids ? method.Attribute(ids, o.LayerInput, i.InternalBatchSize)
                    : method.Attribute(i.FloatRows("layer-activation"), o.LayerInput, i.InternalBatchSize);
                return new AttributionResult(activation, []);
            });
        Add<LayerGradientXActivationOptions>("layer-gradient-x-activation", "Layer gradient × activation", G | L | T,
            (i, o) =>
            {
                var method = new LayerGradientXActivation(i.Layer("layer-gradient-x-activation", o), o.MultiplyByInputs);
                return i.TokenIds is { } ids ? method.Attribute(ids, i.Target, o.LayerInput, i.InternalBatchSize)
                    : method.Attribute(i.FloatRows("layer-gradient-x-activation"), i.Target, o.LayerInput, i.InternalBatchSize);
            });
        Add<InternalInfluenceOptions>("internal-influence", "Internal influence", G | L | B,
            (i, o) => new InternalInfluence(i.Layer("internal-influence", o)).Attribute(i.FloatRows("internal-influence"), i.Baselines, i.Target, o.Steps, o.Integration,
                i.InternalBatchSize, o.LayerInput));
        Add<NeuronGradientOptions>("neuron-gradient", "Gradient of one neuron", N,
            (i, o) => new NeuronGradient(i.Layer("neuron-gradient", o)).Attribute(i.FloatRows("neuron-gradient"), Neuron("neuron-gradient", o), i.InternalBatchSize, o.LayerInput));
        Add<NeuronIntegratedGradientsOptions>("neuron-integrated-gradients", "Integrated Gradients of one neuron", N | B,
            (i, o) => new NeuronIntegratedGradients(i.Layer("neuron-integrated-gradients", o)).Attribute(i.FloatRows("neuron-integrated-gradients"),
                Neuron("neuron-integrated-gradients", o), i.Baselines, o.Steps, o.Integration, i.InternalBatchSize, o.LayerInput));
        Add<NeuronConductanceOptions>("neuron-conductance", "Neuron conductance", N | B,
            (i, o) => new NeuronConductance(i.Layer("neuron-conductance", o), o.MultiplyByInputs).Attribute(i.FloatRows("neuron-conductance"),
                Neuron("neuron-conductance", o), i.Baselines, i.Target, o.Steps, o.Integration, i.InternalBatchSize, o.LayerInput));

        // Issue 17: the rest of Captum's layer and neuron classes, and LRP.
        const MethodCapabilities R = MethodCapabilities.RequiresBaselines;
        Add<LayerDeepLiftOptions>("layer-deeplift", "DeepLift rescale rule at a layer", G | L | B | D,
            (i, o) => new LayerDeepLift(i.Layer("layer-deeplift", o), o.MultiplyByInputs, o.MaxPoolRule).Attribute(i.FloatRows("layer-deeplift"), i.Baselines, i.Target,
                i.InternalBatchSize, o.LayerInput));
        Add<LayerDeepLiftShapOptions>("layer-deeplift-shap", "DeepLift SHAP at a layer over a baseline distribution", G | L | B | D | R,
            (i, o) => new LayerDeepLiftShap(i.Layer("layer-deeplift-shap", o), o.MultiplyByInputs, o.MaxPoolRule).Attribute(i.FloatRows("layer-deeplift-shap"),
                i.RequiredBaselines("layer-deeplift-shap"), i.Target, i.InternalBatchSize, o.LayerInput));
        Add<LayerGradientShapOptions>("layer-gradient-shap", "Gradient SHAP at a layer", G | L | B | D | S | R,
            (i, o) => new LayerGradientShap(i.Layer("layer-gradient-shap", o), o.MultiplyByInputs).Attribute(i.FloatRows("layer-gradient-shap"),
                i.RequiredBaselines("layer-gradient-shap"), i.Target, o.Samples, o.Stdevs, o.Seed, i.InternalBatchSize, o.LayerInput));
        Add<LayerFeatureAblationOptions>("layer-feature-ablation", "Feature ablation of a layer's elements (replaced by 0)", G | L,
            (i, o) => new LayerFeatureAblation(i.Layer("layer-feature-ablation", o)).Attribute(i.FloatRows("layer-feature-ablation"), null, i.Target, null,
                i.InternalBatchSize, o.LayerInput));
        Add<LayerFeaturePermutationOptions>("layer-feature-permutation", "Feature permutation of a layer's elements across the batch", G | L | S,
            (i, o) => new LayerFeaturePermutation(i.Layer("layer-feature-permutation", o)).Attribute(i.FloatRows("layer-feature-permutation"), i.Target, null, o.Seed,
                i.InternalBatchSize, o.LayerInput));
        Add<NeuronDeepLiftOptions>("neuron-deeplift", "DeepLift of one neuron", N | B,
            (i, o) => new NeuronDeepLift(i.Layer("neuron-deeplift", o), o.MaxPoolRule).Attribute(i.FloatRows("neuron-deeplift"), Neuron("neuron-deeplift", o),
                i.Baselines, i.InternalBatchSize, o.LayerInput));
        Add<NeuronDeepLiftShapOptions>("neuron-deeplift-shap", "DeepLift SHAP of one neuron over a baseline distribution", N | B | R,
            (i, o) => new NeuronDeepLiftShap(i.Layer("neuron-deeplift-shap", o), o.MaxPoolRule).Attribute(i.FloatRows("neuron-deeplift-shap"), Neuron("neuron-deeplift-shap", o),
                i.RequiredBaselines("neuron-deeplift-shap"), i.InternalBatchSize, o.LayerInput));
        Add<NeuronGradientShapOptions>("neuron-gradient-shap", "Gradient SHAP of one neuron", N | B | S | R,
            (i, o) => new NeuronGradientShap(i.Layer("neuron-gradient-shap", o)).Attribute(i.FloatRows("neuron-gradient-shap"), Neuron("neuron-gradient-shap", o),
                i.RequiredBaselines("neuron-gradient-shap"), o.Samples, o.Stdevs, o.Seed, i.InternalBatchSize, o.LayerInput));
        Add<NeuronGuidedBackpropOptions>("neuron-guided-backprop", "Guided backpropagation of one neuron", N,
            (i, o) => new NeuronGuidedBackprop(i.Layer("neuron-guided-backprop", o)).Attribute(i.FloatRows("neuron-guided-backprop"), Neuron("neuron-guided-backprop", o),
                i.InternalBatchSize, o.LayerInput));
        Add<NeuronDeconvolutionOptions>("neuron-deconvolution", "Deconvolution of one neuron", N,
            (i, o) => new NeuronDeconvolution(i.Layer("neuron-deconvolution", o)).Attribute(i.FloatRows("neuron-deconvolution"), Neuron("neuron-deconvolution", o),
                i.InternalBatchSize, o.LayerInput));
        Add<NeuronFeatureAblationOptions>("neuron-feature-ablation", "Feature ablation of one neuron", N | B | MethodCapabilities.FeatureGroups,
            (i, o) => new NeuronFeatureAblation(i.Layer("neuron-feature-ablation", o)).Attribute(i.FloatRows("neuron-feature-ablation"), Neuron("neuron-feature-ablation", o),
                i.Baselines, i.FeatureMask, i.InternalBatchSize, o.LayerInput));
        Add<LrpOptions>("lrp", "Layer-wise relevance propagation (epsilon, gamma, alpha-beta, identity rules per op type or node)", G | D,
            (i, o) => new Lrp(i.GradientModel("lrp"), LrpRules.Parse(o.Rules)).Attribute(i.FloatRows("lrp"), i.Target, i.InternalBatchSize));
        Add<LayerLrpOptions>("layer-lrp", "Layer-wise relevance propagation to a layer", G | L | D,
            (i, o) => new LayerLrp(i.Layer("layer-lrp", o), LrpRules.Parse(o.Rules)).Attribute(i.FloatRows("layer-lrp"), i.Target, i.InternalBatchSize, o.LayerInput));

        Add<TreeShapOptions>("tree-shap", "Exact TreeSHAP for ML.NET tree ensembles (FastTree, FastForest, LightGBM)",
            MethodCapabilities.ExactForTrees | MethodCapabilities.Background | MethodCapabilities.FeatureGroups, RunTreeShap);
        Add<LinearShapOptions>("linear-shap", "Exact linear SHAP: w·(x − E[x]) over the background",
            MethodCapabilities.ExactForLinear | MethodCapabilities.Background | MethodCapabilities.FeatureGroups, RunLinearShap);
    }

    /// <summary>Every registered method, in registration order.</summary>
    public static IReadOnlyList<AttributionMethod> All
    {
        get { lock (Gate) return Methods.ToArray(); }
    }

    /// <summary>The method of that name, or null.</summary>
    public static AttributionMethod? Find(string name)
    {
        lock (Gate) return Methods.FirstOrDefault(m => m.Name == name);
    }

    /// <summary>The method of that name; an unknown name gives an error listing the names (and the nearest one).</summary>
    public static AttributionMethod Get(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (Find(name) is { } method) return method;
        string? package;
        lock (Gate) package = Elsewhere.GetValueOrDefault(name);
        if (package is not null)
            throw new ArgumentException($"Method '{name}' lives in the package {package}; reference it (its registration runs when the package loads).");
        var nearest = Nearest(name, All.Select(m => m.Name));
        throw new ArgumentException($"Unknown method '{name}'{(nearest is null ? "" : $" (did you mean '{nearest}'?)")}; known methods: {string.Join(", ", All.Select(m => m.Name))}.");
    }

    /// <summary>
    /// Adds a method (packages call this from their module initializer). A name can be registered once.
    /// </summary>
    public static AttributionMethod Register<TOptions>(string name, string summary, MethodCapabilities capabilities,
        Func<MethodInputs, TOptions, AttributionResult> run) where TOptions : MethodOptions, new()
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(run);
        if (name != name.ToLowerInvariant() || name.Contains(' ') || name.Contains('_'))
            throw new ArgumentException($"Method names are kebab-case; got '{name}'.", nameof(name));
        if (typeof(ISeededOptions).IsAssignableFrom(typeof(TOptions))) capabilities |= MethodCapabilities.Seeded;
        var method = new AttributionMethod(name, summary, typeof(TOptions), capabilities, (i, o) => run(i, (TOptions)o));
        lock (Gate)
        {
            if (Methods.Any(m => m.Name == name)) throw new InvalidOperationException($"Method '{name}' is registered already.");
            Methods.Add(method);
        }
        return method;
    }

    /// <summary>Records that a method lives in a package that is not referenced, so asking for it names the package.</summary>
    public static void Announce(string name, string package)
    {
        lock (Gate) Elsewhere.TryAdd(name, package);
    }

    /// <summary>The closest name by edit distance (at most a third of the name's length away), for "did you mean".</summary>
    public static string? Nearest(string name, IEnumerable<string> candidates)
    {
        string? best = null;
        int bestDistance = int.MaxValue;
        foreach (var candidate in candidates)
        {
            int d = EditDistance(name, candidate);
            if (d < bestDistance) (best, bestDistance) = (candidate, d);
        }
        return best is not null && bestDistance <= Math.Max(2, name.Length / 3) ? best : null;
    }

    private static int EditDistance(string a, string b)
    {
        var row = Enumerable.Range(0, b.Length + 1).ToArray();
        for (int i = 1; i <= a.Length; i++)
        {
            int diagonal = row[0];
            row[0] = i;
            for (int j = 1; j <= b.Length; j++)
            {
                int above = row[j];
                row[j] = Math.Min(Math.Min(row[j] + 1, row[j - 1] + 1), diagonal + (a[i - 1] == b[j - 1] ? 0 : 1));
                diagonal = above;
            }
        }
        return row[b.Length];
    }

    private static void Add<TOptions>(string name, string summary, MethodCapabilities capabilities, Func<MethodInputs, TOptions, AttributionResult> run)
        where TOptions : MethodOptions, new() => Register(name, summary, capabilities, run);

    private static int[] Neuron(string method, NeuronMethodOptions options) =>
        options.Neuron ?? throw new ArgumentException($"Method '{method}' needs a neuron (Neuron: an index into one row of the layer, e.g. [0, 3, 3]).");

    private static AttributionResult RunNoiseTunnel(MethodInputs inputs, NoiseTunnelOptions options)
    {
        var wrapped = Get(options.BaseMethod);
        if (!wrapped.Has(MethodCapabilities.Gradients) || wrapped.Has(MethodCapabilities.TakesLayer) || wrapped.Has(MethodCapabilities.Wrapper)
            || wrapped.Has(MethodCapabilities.RequiresBaselines))
            throw new ArgumentException($"noise-tunnel wraps a gradient method on the input; '{options.BaseMethod}' is not one. Use one of " +
                $"{string.Join(", ", All.Where(m => m.Has(MethodCapabilities.Gradients) && !m.Has(MethodCapabilities.TakesLayer) && !m.Has(MethodCapabilities.Wrapper) && !m.Has(MethodCapabilities.RequiresBaselines)).Select(m => m.Name))}.");
        var baseOptions = options.BaseOptions ?? wrapped.CreateDefaultOptions();
        var tunnel = new NoiseTunnel(wrapped.Bind(inputs, baseOptions));
        return tunnel.Attribute(inputs.FloatRows("noise-tunnel"), options.Noise, options.Samples, options.Stdevs, inputs.Baselines, inputs.Target, options.Seed);
    }

    private static AttributionResult RunTreeShap(MethodInputs inputs, TreeShapOptions options)
    {
        var trees = inputs.Trees ?? throw new ArgumentException("Method 'tree-shap' needs an ML.NET tree ensemble (FastTree, FastForest, LightGBM).");
        var rows = inputs.FloatRows("tree-shap");
        var background = inputs.Background ?? (options.Algorithm == TreeShapAlgorithm.PathDependent ? null
            : throw new ArgumentException("Interventional TreeSHAP needs background rows (MethodInputs.Background)."));
        return TreeShapRun.Explain(trees, rows, background, options.Algorithm, inputs.FeatureMask, inputs.Target, inputs.PerGroupOutput);
    }

    private static AttributionResult RunLinearShap(MethodInputs inputs, LinearShapOptions options)
    {
        var model = inputs.Linear ?? throw new ArgumentException("Method 'linear-shap' needs a linear model (SDCA, L-BFGS, OLS, …).");
        var background = inputs.Background ?? throw new ArgumentException("Method 'linear-shap' needs background rows (MethodInputs.Background) for E[x].");
        return model.Explain(inputs.FloatRows("linear-shap"), background, inputs.FeatureMask, inputs.Target);
    }
}
