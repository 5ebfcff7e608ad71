using Microsoft.ML.Attribution.Methods;
using Microsoft.ML.Attribution.Oracles;
using Microsoft.ML.Attribution.Runtime;
using Microsoft.ML.Attribution.Tensors;

namespace Microsoft.ML.Attribution.Cli;

/// <summary><c>mlnet-explain explain …</c>: runs one registry method on an .npy batch and writes the attributions as .npy.</summary>
internal static class ExplainCommand
{
    /// <summary>Data-valued and run-wide options; every method setting comes from the registry's options records.</summary>
    private static readonly string[] Common = ["model", "input", "method", "out", "target", "output", "batch-size", "device", "delta-out"];

    private static readonly string[] Data = ["baseline", "mask"];

    public static IReadOnlySet<string> KnownOptions { get; } = Common.Concat(Data).Concat(MethodFlags.All).ToHashSet(StringComparer.Ordinal);

    public static int Run(CommandLine options, TextWriter stdout, TextWriter stderr)
    {
        string modelPath = options.Required("model", "(the ONNX model)");
        string inputPath = options.Required("input", "(an .npy batch)");
        string methodName = options.Required("method", $"(one of {string.Join(", ", CliMethods.Select(m => m.Name))})");
        string outPath = options.Required("out", "(where to write the attributions .npy)");
        var method = MethodRegistry.Find(methodName) is { } found && CliMethods.Contains(found) ? found : throw new UsageException(
            $"unknown method '{methodName}'{(MethodRegistry.Nearest(methodName, CliMethods.Select(m => m.Name)) is { } near ? $" (did you mean '{near}'?)" : "")}; " +
            $"known methods: {string.Join(", ", CliMethods.Select(m => m.Name))}");
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
        if (!File.Exists(modelPath)) throw new FileNotFoundException($"model file '{modelPath}' does not exist");
        var runtime = RuntimeOptions.ForDevice(options.String("device") ?? "cpu") with { Log = m => stderr.WriteLine($"info: {m}") };
        var header = Npy.ReadHeader(inputPath);
        bool tokenIds = header.Descr is "<i8" or "<i4";
        if (tokenIds && !method.Has(MethodCapabilities.TokenIds))
            throw new UsageException($"--input holds int64 token ids; method {methodName} needs float32 input. Attribute text models through a layer method " +
                $"({string.Join(", ", MethodRegistry.All.Where(m => m.Has(MethodCapabilities.TokenIds)).Select(m => m.Name))}) with --layer set to the embedding tensor");
        string? baseline = options.String("baseline");
        string? outputName = options.String("output");
        var inputs = new MethodInputs
        {
            Model = tokenIds ? null : new OnnxGradientOracle(modelPath, outputName: outputName, options: runtime),
            LayerModel = layer => new OnnxLayerOracle(modelPath, layer, outputName: outputName, options: runtime),
            Rows = tokenIds ? null : Npy.ReadFloat(inputPath),
            TokenIds = tokenIds ? Npy.ReadInt64(inputPath) : null,
            Baselines = baseline is null || tokenIds ? null : Npy.ReadFloat(baseline),
            TokenBaselines = baseline is not null && tokenIds ? Npy.ReadInt64(baseline) : null,
            FeatureMask = options.String("mask") is { } mask ? Npy.ReadInt64(mask) : null,
            Target = options.Int("target") is int t ? Target.Class(t) : null,
            InternalBatchSize = options.Int("batch-size"),
        };
        var result = method.Attribute(inputs, methodOptions);
        Npy.Write(outPath, result.Attributions);
        if (options.String("delta-out") is { } deltaPath)
        {
            var delta = result.ConvergenceDelta ?? throw new UsageException($"method {methodName} has no convergence delta");
            Npy.Write(deltaPath, new NdArray<float>(delta, delta.Length));
        }
        stdout.WriteLine($"{methodName}: wrote {result.Attributions.ShapeText} attributions to {outPath}");
        return 0;
    }

    /// <summary>The registry's methods that run on an ONNX model from files (not the ML.NET-only tree and linear SHAP).</summary>
    public static IReadOnlyList<AttributionMethod> CliMethods =>
        MethodRegistry.All.Where(m => m.Has(MethodCapabilities.Gradients) || m.Has(MethodCapabilities.BlackBox) || m.Has(MethodCapabilities.TakesLayer)).ToArray();

    private static AttributionMethod WrappedMethod(AttributionMethod method, CommandLine options)
    {
        var defaults = (NoiseTunnelOptions)method.CreateDefaultOptions();
        string name = options.Has("base-method") ? options.String("base-method")! : throw new UsageException(
            $"--base-method is required for {method.Name}; one of {string.Join(", ", Wrappable.Select(m => m.Name))} (the record's default is {defaults.BaseMethod})");
        return Wrappable.FirstOrDefault(m => m.Name == name) ?? throw new UsageException(
            $"--base-method '{name}' cannot be wrapped by {method.Name}; use one of {string.Join(", ", Wrappable.Select(m => m.Name))}");
    }

    private static IEnumerable<AttributionMethod> Wrappable => MethodRegistry.All.Where(m => m.Has(MethodCapabilities.Gradients)
        && !m.Has(MethodCapabilities.TakesLayer) && !m.Has(MethodCapabilities.Wrapper) && !m.Has(MethodCapabilities.RequiresBaselines));

    private static T Parse<T>(Func<T> parse)
    {
        try { return parse(); }
        catch (ArgumentException e) { throw new UsageException(e.Message); }
    }
}
