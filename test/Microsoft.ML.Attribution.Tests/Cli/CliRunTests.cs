using System.Diagnostics;
using System.Text;
using Microsoft.ML.Attribution.Cli;
using Microsoft.ML.Attribution.Tensors;
using Microsoft.ML.Attribution.Tests.Support;

namespace Microsoft.ML.Attribution.Tests.Cli;

/// <summary>Progress on a terminal only, --quiet, and Ctrl+C (exit 130, no output and no partial file).</summary>
[TestClass]
public sealed class CliRunTests
{
    private static readonly FixtureCase Toy = Fixtures.Case("toy_ig_gausslegendre");

    private static string Temp(string name) => CliFormatTests.Temp(name);

    /// <summary>Rows enough for several batches (a batch is at least 32 rows).</summary>
    private static string ManyRows(int rows)
    {
        var random = new Random(5);
        string path = Temp("many.npy");
        Npy.Write(path, new NdArray<float>(Enumerable.Range(0, rows * 3).Select(_ => (float)random.NextDouble()).ToArray(), rows, 3));
        return path;
    }

    private static string[] Explain(string input, string output, params string[] more) =>
        ["explain", "--model", Toy.ModelPath, "--input", input, "--method", "integrated-gradients", "--target", "0", "--out", output, .. more];

    /// <summary>A stderr that cancels the run when the first progress line with rows done appears.</summary>
    private sealed class CancelOnProgress(CancellationTokenSource cancel) : StringWriter
    {
        public override void Write(string? value)
        {
            base.Write(value);
            if (value is not null && value.Contains(" rows (", StringComparison.Ordinal) && !value.Contains(": 0/", StringComparison.Ordinal)) cancel.Cancel();
        }
    }

    [TestMethod]
    public void Progress_IsWrittenPerBatch_OnATerminalOnly_AndNotWithQuiet()
    {
        string input = ManyRows(100);
        var terminal = new StringWriter();
        Assert.AreEqual(0, CliApp.Run(Explain(input, Temp("a.npy")), new StringWriter(), terminal, new CliSession(Terminal: true)), terminal.ToString());
        int updates = terminal.ToString().Split('\r').Count(l => l.Contains(" rows (", StringComparison.Ordinal));
        Assert.IsGreaterThanOrEqualTo(4, updates, terminal.ToString()); // 0 rows, then 32, 64, 96, 100
        StringAssert.Contains(terminal.ToString(), "100/100 rows (100%)");
        StringAssert.Contains(terminal.ToString(), "ETA");

        var pipe = new StringWriter();
        Assert.AreEqual(0, CliApp.Run(Explain(input, Temp("a.npy")), new StringWriter(), pipe, new CliSession(Terminal: false)));
        Assert.AreEqual("", pipe.ToString());
        var quiet = new StringWriter();
        Assert.AreEqual(0, CliApp.Run(Explain(input, Temp("a.npy"), "--quiet"), new StringWriter(), quiet, new CliSession(Terminal: true)));
        Assert.AreEqual("", quiet.ToString());
    }

    [TestMethod]
    [DataRow(".npy")]
    [DataRow(".npz")]
    public void Cancellation_MidRun_Returns130_AndLeavesNoFile(string extension)
    {
        string input = ManyRows(200), output = Temp("a" + extension), delta = Temp("d.npy");
        using var cancel = new CancellationTokenSource();
        var stderr = new CancelOnProgress(cancel);
        int code = CliApp.Run(Explain(input, output, "--delta-out", delta), new StringWriter(), stderr, new CliSession(cancel.Token, Terminal: true));
        Assert.AreEqual(CliApp.Interrupted, code, stderr.ToString());
        StringAssert.Contains(stderr.ToString(), "interrupted");
        Assert.IsFalse(File.Exists(output), "no output");
        Assert.IsFalse(File.Exists(output + ".partial"), "no partial output");
        Assert.IsFalse(File.Exists(delta), "no delta");
    }

