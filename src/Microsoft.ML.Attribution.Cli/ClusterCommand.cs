using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.ML.Attribution.Methods;
using Microsoft.ML.Attribution.Orleans;

namespace Microsoft.ML.Attribution.Cli;

/// <summary>
/// <c>mlnet-explain cluster silo|submit|status|cancel|run</c>: explanation jobs on an Orleans cluster (package
/// Microsoft.ML.Attribution.Orleans). Localhost clustering with job plans in a folder by default; <c>--redis</c> for
/// Redis clustering and storage. <c>run</c> is the same job in this process, the reference a cluster's output equals.
/// </summary>
internal static class ClusterCommand
{
    public const string Usage = """
        mlnet-explain cluster silo [--silo-port 11111] [--gateway-port 30000] [--primary-port 11111] [--state DIR] [--redis HOST:PORT]
        mlnet-explain cluster submit --model M.onnx|M.zip --method NAME --input X.parquet --out DIR [--job ID] [--partition-rows 10000]
            [--target N] [--features a,b,c] [--batch-size INT] [--max-attempts 3] [--concurrency 8] [--wait true|false] [method options]
        mlnet-explain cluster status --job ID [--wait true|false]
        mlnet-explain cluster cancel --job ID
        mlnet-explain cluster run    (submit's options; the same partitions and seeds, in this process)
            submit, status and cancel reach the cluster through [--gateways 30000[,30001…]] or [--redis HOST:PORT]
        """;

