using System.Globalization;
using System.Text.Json;
using Microsoft.ML.Attribution.Methods;
using Microsoft.ML.Attribution.MultiInput;
using Microsoft.ML.Attribution.Onnx;
using Microsoft.ML.Attribution.Runtime;
using Microsoft.ML.Attribution.Tensors;

namespace Microsoft.ML.Attribution.Cli;

/// <summary>
/// <c>explain</c> for models with several inputs: <c>--input NAME=FILE</c> once per attributed input, <c>--fixed
/// NAME=FILE</c> for inputs held at each row's values, <c>--baseline NAME=FILE</c> and <c>--mask NAME=FILE</c> per
/// attributed input. Every name, file, dtype and batch size is checked before any session is made. Results per input:
/// <c>.npz</c> holds one entry per attributed input (named after it; with <c>--target all</c>, <c>NAME_C</c>) plus
/// <c>target</c> and <c>delta</c>; <c>.csv</c> puts every input's columns side by side, named <c>NAME[i,j,…]</c>;
/// <c>.json</c> has an <c>attributions</c> object keyed by input; <c>.npy</c> holds one array, so it takes runs that
/// attribute one input (or a layer) only.
/// </summary>
internal static class MultiInputExplain
{
    /// <summary>True when the command line names inputs (<c>--input NAME=FILE</c>), repeats <c>--input</c> or holds inputs with <c>--fixed</c>.</summary>
    public static bool Applies(CommandLine options) =>
        options.Has("fixed") || options.Values("input").Count > 1 || options.Values("input").Any(v => Named(v) is not null);

    /// <summary>NAME=FILE split, or null when the value is a plain file (no '=', or an existing file whose name holds one).</summary>
    private static (string Name, string File)? Named(string value)
    {
        int eq = value.IndexOf('=', StringComparison.Ordinal);
        if (eq <= 0 || File.Exists(value)) return null;
        return (value[..eq], value[(eq + 1)..]);
    }

    private static List<(string Name, string File)> Pairs(CommandLine options, string option)
    {
        var pairs = new List<(string Name, string File)>();
        foreach (var value in options.Values(option))
        {
            var pair = Named(value) ?? throw new UsageException(
                $"--{option} '{value}' names no model input; with several inputs give each as --{option} NAME=FILE");
            if (pair.File.Length == 0) throw new UsageException($"--{option} {pair.Name}= needs a file after '='");
            if (pairs.Any(p => p.Name == pair.Name)) throw new UsageException($"--{option} {pair.Name}=… is given twice");
            pairs.Add(pair);
        }
        return pairs;
    }

