using Microsoft.ML.Attribution.Methods;
using Microsoft.ML.Attribution.Oracles;
using Microsoft.ML.Attribution.Reports;
using Microsoft.ML.Attribution.Runtime;
using Microsoft.ML.Attribution.Tensors;

namespace Microsoft.ML.Attribution.Cli;

/// <summary><c>mlnet-explain report …</c>: one self-contained HTML report of an ONNX model on an .npy batch.</summary>
internal static class ReportCommand
{
    public static IReadOnlySet<string> KnownOptions => ReportFlags.Concat(ReportMethods.SelectMany(m => MethodFlags.For(m, null))).ToHashSet(StringComparer.Ordinal);

    /// <summary>"auto" or a registry method a report can run (gradient or black-box methods on the input).</summary>
    public static string Methods => string.Join(", ", new[] { "auto" }.Concat(ReportMethods.Select(m => m.Name)));

    private static IEnumerable<AttributionMethod> ReportMethods => AttributionReportOptions.OracleMethods;

    /// <summary>The method's options from its flags (registry defaults otherwise); flags of other methods are refused.</summary>
    private static MethodOptions ReadMethodOptions(AttributionMethod method, CommandLine options)
    {
        var flags = MethodFlags.For(method, null);
        foreach (var given in options.Given.Where(g => !ReportFlags.Contains(g)))
            if (!flags.Contains(given)) throw new UsageException($"option --{given} is not used by method {method.Name}");
        return MethodFlags.Read(method, options);
    }

    private static readonly string[] ReportFlags = ["model", "input", "out", "labels", "method", "feature-names", "class-names", "target", "title",
        "max-rows", "top-k", "background-size", "seed", "output", "device"];

    public static int Run(CommandLine options, TextWriter stdout, TextWriter stderr)
    {
        string modelPath = options.Required("model", "(the ONNX model)");
        string inputPath = options.Required("input", "(an .npy batch of float32 rows)");
        string outPath = options.Required("out", "(where to write the HTML report)");
        string methodName = options.String("method") ?? "auto";
        if (!Methods.Split(", ").Contains(methodName))
            throw new UsageException($"unknown report method '{methodName}'{(MethodRegistry.Nearest(methodName, Methods.Split(", ")) is { } near ? $" (did you mean '{near}'?)" : "")}; known: {Methods}");
        var method = methodName == "auto" ? null : MethodRegistry.Get(methodName);
        var methodOptions = method is null ? null : ReadMethodOptions(method, options);
        if (!File.Exists(modelPath)) throw new FileNotFoundException($"model file '{modelPath}' does not exist");
        var defaults = new AttributionReportOptions();
        var o = new AttributionReportOptions
        {
            Title = options.String("title") ?? $"Attributions of {Path.GetFileName(modelPath)}",
            Method = method?.Name,
            MethodOptions = methodOptions,
            Target = options.Int("target"),
            MaxRows = options.Int("max-rows") ?? defaults.MaxRows,
            TopK = options.Int("top-k") ?? defaults.TopK,
            BackgroundSize = options.Int("background-size") ?? defaults.BackgroundSize,
            Seed = options.Int("seed") ?? defaults.Seed,
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
