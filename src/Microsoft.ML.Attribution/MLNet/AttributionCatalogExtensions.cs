using Microsoft.ML.Attribution.Methods;
using Microsoft.ML.Attribution.MLNet;

// The front door sits in namespace Microsoft.ML, as ML.NET's own catalogs do: mlContext.Attribution() needs no using.
namespace Microsoft.ML;

/// <summary>The library's entry point on an <see cref="MLContext"/>: <c>mlContext.Attribution()</c>, and <c>.Explain(mlContext)</c> on any training pipeline.</summary>
public static class AttributionMLContextExtensions
{
    /// <summary>Explanation steps for ML.NET pipelines (one typed entry per method), and their save/load.</summary>
    public static AttributionCatalog Attribution(this MLContext mlContext) => new(mlContext ?? throw new ArgumentNullException(nameof(mlContext)));

    /// <summary>
    /// Appends an explanation of the fitted model to a training pipeline. With no options: the exact or best method for
    /// the trained predictor (TreeSHAP for FastTree / FastForest / LightGBM, linear SHAP for linear models, Kernel SHAP
    /// otherwise), on the predictor's feature column, one attribution per source column (one-hot and other featurized
    /// slots grouped back), a <c>BaseValue</c> column, and a 100-row fixed-seed sample of the training data as background.
    /// Every option and column is checked before the pipeline trains.
    /// </summary>
    /// <param name="estimator">The training pipeline (featurizers + trainer).</param>
    /// <param name="mlContext">The context (logging of the chosen method).</param>
    /// <param name="options">Method, output, groups and columns; null for the choices above.</param>
    /// <param name="baselineFromTrainingMeans">Use the training data's feature means as the baseline of baseline methods.</param>
    public static ExplainingEstimator Explain<TTransformer>(this IEstimator<TTransformer> estimator, MLContext mlContext,
        ExplainOptions? options = null, bool baselineFromTrainingMeans = false) where TTransformer : class, ITransformer =>
        new(mlContext, (IEstimator<ITransformer>)estimator, options ?? new ExplainOptions(), baselineFromTrainingMeans);

    /// <summary>Integrated Gradients of an ONNX model: a pipeline step appending its attributions.</summary>
    /// <param name="catalog">The attribution catalog.</param>
    /// <param name="onnxModelPath">The ONNX model.</param>
    /// <param name="options">The method's options; null for its defaults (Captum's).</param>
    /// <param name="pipeline">Columns, target, background and groups; null for the defaults.</param>
    public static AttributionEstimator IntegratedGradients(this AttributionCatalog catalog, string onnxModelPath, IntegratedGradientsOptions? options = null, ExplainOptions? pipeline = null) =>
        catalog.Typed(AttributionCatalog.OnnxModel(onnxModelPath), "integrated-gradients", options, pipeline);

    /// <summary>Saliency (the gradient) of an ONNX model: a pipeline step appending its attributions.</summary>
    /// <param name="catalog">The attribution catalog.</param>
    /// <param name="onnxModelPath">The ONNX model.</param>
    /// <param name="options">The method's options; null for its defaults (Captum's).</param>
    /// <param name="pipeline">Columns, target, background and groups; null for the defaults.</param>
    public static AttributionEstimator Saliency(this AttributionCatalog catalog, string onnxModelPath, SaliencyOptions? options = null, ExplainOptions? pipeline = null) =>
        catalog.Typed(AttributionCatalog.OnnxModel(onnxModelPath), "saliency", options, pipeline);

    /// <summary>Input × gradient of an ONNX model: a pipeline step appending its attributions.</summary>
    /// <param name="catalog">The attribution catalog.</param>
    /// <param name="onnxModelPath">The ONNX model.</param>
    /// <param name="options">The method's options; null for its defaults (Captum's).</param>
    /// <param name="pipeline">Columns, target, background and groups; null for the defaults.</param>
    public static AttributionEstimator InputXGradient(this AttributionCatalog catalog, string onnxModelPath, InputXGradientOptions? options = null, ExplainOptions? pipeline = null) =>
        catalog.Typed(AttributionCatalog.OnnxModel(onnxModelPath), "input-x-gradient", options, pipeline);

