using Microsoft.Extensions.DependencyInjection;
using Orleans.Configuration;
using Orleans.Runtime.Hosting;

namespace Microsoft.ML.Attribution.Orleans;

/// <summary>Silo and client setup for explanation jobs.</summary>
public static class ExplanationJobs
{
    /// <summary>Name of the grain storage that holds job plans (register Redis, ADO.NET or <see cref="FileGrainStorage"/> under it).</summary>
    public const string StorageName = "explanation-jobs";

    /// <summary>
    /// Adds the job and worker grains' services: the silo's model cache, and a response timeout long enough for one
    /// partition (a lost silo fails its calls through membership, not through this timeout).
    /// </summary>
    public static ISiloBuilder AddExplanationJobs(this ISiloBuilder builder, TimeSpan? partitionTimeout = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddSingleton<ExplanationModels>();
        builder.Configure<SiloMessagingOptions>(o => o.ResponseTimeout = partitionTimeout ?? TimeSpan.FromMinutes(10));
        return builder;
    }

    /// <summary>Keeps job plans as JSON files in <paramref name="directory"/> (one machine, or a shared file system).</summary>
    public static ISiloBuilder AddExplanationJobFileStorage(this ISiloBuilder builder, string directory)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        builder.Services.AddGrainStorage(StorageName, (_, _) => new FileGrainStorage(directory));
        return builder;
    }
}
