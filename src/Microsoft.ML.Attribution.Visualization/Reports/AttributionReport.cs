using System.Diagnostics;
using System.Text;
using Microsoft.ML.Attribution.Oracles;
using Microsoft.ML.Attribution.Tensors;

namespace Microsoft.ML.Attribution.Reports;

/// <summary>
/// One self-contained HTML page explaining a model on a dataset: global importance (bar chart, beeswarm, and a table
/// of every feature), per-class importance for multi-output models, the most and least confident rows and (with
/// labels) the rows the model gets wrong, each explained one by one (waterfall, image heat map or coloured text), the
/// method and its settings, and seconds per phase. The page loads nothing from the network: CSS, SVG and PNGs
/// (as <c>data:</c> URIs) are inline, and a Content-Security-Policy blocks every other load.
/// </summary>
/// <remarks>
/// All explained rows go through one method call (batched by the method), so a report on 10,000 tabular rows takes
/// seconds. Method choice (<see cref="AttributionReportOptions.Method"/> null): exact TreeSHAP for ML.NET tree ensembles (FastTree,
/// FastForest, LightGBM; also inside a featurizer + trainer chain), Integrated Gradients for gradient oracles (ONNX),
/// Kernel SHAP against the background mean for any other model.
/// </remarks>
public sealed class AttributionReport
{
    private AttributionReport(string html, string method, IReadOnlyList<ReportTiming> timings)
    {
        Html = html;
        Method = method;
        Timings = timings;
    }

    /// <summary>The page.</summary>
    public string Html { get; }

    /// <summary>The method that ran, in words (e.g. "TreeSHAP (exact, path-dependent)").</summary>
    public string Method { get; }

    /// <summary>Seconds per phase (load, prepare, predict, attribute, render).</summary>
    public IReadOnlyList<ReportTiming> Timings { get; }

    /// <summary>Writes <see cref="Html"/> to a UTF-8 file.</summary>
    public void Save(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        File.WriteAllText(path, Html, new UTF8Encoding(false));
    }

    /// <inheritdoc />
    public override string ToString() => Html;

    /// <summary>Explains any model seen through an oracle (an <see cref="OnnxGradientOracle"/>, an
    /// <see cref="MLNetForwardOracle"/>, …) on <paramref name="inputs"/>.</summary>
    /// <param name="oracle">The model.</param>
    /// <param name="inputs">Rows <c>[N, F]</c>, images <c>[N, C, H, W]</c>, or token rows with
    /// <see cref="AttributionReportOptions.Tokens"/>.</param>
    /// <param name="labels">True labels per row (class indices, or regression targets), or null.</param>
    /// <param name="options">What to show; null for defaults.</param>
    public static AttributionReport Generate(IForwardOracle oracle, NdArray<float> inputs, float[]? labels = null, AttributionReportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(oracle);
        ArgumentNullException.ThrowIfNull(inputs);
        var o = options ?? new AttributionReportOptions();
        o.Validate();
        var names = oracle is MLNetForwardOracle mlnet ? mlnet.FeatureNames : null;
        string model = oracle is OnnxGradientOracle ? "ONNX model" : oracle.GetType().Name;
        return Finish(ReportRunner.ForOracle(oracle, inputs, labels, o, names, [], model), o);
    }

    /// <summary>Explains an ONNX model file on <paramref name="inputs"/> (Integrated Gradients by default).</summary>
    /// <param name="onnxModelPath">The model.</param>
    /// <param name="inputs">Rows to explain.</param>
    /// <param name="labels">True labels per row, or null.</param>
    /// <param name="options">What to show; null for defaults.</param>
    /// <param name="outputName">The explained output; null for the model's first.</param>
    public static AttributionReport Generate(string onnxModelPath, NdArray<float> inputs, float[]? labels = null,
        AttributionReportOptions? options = null, string? outputName = null)
    {
        ArgumentNullException.ThrowIfNull(onnxModelPath);
        if (!File.Exists(onnxModelPath)) throw new FileNotFoundException($"ONNX model '{onnxModelPath}' does not exist.", onnxModelPath);
        var clock = Stopwatch.StartNew();
        var oracle = new OnnxGradientOracle(onnxModelPath, outputName: outputName);
        var timings = new List<ReportTiming> { new("load", clock.Elapsed.TotalSeconds) };
        var o = options ?? new AttributionReportOptions();
        o.Validate();
        ArgumentNullException.ThrowIfNull(inputs);
        return Finish(ReportRunner.ForOracle(oracle, inputs, labels, o, null, timings, $"ONNX {Path.GetFileName(onnxModelPath)}"), o);
    }

    /// <summary>
    /// Explains a fitted ML.NET model (a trainer, or a featurizer + trainer chain as AutoML returns) on
    /// <paramref name="data"/> through the pipeline explanation step (what <c>.Explain(mlContext)</c> appends): the chain
    /// is cut before its predictor, and the predictor's feature column explained by the method chosen for it (exact
    /// TreeSHAP for tree ensembles, exact linear SHAP for linear models, Kernel SHAP with 2·F + 2048 coalitions
    /// otherwise), one feature per source column (one-hot slots grouped back, their category shown per row); features
    /// that never vary are hidden. A model without a single-feature predictor is explained on the
    /// <paramref name="featureColumnName"/> vector.
    /// </summary>
    /// <param name="model">The fitted model.</param>
    /// <param name="data">The rows to explain (and the background sample's source).</param>
    /// <param name="labelColumnName">A label column (read after the model, so key labels become class indices), or null.</param>
    /// <param name="options">What to show; null for defaults.</param>
    /// <param name="featureColumnName">The known-size <c>Vector&lt;Single&gt;</c> column perturbed by model-agnostic methods.</param>
    public static AttributionReport Generate(ITransformer model, IDataView data, string? labelColumnName = null,
        AttributionReportOptions? options = null, string featureColumnName = "Features")
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(featureColumnName);
        var o = options ?? new AttributionReportOptions();
        o.Validate();
        if (o.Tokens is not null || o.OriginalImages is not null)
            throw new ArgumentException("ML.NET reports explain feature vectors; Tokens and OriginalImages apply to oracle inputs.", nameof(options));
        return Finish(MLNetReportRunner.Handles(model)
            ? MLNetReportRunner.Run(model, data, labelColumnName, o, [])
            : ReportRunner.ForMLNet(model, data, featureColumnName, labelColumnName, o, []), o);
    }

    private static AttributionReport Finish(ReportData data, AttributionReportOptions o)
    {
        var clock = Stopwatch.StartNew();
        o.Progress?.Report(new("render", 0, 1));
        string html = ReportHtml.Render(data, o, clock);
        o.Progress?.Report(new("render", 1, 1));
        var timings = new List<ReportTiming>(data.Timings) { new("render", clock.Elapsed.TotalSeconds) };
        return new AttributionReport(html, data.Method, timings);
    }
}
