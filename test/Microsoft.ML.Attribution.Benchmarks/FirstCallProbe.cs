using System.Diagnostics;
using Microsoft.ML.Attribution.Autodiff;
using Microsoft.ML.Attribution.Methods;
using Microsoft.ML.Attribution.Onnx;
using Microsoft.ML.Attribution.Oracles;
using Microsoft.ML.Attribution.Runtime;
using Microsoft.ML.Attribution.Tensors;

namespace Microsoft.ML.Attribution.Benchmarks;

/// <summary>
/// Where the first Saliency call on a model spends its time, phase by phase, in a fresh process (issue 13's first call).
/// Usage: <c>-- firstcall model.onnx input.npy</c>; PROBE_CACHE_DIR=folder uses the disk cache. Each phase runs once, in
/// the order a first call runs them.
/// </summary>
public static class FirstCallProbe
{
    public static void Run(string modelPath, string inputPath)
    {
        var total = Stopwatch.StartNew();
        var clock = Stopwatch.StartNew();
        void Phase(string name)
        {
            Console.WriteLine($"{name,-40} {clock.Elapsed.TotalMilliseconds,8:0} ms");
            clock.Restart();
        }
        var input = Npy.ReadFloat(inputPath);
        Phase("read input");
        if (Environment.GetEnvironmentVariable("PROBE_ORT_FIRST") is { } tiny)
        {
            _ = Microsoft.ML.OnnxRuntime.OrtEnv.Instance();
            Phase("ONNX Runtime environment");
            _ = OnnxSession.Get(File.ReadAllBytes(tiny), RuntimeOptions.Default);
            Phase("a tiny model's session");
        }
        var model = OnnxModel.Load(modelPath);
        Phase("load model (protobuf, shape inference)");
        var options = new RuntimeOptions { CacheDirectory = Environment.GetEnvironmentVariable("PROBE_CACHE_DIR") };
        var oracle = new OnnxGradientOracle(model, null, null, options);
        Phase("oracle");
        var bytes = oracle.Model.ToBytes();
        Phase("serialize forward model");
        _ = DiskCache.Hash(bytes);
        Phase("hash forward model");
        var forward = OnnxSession.Get(bytes, options);
        Phase($"forward session ({(forward.FromDiskCache ? "from disk" : "built")})");
        var predicted = oracle.Forward(input);
        Phase("first forward (forward session)");
        var graph = oracle.Graph(GradientRuleSet.Standard, [oracle.InputName]);
        Phase($"gradient session ({(graph.Session.FromDiskCache ? "from disk" : "built")})");
        var result = new Saliency(oracle).Attribute(input);
        Phase("first Saliency call");
        _ = new Saliency(oracle).Attribute(input);
        Phase("second Saliency call");
        Console.WriteLine($"total {total.Elapsed.TotalMilliseconds:0} ms (cache: {options.CacheDirectory ?? "none"}); " +
            $"peak working set {Process.GetCurrentProcess().PeakWorkingSet64 / 1e6:0} MB; |attr| {result.Attributions.Data.Sum(MathF.Abs):G4}");
    }
}
