using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.ML.Attribution.Methods;
using Microsoft.ML.Attribution.Metrics;
using Microsoft.ML.Attribution.Onnx;
using Microsoft.ML.Attribution.Oracles;
using Microsoft.ML.Attribution.Robust;
using Microsoft.ML.Attribution.Runtime;
using Microsoft.ML.Attribution.Tensors;

namespace Microsoft.ML.Attribution.Cli;

/// <summary>
/// <c>mlnet-explain attack fgsm|pgd …</c>: adversarial rows for an ONNX model (<see cref="Fgsm"/>, <see cref="Pgd"/>),
/// a one-line summary (rows whose prediction changed, the largest change) and the adversarial rows written by extension
/// of <c>--out</c>. Every flag is checked, and the paths too, before the model is loaded.
/// </summary>
internal static class AttackCommand
{
    /// <summary>The attacks, with their flags and defaults (help text).</summary>
    public static readonly (string Name, string Flags)[] Attacks =
        MetricRegistry.OfKind(MetricKind.Attack).Select(e => (e.Name, e.Options)).ToArray();

    /// <summary>PGD steps when <c>--steps</c> is not given.</summary>
    public const int DefaultSteps = MetricRegistry.DefaultPgdSteps;

    private static readonly string[] Common =
        ["model", "input", "out", "target", "targeted", "loss", "lower", "upper", "output", "batch-size", "device", "quiet"];

    private static readonly string[] FgsmFlags = ["epsilon"];

    private static readonly string[] PgdFlags = ["radius", "steps", "step-size", "norm", "random-start", "seed"];

    public const string Usage = """
        mlnet-explain attack fgsm|pgd --model M.onnx --input X.npy|.npz|.csv|.json --out ADV.npy|.npz|.csv|.json
            [--target N|predicted (the label; with --targeted the goal class)] [--targeted false]
            [--loss negative-log|cross-entropy|target-output (default: negative-log, as Captum)] [--lower L] [--upper U]
            [--output NAME] [--batch-size INT] [--device cpu|cuda[:N]] [attack options, below]
        """;

