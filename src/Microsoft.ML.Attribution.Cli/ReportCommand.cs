using Microsoft.ML.Attribution.Oracles;
using Microsoft.ML.Attribution.Reports;
using Microsoft.ML.Attribution.Runtime;
using Microsoft.ML.Attribution.Tensors;

namespace Microsoft.ML.Attribution.Cli;

/// <summary><c>mlnet-explain report …</c>: one self-contained HTML report of an ONNX model on an .npy batch.</summary>
internal static class ReportCommand
{
    public static IReadOnlySet<string> KnownOptions { get; } = new HashSet<string>(StringComparer.Ordinal)
    {
        "model", "input", "out", "labels", "method", "feature-names", "class-names", "target", "title", "max-rows", "top-k",
        "background-size", "seed", "steps", "samples", "output", "device",
    };

    private static readonly Dictionary<string, ReportMethod> MethodNames = new(StringComparer.Ordinal)
    {
        ["auto"] = ReportMethod.Auto,
        ["integrated-gradients"] = ReportMethod.IntegratedGradients,
        ["feature-ablation"] = ReportMethod.FeatureAblation,
        ["kernel-shap"] = ReportMethod.KernelShap,
        ["shapley-value-sampling"] = ReportMethod.ShapleyValueSampling,
    };

    public static string Methods => string.Join(", ", MethodNames.Keys);

    public static int Run(CommandLine options, TextWriter stdout, TextWriter stderr)
    {
        string modelPath = options.Required("model", "(the ONNX model)");
        string inputPath = options.Required("input", "(an .npy batch of float32 rows)");
        string outPath = options.Required("out", "(where to write the HTML report)");
        string methodName = options.String("method") ?? "auto";
        if (!MethodNames.TryGetValue(methodName, out var method))
            throw new UsageException($"unknown report method '{methodName}'; known: {Methods}");
        if (!File.Exists(modelPath)) throw new FileNotFoundException($"model file '{modelPath}' does not exist");
        var defaults = new AttributionReportOptions();
        var o = new AttributionReportOptions
        {
            Title = options.String("title") ?? $"Attributions of {Path.GetFileName(modelPath)}",
            Method = method,
            Target = options.Int("target"),
            MaxRows = options.Int("max-rows") ?? defaults.MaxRows,
            TopK = options.Int("top-k") ?? defaults.TopK,
            BackgroundSize = options.Int("background-size") ?? defaults.BackgroundSize,
            Seed = options.Int("seed") ?? defaults.Seed,
            Steps = options.Int("steps") ?? defaults.Steps,
            Samples = options.Int("samples") ?? defaults.Samples,
            FeatureNames = options.String("feature-names") is { } names ? ReadNames(names) : null,
            ClassNames = options.String("class-names") is { } classes ? ReadNames(classes) : null,
        };
        var inputs = Npy.ReadFloat(inputPath);
        var labels = options.String("labels") is { } labelPath ? ReadLabels(labelPath) : null;
        var runtime = RuntimeOptions.ForDevice(options.String("device") ?? "cpu") with { Log = m => stderr.WriteLine($"info: {m}") };
        var oracle = new OnnxGradientOracle(modelPath, outputName: options.String("output"), options: runtime);
        var report = AttributionReport.Generate(oracle, inputs, labels, o);
        report.Save(outPath);
        stdout.WriteLine($"report: {report.Method} on {inputs.ShapeText} → {outPath} " +
            $"({string.Join(", ", report.Timings.Select(t => $"{t.Phase} {t.Seconds:0.00} s"))})");
        return 0;
    }

    /// <summary>One name a line; blank lines are ignored.</summary>
    private static string[] ReadNames(string path) =>
        File.ReadAllLines(path).Select(l => l.Trim()).Where(l => l.Length > 0).ToArray();

    /// <summary>Labels (class indices or regression targets), one per row, in any numeric .npy dtype.</summary>
    private static float[] ReadLabels(string path) => Npy.ReadFloat(path).Data;
}
