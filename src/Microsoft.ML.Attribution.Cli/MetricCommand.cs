using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.ML.Attribution.Methods;
using Microsoft.ML.Attribution.Metrics;
using Microsoft.ML.Attribution.Onnx;
using Microsoft.ML.Attribution.Oracles;
using Microsoft.ML.Attribution.Runtime;
using Microsoft.ML.Attribution.Tensors;

namespace Microsoft.ML.Attribution.Cli;

/// <summary>
/// <c>mlnet-explain metric infidelity|sensitivity-max|deletion-insertion …</c>: runs a registry method on the rows, scores
/// its attributions with the metric per row, prints a one-line summary and writes the per-row values (by extension of
/// <c>--out</c>). The metric's own flags (<c>--samples</c>, <c>--seed</c>, …) go to the metric only; every other flag is
/// read as for <c>explain</c>, so a method's own <c>--samples</c>/<c>--seed</c> keep their defaults here.
/// </summary>
internal static class MetricCommand
{
    /// <summary>The metrics, with their flags and defaults (help text).</summary>
    public static readonly (string Name, string Flags)[] Metrics =
        MetricRegistry.OfKind(MetricKind.Attribution).Select(e => (e.Name, e.Options)).ToArray();

    /// <summary>Flags read by the metric, never by the method.</summary>
    private static readonly string[] MetricFlags = ["samples", "noise-stdev", "normalize", "seed", "radius", "norm", "curve-steps"];

    private static readonly string[] Common = ["model", "input", "method", "out", "target", "output", "batch-size", "device", "quiet"];

    private static readonly string[] Data = ["baseline", "mask"];

