using System.Reflection;
using Microsoft.ML.Attribution.Autodiff;
using Microsoft.ML.Attribution.Methods;

namespace Microsoft.ML.Attribution.Cli;

/// <summary>How the process runs the command line: Ctrl+C as a cancellation token, and whether stderr is a terminal.</summary>
/// <param name="Cancellation">Cancelled on Ctrl+C; the run stops between batches, writes nothing and returns 130.</param>
/// <param name="Terminal">stderr is a terminal: a progress line per batch (unless <c>--quiet</c>).</param>
public sealed record CliSession(CancellationToken Cancellation = default, bool Terminal = false);

/// <summary>The <c>mlnet-explain</c> command line: a thin shell over the library.</summary>
public static class CliApp
{
    /// <summary>Exit code of a run stopped by Ctrl+C (128 + SIGINT, as shells report it).</summary>
    public const int Interrupted = 130;

    private const string ExplainUsage = """
        mlnet-explain explain --model M.onnx --input X.npy|.npz|.csv|.json --method NAME --out A.npy|.npz|.csv|.json
            (several model inputs: --input NAME=FILE repeated, --fixed NAME=FILE for held inputs, --baseline NAME=FILE)
            [--target N|all|predicted] [--baseline B] [--mask M] [--output NAME] [--batch-size INT]
            [--delta-out D.npy] [--device cpu|cuda[:N]] [--cache-dir DIR] [--quiet] [--fp64] [method options: mlnet-explain explain --method NAME --help]
        """;

    private const string InfoUsage = "mlnet-explain info M.onnx      (or --model M.onnx)";

    private const string ReportUsage = """
        mlnet-explain report --model M.onnx --input X.npy --out report.html [--labels L.npy] [--method auto|NAME]
            [--feature-names names.txt] [--class-names names.txt] [--target INT] [--title TEXT] [--max-rows INT]
            [--top-k INT] [--background-size INT] [--seed INT] [--steps INT] [--samples INT] [--output NAME]
        """;

    private const string Notes = """
        Formats by extension, for inputs and outputs: .npy; .npz (named arrays: attributions, target, delta; the input array
        is the one named after the model input, or the only one); .csv (rows; a header names the columns, and output
        columns take those names); .json (nested arrays, or an object of named arrays); .parquet (input: every numeric column a
        feature; output: row, one column per feature, delta, target; one target). Outputs are written to FILE.partial
        and moved into place; Ctrl+C stops with exit code 130 and leaves no file.
        --target: an output index; 'all' (one map per output index: .npz attributions_C, .npy [N, C, …]); 'predicted'
        (each row's argmax; the default). Input rows are float32/float64; int64/int32 token ids go to layer methods.
        Multi-input models: --input NAME=FILE per attributed input, --fixed NAME=FILE per held input (e.g. an attention
        mask), --baseline NAME=FILE and --mask NAME=FILE per attributed input; results per input (.npz: one entry named
        after each input; .csv: every input's columns side by side, named NAME[i,…]; .json: an attributions object keyed
        by input; .npy: runs attributing one input or a layer only).
        Exit codes: 0 success, 1 failure, 2 usage error, 130 interrupted. Add --verbose for the stack trace of an error.
        """;

    /// <summary>The tool's version (the assembly's informational version).</summary>
    public static string Version =>
        typeof(CliApp).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
        ?? typeof(CliApp).Assembly.GetName().Version?.ToString() ?? "unknown";

