using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using StackExchange.Redis;

namespace Microsoft.ML.Attribution.Orleans;

/// <summary>
/// How silos and clients of an explanation cluster find each other and where job plans are kept: localhost clustering
/// with plans in a folder (one machine, the default), or Redis clustering and Redis grain storage (production).
/// </summary>
public sealed record ClusterSettings
{
    /// <summary>Orleans cluster id.</summary>
    public string ClusterId { get; init; } = "mlnet-explain";

    /// <summary>Orleans service id (grain state is keyed by it).</summary>
    public string ServiceId { get; init; } = "mlnet-explain";

    /// <summary>A Redis connection string (e.g. <c>localhost:6379</c>): Redis clustering and job plans in Redis. Null: localhost clustering.</summary>
    public string? Redis { get; init; }

    /// <summary>Folder of job plans when <see cref="Redis"/> is null.</summary>
    public string StateDirectory { get; init; } = Path.Combine(Path.GetTempPath(), "mlnet-explain-cluster");

    /// <summary>This silo's silo-to-silo port.</summary>
    public int SiloPort { get; init; } = 11111;

    /// <summary>This silo's client gateway port.</summary>
    public int GatewayPort { get; init; } = 30000;

    /// <summary>Localhost clustering: the first silo's silo port, which the others join through.</summary>
    public int PrimarySiloPort { get; init; } = 11111;

    /// <summary>Localhost clustering: the gateway ports a client tries.</summary>
    public IReadOnlyList<int> GatewayPorts { get; init; } = [30000];

    /// <summary>Least log level of the hosts <see cref="StartSiloAsync"/> and <see cref="StartClientAsync"/> start.</summary>
    public LogLevel MinimumLogLevel { get; init; } = LogLevel.Warning;

    /// <summary>Configures a silo: clustering, job-plan storage and the job grains' services.</summary>
    public ISiloBuilder Configure(ISiloBuilder silo)
    {
        ArgumentNullException.ThrowIfNull(silo);
        if (Redis is { } redis)
        {
            silo.Configure<ClusterOptions>(o => (o.ClusterId, o.ServiceId) = (ClusterId, ServiceId));
            silo.ConfigureEndpoints(IPAddress.Loopback, SiloPort, GatewayPort);
            silo.UseRedisClustering(o => o.ConfigurationOptions = ConfigurationOptions.Parse(redis));
            silo.AddRedisGrainStorage(ExplanationJobs.StorageName, o => o.ConfigurationOptions = ConfigurationOptions.Parse(redis));
        }
        else
        {
            silo.UseLocalhostClustering(SiloPort, GatewayPort, new IPEndPoint(IPAddress.Loopback, PrimarySiloPort), ServiceId, ClusterId);
            silo.AddExplanationJobFileStorage(StateDirectory);
        }
        return silo.AddExplanationJobs();
    }

    /// <summary>Configures a client of the cluster.</summary>
    public IClientBuilder Configure(IClientBuilder client)
    {
        ArgumentNullException.ThrowIfNull(client);
        if (Redis is { } redis)
        {
            client.Configure<ClusterOptions>(o => (o.ClusterId, o.ServiceId) = (ClusterId, ServiceId));
            client.UseRedisClustering(o => o.ConfigurationOptions = ConfigurationOptions.Parse(redis));
        }
        else
        {
            client.UseLocalhostClustering(GatewayPorts.ToArray(), ServiceId, ClusterId);
        }
        return client;
    }

    /// <summary>A started silo host (dispose or stop it to leave the cluster).</summary>
    public async Task<IHost> StartSiloAsync(CancellationToken cancellation = default)
    {
        var host = Host.CreateDefaultBuilder([]).ConfigureLogging(l => l.SetMinimumLevel(MinimumLogLevel)).UseOrleans(silo => Configure(silo)).Build();
        await host.StartAsync(cancellation);
        return host;
    }

    /// <summary>A started client host; its <see cref="IClusterClient"/> is in <c>host.Services</c>.</summary>
    public async Task<IHost> StartClientAsync(CancellationToken cancellation = default)
    {
        var host = Host.CreateDefaultBuilder([]).ConfigureLogging(l => l.SetMinimumLevel(MinimumLogLevel)).UseOrleansClient(client => Configure(client)).Build();
        await host.StartAsync(cancellation);
        return host;
    }
}
