using System.Diagnostics;
using System.Text.Json;
using Microsoft.ML.Attribution.Methods;
using Microsoft.ML.Attribution.Oracles;
using Microsoft.ML.Attribution.Runtime;
using Microsoft.ML.Attribution.Tensors;

namespace Microsoft.ML.Attribution.Benchmarks;

/// <summary>
/// Runs one comparison workload under ONNX Runtime's profiler and prints kernel time per op type (the profile JSON and
/// the optimized graphs stay under the given folder). Usage: <c>-- profile ig_resnet /tmp/prof</c> (any ComparisonBenchmarks
/// method, or gradcam_session: the Grad-CAM graph run directly); PROFILE_OFF=1 times without the profiler.
/// </summary>
public static class ProfileProbe
{
    public static void Run(string workload, string folder, int repeats = 50)
    {
        Directory.CreateDirectory(folder);
        var options = new RuntimeOptions
        {
            ProfilePrefix = Environment.GetEnvironmentVariable("PROFILE_OFF") is null ? Path.Combine(folder, workload) : null,
            IntraOpThreads = int.TryParse(Environment.GetEnvironmentVariable("PROFILE_THREADS"), out int t) ? t : 0,
        };
        var benchmarks = new ComparisonBenchmarks { Options = options };
        benchmarks.Setup();
        Func<AttributionResult> run = workload == "gradcam_session" ? GradCamSessionOnly(options)
            : typeof(ComparisonBenchmarks).GetMethod(workload) is { } method ? () => (AttributionResult)method.Invoke(benchmarks, null)!
            : throw new ArgumentException($"Unknown workload '{workload}'; use gradcam_session or a ComparisonBenchmarks method.");
        run();
        run();
        var times = new double[repeats];
        for (int i = 0; i < repeats; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            run();
            times[i] = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
        }
        Array.Sort(times);
        long before = GC.GetAllocatedBytesForCurrentThread();
        run();
        Console.WriteLine($"allocated per run: {(GC.GetAllocatedBytesForCurrentThread() - before) / 1024.0:0} KiB");
        Console.WriteLine($"{workload}: min {times[0]:0.00} ms, median {times[repeats / 2]:0.00} ms per run " +
            $"(profiling {(options.ProfilePrefix is null ? "off" : "on")}, {options.IntraOpThreads} threads)");
        foreach (var optimized in Directory.GetFiles(folder, workload + "_*.onnx"))
        {
            // NCHWc reorders and their neighbours: where the optimized graph leaves the blocked layout.
            var graph = Onnx.OnnxModel.Load(File.ReadAllBytes(optimized)).Graph;
            Console.WriteLine($"{Path.GetFileName(optimized)}: {graph.Node.Count} nodes; " +
                string.Join(", ", graph.Node.GroupBy(n => n.OpType).OrderByDescending(g => g.Count()).Select(g => $"{g.Key}×{g.Count()}")));
            if (Environment.GetEnvironmentVariable("PROFILE_NODES") is not null)
                foreach (var n in graph.Node)
                    Console.WriteLine($"    {n.OpType} {n.Domain} [{string.Join(", ", n.Input)}] -> [{string.Join(", ", n.Output)}]");
        }
        foreach (var file in OnnxSession.EndProfiling(options).Where(f => f.Length > 0))
        {
            var byOp = new Dictionary<string, double>();
            double total = 0;
            using var doc = JsonDocument.Parse(File.ReadAllText(file));
            foreach (var e in doc.RootElement.EnumerateArray())
            {
                if (e.GetProperty("cat").GetString() != "Node" || !e.GetProperty("name").GetString()!.EndsWith("_kernel_time", StringComparison.Ordinal)) continue;
                string op = e.GetProperty("args").GetProperty("op_name").GetString()!;
                double us = e.GetProperty("dur").GetDouble();
                byOp[op] = byOp.GetValueOrDefault(op) + us;
                total += us;
            }
            Console.WriteLine($"{Path.GetFileName(file)}: kernel {total / 1000 / (repeats + 1):0.0} ms per run");
            foreach (var (op, us) in byOp.OrderByDescending(p => p.Value).Take(12))
                Console.WriteLine($"  {op,-28} {us / 1000 / (repeats + 1),8:0.00} ms  {100 * us / total,5:0.0}%");
        }
    }

    // The Grad-CAM gradient graph run directly (ONNX Runtime's share of a Grad-CAM call), on the comparison's inputs.
    private static Func<AttributionResult> GradCamSessionOnly(RuntimeOptions options)
    {
        string folder = Path.Combine(AppContext.BaseDirectory, "BenchModels", "resnet");
        var images = Npy.ReadFloat(Path.Combine(folder, "input.npy"));
        var oracle = new OnnxLayerOracle(Path.Combine(folder, "model.onnx"), ComparisonBenchmarks.ResNetBlock, options: options);
        var graph = Autodiff.GradientGraphBuilder.Build(oracle.Model, oracle.OutputName, [oracle.LayerName], Autodiff.GradientRuleSet.Standard, [oracle.LayerName]);
        var session = OnnxSession.Get(graph.Model.ToBytes(), oracle.Options);
        var seed = new NdArray<float>(images.Rows, 10);
        for (int i = 0; i < images.Rows; i++) seed.Data[i * 10] = 1;
        return () => new AttributionResult(session.Run([NamedInput.Of(oracle.InputName, images), NamedInput.Of(graph.SeedInput, seed)],
            [oracle.OutputName, oracle.LayerName, graph.GradientOutputs[0]])[2], null!);
    }
}