    /// <summary>Runs the command line without a terminal or Ctrl+C handling (tests, hosts).</summary>
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr) => Run(args, stdout, stderr, new CliSession());

    /// <summary>Runs the command line; returns the process exit code (0 success, 1 failure, 2 usage error, 130 interrupted).</summary>
    /// <param name="args">Arguments after the program name; <c>--verbose</c> anywhere adds the stack trace to an error.</param>
    /// <param name="stdout">Normal output.</param>
    /// <param name="stderr">One <c>error: …</c> line on failure; <c>info: …</c> lines from the runtime; progress on a terminal.</param>
    /// <param name="session">Cancellation (Ctrl+C) and whether stderr is a terminal.</param>
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr, CliSession session)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(stdout);
        ArgumentNullException.ThrowIfNull(stderr);
        ArgumentNullException.ThrowIfNull(session);
        bool verbose = args.Contains("--verbose");
        args = args.Where(a => a != "--verbose").ToArray();
        try
        {
            if (args is ["--version"] or ["version"])
            {
                stdout.WriteLine($"mlnet-explain {Version}");
                return 0;
            }
            if (args.Length == 0 || args[0] is "help" or "--help" or "-h")
                return Help(args.Length > 1 ? args[1] : null, args.Length > 2 ? args[2] : null, stdout);
            string command = args[0];
            var rest = args[1..];
            if (rest.Any(a => a is "--help" or "-h"))
            {
                int m = Array.IndexOf(rest, "--method");
                return Help(command, m >= 0 && m + 1 < rest.Length ? rest[m + 1] : null, stdout);
            }
            if (command == "info" && rest.Length > 0 && !rest[0].StartsWith("--", StringComparison.Ordinal)) rest = ["--model", .. rest];
            return command switch
            {
                "explain" => ExplainCommand.Run(CommandLine.Parse(rest, ExplainCommand.KnownOptions), stdout, stderr, session),
                "info" => InfoCommand.Run(CommandLine.Parse(rest, InfoCommand.KnownOptions), stdout),
                "metric" => MetricCommand.Run(rest, stdout, stderr, session),
                "attack" => AttackCommand.Run(rest, stdout, stderr, session),
                "report" => ReportCommand.Run(CommandLine.Parse(rest, ReportCommand.KnownOptions), stdout, stderr),
                "cluster" => ClusterCommand.Run(rest, stdout, stderr, session),
                _ => throw UnknownCommand(command),
            };
        }
        catch (UsageException e)
        {
            stderr.WriteLine("error: " + OneLine(e.Message));
            return 2;
        }
        catch (OperationCanceledException) when (session.Cancellation.IsCancellationRequested)
        {
            stderr.WriteLine();
            stderr.WriteLine("interrupted: stopped before writing any output");
            return Interrupted;
        }
        catch (Exception e)
        {
            // The library reports bad input with these types; anything else is a bug, still one line unless --verbose.
            bool expected = e is ArgumentException or IOException or InvalidDataException or UnsupportedOperatorException
                or InvalidOperationException or NotSupportedException or UnauthorizedAccessException or System.Text.Json.JsonException;
            string hint = expected || verbose ? "" : $" ({e.GetType().Name}; rerun with --verbose for the stack trace)";
            stderr.WriteLine("error: " + OneLine(e.Message) + hint);
            if (verbose) stderr.WriteLine(e.ToString());
            return 1;
        }
    }

    private static readonly string[] Commands = ["explain", "info", "report", "metric", "attack", "cluster", "help"];

    private static UsageException UnknownCommand(string command) => new(
        $"unknown command '{command}'{(MethodRegistry.Nearest(command, Commands) is { } near ? $" (did you mean '{near}'?)" : "")}; " +
        "use explain, info, report or metric (--help for usage)");

    /// <summary>General help, a command's help, or one method's help (its options and defaults from the registry).</summary>
    private static int Help(string? command, string? methodName, TextWriter stdout)
    {
        switch (command)
        {
            case null:
                stdout.WriteLine($"mlnet-explain {Version}: attributions for any ONNX model");
                stdout.WriteLine();
                stdout.WriteLine(ExplainUsage);
                stdout.WriteLine(InfoUsage);
                stdout.WriteLine(ReportUsage);
                stdout.WriteLine(MetricCommand.Usage);
                stdout.WriteLine(AttackCommand.Usage);
                stdout.WriteLine(ClusterCommand.Usage);
                stdout.WriteLine(Notes);
                stdout.WriteLine("methods and their options, with defaults (mlnet-explain explain --method NAME --help for one method in detail):");
                foreach (var method in ExplainCommand.CliMethods) stdout.WriteLine($"  {method.Name}{MethodFlags.Describe(method)}");
                return 0;
            case "explain" when methodName is not null:
                MethodHelp(ExplainCommand.FindMethod(methodName), stdout);
                return 0;
            case "explain":
                stdout.WriteLine(ExplainUsage);
                stdout.WriteLine(Notes);
                stdout.WriteLine("methods (and their options, with defaults):");
                foreach (var method in ExplainCommand.CliMethods) stdout.WriteLine($"  {method.Name}{MethodFlags.Describe(method)}");
                return 0;
            case "info":
                stdout.WriteLine(InfoUsage);
                stdout.WriteLine("Lists the model's inputs and outputs, the tensors usable as --layer, and the methods that apply to it.");
                return 0;
            case "metric":
                MetricHelp(stdout);
                return 0;
            case "attack":
                stdout.WriteLine(AttackCommand.Help);
                return 0;
            case "cluster":
                stdout.WriteLine(ClusterCommand.Usage);
                return 0;
            case "report":
                stdout.WriteLine(ReportUsage);
                stdout.WriteLine($"--method: {ReportCommand.Methods}");
                return 0;
            default:
                if (ExplainCommand.CliMethods.Any(m => m.Name == command))
                {
                    MethodHelp(ExplainCommand.FindMethod(command), stdout);
                    return 0;
                }
                throw UnknownCommand(command);
        }
    }

    private static void MetricHelp(TextWriter stdout)
    {
        stdout.WriteLine(MetricCommand.Usage);
        stdout.WriteLine("Computes the method's attributions, scores them per row, prints the mean and writes the per-row values.");
        stdout.WriteLine("metrics and their options, with defaults (a method's own --samples/--seed keep their defaults here):");
        foreach (var (name, flags) in MetricCommand.Metrics) stdout.WriteLine($"  {name} {flags}");
        stdout.WriteLine("methods: " + string.Join(", ", ExplainCommand.CliMethods.Where(m => !m.Has(MethodCapabilities.TakesLayer)).Select(m => m.Name)));
    }

    private static void MethodHelp(AttributionMethod method, TextWriter stdout)
    {
        stdout.WriteLine($"{method.Name}: {method.Summary}");
        stdout.WriteLine($"usage: mlnet-explain explain --method {method.Name} --model M.onnx --input X --out A [options]");
        stdout.WriteLine("options (defaults from the method's options record):");
        foreach (var line in MethodFlags.Lines(method)) stdout.WriteLine("  " + line);
        if (method.Has(MethodCapabilities.Baselines)) stdout.WriteLine($"  --baseline FILE{(method.Has(MethodCapabilities.RequiresBaselines) ? "  (required: a baseline distribution [B, …])" : "  (default: zeros)")}");
        if (method.Has(MethodCapabilities.FeatureGroups)) stdout.WriteLine("  --mask FILE  (feature ids per element; default: every element its own feature)");
        if (method.Has(MethodCapabilities.ConvergenceDelta)) stdout.WriteLine("  --delta-out FILE  (the convergence delta per row)");
        if (method.Has(MethodCapabilities.TokenIds)) stdout.WriteLine("  takes int64/int32 token ids as --input (set --layer to the embedding tensor)");
        if (method.Has(MethodCapabilities.Wrapper))
        {
            stdout.WriteLine($"  wraps one of: {string.Join(", ", ExplainCommand.Wrappable.Select(m => m.Name))}; the base method's options are accepted too");
        }
    }

    private static string OneLine(string message) => string.Join(" ", message.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries));
}
