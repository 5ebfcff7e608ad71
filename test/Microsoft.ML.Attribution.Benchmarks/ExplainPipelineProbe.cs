using System.Diagnostics;
using Microsoft.ML.Attribution.MLNet;
using Microsoft.ML.Data;

namespace Microsoft.ML.Attribution.Benchmarks;

/// <summary>
/// Rows/s and peak memory of an ML.NET pipeline explaining N rows (the wine MLP fixture, rows resampled from the 16
/// fixture rows with noise) through <c>mlContext.Attribution().Explain</c>, consuming the attribution column by cursor.
/// Run: dotnet run -c Release --project test/Microsoft.ML.Attribution.Benchmarks -- pipeline 10000 integrated-gradients
/// </summary>
public static class ExplainPipelineProbe
{
    private sealed class Row
    {
        [VectorType(13)]
        public float[] Features { get; set; } = [];
    }

    public static void Run(int rows, string method)
    {
        string fixtures = Path.Combine(AppContext.BaseDirectory, "Fixtures", "wine_mlp");
        var seeds = Tensors.Npy.ReadFloat(Path.Combine(fixtures, "input.npy"));
        var random = new Random(1);
        // Streamed rows: the source is lazy, so memory measures the explainer, not a materialised table.
        IEnumerable<Row> Source()
        {
            for (int i = 0; i < rows; i++)
                yield return new Row { Features = seeds.Row(i % seeds.Rows).ToArray().Select(v => v + 0.05f * (float)(random.NextDouble() - 0.5)).ToArray() };
        }
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(Source());
        var explained = ml.Attribution().Explain(Path.Combine(fixtures, "model.onnx"), new ExplainOptions { Method = method, Target = 0 })
            .Fit(data).Transform(data);
        var watch = Stopwatch.StartNew();
        double checksum = 0;
        foreach (var a in explained.GetColumn<float[]>("Attributions")) checksum += a[0];
        watch.Stop();
        string peak = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("VmHWM", StringComparison.Ordinal)) ?? "VmHWM: n/a";
        Console.WriteLine($"{method} through the pipeline, {rows} rows: {watch.Elapsed.TotalSeconds:0.00} s, " +
            $"{rows / watch.Elapsed.TotalSeconds:0} rows/s, peak {peak.Split(':')[1].Trim()} (checksum {checksum:0.00})");
    }
}