    public const string Usage = """
        mlnet-explain metric infidelity|sensitivity-max|deletion-insertion --model M.onnx --input X.npy|.npz|.csv|.json
            --method NAME [method options as in explain] [--target N|predicted] [--baseline B] [--mask M]
            [metric options, below] [--out values.npy|.npz|.csv|.json]
        """;

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr, CliSession session)
    {
        if (args.Length == 0 || args[0].StartsWith("--", StringComparison.Ordinal))
            throw new UsageException($"metric needs a metric name first: {string.Join(", ", Metrics.Select(m => m.Name))}");
        string metric = FindMetric(args[0]);
        // Metric flags are taken out first, so that a method flag of the same name (--samples, --seed) is not set by them.
        var (metricArgs, methodArgs) = Split(args[1..]);
        var own = CommandLine.Parse(metricArgs, MetricFlags.ToHashSet(StringComparer.Ordinal));
        var options = CommandLine.Parse(methodArgs, Common.Concat(Data).Concat(MethodFlags.All).ToHashSet(StringComparer.Ordinal));

        string modelPath = options.Required("model", "(the ONNX model)");
        string inputPath = options.Required("input", "(the rows: .npy, .npz, .csv or .json)");
        string methodName = options.Required("method", $"(one of {string.Join(", ", ExplainCommand.CliMethods.Select(m => m.Name))})");
        string? outPath = options.String("out");
        var method = ExplainCommand.FindMethod(methodName);
        if (method.Has(MethodCapabilities.TokenIds) || method.Has(MethodCapabilities.TakesLayer))
            throw new UsageException($"metric {metric} scores attributions of the model input; layer method {methodName} attributes a layer");
        var flags = MethodFlags.For(method, method.Has(MethodCapabilities.Wrapper) ? ExplainCommand.WrappedMethod(method, options) : null);
        foreach (var given in options.Given)
        {
            if (Common.Contains(given) || flags.Contains(given)) continue;
            if (given == "baseline" && (method.Has(MethodCapabilities.Baselines) || metric == "deletion-insertion")) continue;
            if (given == "mask" && (method.Has(MethodCapabilities.FeatureGroups) || metric == "deletion-insertion")) continue;
            throw new UsageException($"option --{given} is not used by method {methodName}");
        }
        string[] accepted = metric switch
        {
            "infidelity" => ["samples", "noise-stdev", "normalize", "seed"],
            "sensitivity-max" => ["samples", "radius", "norm", "seed"],
            _ => ["curve-steps"],
        };
        foreach (var given in own.Given)
            if (!accepted.Contains(given)) throw new UsageException($"option --{given} is not used by metric {metric} (it takes {string.Join(", ", accepted.Select(a => "--" + a))})");
        MethodOptions methodOptions;
        try { methodOptions = MethodFlags.Read(method, options); }
        catch (ArgumentException e) { throw new UsageException(e.Message); }
        var choice = TargetChoice.Parse(options.String("target"));
        if (choice.Text == "all") throw new UsageException("--target all is not supported by metric; give --target N or predicted");
        var target = choice.Index is int index ? Target.Class(index) : Target.Predicted;
        int? batchSize = options.Int("batch-size");
        if (batchSize is <= 0) throw new UsageException($"--batch-size must be positive, got {batchSize}");
        int samples = own.Int("samples") ?? (metric == "infidelity" ? Infidelity.DefaultSamples : SensitivityMax.DefaultSamples);
        if (samples < 1) throw new UsageException($"--samples must be positive, got {samples}");
        double noiseStdev = own.Double("noise-stdev") ?? Infidelity.DefaultNoiseStdev;
        double radius = own.Double("radius") ?? SensitivityMax.DefaultRadius;
        if (!(noiseStdev >= 0)) throw new UsageException($"--noise-stdev must be non-negative, got {noiseStdev}");
        if (!(radius >= 0)) throw new UsageException($"--radius must be non-negative, got {radius}");
        bool normalize = own.Bool("normalize") ?? false;
        int? seed = own.Int("seed");
        int? curveSteps = own.Int("curve-steps");
        if (curveSteps is < 1) throw new UsageException($"--curve-steps must be positive, got {curveSteps}");
        var norm = SensitivityNorm.Frobenius;
        if (own.String("norm") is { } normText && !(Enum.TryParse(normText, ignoreCase: true, out norm) && Enum.IsDefined(norm) && !int.TryParse(normText, out _)))
            throw new UsageException($"--norm '{normText}' is not one of frobenius, l1, infinity");

        // Paths first: a missing directory or an unknown extension must not cost a model load.
        if (outPath is not null) DataFiles.CheckOutput(outPath, "out");
        DataFiles.CheckInput(inputPath, "input");
        string? baselinePath = options.String("baseline");
        if (baselinePath is not null) DataFiles.CheckInput(baselinePath, "baseline");
        string? maskPath = options.String("mask");
        if (maskPath is not null) DataFiles.CheckInput(maskPath, "mask");
        if (!File.Exists(modelPath)) throw new FileNotFoundException($"model file '{modelPath}' does not exist");
        string? outputName = options.String("output");
        var runtime = RuntimeOptions.ForDevice(options.String("device") ?? "cpu") with { Log = m => stderr.WriteLine($"info: {m}") };

        var graph = OnnxModel.Load(modelPath);
        var signature = InputSignature.Of(graph, modelPath);
        var input = signature.Check(DataFiles.Read(inputPath, "input", signature.Names, signature.TakesIntegers), "input");
        if (input.IsInteger) throw new UsageException($"--input '{input.Path}' holds {input.Dtype} token ids; metric {metric} needs float rows");
        var baseline = baselinePath is null ? null : DataFiles.Read(baselinePath, "baseline", ["baseline", .. signature.Names], false);
        if (baseline?.ColumnNames is not null) baseline = signature.Check(baseline, "baseline", allowBroadcast: true);
        var mask = maskPath is null ? null : DataFiles.Read(maskPath, "mask", ["mask", "feature_mask"], integers: true).ToIntegers("mask");
        if (mask?.ColumnNames is not null) mask = signature.Check(mask, "mask", allowBroadcast: true, checkDtype: false);

        var oracle = new OnnxGradientOracle(modelPath, outputName: outputName, options: runtime);
        var rows = input.Floats!;
        var context = new MethodInputs
        {
            Model = oracle,
            Rows = rows,
            Baselines = method.Has(MethodCapabilities.Baselines) ? baseline?.Floats : null,
            FeatureMask = method.Has(MethodCapabilities.FeatureGroups) ? mask?.Ints : null,
            InternalBatchSize = batchSize,
            Target = target,
        };

        session.Cancellation.ThrowIfCancellationRequested();
        string[] columns;
        float[][] values;
        switch (metric)
        {
            case "infidelity":
                {
                    var attributions = method.Attribute(context, methodOptions).Attributions;
                    columns = ["infidelity"];
                    values = [new Infidelity(oracle).Compute(rows, attributions, target, samples, noiseStdev, normalize, seed, batchSize)];
                    break;
                }
            case "sensitivity-max":
                {
                    var bound = method.Bind(context, methodOptions);
                    columns = ["sensitivity_max"];
                    values = [new SensitivityMax(bound).Compute(rows, context.Baselines, target, radius, samples, norm, seed)];
                    break;
                }
            default:
                {
                    var attributions = method.Attribute(context, methodOptions).Attributions;
                    var curves = new DeletionInsertion(oracle).Compute(rows, attributions, baseline?.Floats, target, mask?.Ints, curveSteps, batchSize);
                    columns = ["deletion_auc", "insertion_auc"];
                    values = [curves.DeletionAuc, curves.InsertionAuc];
                    break;
                }
        }

        session.Cancellation.ThrowIfCancellationRequested();
        string summary = string.Join(", ", columns.Select((c, i) => FormattableString.Invariant($"mean {c} {values[i].Average():G6}")));
        if (outPath is not null)
            DataFiles.WriteAtomically(outPath, partial => Write(partial, DataFiles.Extension(outPath, "out"), metric, methodName, columns, values), session.Cancellation);
        stdout.WriteLine($"{metric} of {methodName} over {rows.Rows} rows: {summary}{(outPath is null ? "" : $"; wrote per-row values to {outPath}")}");
        return 0;
    }

    /// <summary>A metric by name, or a usage error with the nearest name.</summary>
    public static string FindMetric(string name) => Metrics.Any(m => m.Name == name) ? name : throw new UsageException(
        $"unknown metric '{name}'{(MethodRegistry.Nearest(name, Metrics.Select(m => m.Name)) is { } near ? $" (did you mean '{near}'?)" : "")}; " +
        $"known metrics: {string.Join(", ", Metrics.Select(m => m.Name))}");

    /// <summary>Per-row values: .npy [N] (one column) or [N, K]; .npz one array per column; .csv <c>row,columns…</c>; .json.</summary>
    private static void Write(string path, string extension, string metric, string method, string[] columns, float[][] values)
    {
        int rows = values[0].Length;
        switch (extension)
        {
            case ".npy":
                {
                    var data = new float[rows * columns.Length];
                    for (int r = 0; r < rows; r++)
                        for (int c = 0; c < columns.Length; c++) data[r * columns.Length + c] = values[c][r];
                    Npy.Write(path, columns.Length == 1 ? new NdArray<float>(data, rows) : new NdArray<float>(data, [rows, columns.Length]));
                    break;
                }
            case ".npz":
                DataFiles.WriteNpz(path, columns.Select((c, i) => (c, (Action<string>)(p => Npy.Write(p, new NdArray<float>(values[i], rows))))));
                break;
            case ".csv":
                {
                    using var writer = new StreamWriter(path, false, new UTF8Encoding(false));
                    writer.WriteLine("row," + string.Join(",", columns));
                    for (int r = 0; r < rows; r++)
                        writer.WriteLine(r.ToString(CultureInfo.InvariantCulture) + string.Concat(values.Select(v => "," + v[r].ToString("R", CultureInfo.InvariantCulture))));
                    break;
                }
            default:
                {
                    using var stream = File.Create(path);
                    using var json = new Utf8JsonWriter(stream);
                    json.WriteStartObject();
                    json.WriteString("metric", metric);
                    json.WriteString("method", method);
                    for (int c = 0; c < columns.Length; c++)
                    {
                        json.WriteStartArray(columns[c]);
                        foreach (float v in values[c]) DataFiles.WriteNumber(json, v);
                        json.WriteEndArray();
                    }
                    json.WriteEndObject();
                    break;
                }
        }
    }

    /// <summary>Splits the arguments into the metric's flags (with their values) and everything else.</summary>
    private static (string[] Metric, string[] Others) Split(string[] args)
    {
        var metric = new List<string>();
        var rest = new List<string>();
        for (int i = 0; i < args.Length; i++)
        {
            string name = args[i].StartsWith("--", StringComparison.Ordinal) ? args[i][2..].Split('=')[0] : "";
            if (MetricFlags.Contains(name))
            {
                metric.Add(args[i]);
                if (!args[i].Contains('=', StringComparison.Ordinal) && i + 1 < args.Length) metric.Add(args[++i]);
            }
            else rest.Add(args[i]);
        }
        return (metric.ToArray(), rest.ToArray());
    }
}
