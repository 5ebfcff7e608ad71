using Microsoft.ML.Attribution.Autodiff;
using Microsoft.ML.Attribution.Onnx;
using Microsoft.ML.OnnxRuntime;

namespace Microsoft.ML.Attribution.Tests.Autodiff;

/// <summary>
/// Central differences for float32 models: for ops that ONNX Runtime's CPU provider runs only in float32 (Gelu, Erf)
/// and for real exported models. A larger step and a looser tolerance than <see cref="Support.GradientCheck"/>:
/// float32 rounding of the objective, divided by 2h, is the dominant error.
/// </summary>
internal static class Float32GradientCheck
{
    /// <param name="values">Fixed values for some float inputs (else uniform in [lo, hi]).</param>
    /// <param name="int64Inputs">Integer inputs (token ids) that are fed but not differentiated.</param>
    /// <param name="seedValues">dOutput; random in [−1, 1] when null.</param>
    /// <returns>The largest absolute error seen.</returns>
    public static double AssertMatchesFiniteDifferences(OnnxModel model, Dictionary<string, int[]> inputShapes,
        int seed = 1, double lo = -1, double hi = 1, double h = 1e-2, double absoluteTolerance = 1e-3,
        double relativeTolerance = 1e-2, string? output = null, IReadOnlyList<string>? wrt = null,
        Dictionary<string, float[]>? values = null, Dictionary<string, (long[] Data, int[] Shape)>? int64Inputs = null,
        float[]? seedValues = null)
    {
        var random = new Random(seed);
        output ??= model.Outputs[0].Name;
        wrt ??= inputShapes.Keys.ToList();
        var feeds = inputShapes.ToDictionary(p => p.Key, p => (Data: values?.GetValueOrDefault(p.Key) ??
            Enumerable.Range(0, p.Value.Aggregate(1, (a, b) => a * b)).Select(_ => (float)(lo + (hi - lo) * random.NextDouble())).ToArray(), Shape: p.Value));
        int64Inputs ??= [];

        using var forward = new Session(model.WithOutputs([output]).ToBytes());
        var y = forward.Run(feeds, int64Inputs, [output])[0];
        seedValues ??= Enumerable.Range(0, y.Data.Length).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();

        var graph = GradientGraphBuilder.Build(model, output, wrt);
        using var backward = new Session(graph.Model.ToBytes());
        var gradientFeeds = new Dictionary<string, (float[] Data, int[] Shape)>(feeds) { [graph.SeedInput] = (seedValues, y.Shape) };
        var analytic = backward.Run(gradientFeeds, int64Inputs, graph.GradientOutputs);

        double Objective()
        {
            var v = forward.Run(feeds, int64Inputs, [output])[0].Data;
            double s = 0;
            for (int i = 0; i < v.Length; i++) s += (double)v[i] * seedValues[i];
            return s;
        }

        double worst = 0;
        for (int w = 0; w < wrt.Count; w++)
        {
            var (data, shape) = feeds[wrt[w]];
            CollectionAssert.AreEqual(shape, analytic[w].Shape, $"gradient of '{wrt[w]}' has the wrong shape");
            for (int i = 0; i < data.Length; i++)
            {
                float original = data[i];
                data[i] = (float)(original + h);
                double plus = Objective();
                data[i] = (float)(original - h);
                double minus = Objective();
                data[i] = original;
                double numeric = (plus - minus) / (2 * h);
                double error = Math.Abs(numeric - analytic[w].Data[i]);
                worst = Math.Max(worst, error);
                Assert.IsTrue(error <= absoluteTolerance + relativeTolerance * Math.Abs(numeric),
                    $"d/d{wrt[w]}[{i}]: analytic {analytic[w].Data[i]:G8}, numeric {numeric:G8}");
            }
        }
        return worst;
    }

    /// <summary>An ONNX Runtime session without graph optimisations, fed float32 and int64 tensors.</summary>
    public sealed class Session(byte[] model) : IDisposable
    {
        private readonly InferenceSession _session = new(model, new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_DISABLE_ALL });

        public List<(float[] Data, int[] Shape)> Run(Dictionary<string, (float[] Data, int[] Shape)> feeds,
            Dictionary<string, (long[] Data, int[] Shape)> int64Feeds, IReadOnlyList<string> outputs)
        {
            var names = _session.InputMetadata.Keys.ToList();
            var ortValues = names.Select(n => feeds.TryGetValue(n, out var f)
                ? OrtValue.CreateTensorValueFromMemory(f.Data, f.Shape.Select(d => (long)d).ToArray())
                : OrtValue.CreateTensorValueFromMemory(int64Feeds[n].Data, int64Feeds[n].Shape.Select(d => (long)d).ToArray())).ToList();
            try
            {
                using var results = _session.Run(new RunOptions(), names, ortValues, outputs.ToList());
                return results.Select(r => (r.GetTensorDataAsSpan<float>().ToArray(),
                    r.GetTensorTypeAndShape().Shape.Select(d => (int)d).ToArray())).ToList();
            }
            finally
            {
                foreach (var v in ortValues) v.Dispose();
            }
        }

        public void Dispose() => _session.Dispose();
    }
}