    public static int Run(CommandLine options, TextWriter stdout, TextWriter stderr, CliSession session)
    {
        string modelPath = options.Required("model", "(the ONNX model)");
        string methodName = options.Required("method", $"(one of {string.Join(", ", ExplainCommand.CliMethods.Select(m => m.Name))})");
        string outPath = options.Required("out", "(where to write the attributions: .npy, .npz, .csv or .json)");
        var method = ExplainCommand.FindMethod(methodName);
        var wrapped = method.Has(MethodCapabilities.Wrapper) ? ExplainCommand.WrappedMethod(method, options) : null;
        var flags = MethodFlags.For(method, wrapped);
        string[] common = ["model", "input", "fixed", "method", "out", "target", "output", "batch-size", "device", "delta-out", "quiet"];
        foreach (var given in options.Given)
        {
            if (common.Contains(given) || flags.Contains(given)) continue;
            if (given == "baseline" && (method.Has(MethodCapabilities.Baselines) || wrapped?.Has(MethodCapabilities.Baselines) == true)) continue;
            if (given == "mask" && method.Has(MethodCapabilities.FeatureGroups)) continue;
            throw new UsageException($"option --{given} is not used by method {methodName}");
        }
        if (options.Has("delta-out") && !method.Has(MethodCapabilities.ConvergenceDelta))
            throw new UsageException($"option --delta-out is not used by method {methodName} (it has no convergence delta)");
        MethodOptions methodOptions;
        try { methodOptions = MethodFlags.Read(method, options); }
        catch (ArgumentException e) { throw new UsageException(e.Message); }
        var target = TargetChoice.Parse(options.String("target"));
        int? batchSize = options.Int("batch-size");
        if (batchSize is <= 0) throw new UsageException($"--batch-size must be positive, got {batchSize}");
        bool quiet = options.Has("quiet") && options.Bool("quiet") == true;

        var attributed = Pairs(options, "input");
        var held = Pairs(options, "fixed");
        var baselines = Pairs(options, "baseline");
        var masks = Pairs(options, "mask");
        if (attributed.Count == 0) throw new UsageException("--input NAME=FILE is required (the attributed model inputs)");
        string extension = DataFiles.Extension(outPath, "out");
        DataFiles.CheckOutput(outPath, "out");
        string? deltaPath = options.String("delta-out");
        if (deltaPath is not null) DataFiles.CheckOutput(deltaPath, "delta-out");
        bool layerMap = method.Has(MethodCapabilities.TakesLayer) && !method.Has(MethodCapabilities.AttributesToInput);
        if (extension == ".npy" && attributed.Count > 1 && !layerMap)
            throw new UsageException($"--out '{outPath}': .npy holds one array, and this run attributes {attributed.Count} inputs " +
                $"({string.Join(", ", attributed.Select(a => a.Name))}); use .npz (one entry per input), .csv or .json");
        foreach (var (option, pairs) in new[] { ("input", attributed), ("fixed", held), ("baseline", baselines), ("mask", masks) })
        {
            foreach (var (name, file) in pairs) DataFiles.CheckInput(file, $"{option} {name}");
        }
        if (!File.Exists(modelPath)) throw new FileNotFoundException($"model file '{modelPath}' does not exist");

        // The graph's signature (no session yet): names, then data, are checked against it before anything runs.
        var graph = OnnxModel.Load(modelPath);
        var modelInputs = graph.Inputs.Select(i => i.Name).ToList();
        foreach (var (option, pairs) in new[] { ("input", attributed), ("fixed", held), ("baseline", baselines), ("mask", masks) })
        {
            foreach (var (name, _) in pairs)
            {
                if (modelInputs.Contains(name)) continue;
                string? near = MethodRegistry.Nearest(name, modelInputs);
                throw new UsageException($"--{option} {name}=…: the model has no input '{name}'{(near is null ? "" : $" (did you mean '{near}'?)")}; " +
                    $"its inputs are {string.Join(", ", modelInputs)}");
            }
        }
        if (attributed.FirstOrDefault(a => held.Any(h => h.Name == a.Name)) is { Name: { } both })
            throw new UsageException($"input '{both}' is given both as --input (attributed) and --fixed (held); give it once");
        var missing = modelInputs.Where(m => !attributed.Any(a => a.Name == m) && !held.Any(h => h.Name == m)).ToList();
        if (missing.Count > 0)
            throw new UsageException($"model input{(missing.Count > 1 ? "s" : "")} {string.Join(", ", missing)} not given; " +
                $"give each as --input NAME=FILE (attributed) or --fixed NAME=FILE (held)");
        if (extension == ".npz" && attributed.FirstOrDefault(a => a.Name is "target" or "delta") is { Name: { } clash })
            throw new UsageException($"input '{clash}' would clash with the .npz entry of that name; use .json or .csv");

        var data = new ModelInputs();
        var rows = new List<(string What, int Rows)>();
        string[]? csvColumns = null;
        foreach (var (option, pairs) in new[] { ("input", attributed), ("fixed", held) })
        {
            foreach (var (name, file) in pairs)
            {
                var signature = InputSignature.ForInput(graph, name);
                var array = signature.Check(DataFiles.Read(file, $"{option} {name}", [name, "input", "x", "arr_0"], signature.TakesIntegers), $"{option} {name}");
                if (array.Ints is { } ints) data.Add(name, ints);
                else data.Add(name, array.Floats!);
                rows.Add(($"--{option} {name}={file}", array.Shape[0]));
                if (option == "input" && attributed.Count == 1) csvColumns = array.ColumnNames;
            }
        }
        if (rows.Select(r => r.Rows).Distinct().Count() > 1)
            throw new UsageException("batch sizes differ between inputs: " + string.Join(", ", rows.Select(r => $"{r.What} has {r.Rows} row{(r.Rows == 1 ? "" : "s")}")) +
                "; every input needs one row per example");
        var baselineData = Read(graph, baselines, "baseline", integers: name => InputSignature.ForInput(graph, name).TakesIntegers);
        var maskData = Read(graph, masks, "mask", integers: _ => true);

        string? outputName = options.String("output");
        var runtime = RuntimeOptions.ForDevice(options.String("device") ?? "cpu") with { Log = m => stderr.WriteLine($"info: {m}") };
        var model = new MultiInputModel(modelPath, outputName, runtime);
        var request = new MultiInputRequest
        {
            Attributed = attributed.Select(a => a.Name).ToList(), Baselines = baselineData, FeatureMask = maskData,
            Options = methodOptions, InternalBatchSize = batchSize,
        };
        try { model.Validate(method, data, request); }
        catch (ArgumentException e) { throw new UsageException(e.Message); }

        int n = data.Rows;
        var runs = target.Index is int index ? [(null, Target.Class(index))]
            : target.Text == "predicted" ? [(null, Target.Predicted)]
            : Enumerable.Range(0, InputSignature.OutputWidth(graph, outputName) ?? throw new UsageException(
                "--target all needs the output's width, which the model does not declare; give --target N for each output index"))
                .Select(c => ((int?)c, Target.Class(c))).ToList();
        var progress = new Progress(session.Terminal && !quiet ? stderr : null, methodName, n * runs.Count);
        var results = new List<(int? Class, MultiInputResult Result)>();
        // Batches of rows, as for single-input models: progress moves and Ctrl+C is honoured between them; seeded methods
        // run as one batch so that a seed gives the library's result.
        int batch = method.Has(MethodCapabilities.Seeded) ? n : Math.Max(32, (n + 49) / 50);
        int done = 0;
        progress.Report(0);
        foreach (var (cls, t) in runs)
        {
            var parts = new List<MultiInputResult>();
            for (int start = 0; start < n; start += batch)
            {
                session.Cancellation.ThrowIfCancellationRequested();
                int count = Math.Min(batch, n - start);
                parts.Add(model.Attribute(method, data.Slice(start, count, n), request with
                {
                    Target = t,
                    Baselines = method.Has(MethodCapabilities.RequiresBaselines) ? baselineData : baselineData?.Slice(start, count, n),
                    FeatureMask = maskData?.Slice(start, count, n),
                }));
                progress.Report(done += count);
            }
            results.Add((cls, Concat(parts)));
        }
        session.Cancellation.ThrowIfCancellationRequested();
        progress.Finish();

        var names = results[0].Result.Attributions.Keys.ToList();
        DataFiles.WriteAtomically(outPath, partial => Write(partial, extension, methodName, target.Text, names, results, csvColumns), session.Cancellation);
        if (deltaPath is not null)
        {
            var maps = results.Select(r => new AttributionMap(r.Class, Flat(r.Result, names), r.Result.Targets, r.Result.ConvergenceDelta)).ToList();
            DataFiles.WriteAtomically(deltaPath, partial => new ExplainOutput(methodName, target.Text, maps, null)
                .WriteDelta(partial, DataFiles.Extension(deltaPath, "delta-out")), session.Cancellation);
        }
        stdout.WriteLine($"{methodName}: wrote attributions for {string.Join(", ", names.Select(k => $"{k} {results[0].Result.Attributions[k].ShapeText}"))} to {outPath}");
        return 0;
    }

