using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Microsoft.ML.Attribution.Orleans.Tests;

/// <summary>Redis clustering and Redis job-plan storage against a real local redis-server (loopback, started and stopped here).</summary>
[TestClass]
public sealed class RedisClusterTests
{
    [TestMethod]
    public async Task TwoSilosOnRedis_RunAJob_AndItsPlanSurvivesTheCluster()
    {
        string? server = new[] { "/usr/bin/redis-server", "/usr/local/bin/redis-server" }.FirstOrDefault(File.Exists);
        if (server is null)
            Assert.Inconclusive("redis-server is not installed (Debian: apt-get install -y --no-install-recommends redis-server).");
        using var fixtures = new JobFixtures();
        int port = FreePort();
        using var redis = Process.Start(new ProcessStartInfo(server, $"--port {port} --bind 127.0.0.1 --save \"\" --appendonly no --protected-mode yes")
        {
            RedirectStandardOutput = true,
            UseShellExecute = false,
        })!;
        try
        {
            await WaitForPortAsync(port);
            var job = fixtures.KernelShapJob(fixtures.Input(20_000), "cluster", partitionRows: 2_000);
            int silo = FreePort(), gateway = FreePort(), silo2 = FreePort(), gateway2 = FreePort();
            var settings = new ClusterSettings { Redis = $"127.0.0.1:{port}", ServiceId = "redis-test-" + Guid.NewGuid().ToString("N")[..8] };
            var silos = new[]
            {
                await (settings with { SiloPort = silo, GatewayPort = gateway }).StartSiloAsync(),
                await (settings with { SiloPort = silo2, GatewayPort = gateway2 }).StartSiloAsync(),
            };
            using (var client = await settings.StartClientAsync())
            {
                var grain = client.Services.GetRequiredService<IClusterClient>().GetGrain<IExplanationJobGrain>("redis");
                await grain.SubmitAsync(job);
                var progress = await JobFixtures.WaitAsync(grain, timeout: TimeSpan.FromMinutes(2));
                Assert.AreEqual(JobStatus.Completed, progress.Status, progress.ToString());
                Assert.AreEqual(20_000, progress.RowsDone);
                await client.StopAsync();
            }
            foreach (var host in silos) { await host.StopAsync(); host.Dispose(); }

            // A new silo (new ports, same Redis) reads the finished job's plan from Redis grain storage.
            using var again = await (settings with { SiloPort = FreePort(), GatewayPort = gateway }).StartSiloAsync();
            using var client2 = await settings.StartClientAsync();
            var restored = await client2.Services.GetRequiredService<IClusterClient>().GetGrain<IExplanationJobGrain>("redis").GetProgressAsync();
            Assert.AreEqual(JobStatus.Completed, restored.Status);
            Assert.AreEqual(10, restored.PartitionsDone);
            await client2.StopAsync();
            await again.StopAsync();
            Assert.AreEqual(20_000, (await JobFixtures.ReadOutputAsync(job.OutputPath)).Rows.Distinct().Count());
        }
        finally
        {
            redis.Kill();
            await redis.WaitForExitAsync();
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static async Task WaitForPortAsync(int port)
    {
        for (int i = 0; i < 100; i++)
        {
            try
            {
                using var socket = new TcpClient();
                await socket.ConnectAsync(IPAddress.Loopback, port);
                return;
            }
            catch (SocketException)
            {
                await Task.Delay(100);
            }
        }
        Assert.Inconclusive($"redis-server did not listen on port {port} within 10 s.");
    }
}