    [TestMethod]
    public void WriteAtomically_CancelledWhileWriting_RemovesThePartialFile()
    {
        string output = Temp("a.npy");
        using var cancel = new CancellationTokenSource();
        Assert.ThrowsExactly<OperationCanceledException>(() => DataFiles.WriteAtomically(output, partial =>
        {
            File.WriteAllText(partial, "half");
            cancel.Cancel();
        }, cancel.Token));
        Assert.IsFalse(File.Exists(output));
        Assert.IsFalse(File.Exists(output + ".partial"));
    }

    private static ProcessStartInfo Tool(params string[] args)
    {
        string dll = Path.Combine(AppContext.BaseDirectory, "mlnet-explain.dll");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(dll);
        foreach (var a in args) start.ArgumentList.Add(a);
        return start;
    }

    [TestMethod]
    public void Sigint_StopsTheProcess_WithExitCode130_AndNoFile()
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS()) Assert.Inconclusive("SIGINT is a POSIX signal");
        // Long enough to be interrupted on a fast idle machine too (20,000 rows × 400 steps once finished within the
        // 3 s wait): 200,000 rows × 2,000 steps is minutes of work, and SIGINT ends it at the next batch.
        string input = ManyRows(200_000), output = Temp("a.npy");
        using var process = Process.Start(Tool(Explain(input, output, "--steps", "2000")))!;
        var stderr = process.StandardError.ReadToEndAsync();
        _ = process.StandardOutput.ReadToEndAsync();
        // Wait until the run is under way (the .NET host and ONNX Runtime have started), then interrupt it.
        Thread.Sleep(TimeSpan.FromSeconds(3));
        Assert.IsFalse(process.HasExited, "the run must still be going when SIGINT is sent; stderr: " + (process.HasExited ? stderr.Result : ""));
        using (var kill = Process.Start("kill", ["-INT", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])) kill.WaitForExit();
        Assert.IsTrue(process.WaitForExit(TimeSpan.FromSeconds(30)), "exits after SIGINT");
        Assert.AreEqual(130, process.ExitCode, stderr.Result);
        StringAssert.Contains(stderr.Result, "interrupted");
        Assert.IsFalse(File.Exists(output), "no output file");
        Assert.IsFalse(File.Exists(output + ".partial"), "no partial file");
    }

    [TestMethod]
    public void Progress_AppearsOnAPseudoTerminal_AndNotInAPipe()
    {
        if (!File.Exists("/usr/bin/script")) Assert.Inconclusive("no /usr/bin/script to give the process a pseudo-terminal");
        string input = ManyRows(200);
        // Pipe: stderr redirected.
        using (var piped = Process.Start(Tool(Explain(input, Temp("a.npy"))))!)
        {
            string err = piped.StandardError.ReadToEnd();
            piped.WaitForExit();
            Assert.AreEqual(0, piped.ExitCode, err);
            Assert.DoesNotContain(" rows (", err);
        }
        // Pseudo-terminal: util-linux script runs the command with stdin/stdout/stderr on a pty and copies it to stdout.
        string dll = Path.Combine(AppContext.BaseDirectory, "mlnet-explain.dll");
        string command = string.Join(" ", new[] { "dotnet", dll }.Concat(Explain(input, Temp("b.npy"))).Select(a => "'" + a.Replace("'", "'\\''", StringComparison.Ordinal) + "'"));
        var start = new ProcessStartInfo("/usr/bin/script") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
        foreach (var a in new[] { "-qefc", command, "/dev/null" }) start.ArgumentList.Add(a);
        using var tty = Process.Start(start)!;
        string output = tty.StandardOutput.ReadToEnd();
        tty.WaitForExit();
        Assert.AreEqual(0, tty.ExitCode, output);
        StringAssert.Contains(output, "200/200 rows (100%)");
        StringAssert.Contains(output, "rows/s, ETA");
    }
}