    private static ModelInputs? Read(OnnxModel graph, List<(string Name, string File)> pairs, string option, Func<string, bool> integers)
    {
        if (pairs.Count == 0) return null;
        var data = new ModelInputs();
        foreach (var (name, file) in pairs)
        {
            var array = DataFiles.Read(file, $"{option} {name}", [name, option, "arr_0"], integers(name));
            if (option == "mask") array = array.ToIntegers($"{option} {name}");
            array = InputSignature.ForInput(graph, name).Check(array, $"{option} {name}", allowBroadcast: true, checkDtype: false);
            if (array.Ints is { } ints) data.Add(name, ints);
            else data.Add(name, array.Floats!);
        }
        return data;
    }

    private static MultiInputResult Concat(IReadOnlyList<MultiInputResult> parts)
    {
        if (parts.Count == 1) return parts[0];
        var maps = parts[0].Attributions.Keys.ToDictionary(k => k, k =>
        {
            var first = parts[0].Attributions[k];
            return new NdArray<float>(parts.SelectMany(p => p.Attributions[k].Data).ToArray(), [parts.Sum(p => p.Attributions[k].Rows), .. first.RowShape]);
        });
        var delta = parts.All(p => p.ConvergenceDelta is not null) ? parts.SelectMany(p => p.ConvergenceDelta!).ToArray() : null;
        return new MultiInputResult(maps, parts.SelectMany(p => p.Targets).ToArray(), delta);
    }

