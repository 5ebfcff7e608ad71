using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.ML.Attribution.Methods;
using Microsoft.ML.Attribution.Orleans;

namespace Microsoft.ML.Attribution.Orleans.Benchmarks;

/// <summary>
/// Issue 18's overhead check: the same KernelSHAP job (toy model, Parquet in and out) run by <see cref="LocalJobRunner"/>
/// in this process and by a one-silo Orleans cluster (localhost clustering, client in this process), alternated, median
/// of the repeats. <c>dotnet run -c Release --project test/Microsoft.ML.Attribution.Orleans.Benchmarks -- [rows] [repeats]</c>
/// </summary>
public static class ClusterOverheadProbe
{
    public static void Run(int rows, int repeats) => RunAsync(rows, repeats).GetAwaiter().GetResult();

    private static async Task RunAsync(int rows, int repeats)
    {
        string root = Path.Combine(Path.GetTempPath(), "attr-cluster-bench-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(root);
        try
        {
            var random = new Random(7);
            var data = new float[rows * 3];
            for (int i = 0; i < data.Length; i++) data[i] = (float)(random.NextDouble() * 4 - 2);
            string input = Path.Combine(root, "input.parquet");
            await ParquetTables.WriteRowsAsync(input, ["a", "b", "c"], data);
            string model = Path.Combine(AppContext.BaseDirectory, "Data", "toy.onnx");
            ExplanationJob Job(string output, int concurrency) => ExplanationJob.Create(model, "kernel-shap", new KernelShapOptions { Samples = 16 }, input,
                Path.Combine(root, output), partitionRows: 10_000, seed: 42, target: 0) with { MaxConcurrentPartitions = concurrency };

            int silo = FreePort(), gateway = FreePort();
            var settings = new ClusterSettings { SiloPort = silo, PrimarySiloPort = silo, GatewayPort = gateway, GatewayPorts = [gateway], StateDirectory = Path.Combine(root, "state") };
            using var siloHost = await settings.StartSiloAsync();
            using var clientHost = await settings.StartClientAsync();
            var client = clientHost.Services.GetRequiredService<IClusterClient>();
            var models = new ExplanationModels();
            // Warm-up: both paths load the model (one ONNX Runtime session per process / per silo) before timing.
            await LocalJobRunner.RunAsync(Job("warm-local", 1), models);
            await RunClusterAsync(client, "warm", Job("warm-cluster", 1));

            var local = new List<double>();
            var cluster1 = new List<double>();
            var cluster2 = new List<double>();
            for (int r = 0; r < repeats; r++)
            {
                var clock = Stopwatch.StartNew();
                await LocalJobRunner.RunAsync(Job($"local-{r}", 1), models);
                local.Add(clock.Elapsed.TotalSeconds);
                clock.Restart();
                await RunClusterAsync(client, $"c1-{r}", Job($"cluster1-{r}", 1));
                cluster1.Add(clock.Elapsed.TotalSeconds);
                clock.Restart();
                await RunClusterAsync(client, $"c2-{r}", Job($"cluster2-{r}", 2));
                cluster2.Add(clock.Elapsed.TotalSeconds);
            }
            double l = Median(local), c1 = Median(cluster1), c2 = Median(cluster2);
            // On a shared machine the minimum is the run least disturbed by others: the fairer estimate of each path's own cost.
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"minimums: single process {local.Min():F2} s, 1 silo ×1 {cluster1.Min():F2} s (overhead {(cluster1.Min() / local.Min() - 1) * 100:+0.0;-0.0} %), 1 silo ×2 {cluster2.Min():F2} s"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"rows {rows}, partitions of 10,000, KernelSHAP 16 samples, {repeats} repeats, medians:"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  single process (LocalJobRunner): {l:F2} s ({rows / l:N0} rows/s)  all: {string.Join(", ", local.Select(x => x.ToString("F2", CultureInfo.InvariantCulture)))}"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  1 silo, 1 partition at a time:   {c1:F2} s ({rows / c1:N0} rows/s), overhead {(c1 / l - 1) * 100:+0.0;-0.0} %  all: {string.Join(", ", cluster1.Select(x => x.ToString("F2", CultureInfo.InvariantCulture)))}"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  1 silo, 2 partitions at a time:  {c2:F2} s ({rows / c2:N0} rows/s), {(c2 / l - 1) * 100:+0.0;-0.0} %  all: {string.Join(", ", cluster2.Select(x => x.ToString("F2", CultureInfo.InvariantCulture)))}"));
            await clientHost.StopAsync();
            await siloHost.StopAsync();
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    private static async Task RunClusterAsync(IClusterClient client, string id, ExplanationJob job)
    {
        var grain = client.GetGrain<IExplanationJobGrain>(id);
        var progress = await grain.SubmitAsync(job);
        while (!progress.IsFinished)
        {
            await Task.Delay(20);
            progress = await grain.GetProgressAsync();
        }
        if (progress.Status != JobStatus.Completed) throw new InvalidOperationException($"Job {id}: {progress}");
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
