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
            SessionConfig = Environment.GetEnvironmentVariable("PROFILE_CONFIG"),
        };
        string models = Path.Combine(AppContext.BaseDirectory, "BenchModels");
        var images = Npy.ReadFloat(Path.Combine(models, "resnet", "input.npy"));
        string resnet = Path.Combine(models, "resnet", "model.onnx");
        var resnetOracle = new OnnxGradientOracle(resnet, options: options);
        var blockOracle = new OnnxLayerOracle(resnet, "/blocks.1/blocks.1.3/Conv_output_0", options: options);
        Func<AttributionResult> run = workload switch
        {
            "ig_resnet" => () => new IntegratedGradients(resnetOracle).Attribute(images, target: Target.Class(0), steps: 50),
            "gradcam_resnet" => () => new LayerGradCam(blockOracle).Attribute(images, Target.Class(0), reluAttributions: true),
            "gradcam_session" => SessionOnly(blockOracle, images),
            _ => ComparisonWorkload(workload, options),
        };
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

    // The Grad-CAM gradient graph run directly: ONNX Runtime's share of a Grad-CAM call.
    private static Func<AttributionResult> SessionOnly(OnnxLayerOracle oracle, NdArray<float> images)
    {
        var graph = Autodiff.GradientGraphBuilder.Build(oracle.Model, oracle.OutputName, [oracle.LayerName], Autodiff.GradientRuleSet.Standard, [oracle.LayerName]);
        var session = OnnxSession.Get(graph.Model.ToBytes(), oracle.Options);
        var seed = new NdArray<float>(images.Rows, 10);
        for (int i = 0; i < images.Rows; i++) seed.Data[i * 10] = 1;
        for (int k = 0; k < 3; k++)
        {
            long b0 = GC.GetAllocatedBytesForCurrentThread();
            using (var v = NamedInput.Of(oracle.InputName, images).ToOrtValue()) { }
            long b1 = GC.GetAllocatedBytesForCurrentThread();
            using (var ro = new Microsoft.ML.OnnxRuntime.RunOptions())
            using (var vi = NamedInput.Of(oracle.InputName, images).ToOrtValue())
            using (var vs = NamedInput.Of(graph.SeedInput, seed).ToOrtValue())
            using (var res = session.Session.Run(ro, [oracle.InputName, graph.SeedInput], [vi, vs], [oracle.OutputName, oracle.LayerName, graph.GradientOutputs[0]])) { }
            long b2 = GC.GetAllocatedBytesForCurrentThread();
            Console.WriteLine($"OrtValue from images: {b1 - b0} B; Session.Run: {b2 - b1} B");
        }
        return () =>
        {
            var r = session.Run([NamedInput.Of(oracle.InputName, images), NamedInput.Of(graph.SeedInput, seed)], [oracle.OutputName, oracle.LayerName, graph.GradientOutputs[0]]);
            return new AttributionResult(r[2], null!);
        };
    }

    // Any other workload of the Captum comparison, by its benchmark name.
    private static Func<AttributionResult> ComparisonWorkload(string name, RuntimeOptions options)
    {
        var method = typeof(ComparisonBenchmarks).GetMethod(name)
            ?? throw new ArgumentException($"Unknown workload '{name}'; use gradcam_session or a ComparisonBenchmarks method.");
        var benchmarks = new ComparisonBenchmarks { Options = options };
        benchmarks.Setup();
        return () => (AttributionResult)method.Invoke(benchmarks, null)!;
    }
}