    /// <summary>Every map's rows side by side (input after input), for the CSV and delta writers.</summary>
    private static NdArray<float> Flat(MultiInputResult result, IReadOnlyList<string> names)
    {
        var maps = names.Select(k => result.Attributions[k]).ToList();
        int rows = maps[0].Rows, width = maps.Sum(m => m.RowSize);
        var data = new float[rows * width];
        for (int r = 0; r < rows; r++)
        {
            int offset = r * width;
            foreach (var m in maps)
            {
                m.Row(r).CopyTo(data.AsSpan(offset));
                offset += m.RowSize;
            }
        }
        return new NdArray<float>(data, [rows, width]);
    }

    private static void Write(string path, string extension, string method, string target, IReadOnlyList<string> names,
        IReadOnlyList<(int? Class, MultiInputResult Result)> results, string[]? csvColumns)
    {
        switch (extension)
        {
            case ".npy":
            case ".csv":
            {
                // One array: the only map (.npy), or every input's columns side by side, named NAME[i,j,…] (.csv).
                var maps = results.Select(r => new AttributionMap(r.Class, names.Count == 1 ? r.Result.Attributions[names[0]] : Flat(r.Result, names),
                    r.Result.Targets, r.Result.ConvergenceDelta)).ToList();
                string[]? columns = names.Count == 1 ? csvColumns : names.SelectMany(k => Columns(k, results[0].Result.Attributions[k].RowShape)).ToArray();
                new ExplainOutput(method, target, maps, columns).Write(path, extension);
                break;
            }
            case ".npz":
            {
                var arrays = new List<(string, Action<string>)>();
                foreach (var (cls, result) in results)
                {
                    string suffix = cls is int c ? $"_{c}" : "";
                    foreach (var k in names) arrays.Add((k + suffix, p => Npy.Write(p, result.Attributions[k])));
                    if (cls is null) arrays.Add(("target", p => Npy.Write(p, new NdArray<long>(result.Targets.Select(t => (long)t).ToArray(), result.Targets.Length))));
                    if (result.ConvergenceDelta is { } delta) arrays.Add(("delta" + suffix, p => Npy.Write(p, new NdArray<float>(delta, delta.Length))));
                }
                DataFiles.WriteNpz(path, arrays);
                break;
            }
            default:
                WriteJson(path, method, target, names, results);
                break;
        }
    }

    private static IEnumerable<string> Columns(string name, int[] shape)
    {
        int size = (int)NdArray<float>.ShapeSize(shape);
        for (int i = 0; i < size; i++)
        {
            var index = new int[shape.Length];
            for (int d = shape.Length - 1, rest = i; d >= 0; d--) { index[d] = rest % shape[d]; rest /= shape[d]; }
            yield return $"{name}[{string.Join(",", index)}]";
        }
    }

    private static void WriteJson(string path, string method, string target, IReadOnlyList<string> names, IReadOnlyList<(int? Class, MultiInputResult Result)> results)
    {
        using var stream = File.Create(path);
        using var json = new Utf8JsonWriter(stream);
        json.WriteStartObject();
        json.WriteString("method", method);
        json.WriteString("target", target);
        json.WriteStartArray("results");
        foreach (var (cls, result) in results)
        {
            json.WriteStartObject();
            if (cls is int c) json.WriteNumber("class", c);
            json.WriteStartArray("targets");
            foreach (int t in result.Targets) json.WriteNumberValue(t);
            json.WriteEndArray();
            if (result.ConvergenceDelta is { } delta)
            {
                json.WriteStartArray("delta");
                foreach (float v in delta) DataFiles.WriteNumber(json, v);
                json.WriteEndArray();
            }
            json.WriteStartObject("attributions");
            foreach (var k in names)
            {
                json.WritePropertyName(k);
                DataFiles.WriteNested(json, result.Attributions[k].Data, result.Attributions[k].Shape);
            }
            json.WriteEndObject();
            json.WriteEndObject();
        }
        json.WriteEndArray();
        json.WriteEndObject();
    }
}