    /// <summary>DeepLift of an ONNX model: a pipeline step appending its attributions.</summary>
    /// <param name="catalog">The attribution catalog.</param>
    /// <param name="onnxModelPath">The ONNX model.</param>
    /// <param name="options">The method's options; null for its defaults (Captum's).</param>
    /// <param name="pipeline">Columns, target, background and groups; null for the defaults.</param>
    public static AttributionEstimator DeepLift(this AttributionCatalog catalog, string onnxModelPath, DeepLiftOptions? options = null, ExplainOptions? pipeline = null) =>
        catalog.Typed(AttributionCatalog.OnnxModel(onnxModelPath), "deeplift", options, pipeline);

    /// <summary>Guided backpropagation of an ONNX model: a pipeline step appending its attributions.</summary>
    /// <param name="catalog">The attribution catalog.</param>
    /// <param name="onnxModelPath">The ONNX model.</param>
    /// <param name="options">The method's options; null for its defaults (Captum's).</param>
    /// <param name="pipeline">Columns, target, background and groups; null for the defaults.</param>
    public static AttributionEstimator GuidedBackprop(this AttributionCatalog catalog, string onnxModelPath, GuidedBackpropOptions? options = null, ExplainOptions? pipeline = null) =>
        catalog.Typed(AttributionCatalog.OnnxModel(onnxModelPath), "guided-backprop", options, pipeline);

    /// <summary>Deconvolution of an ONNX model: a pipeline step appending its attributions.</summary>
    /// <param name="catalog">The attribution catalog.</param>
    /// <param name="onnxModelPath">The ONNX model.</param>
    /// <param name="options">The method's options; null for its defaults (Captum's).</param>
    /// <param name="pipeline">Columns, target, background and groups; null for the defaults.</param>
    public static AttributionEstimator Deconvolution(this AttributionCatalog catalog, string onnxModelPath, DeconvolutionOptions? options = null, ExplainOptions? pipeline = null) =>
        catalog.Typed(AttributionCatalog.OnnxModel(onnxModelPath), "deconvolution", options, pipeline);

    /// <summary>Feature ablation (any model): a pipeline step appending its attributions.</summary>
    /// <param name="catalog">The attribution catalog.</param>
    /// <param name="onnxModelPath">The ONNX model.</param>
    /// <param name="options">The method's options; null for its defaults (Captum's).</param>
    /// <param name="pipeline">Columns, target, background and groups; null for the defaults.</param>
    public static AttributionEstimator FeatureAblation(this AttributionCatalog catalog, string onnxModelPath, FeatureAblationOptions? options = null, ExplainOptions? pipeline = null) =>
        catalog.Typed(AttributionCatalog.OnnxModel(onnxModelPath), "feature-ablation", options, pipeline);

    /// <summary>Feature ablation (any model): a pipeline step explaining a fitted ML.NET predictor.</summary>
    /// <param name="catalog">The attribution catalog.</param>
    /// <param name="predictor">The fitted predictor (the last transformer of a trained chain).</param>
    /// <param name="options">The method's options; null for its defaults.</param>
    /// <param name="pipeline">Columns, target, background and groups; null for the defaults.</param>
    public static AttributionEstimator FeatureAblation(this AttributionCatalog catalog, ITransformer predictor, FeatureAblationOptions? options = null, ExplainOptions? pipeline = null) =>
        catalog.Typed(ExplainedModel.MLNet(predictor ?? throw new ArgumentNullException(nameof(predictor))), "feature-ablation", options, pipeline);

    /// <summary>Occlusion (any model; set the window): a pipeline step appending its attributions.</summary>
    /// <param name="catalog">The attribution catalog.</param>
    /// <param name="onnxModelPath">The ONNX model.</param>
    /// <param name="options">The method's options; null for its defaults (Captum's).</param>
    /// <param name="pipeline">Columns, target, background and groups; null for the defaults.</param>
    public static AttributionEstimator Occlusion(this AttributionCatalog catalog, string onnxModelPath, OcclusionOptions? options = null, ExplainOptions? pipeline = null) =>
        catalog.Typed(AttributionCatalog.OnnxModel(onnxModelPath), "occlusion", options, pipeline);

    /// <summary>Occlusion (any model; set the window): a pipeline step explaining a fitted ML.NET predictor.</summary>
    /// <param name="catalog">The attribution catalog.</param>
    /// <param name="predictor">The fitted predictor (the last transformer of a trained chain).</param>
    /// <param name="options">The method's options; null for its defaults.</param>
    /// <param name="pipeline">Columns, target, background and groups; null for the defaults.</param>
    public static AttributionEstimator Occlusion(this AttributionCatalog catalog, ITransformer predictor, OcclusionOptions? options = null, ExplainOptions? pipeline = null) =>
        catalog.Typed(ExplainedModel.MLNet(predictor ?? throw new ArgumentNullException(nameof(predictor))), "occlusion", options, pipeline);