    private static readonly string[] Connection = ["redis", "gateways", "state", "quiet"];
    private static readonly string[] SiloOptions = ["silo-port", "gateway-port", "primary-port"];
    private static readonly string[] JobOptions = ["model", "method", "input", "out", "job", "partition-rows", "target", "features", "batch-size",
        "max-attempts", "concurrency", "wait"];

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr, CliSession session)
    {
        if (args.Length == 0) throw new UsageException("cluster needs a subcommand: silo, submit, status, cancel or run");
        string sub = args[0];
        var rest = args[1..];
        var known = sub switch
        {
            "silo" => Connection.Concat(SiloOptions),
            "submit" or "run" => Connection.Concat(JobOptions).Concat(MethodFlags.All),
            "status" or "cancel" => Connection.Append("job").Append("wait"),
            _ => throw new UsageException($"unknown cluster subcommand '{sub}'; use silo, submit, status, cancel or run"),
        };
        var options = CommandLine.Parse(rest, known.ToHashSet(StringComparer.Ordinal));
        var settings = Settings(options);
        return sub switch
        {
            "silo" => RunSilo(settings, stdout, session).GetAwaiter().GetResult(),
            "run" => RunLocal(ReadJob(options), stdout, stderr, session, Quiet(options)).GetAwaiter().GetResult(),
            _ => WithClient(settings, session, client => sub switch
            {
                "submit" => Submit(client, options, stdout, stderr, session),
                "status" => Status(client, options, stdout, stderr, session),
                _ => Cancel(client, options, stdout),
            }).GetAwaiter().GetResult(),
        };
    }

    private static ClusterSettings Settings(CommandLine options)
    {
        var settings = new ClusterSettings { Redis = options.String("redis") };
        if (options.String("state") is { } state) settings = settings with { StateDirectory = Path.GetFullPath(state) };
        if (options.Int("silo-port") is int silo) settings = settings with { SiloPort = silo };
        if (options.Int("gateway-port") is int gateway) settings = settings with { GatewayPort = gateway };
        if (options.Int("primary-port") is int primary) settings = settings with { PrimarySiloPort = primary };
        if (options.Ints("gateways") is { } gateways) settings = settings with { GatewayPorts = gateways };
        return settings;
    }

    private static bool Quiet(CommandLine options) => options.Has("quiet") && options.Bool("quiet") == true;

    private static async Task<int> RunSilo(ClusterSettings settings, TextWriter stdout, CliSession session)
    {
        using var host = await settings.StartSiloAsync(session.Cancellation);
        stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"silo up: silo port {settings.SiloPort}, gateway {settings.GatewayPort}, {(settings.Redis is { } r ? $"Redis {r}" : $"localhost clustering, plans in {settings.StateDirectory}")}; Ctrl+C stops it"));
        try { await Task.Delay(Timeout.Infinite, session.Cancellation); }
        catch (OperationCanceledException) { }
        await host.StopAsync();
        stdout.WriteLine("silo stopped");
        return 0;
    }

    private static ExplanationJob ReadJob(CommandLine options)
    {
        string model = options.Required("model", "(an ONNX model, or an ML.NET model archive .zip)");
        string methodName = options.Required("method", "(a registry method, e.g. kernel-shap, tree-shap)");
        string input = options.Required("input", "(the rows: a Parquet file, one numeric column per feature)");
        string output = options.Required("out", "(the output folder: one Parquet part per partition and manifest.json)");
        var method = MethodRegistry.Find(methodName) ?? throw new UsageException(
            $"unknown method '{methodName}'{(MethodRegistry.Nearest(methodName, MethodRegistry.All.Select(m => m.Name)) is { } near ? $" (did you mean '{near}'?)" : "")}");
        var flags = MethodFlags.For(method, null);
        foreach (var given in options.Given)
        {
            if (MethodFlags.All.Contains(given) && !flags.Contains(given) && !JobOptions.Contains(given) && !Connection.Contains(given))
                throw new UsageException($"option --{given} is not used by method {methodName}");
        }
        if (!string.Equals(Path.GetExtension(input), ".parquet", StringComparison.OrdinalIgnoreCase))
            throw new UsageException($"--input '{input}' must be a .parquet file (cluster jobs read row ranges of a Parquet table)");
        int partitionRows = options.Int("partition-rows") ?? 10_000;
        if (partitionRows <= 0) throw new UsageException($"--partition-rows must be positive, got {partitionRows}");
        MethodOptions methodOptions;
        try { methodOptions = MethodFlags.Read(method, options); }
        catch (ArgumentException e) { throw new UsageException(e.Message); }
        var job = ExplanationJob.Create(model, methodName, methodOptions, input, output, partitionRows, target: options.Int("target"));
        return job with
        {
            FeatureColumns = options.String("features")?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
            InternalBatchSize = options.Int("batch-size"),
            MaxAttempts = options.Int("max-attempts") ?? job.MaxAttempts,
            MaxConcurrentPartitions = options.Int("concurrency") ?? job.MaxConcurrentPartitions,
        };
    }

    private static async Task<int> RunLocal(ExplanationJob job, TextWriter stdout, TextWriter stderr, CliSession session, bool quiet)
    {
        long total = await ParquetTables.CountRowsAsync(job.InputPath, session.Cancellation);
        var progress = new Progress(session.Terminal && !quiet ? stderr : null, job.Method, checked((int)total));
        var manifest = await LocalJobRunner.RunAsync(job, progress: new Progress<long>(done => progress.Report((int)done)), cancellation: session.Cancellation);
        progress.Finish();
        stdout.WriteLine($"{job.Method}: wrote {manifest.RowsWritten} rows in {manifest.Parts.Count} parts to {job.OutputPath}");
        return 0;
    }

    private static async Task<int> WithClient(ClusterSettings settings, CliSession session, Func<IClusterClient, Task<int>> run)
    {
        using var host = await settings.StartClientAsync(session.Cancellation);
        try { return await run(host.Services.GetRequiredService<IClusterClient>()); }
        finally { await host.StopAsync(); }
    }

    private static async Task<int> Submit(IClusterClient client, CommandLine options, TextWriter stdout, TextWriter stderr, CliSession session)
    {
        var job = ReadJob(options);
        string id = options.String("job") ?? Guid.NewGuid().ToString("N")[..12];
        var grain = client.GetGrain<IExplanationJobGrain>(id);
        var progress = await grain.SubmitAsync(job);
        stdout.WriteLine($"job {id}: {progress}");
        return options.Bool("wait") == false ? 0 : await Follow(grain, id, stdout, stderr, session, Quiet(options));
    }

    private static async Task<int> Status(IClusterClient client, CommandLine options, TextWriter stdout, TextWriter stderr, CliSession session)
    {
        string id = options.Required("job", "(the id submit printed)");
        var grain = client.GetGrain<IExplanationJobGrain>(id);
        if (options.Bool("wait") == true) return await Follow(grain, id, stdout, stderr, session, Quiet(options));
        var progress = await grain.GetProgressAsync();
        Print(id, progress, stdout);
        return progress.Status == JobStatus.None ? 1 : 0;
    }

    private static async Task<int> Cancel(IClusterClient client, CommandLine options, TextWriter stdout)
    {
        string id = options.Required("job", "(the id submit printed)");
        Print(id, await client.GetGrain<IExplanationJobGrain>(id).CancelAsync(), stdout);
        return 0;
    }

    /// <summary>Polls the job with a progress line until it finishes; Ctrl+C stops following, not the job.</summary>
    private static async Task<int> Follow(IExplanationJobGrain grain, string id, TextWriter stdout, TextWriter stderr, CliSession session, bool quiet)
    {
        JobProgress progress;
        Progress? bar = null;
        while (true)
        {
            progress = await grain.GetProgressAsync();
            if (progress.Status == JobStatus.None) break;
            bar ??= new Progress(session.Terminal && !quiet ? stderr : null, $"job {id}", checked((int)progress.TotalRows));
            bar.Report((int)progress.RowsDone);
            if (progress.IsFinished) break;
            await Task.Delay(500, session.Cancellation);
        }
        bar?.Finish();
        Print(id, progress, stdout);
        return progress.Status == JobStatus.Completed ? 0 : 1;
    }

    private static void Print(string id, JobProgress progress, TextWriter stdout)
    {
        stdout.WriteLine($"job {id}: {progress}");
        foreach (var f in progress.Failures)
            stdout.WriteLine($"  partition {f.Partition} (rows {f.FirstRow}..{f.FirstRow + f.Rows - 1}) failed after {f.Attempts} tries: {f.Error}");
    }
}
