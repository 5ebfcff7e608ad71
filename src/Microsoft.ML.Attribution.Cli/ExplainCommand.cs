using Microsoft.ML.Attribution.Methods;
using Microsoft.ML.Attribution.Onnx;
using Microsoft.ML.Attribution.Oracles;
using Microsoft.ML.Attribution.Runtime;
using Microsoft.ML.Attribution.Tensors;

namespace Microsoft.ML.Attribution.Cli;

/// <summary>
/// <c>mlnet-explain explain …</c>: runs one registry method on a batch (.npy, .npz, .csv or .json) and writes the
/// attributions in the format of <c>--out</c>'s extension. Every argument is checked before the model is loaded; the
/// rows run in batches, with progress on a terminal and Ctrl+C honoured between batches.
/// </summary>
/// <remarks>Multi-input models (<c>--input NAME=FILE</c> repeated, <c>--fixed NAME=FILE</c>) run through <see cref="MultiInputExplain"/>.</remarks>
internal static class ExplainCommand
{
    /// <summary>Data-valued and run-wide options; every method setting comes from the registry's options records.</summary>
    private static readonly string[] Common = ["model", "input", "method", "out", "target", "output", "batch-size", "device", "delta-out", "quiet", "fp64", "cache-dir"];

    private static readonly string[] Data = ["baseline", "mask", "fixed"];

    public static IReadOnlySet<string> KnownOptions { get; } = Common.Concat(Data).Concat(MethodFlags.All).ToHashSet(StringComparer.Ordinal);

    public static int Run(CommandLine options, TextWriter stdout, TextWriter stderr, CliSession session)
    {
        if (MultiInputExplain.Applies(options)) return MultiInputExplain.Run(options, stdout, stderr, session);
        if (options.Has("fixed")) throw new UsageException("--fixed NAME=FILE holds an input of a multi-input model; name the attributed inputs with --input NAME=FILE");
        string modelPath = options.Required("model", "(the ONNX model)");
        string inputPath = options.Required("input", "(the rows: .npy, .npz, .csv or .json)");
        string methodName = options.Required("method", $"(one of {string.Join(", ", CliMethods.Select(m => m.Name))})");
        string outPath = options.Required("out", "(where to write the attributions: .npy, .npz, .csv or .json)");
        var method = FindMethod(methodName);
        var wrapped = method.Has(MethodCapabilities.Wrapper) ? WrappedMethod(method, options) : null;
        var flags = MethodFlags.For(method, wrapped);
        foreach (var given in options.Given)
        {
            if (Common.Contains(given) || flags.Contains(given)) continue;
            if (given == "baseline" && (method.Has(MethodCapabilities.Baselines) || wrapped?.Has(MethodCapabilities.Baselines) == true)) continue;
            if (given == "mask" && method.Has(MethodCapabilities.FeatureGroups)) continue;
            throw new UsageException(wrapped is not null && MethodFlags.All.Contains(given)
                ? $"option --{given} is not used by base method {wrapped.Name}"
                : $"option --{given} is not used by method {methodName}");
        }
        if (options.Has("delta-out") && !method.Has(MethodCapabilities.ConvergenceDelta))
            throw new UsageException($"option --delta-out is not used by method {methodName} (it has no convergence delta)");
        var methodOptions = Parse(() => MethodFlags.Read(method, options));
        var target = TargetChoice.Parse(options.String("target"));
        int? batchSize = options.Int("batch-size");
        if (batchSize is <= 0) throw new UsageException($"--batch-size must be positive, got {batchSize}");
        bool quiet = options.Has("quiet") && options.Bool("quiet") == true;

        // Paths first: a missing directory or an unknown extension must not cost a model load.
        DataFiles.CheckOutput(outPath, "out");
        string? deltaPath = options.String("delta-out");
        if (deltaPath is not null) DataFiles.CheckOutput(deltaPath, "delta-out");
        DataFiles.CheckInput(inputPath, "input");
        string? baselinePath = options.String("baseline");
        if (baselinePath is not null) DataFiles.CheckInput(baselinePath, "baseline");
        string? maskPath = options.String("mask");
        if (maskPath is not null) DataFiles.CheckInput(maskPath, "mask");
        if (!File.Exists(modelPath)) throw new FileNotFoundException($"model file '{modelPath}' does not exist");
        string? outputName = options.String("output");
        var runtime = RuntimeOptions.ForDevice(options.String("device") ?? "cpu") with
        {
            Log = m => stderr.WriteLine($"info: {m}"),
            // Optimized and gradient graphs kept between runs: --cache-dir, else $MLNET_EXPLAIN_CACHE_DIR, else none.
            CacheDirectory = options.String("cache-dir") ?? NullIfEmpty(Environment.GetEnvironmentVariable("MLNET_EXPLAIN_CACHE_DIR")),
        };
        // --fp64: the model and its gradients computed in float64 (ComputePrecision.Float64).
        if (options.Has("fp64") && options.Bool("fp64") == true) runtime = runtime with { Precision = ComputePrecision.Float64 };

        // The graph's signature (no session yet): the data is checked against it before anything runs.
        var graph = OnnxModel.Load(modelPath);
        var signature = InputSignature.Of(graph, modelPath);
        var input = signature.Check(DataFiles.Read(inputPath, "input", signature.Names, signature.TakesIntegers), "input");
        if (input.IsInteger && !method.Has(MethodCapabilities.TokenIds))
            throw new UsageException($"--input '{input.Path}' holds {input.Dtype} token ids for model input '{signature.Name}'; method {methodName} attributes float input. " +
                $"Attribute text models through a layer method ({string.Join(", ", MethodRegistry.All.Where(m => m.Has(MethodCapabilities.TokenIds)).Select(m => m.Name))}) " +
                "with --layer set to the embedding tensor");
        var baseline = baselinePath is null ? null : DataFiles.Read(baselinePath, "baseline", ["baseline", .. signature.Names], input.IsInteger);
        if (baseline is not null && baseline.IsInteger != input.IsInteger)
            throw new UsageException($"--baseline '{baseline.Path}' holds {baseline.Dtype}, --input holds {input.Dtype}; give both as token ids or both as floats");
        if (baseline?.ColumnNames is not null) baseline = signature.Check(baseline, "baseline", allowBroadcast: true);
        var mask = maskPath is null ? null : DataFiles.Read(maskPath, "mask", ["mask", "feature_mask"], integers: true).ToIntegers("mask");
        if (mask?.ColumnNames is not null) mask = signature.Check(mask, "mask", allowBroadcast: true, checkDtype: false);

        var inputs = new MethodInputs
        {
            Model = input.IsInteger ? null : new OnnxGradientOracle(graph, null, outputName, runtime), // the model parsed once
            LayerModel = layer => new OnnxLayerOracle(modelPath, layer, outputName: outputName, options: runtime),
            Rows = input.Floats,
            TokenIds = input.Ints,
            Baselines = baseline?.Floats,
            TokenBaselines = baseline?.Ints,
            FeatureMask = mask?.Ints,
            InternalBatchSize = batchSize,
        };
        int rows = input.Shape[0];
        var targets = target.Resolve(graph, outputName, inputs);
        var progress = new Progress(session.Terminal && !quiet ? stderr : null, $"{methodName}", rows * targets.Count);
        var runner = new BatchRunner(method, methodOptions, inputs, session.Cancellation, progress);
        var maps = targets.Select(t => runner.Run(t.Target) with { Class = t.Class }).ToList();
        progress.Finish();

        var output = new ExplainOutput(methodName, target.Text, maps, input.ColumnNames);
        DataFiles.WriteAtomically(outPath, partial => output.Write(partial, DataFiles.Extension(outPath, "out")), session.Cancellation);
        if (deltaPath is not null)
            DataFiles.WriteAtomically(deltaPath, partial => output.WriteDelta(partial, DataFiles.Extension(deltaPath, "delta-out")), session.Cancellation);
        stdout.WriteLine($"{methodName}: wrote {output.ShapeText} attributions to {outPath}");
        return 0;
    }