    /// <summary>Feature permutation (any model): a pipeline step appending its attributions.</summary>
    /// <param name="catalog">The attribution catalog.</param>
    /// <param name="onnxModelPath">The ONNX model.</param>
    /// <param name="options">The method's options; null for its defaults (Captum's).</param>
    /// <param name="pipeline">Columns, target, background and groups; null for the defaults.</param>
    public static AttributionEstimator FeaturePermutation(this AttributionCatalog catalog, string onnxModelPath, FeaturePermutationOptions? options = null, ExplainOptions? pipeline = null) =>
        catalog.Typed(AttributionCatalog.OnnxModel(onnxModelPath), "feature-permutation", options, pipeline);

    /// <summary>Feature permutation (any model): a pipeline step explaining a fitted ML.NET predictor.</summary>
    /// <param name="catalog">The attribution catalog.</param>
    /// <param name="predictor">The fitted predictor (the last transformer of a trained chain).</param>
    /// <param name="options">The method's options; null for its defaults.</param>
    /// <param name="pipeline">Columns, target, background and groups; null for the defaults.</param>
    public static AttributionEstimator FeaturePermutation(this AttributionCatalog catalog, ITransformer predictor, FeaturePermutationOptions? options = null, ExplainOptions? pipeline = null) =>
        catalog.Typed(ExplainedModel.MLNet(predictor ?? throw new ArgumentNullException(nameof(predictor))), "feature-permutation", options, pipeline);

    /// <summary>Exact Shapley values (any model, ≤ 20 features or groups): a pipeline step appending its attributions.</summary>
    /// <param name="catalog">The attribution catalog.</param>
    /// <param name="onnxModelPath">The ONNX model.</param>
    /// <param name="options">The method's options; null for its defaults (Captum's).</param>
    /// <param name="pipeline">Columns, target, background and groups; null for the defaults.</param>
    public static AttributionEstimator ShapleyValues(this AttributionCatalog catalog, string onnxModelPath, ShapleyValuesOptions? options = null, ExplainOptions? pipeline = null) =>
        catalog.Typed(AttributionCatalog.OnnxModel(onnxModelPath), "shapley-values", options, pipeline);

    /// <summary>Exact Shapley values (any model, ≤ 20 features or groups): a pipeline step explaining a fitted ML.NET predictor.</summary>
    /// <param name="catalog">The attribution catalog.</param>
    /// <param name="predictor">The fitted predictor (the last transformer of a trained chain).</param>
    /// <param name="options">The method's options; null for its defaults.</param>
    /// <param name="pipeline">Columns, target, background and groups; null for the defaults.</param>
    public static AttributionEstimator ShapleyValues(this AttributionCatalog catalog, ITransformer predictor, ShapleyValuesOptions? options = null, ExplainOptions? pipeline = null) =>
        catalog.Typed(ExplainedModel.MLNet(predictor ?? throw new ArgumentNullException(nameof(predictor))), "shapley-values", options, pipeline);

    /// <summary>Shapley value sampling (any model): a pipeline step appending its attributions.</summary>
    /// <param name="catalog">The attribution catalog.</param>
    /// <param name="onnxModelPath">The ONNX model.</param>
    /// <param name="options">The method's options; null for its defaults (Captum's).</param>
    /// <param name="pipeline">Columns, target, background and groups; null for the defaults.</param>
    public static AttributionEstimator ShapleyValueSampling(this AttributionCatalog catalog, string onnxModelPath, ShapleyValueSamplingOptions? options = null, ExplainOptions? pipeline = null) =>
        catalog.Typed(AttributionCatalog.OnnxModel(onnxModelPath), "shapley-value-sampling", options, pipeline);

    /// <summary>Shapley value sampling (any model): a pipeline step explaining a fitted ML.NET predictor.</summary>
    /// <param name="catalog">The attribution catalog.</param>
    /// <param name="predictor">The fitted predictor (the last transformer of a trained chain).</param>
    /// <param name="options">The method's options; null for its defaults.</param>
    /// <param name="pipeline">Columns, target, background and groups; null for the defaults.</param>
    public static AttributionEstimator ShapleyValueSampling(this AttributionCatalog catalog, ITransformer predictor, ShapleyValueSamplingOptions? options = null, ExplainOptions? pipeline = null) =>
        catalog.Typed(ExplainedModel.MLNet(predictor ?? throw new ArgumentNullException(nameof(predictor))), "shapley-value-sampling", options, pipeline);