    /// <summary>The help text of the command.</summary>
    public static string Help => Usage + Environment.NewLine
        + "Perturbs each row to change the model's prediction (away from the label, or towards --target with --targeted),"
        + " keeping it in [--lower, --upper]; prints how many predictions changed and writes the adversarial rows"
        + " (.npz also holds the labels and the predictions before and after)." + Environment.NewLine
        + "attacks and their options:" + Environment.NewLine
        + string.Join(Environment.NewLine, Attacks.Select(a => $"  {a.Name} {a.Flags}"));

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr, CliSession session)
    {
        if (args.Length == 0 || args[0].StartsWith("--", StringComparison.Ordinal))
            throw new UsageException($"attack needs an attack name first: {string.Join(", ", Attacks.Select(a => a.Name))}");
        string attack = Attacks.Any(a => a.Name == args[0]) ? args[0] : throw new UsageException(
            $"unknown attack '{args[0]}'{(MethodRegistry.Nearest(args[0], Attacks.Select(a => a.Name)) is { } near ? $" (did you mean '{near}'?)" : "")}; " +
            $"known attacks: {string.Join(", ", Attacks.Select(a => a.Name))}");
        var own = attack == "fgsm" ? FgsmFlags : PgdFlags;
        var other = attack == "fgsm" ? PgdFlags : FgsmFlags;
        foreach (var arg in args[1..])
            if (arg.StartsWith("--", StringComparison.Ordinal) && other.Contains(arg[2..].Split('=')[0]) && !own.Contains(arg[2..].Split('=')[0]))
                throw new UsageException($"option {arg.Split('=')[0]} is not used by attack {attack} (it takes {string.Join(", ", own.Select(f => "--" + f))})");
        var options = CommandLine.Parse(args[1..], Common.Concat(own).ToHashSet(StringComparer.Ordinal));

        string modelPath = options.Required("model", "(the ONNX model)");
        string inputPath = options.Required("input", "(the rows: .npy, .npz, .csv or .json)");
        string outPath = options.Required("out", "(where the adversarial rows go: .npy, .npz, .csv or .json)");
        var choice = TargetChoice.Parse(options.String("target"));
        if (choice.Text == "all") throw new UsageException("--target all is not supported by attack; give --target N or predicted");
        var target = choice.Index is int index ? Target.Class(index) : Target.Predicted;
        bool targeted = options.Bool("targeted") ?? false;
        if (targeted && choice.Index is null) throw new UsageException("--targeted needs --target N, the class to move the rows towards");
        AttackLoss loss;
        try { loss = AttackLoss.FromName(options.String("loss") ?? "negative-log"); }
        catch (ArgumentException e) { throw new UsageException("--loss: " + e.Message.Split(" (Parameter")[0]); }
        float lower = (float)(options.Double("lower") ?? double.NegativeInfinity);
        float upper = (float)(options.Double("upper") ?? double.PositiveInfinity);
        if (lower > upper) throw new UsageException($"--lower {lower} exceeds --upper {upper}");
        int? batchSize = options.Int("batch-size");
        if (batchSize is <= 0) throw new UsageException($"--batch-size must be positive, got {batchSize}");

        float epsilon = 0, radius = 0, stepSize = 0;
        int steps = 0;
        var norm = PerturbationNorm.LInfinity;
        bool randomStart = false;
        int? seed = null;
        if (attack == "fgsm")
        {
            double e = options.Double("epsilon") ?? throw new UsageException("--epsilon is required by attack fgsm (the step size)");
            if (!double.IsFinite(e) || e < 0) throw new UsageException($"--epsilon must be a non-negative number, got {e}");
            epsilon = (float)e;
        }
        else
        {
            double r = options.Double("radius") ?? throw new UsageException("--radius is required by attack pgd (the radius of the ball around each row)");
            if (!double.IsFinite(r) || r < 0) throw new UsageException($"--radius must be a non-negative number, got {r}");
            steps = options.Int("steps") ?? DefaultSteps;
            if (steps < 1) throw new UsageException($"--steps must be positive, got {steps}");
            double s = options.Double("step-size") ?? 2.5 * r / steps;
            if (!double.IsFinite(s) || s < 0) throw new UsageException($"--step-size must be a non-negative number, got {s}");
            (radius, stepSize) = ((float)r, (float)s);
            norm = options.String("norm")?.ToLowerInvariant() switch
            {
                null or "linf" => PerturbationNorm.LInfinity,
                "l2" => PerturbationNorm.L2,
                var other2 => throw new UsageException($"--norm '{other2}' is not one of linf, l2"),
            };
            randomStart = options.Bool("random-start") ?? false;
            seed = options.Int("seed");
            if (seed is not null && !randomStart) throw new UsageException("--seed seeds the random start; give --random-start true too");
        }

        // Paths first: a missing directory or an unknown extension must not cost a model load.
        DataFiles.CheckOutput(outPath, "out");
        DataFiles.CheckInput(inputPath, "input");
        if (!File.Exists(modelPath)) throw new FileNotFoundException($"model file '{modelPath}' does not exist");
        string? outputName = options.String("output");
        var runtime = RuntimeOptions.ForDevice(options.String("device") ?? "cpu") with { Log = m => stderr.WriteLine($"info: {m}") };

        var graph = OnnxModel.Load(modelPath);
        var signature = InputSignature.Of(graph, modelPath);
        var input = signature.Check(DataFiles.Read(inputPath, "input", signature.Names, signature.TakesIntegers), "input");
        if (input.IsInteger) throw new UsageException($"--input '{input.Path}' holds {input.Dtype} token ids; attack {attack} needs float rows");
        var rows = input.Floats!;
        var oracle = new OnnxGradientOracle(modelPath, outputName: outputName, options: runtime);

        session.Cancellation.ThrowIfCancellationRequested();
        int chunk = Batcher.ChunkRows(oracle, batchSize, rows.RowSize);
        var before = Batcher.ForwardRows(oracle, rows, chunk);
        var labels = target.Resolve(oracle, rows, chunk, before);
        var adversarial = attack == "fgsm"
            ? new Fgsm(oracle, loss, lower, upper).Perturb(rows, epsilon, Target.PerRow(labels), targeted, internalBatchSize: batchSize)
            : new Pgd(oracle, loss, lower, upper).Perturb(rows, radius, stepSize, steps, Target.PerRow(labels), targeted, norm, randomStart, seed, internalBatchSize: batchSize);
        session.Cancellation.ThrowIfCancellationRequested();
        var after = Batcher.ForwardRows(oracle, adversarial, chunk);
        var predictedBefore = ArgMax(before);
        var predictedAfter = ArgMax(after);
        int changed = predictedBefore.Zip(predictedAfter).Count(p => p.First != p.Second);
        int reached = targeted ? predictedAfter.Zip(labels).Count(p => p.First == p.Second) : 0;
        float largest = 0;
        for (int i = 0; i < rows.Length; i++) largest = MathF.Max(largest, MathF.Abs(adversarial.Data[i] - rows.Data[i]));

        DataFiles.WriteAtomically(outPath, partial => Write(partial, DataFiles.Extension(outPath, "out"), attack, adversarial, labels, predictedBefore, predictedAfter),
            session.Cancellation);
        string goal = targeted ? FormattableString.Invariant($", {reached} now predict the target") : "";
        stdout.WriteLine(FormattableString.Invariant(
            $"{attack} ({loss.Name} loss) on {rows.Rows} rows: prediction changed on {changed}{goal}; largest change per element {largest:G6}; wrote the adversarial rows to {outPath}"));
        return 0;
    }

    private static int[] ArgMax(NdArray<float> outputs)
    {
        var result = new int[outputs.Rows];
        for (int r = 0; r < outputs.Rows; r++)
        {
            var row = outputs.Row(r);
            for (int j = 1; j < row.Length; j++) if (row[j] > row[result[r]]) result[r] = j;
        }
        return result;
    }

    /// <summary>.npy the adversarial rows; .npz those plus labels and predictions; .csv one line per row (flattened); .json all of it.</summary>
    private static void Write(string path, string extension, string attack, NdArray<float> adversarial, int[] labels, int[] before, int[] after)
    {
        NdArray<long> Ints(int[] values) => new(values.Select(v => (long)v).ToArray(), values.Length);
        switch (extension)
        {
            case ".npy":
                Npy.Write(path, adversarial);
                break;
            case ".npz":
                DataFiles.WriteNpz(path, [
                    ("adversarial", p => Npy.Write(p, adversarial)),
                    ("label", p => Npy.Write(p, Ints(labels))),
                    ("prediction", p => Npy.Write(p, Ints(before))),
                    ("adversarial_prediction", p => Npy.Write(p, Ints(after)))]);
                break;
            case ".csv":
                {
                    using var writer = new StreamWriter(path, false, new UTF8Encoding(false));
                    writer.WriteLine("row,label,prediction,adversarial_prediction," + string.Join(",", Enumerable.Range(0, adversarial.RowSize).Select(j => "x" + j.ToString(CultureInfo.InvariantCulture))));
                    for (int r = 0; r < adversarial.Rows; r++)
                    {
                        var line = new StringBuilder(FormattableString.Invariant($"{r},{labels[r]},{before[r]},{after[r]}"));
                        foreach (float v in adversarial.Row(r)) line.Append(',').Append(v.ToString("R", CultureInfo.InvariantCulture));
                        writer.WriteLine(line);
                    }
                    break;
                }
            default:
                {
                    using var stream = File.Create(path);
                    using var json = new Utf8JsonWriter(stream);
                    json.WriteStartObject();
                    json.WriteString("attack", attack);
                    json.WritePropertyName("adversarial");
                    DataFiles.WriteNested(json, adversarial.Data, adversarial.Shape);
                    foreach (var (name, values) in new[] { ("label", labels), ("prediction", before), ("adversarial_prediction", after) })
                    {
                        json.WriteStartArray(name);
                        foreach (int v in values) json.WriteNumberValue(v);
                        json.WriteEndArray();
                    }
                    json.WriteEndObject();
                    break;
                }
        }
    }
}
