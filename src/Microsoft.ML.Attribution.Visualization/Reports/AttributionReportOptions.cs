using Microsoft.ML.Attribution.Methods;
using Microsoft.ML.Attribution.Tensors;

namespace Microsoft.ML.Attribution.Reports;

/// <summary>What an <see cref="AttributionReport"/> shows and how it computes it.</summary>
public sealed record AttributionReportOptions
{
    /// <summary>The page title. Default: "Attribution report".</summary>
    public string Title { get; init; } = "Attribution report";

    /// <summary>
    /// A method name from <see cref="MethodRegistry"/> (over a model oracle, one of <see cref="OracleMethods"/>; on an
    /// ML.NET tree model also tree-shap); null picks by model kind: exact TreeSHAP for ML.NET tree ensembles, Integrated
    /// Gradients for models that give gradients (ONNX), Kernel SHAP over the background otherwise.
    /// </summary>
    public string? Method { get; init; }

    /// <summary>The method's typed options; null for its registry defaults.</summary>
    public MethodOptions? MethodOptions { get; init; }

    /// <summary>Most rows explained; a larger dataset is subsampled (seeded, original order kept). Default: 10,000.</summary>
    public int MaxRows { get; init; } = 10_000;

    /// <summary>Rows shown in each of the most-confident, least-confident and error sections. Default: 5.</summary>
    public int TopK { get; init; } = 5;

    /// <summary>Most features drawn in one chart (the importance table always lists every feature). Default: 15.</summary>
    public int MaxChartFeatures { get; init; } = 15;

    /// <summary>Background rows drawn (seeded) from the data: TreeSHAP's covers, and the mean row that is the baseline
    /// of the other methods on tabular data. Default: 100.</summary>
    public int BackgroundSize { get; init; } = 100;

    /// <summary>Seed of every random choice (row and background samples, coalitions, orderings). Default: 0.</summary>
    public int Seed { get; init; }

    /// <summary>The explained output for every row; null explains each row's predicted (argmax) output.</summary>
    public int? Target { get; init; }

    /// <summary>Feature names (one per feature, or per channel / token position for image and text inputs); null
    /// uses the model's slot names or <c>f0, f1, …</c>.</summary>
    public IReadOnlyList<string>? FeatureNames { get; init; }

    /// <summary>Names of the model's outputs (classes); null for <c>class 0, class 1, …</c>.</summary>
    public IReadOnlyList<string>? ClassNames { get; init; }

    /// <summary>The baseline (reference) row of IG, ablation and the Shapley methods; null uses the background mean for
    /// tabular inputs and zeros for image and text inputs.</summary>
    public NdArray<float>? Baseline { get; init; }



    /// <summary>Original images <c>[N, C, H, W]</c> in [0, 1] aligned with the input rows, blended under the heat
    /// maps of image inputs; null draws plain heat maps.</summary>
    public NdArray<float>? OriginalImages { get; init; }

    /// <summary>Tokens of each input row (text inputs <c>[N, T]</c> or <c>[N, T, D]</c>): rows are then drawn as
    /// coloured text with one attribution per token (summed over D).</summary>
    public IReadOnlyList<IReadOnlyList<string>>? Tokens { get; init; }

    /// <summary>Most rows drawn in the beeswarm summary (a seeded sample keeps the page small). Default: 1,000.</summary>
    public int BeeswarmRows { get; init; } = 1_000;

    /// <summary>
    /// Whether a report over a model oracle (ONNX, or an ML.NET model seen as a black box) runs the method with the
    /// registry's defaults, decided from its declared capabilities: gradient or black-box methods attributing to the
    /// input features, with no option that lacks a default (e.g. occlusion's window). Layer and neuron methods attribute
    /// elsewhere; TreeSHAP runs on ML.NET tree models only.
    /// </summary>
    public static bool Accepts(AttributionMethod method)
    {
        ArgumentNullException.ThrowIfNull(method);
        return (method.Has(MethodCapabilities.Gradients) || method.Has(MethodCapabilities.BlackBox))
            && !method.Has(MethodCapabilities.TakesLayer)
            && !method.OptionsType.GetProperties().Any(p => p.IsDefined(typeof(RequiredOptionAttribute), true) && p.GetValue(method.CreateDefaultOptions()) is null);
    }

    /// <summary>The registry's methods a report over a model oracle accepts (<see cref="Accepts"/>), in registration order.</summary>
    public static IReadOnlyList<AttributionMethod> OracleMethods => MethodRegistry.All.Where(Accepts).ToArray();
    /// <summary>Most features listed in the importance table (the rest are counted in a note). Default: 100.</summary>
    public int MaxTableFeatures { get; init; } = 100;

    /// <summary>
    /// Adds the "How faithful is this explanation?" section (infidelity and deletion/insertion AUC per method on the
    /// first explained rows) to reports of ONNX and other oracle models; null (the default) leaves it out.
    /// </summary>
    public FaithfulnessOptions? Faithfulness { get; init; }

    /// <summary>
    /// Most rows given exact TreeSHAP interaction values (ML.NET tree models only): a seeded sample of the explained rows
    /// feeds the "Interactions" section and colours the dependence plot by the feature that interacts most. 0 switches
    /// interactions off. Default: 500.
    /// </summary>
    public int InteractionRows { get; init; } = 500;

    /// <summary>Told how far the report has got (featurizing, explaining rows block by block, rendering); null for silence.</summary>
    public IProgress<ReportProgress>? Progress { get; init; }

    internal void Validate()
    {
        if (MaxRows < 1) throw new ArgumentOutOfRangeException(nameof(MaxRows), MaxRows, "MaxRows must be at least 1.");
        if (TopK < 0) throw new ArgumentOutOfRangeException(nameof(TopK), TopK, "TopK must be ≥ 0.");
        if (MaxChartFeatures < 1) throw new ArgumentOutOfRangeException(nameof(MaxChartFeatures), MaxChartFeatures, "MaxChartFeatures must be at least 1.");
        if (BackgroundSize < 1) throw new ArgumentOutOfRangeException(nameof(BackgroundSize), BackgroundSize, "BackgroundSize must be at least 1.");
        if (Method is not null && MethodRegistry.Get(Method) is { } method && MethodOptions is not null && MethodOptions.GetType() != method.OptionsType)
            throw new ArgumentException($"MethodOptions is {MethodOptions.GetType().Name}, but method '{Method}' takes {method.OptionsType.Name}.", nameof(MethodOptions));
        if (MaxTableFeatures < 1) throw new ArgumentOutOfRangeException(nameof(MaxTableFeatures), MaxTableFeatures, "MaxTableFeatures must be at least 1.");
        if (InteractionRows < 0) throw new ArgumentOutOfRangeException(nameof(InteractionRows), InteractionRows, "InteractionRows must be ≥ 0 (0 switches interactions off).");
        if (BeeswarmRows < 1) throw new ArgumentOutOfRangeException(nameof(BeeswarmRows), BeeswarmRows, "BeeswarmRows must be at least 1.");
        ArgumentNullException.ThrowIfNull(Title, nameof(Title));
    }
}

/// <summary>Seconds spent in one phase of report generation.</summary>
/// <param name="Phase">The phase (e.g. "attribute").</param>
/// <param name="Seconds">Wall-clock seconds.</param>
public sealed record ReportTiming(string Phase, double Seconds);