    /// <summary>Kernel SHAP (any model): a pipeline step appending its attributions.</summary>
    /// <param name="catalog">The attribution catalog.</param>
    /// <param name="onnxModelPath">The ONNX model.</param>
    /// <param name="options">The method's options; null for its defaults (Captum's).</param>
    /// <param name="pipeline">Columns, target, background and groups; null for the defaults.</param>
    public static AttributionEstimator KernelShap(this AttributionCatalog catalog, string onnxModelPath, KernelShapOptions? options = null, ExplainOptions? pipeline = null) =>
        catalog.Typed(AttributionCatalog.OnnxModel(onnxModelPath), "kernel-shap", options, pipeline);

    /// <summary>Kernel SHAP (any model): a pipeline step explaining a fitted ML.NET predictor.</summary>
    /// <param name="catalog">The attribution catalog.</param>
    /// <param name="predictor">The fitted predictor (the last transformer of a trained chain).</param>
    /// <param name="options">The method's options; null for its defaults.</param>
    /// <param name="pipeline">Columns, target, background and groups; null for the defaults.</param>
    public static AttributionEstimator KernelShap(this AttributionCatalog catalog, ITransformer predictor, KernelShapOptions? options = null, ExplainOptions? pipeline = null) =>
        catalog.Typed(ExplainedModel.MLNet(predictor ?? throw new ArgumentNullException(nameof(predictor))), "kernel-shap", options, pipeline);

    /// <summary>LIME (any model): a pipeline step appending its attributions.</summary>
    /// <param name="catalog">The attribution catalog.</param>
    /// <param name="onnxModelPath">The ONNX model.</param>
    /// <param name="options">The method's options; null for its defaults (Captum's).</param>
    /// <param name="pipeline">Columns, target, background and groups; null for the defaults.</param>
    public static AttributionEstimator Lime(this AttributionCatalog catalog, string onnxModelPath, LimeOptions? options = null, ExplainOptions? pipeline = null) =>
        catalog.Typed(AttributionCatalog.OnnxModel(onnxModelPath), "lime", options, pipeline);

    /// <summary>LIME (any model): a pipeline step explaining a fitted ML.NET predictor.</summary>
    /// <param name="catalog">The attribution catalog.</param>
    /// <param name="predictor">The fitted predictor (the last transformer of a trained chain).</param>
    /// <param name="options">The method's options; null for its defaults.</param>
    /// <param name="pipeline">Columns, target, background and groups; null for the defaults.</param>
    public static AttributionEstimator Lime(this AttributionCatalog catalog, ITransformer predictor, LimeOptions? options = null, ExplainOptions? pipeline = null) =>
        catalog.Typed(ExplainedModel.MLNet(predictor ?? throw new ArgumentNullException(nameof(predictor))), "lime", options, pipeline);

    /// <summary>Grad-CAM at a layer of an ONNX model (set Layer): a pipeline step appending its attributions.</summary>
    /// <param name="catalog">The attribution catalog.</param>
    /// <param name="onnxModelPath">The ONNX model.</param>
    /// <param name="options">The method's options; null for its defaults (Captum's).</param>
    /// <param name="pipeline">Columns, target, background and groups; null for the defaults.</param>
    public static AttributionEstimator LayerGradCam(this AttributionCatalog catalog, string onnxModelPath, LayerGradCamOptions? options = null, ExplainOptions? pipeline = null) =>
        catalog.Typed(AttributionCatalog.OnnxModel(onnxModelPath), "gradcam", options, pipeline);

    /// <summary>Guided Grad-CAM of an ONNX model (set Layer): a pipeline step appending its attributions.</summary>
    /// <param name="catalog">The attribution catalog.</param>
    /// <param name="onnxModelPath">The ONNX model.</param>
    /// <param name="options">The method's options; null for its defaults (Captum's).</param>
    /// <param name="pipeline">Columns, target, background and groups; null for the defaults.</param>
    public static AttributionEstimator GuidedGradCam(this AttributionCatalog catalog, string onnxModelPath, GuidedGradCamOptions? options = null, ExplainOptions? pipeline = null) =>
        catalog.Typed(AttributionCatalog.OnnxModel(onnxModelPath), "guided-gradcam", options, pipeline);

