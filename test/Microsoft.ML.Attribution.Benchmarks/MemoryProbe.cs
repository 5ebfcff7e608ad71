using System.Diagnostics;
using Microsoft.ML.Attribution.Methods;
using Microsoft.ML.Attribution.Oracles;
using Microsoft.ML.Attribution.Tensors;

namespace Microsoft.ML.Attribution.Benchmarks;

/// <summary>
/// Peak memory of Integrated Gradients (50 steps) over N rows of the wine MLP: the expansion rows × steps must stay
/// bounded by the chunk, so peak memory should grow only with the N-sized inputs and results.
/// </summary>
public static class MemoryProbe
{
    public static void Run(int rows)
    {
        string fixtures = Path.Combine(AppContext.BaseDirectory, "Fixtures", "wine_mlp");
        var oracle = new OnnxGradientOracle(Path.Combine(fixtures, "model.onnx"));
        var sixteen = Npy.ReadFloat(Path.Combine(fixtures, "input.npy"));
        var data = new float[rows * sixteen.RowSize];
        for (int i = 0; i < data.Length; i++) data[i] = sixteen.Data[i % sixteen.Length];
        var inputs = new NdArray<float>(data, rows, sixteen.RowSize);
        var watch = Stopwatch.StartNew();
        var result = new IntegratedGradients(oracle).Attribute(inputs, target: Target.Class(0), steps: 50);
        watch.Stop();
        string peak = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("VmHWM", StringComparison.Ordinal)) ?? "VmHWM: n/a";
        Console.WriteLine($"IG 50 steps × {rows} rows: {watch.Elapsed.TotalSeconds:0.00} s, {rows / watch.Elapsed.TotalSeconds:0} rows/s, " +
            $"peak {peak.Split(':')[1].Trim()}, max |delta| {result.ConvergenceDelta!.Max(Math.Abs):E1}");
    }
}