    /// <summary>The registry's methods that run on an ONNX model from files (not the ML.NET-only tree and linear SHAP).</summary>
    public static IReadOnlyList<AttributionMethod> CliMethods =>
        MethodRegistry.All.Where(m => m.Has(MethodCapabilities.Gradients) || m.Has(MethodCapabilities.BlackBox) || m.Has(MethodCapabilities.TakesLayer)).ToArray();

    /// <summary>A command-line method by name, or a usage error with the nearest name.</summary>
    public static AttributionMethod FindMethod(string name) =>
        MethodRegistry.Find(name) is { } found && CliMethods.Contains(found) ? found : throw new UsageException(
            $"unknown method '{name}'{(MethodRegistry.Nearest(name, CliMethods.Select(m => m.Name)) is { } near ? $" (did you mean '{near}'?)" : "")}; " +
            $"known methods: {string.Join(", ", CliMethods.Select(m => m.Name))}");

    /// <summary>The wrapped method: <c>--base-method</c>, else the options record's default.</summary>
    public static AttributionMethod WrappedMethod(AttributionMethod method, CommandLine options)
    {
        var defaults = (NoiseTunnelOptions)method.CreateDefaultOptions();
        string name = options.Has("base-method") ? options.String("base-method")! : defaults.BaseMethod;
        return Wrappable.FirstOrDefault(m => m.Name == name) ?? throw new UsageException(
            $"--base-method '{name}' cannot be wrapped by {method.Name}; use one of {string.Join(", ", Wrappable.Select(m => m.Name))}");
    }

    public static IEnumerable<AttributionMethod> Wrappable => MethodRegistry.All.Where(m => m.Has(MethodCapabilities.Gradients)
        && !m.Has(MethodCapabilities.TakesLayer) && !m.Has(MethodCapabilities.Wrapper) && !m.Has(MethodCapabilities.RequiresBaselines));

    private static string? NullIfEmpty(string? text) => string.IsNullOrEmpty(text) ? null : text;

    private static T Parse<T>(Func<T> parse)
    {
        try { return parse(); }
        catch (ArgumentException e) { throw new UsageException(e.Message); }
    }
}
