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
/// Usage: <c>-- firstcall model.onnx input.npy</c>. Each phase runs once, in the order a first call runs them.
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
        var model = OnnxModel.Load(modelPath);
        Phase("load model (protobuf, shape inference)");
        var bytes = model.ToBytes();
        Phase("serialize forward model");
        var forward = OnnxSession.Get(bytes, RuntimeOptions.Default);
        Phase("forward session");
        var graph = GradientGraphBuilder.Build(model, model.Outputs[0].Name, [model.Inputs[0].Name]);
        Phase("build gradient graph");
        var gradientBytes = graph.Model.ToBytes();
        Phase("serialize gradient graph");
        _ = OnnxSession.Get(gradientBytes, RuntimeOptions.Default);
        Phase("gradient session");
        var oracle = new OnnxGradientOracle(modelPath);
        Phase("oracle (cached sessions)");
        var result = new Saliency(oracle).Attribute(input);
        Phase("first Saliency call");
        _ = new Saliency(oracle).Attribute(input);
        Phase("second Saliency call");
        Console.WriteLine($"total {total.Elapsed.TotalMilliseconds:0} ms; forward model {bytes.Length / 1e6:0.0} MB, gradient model {gradientBytes.Length / 1e6:0.0} MB; " +
            $"peak working set {Process.GetCurrentProcess().PeakWorkingSet64 / 1e6:0} MB; |attr| {result.Attributions.Data.Sum(MathF.Abs):G4}");
    }
}
