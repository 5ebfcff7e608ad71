using System.Net;
using System.Net.Sockets;
using Microsoft.ML.Attribution.Cli;

namespace Microsoft.ML.Attribution.Orleans.Tests;

/// <summary><c>mlnet-explain cluster …</c> and Parquet in and out of <c>mlnet-explain explain</c>.</summary>
[TestClass]
public sealed class ClusterCliTests
{
    [TestMethod]
    public void Explain_ReadsAndWritesParquet_WithColumnNamesKept()
    {
        using var fixtures = new JobFixtures();
        string output = Path.Combine(fixtures.Root, "a.parquet");
        var (code, stdout, stderr) = Cli("explain", "--model", JobFixtures.ToyModel, "--input", fixtures.Input(50), "--method", "integrated-gradients",
            "--target", "0", "--out", output);
        Assert.AreEqual(0, code, stderr);
        StringAssert.Contains(stdout, "[50, 3]");
        var part = ParquetTables.ReadPartAsync(output).GetAwaiter().GetResult();
        CollectionAssert.AreEqual(JobFixtures.Features, part.Features.ToArray());
        CollectionAssert.AreEqual(Enumerable.Range(0, 50).Select(i => (long)i).ToArray(), part.Rows);
        Assert.IsTrue(part.Delta.All(d => d is not null), "integrated gradients has a convergence delta per row");
    }

    [TestMethod]
    public async Task ClusterSiloSubmitStatus_OnLocalhost_MatchesClusterRun()
    {
        using var fixtures = new JobFixtures();
        string input = fixtures.Input(6_000);
        int silo = FreePort(), gateway = FreePort();
        using var stop = new CancellationTokenSource();
        var siloOut = new StringWriter();
        var siloRun = Task.Run(() => CliApp.Run(["cluster", "silo", "--silo-port", $"{silo}", "--gateway-port", $"{gateway}", "--primary-port", $"{silo}",
            "--state", Path.Combine(fixtures.Root, "state")], siloOut, TextWriter.Null, new CliSession(stop.Token)));
        try
        {
            for (int i = 0; i < 300 && !siloOut.ToString().Contains("silo up"); i++) await Task.Delay(100);
            StringAssert.Contains(siloOut.ToString(), "silo up");
            string[] job = ["--model", JobFixtures.ToyModel, "--method", "kernel-shap", "--samples", "8", "--input", input, "--partition-rows", "1000", "--target", "0"];
            var submit = Cli(["cluster", "submit", "--gateways", $"{gateway}", "--job", "cli", "--out", Path.Combine(fixtures.Root, "cluster"), .. job]);
            Assert.AreEqual(0, submit.Code, submit.Stderr + submit.Stdout);
            StringAssert.Contains(submit.Stdout, "Completed: 6,000/6,000 rows");
            var status = Cli("cluster", "status", "--gateways", $"{gateway}", "--job", "cli");
            Assert.AreEqual(0, status.Code, status.Stderr);
            StringAssert.Contains(status.Stdout, "Completed");
            var run = Cli(["cluster", "run", "--out", Path.Combine(fixtures.Root, "local"), .. job]);
            Assert.AreEqual(0, run.Code, run.Stderr);
            JobFixtures.AssertBitIdentical(await JobFixtures.ReadOutputAsync(Path.Combine(fixtures.Root, "local")),
                await JobFixtures.ReadOutputAsync(Path.Combine(fixtures.Root, "cluster")));
            var unknown = Cli("cluster", "status", "--gateways", $"{gateway}", "--job", "never-submitted");
            Assert.AreEqual(1, unknown.Code);
        }
        finally
        {
            stop.Cancel();
            Assert.AreEqual(0, await siloRun);
        }
    }

    [TestMethod]
    public void ClusterSubmit_RejectsANonParquetInput_BeforeConnecting()
    {
        var (code, _, stderr) = Cli("cluster", "run", "--model", JobFixtures.ToyModel, "--method", "kernel-shap", "--input", "x.csv", "--out", "o");
        Assert.AreEqual(2, code);
        StringAssert.Contains(stderr, "must be a .parquet file");
    }

    private static (int Code, string Stdout, string Stderr) Cli(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = CliApp.Run(args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