    /// <summary>Integrated Gradients at a layer of an ONNX model (set Layer): a pipeline step appending its attributions.</summary>
    /// <param name="catalog">The attribution catalog.</param>
    /// <param name="onnxModelPath">The ONNX model.</param>
    /// <param name="options">The method's options; null for its defaults (Captum's).</param>
    /// <param name="pipeline">Columns, target, background and groups; null for the defaults.</param>
    public static AttributionEstimator LayerIntegratedGradients(this AttributionCatalog catalog, string onnxModelPath, LayerIntegratedGradientsOptions? options = null, ExplainOptions? pipeline = null) =>
        catalog.Typed(AttributionCatalog.OnnxModel(onnxModelPath), "layer-integrated-gradients", options, pipeline);

    /// <summary>Layer conductance of an ONNX model (set Layer): a pipeline step appending its attributions.</summary>
    /// <param name="catalog">The attribution catalog.</param>
    /// <param name="onnxModelPath">The ONNX model.</param>
    /// <param name="options">The method's options; null for its defaults (Captum's).</param>
    /// <param name="pipeline">Columns, target, background and groups; null for the defaults.</param>
    public static AttributionEstimator LayerConductance(this AttributionCatalog catalog, string onnxModelPath, LayerConductanceOptions? options = null, ExplainOptions? pipeline = null) =>
        catalog.Typed(AttributionCatalog.OnnxModel(onnxModelPath), "layer-conductance", options, pipeline);

    /// <summary>A layer's activation in an ONNX model (set Layer): a pipeline step appending its attributions.</summary>
    /// <param name="catalog">The attribution catalog.</param>
    /// <param name="onnxModelPath">The ONNX model.</param>
    /// <param name="options">The method's options; null for its defaults (Captum's).</param>
    /// <param name="pipeline">Columns, target, background and groups; null for the defaults.</param>
    public static AttributionEstimator LayerActivation(this AttributionCatalog catalog, string onnxModelPath, LayerActivationOptions? options = null, ExplainOptions? pipeline = null) =>
        catalog.Typed(AttributionCatalog.OnnxModel(onnxModelPath), "layer-activation", options, pipeline);

    /// <summary>Layer gradient × activation of an ONNX model (set Layer): a pipeline step appending its attributions.</summary>
    /// <param name="catalog">The attribution catalog.</param>
    /// <param name="onnxModelPath">The ONNX model.</param>
    /// <param name="options">The method's options; null for its defaults (Captum's).</param>
    /// <param name="pipeline">Columns, target, background and groups; null for the defaults.</param>
    public static AttributionEstimator LayerGradientXActivation(this AttributionCatalog catalog, string onnxModelPath, LayerGradientXActivationOptions? options = null, ExplainOptions? pipeline = null) =>
        catalog.Typed(AttributionCatalog.OnnxModel(onnxModelPath), "layer-gradient-x-activation", options, pipeline);

    /// <summary>Internal influence at a layer of an ONNX model (set Layer): a pipeline step appending its attributions.</summary>
    /// <param name="catalog">The attribution catalog.</param>
    /// <param name="onnxModelPath">The ONNX model.</param>
    /// <param name="options">The method's options; null for its defaults (Captum's).</param>
    /// <param name="pipeline">Columns, target, background and groups; null for the defaults.</param>
    public static AttributionEstimator InternalInfluence(this AttributionCatalog catalog, string onnxModelPath, InternalInfluenceOptions? options = null, ExplainOptions? pipeline = null) =>
        catalog.Typed(AttributionCatalog.OnnxModel(onnxModelPath), "internal-influence", options, pipeline);

    /// <summary>Exact TreeSHAP of an ML.NET tree ensemble (FastTree, FastForest, LightGBM): a pipeline step explaining a fitted ML.NET predictor.</summary>
    /// <param name="catalog">The attribution catalog.</param>
    /// <param name="predictor">The fitted predictor (the last transformer of a trained chain).</param>
    /// <param name="options">The method's options; null for its defaults.</param>
    /// <param name="pipeline">Columns, target, background and groups; null for the defaults.</param>
    public static AttributionEstimator TreeShap(this AttributionCatalog catalog, ITransformer predictor, TreeShapOptions? options = null, ExplainOptions? pipeline = null) =>
        catalog.Typed(ExplainedModel.MLNet(predictor ?? throw new ArgumentNullException(nameof(predictor))), "tree-shap", options, pipeline);

