using Microsoft.ML.Attribution.Autodiff;

namespace Microsoft.ML.Attribution.Cli;

/// <summary>The <c>mlnet-explain</c> command line: a thin shell over the library.</summary>
public static class CliApp
{
    private const string Usage = """
        mlnet-explain — attributions for any ONNX model

        mlnet-explain explain --model M.onnx --input X.npy --method NAME --out A.npy
            [--baseline B.npy] [--mask M.npy] [--target INT] [--output NAME] [--batch-size INT]
            [--delta-out D.npy] [--device cpu|cuda[:N]] [method options, listed below with their defaults]
        mlnet-explain info --model M.onnx
        mlnet-explain report --model M.onnx --input X.npy --out report.html [--labels L.npy] [--method auto|NAME]
            [--feature-names names.txt] [--class-names names.txt] [--target INT] [--title TEXT] [--max-rows INT]
            [--top-k INT] [--background-size INT] [--seed INT] [--steps INT] [--samples INT] [--output NAME]
        Add --verbose to any command for the stack trace of an error.

        Input: float32 .npy rows [N, ...] (int64 token ids for layer methods on text models). Output: float32 .npy shaped
        like the attributed tensor. --target omitted = each row's predicted (argmax) output.
        """;

    /// <summary>Runs the command line; returns the process exit code (0 success, 1 failure, 2 usage error).</summary>
    /// <param name="args">Arguments after the program name; <c>--verbose</c> anywhere adds the stack trace to an error.</param>
    /// <param name="stdout">Normal output.</param>
    /// <param name="stderr">One <c>error: …</c> line on failure; <c>info: …</c> lines from the runtime.</param>
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(stdout);
        ArgumentNullException.ThrowIfNull(stderr);
        bool verbose = args.Contains("--verbose");
        args = args.Where(a => a != "--verbose").ToArray();
        if (args.Length == 0 || args.Any(a => a is "-h" or "--help") || args[0] == "help")
        {
            stdout.WriteLine(Usage);
            stdout.WriteLine("methods (and their options, with defaults):");
            foreach (var method in ExplainCommand.CliMethods) stdout.WriteLine($"  {method.Name}{MethodFlags.Describe(method)}");
            return 0;
        }
        var rest = args[1..];
        try
        {
            return args[0] switch
            {
                "explain" => ExplainCommand.Run(CommandLine.Parse(rest, ExplainCommand.KnownOptions), stdout, stderr),
                "info" => InfoCommand.Run(CommandLine.Parse(rest, InfoCommand.KnownOptions), stdout),
                "report" => ReportCommand.Run(CommandLine.Parse(rest, ReportCommand.KnownOptions), stdout, stderr),
                var other => throw new UsageException($"unknown command '{other}'; use explain, info or report (--help for usage)"),
            };
        }
        catch (UsageException e)
        {
            stderr.WriteLine("error: " + OneLine(e.Message));
            return 2;
        }
        catch (Exception e)
        {
            // The library reports bad input with these types; anything else is a bug, still one line unless --verbose.
            bool expected = e is ArgumentException or IOException or InvalidDataException or UnsupportedOperatorException
                or InvalidOperationException or NotSupportedException or UnauthorizedAccessException;
            string hint = expected || verbose ? "" : $" ({e.GetType().Name}; rerun with --verbose for the stack trace)";
            stderr.WriteLine("error: " + OneLine(e.Message) + hint);
            if (verbose) stderr.WriteLine(e.ToString());
            return 1;
        }
    }

    private static string OneLine(string message) => string.Join(" ", message.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries));
}