    /// <summary>Exact linear SHAP of an ML.NET linear model (SDCA, L-BFGS, OLS, …): a pipeline step explaining a fitted ML.NET predictor.</summary>
    /// <param name="catalog">The attribution catalog.</param>
    /// <param name="predictor">The fitted predictor (the last transformer of a trained chain).</param>
    /// <param name="options">The method's options; null for its defaults.</param>
    /// <param name="pipeline">Columns, target, background and groups; null for the defaults.</param>
    public static AttributionEstimator LinearShap(this AttributionCatalog catalog, ITransformer predictor, LinearShapOptions? options = null, ExplainOptions? pipeline = null) =>
        catalog.Typed(ExplainedModel.MLNet(predictor ?? throw new ArgumentNullException(nameof(predictor))), "linear-shap", options, pipeline);

    /// <summary>DeepLift at a layer of an ONNX model (set Layer): a pipeline step appending its attributions.</summary>
    /// <param name="catalog">The attribution catalog.</param>
    /// <param name="onnxModelPath">The ONNX model.</param>
    /// <param name="options">The method's options; null for its defaults (Captum's).</param>
    /// <param name="pipeline">Columns, target, background and groups; null for the defaults.</param>
    public static AttributionEstimator LayerDeepLift(this AttributionCatalog catalog, string onnxModelPath, LayerDeepLiftOptions? options = null, ExplainOptions? pipeline = null) =>
        catalog.Typed(AttributionCatalog.OnnxModel(onnxModelPath), "layer-deeplift", options, pipeline);

    /// <summary>Feature ablation of a layer of an ONNX model (set Layer): a pipeline step appending its attributions.</summary>
    /// <param name="catalog">The attribution catalog.</param>
    /// <param name="onnxModelPath">The ONNX model.</param>
    /// <param name="options">The method's options; null for its defaults (Captum's).</param>
    /// <param name="pipeline">Columns, target, background and groups; null for the defaults.</param>
    public static AttributionEstimator LayerFeatureAblation(this AttributionCatalog catalog, string onnxModelPath, LayerFeatureAblationOptions? options = null, ExplainOptions? pipeline = null) =>
        catalog.Typed(AttributionCatalog.OnnxModel(onnxModelPath), "layer-feature-ablation", options, pipeline);

    /// <summary>Feature permutation of a layer of an ONNX model (set Layer): a pipeline step appending its attributions.</summary>
    /// <param name="catalog">The attribution catalog.</param>
    /// <param name="onnxModelPath">The ONNX model.</param>
    /// <param name="options">The method's options; null for its defaults (Captum's).</param>
    /// <param name="pipeline">Columns, target, background and groups; null for the defaults.</param>
    public static AttributionEstimator LayerFeaturePermutation(this AttributionCatalog catalog, string onnxModelPath, LayerFeaturePermutationOptions? options = null, ExplainOptions? pipeline = null) =>
        catalog.Typed(AttributionCatalog.OnnxModel(onnxModelPath), "layer-feature-permutation", options, pipeline);

    /// <summary>Layer-wise relevance propagation of an ONNX model: a pipeline step appending its attributions.</summary>
    /// <param name="catalog">The attribution catalog.</param>
    /// <param name="onnxModelPath">The ONNX model.</param>
    /// <param name="options">The method's options; null for its defaults (Captum's).</param>
    /// <param name="pipeline">Columns, target, background and groups; null for the defaults.</param>
    public static AttributionEstimator Lrp(this AttributionCatalog catalog, string onnxModelPath, LrpOptions? options = null, ExplainOptions? pipeline = null) =>
        catalog.Typed(AttributionCatalog.OnnxModel(onnxModelPath), "lrp", options, pipeline);

    /// <summary>Layer-wise relevance propagation to a layer of an ONNX model (set Layer): a pipeline step appending its attributions.</summary>
    /// <param name="catalog">The attribution catalog.</param>
    /// <param name="onnxModelPath">The ONNX model.</param>
    /// <param name="options">The method's options; null for its defaults (Captum's).</param>
    /// <param name="pipeline">Columns, target, background and groups; null for the defaults.</param>
    public static AttributionEstimator LayerLrp(this AttributionCatalog catalog, string onnxModelPath, LayerLrpOptions? options = null, ExplainOptions? pipeline = null) =>
        catalog.Typed(AttributionCatalog.OnnxModel(onnxModelPath), "layer-lrp", options, pipeline);
}
