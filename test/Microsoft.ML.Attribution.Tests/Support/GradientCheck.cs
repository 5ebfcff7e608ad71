using Microsoft.ML.Attribution.Autodiff;
using Microsoft.ML.Attribution.Onnx;
using Microsoft.ML.OnnxRuntime;

namespace Microsoft.ML.Attribution.Tests.Support;

/// <summary>Compares built gradient graphs with central finite differences, in float64.</summary>
internal static class GradientCheck
{
    /// <summary>
    /// Feeds random values (in [lo, hi]) to every input, builds d(seed·output)/d(wrt) for all graph inputs and
    /// checks each element against (f(x + h) − f(x − h)) / 2h.
    /// </summary>
    public static void AssertMatchesFiniteDifferences(OnnxModel model, Dictionary<string, int[]> inputShapes,
        int seed = 1, double lo = -1, double hi = 1, double tolerance = 1e-6, string? output = null, IReadOnlyList<string>? wrt = null)
    {
        var random = new Random(seed);
        output ??= model.Outputs[0].Name;
        var feeds = inputShapes.ToDictionary(p => p.Key, p => (Data: Values(random, p.Value, lo, hi), Shape: p.Value));
        wrt ??= inputShapes.Keys.ToList();

        using var forward = new Session(model.WithOutputs([output]).ToBytes());
        var outputValue = forward.Run(feeds, [output])[0];
        var seedValues = Values(random, outputValue.Shape, -1, 1);

        var graph = GradientGraphBuilder.Build(model, output, wrt);
        var gradientFeeds = new Dictionary<string, (double[] Data, int[] Shape)>(feeds)
        {
            [graph.SeedInput] = (seedValues, outputValue.Shape),
        };
        using var backward = new Session(graph.Model.ToBytes());
        var analytic = backward.Run(gradientFeeds, graph.GradientOutputs);

        double Objective(Dictionary<string, (double[] Data, int[] Shape)> f)
        {
            var y = forward.Run(f, [output])[0].Data;
            double s = 0;
            for (int i = 0; i < y.Length; i++) s += y[i] * seedValues[i];
            return s;
        }

        const double h = 1e-6;
        for (int w = 0; w < wrt.Count; w++)
        {
            var (data, shape) = feeds[wrt[w]];
            CollectionAssert.AreEqual(shape, analytic[w].Shape, $"gradient of '{wrt[w]}' has the wrong shape");
            for (int i = 0; i < data.Length; i++)
            {
                double original = data[i];
                data[i] = original + h;
                double plus = Objective(feeds);
                data[i] = original - h;
                double minus = Objective(feeds);
                data[i] = original;
                double numeric = (plus - minus) / (2 * h);
                double error = Math.Abs(numeric - analytic[w].Data[i]);
                Assert.IsTrue(error <= tolerance * Math.Max(1, Math.Abs(numeric)),
                    $"d/d{wrt[w]}[{i}]: analytic {analytic[w].Data[i]:G10}, numeric {numeric:G10}");
            }
        }
    }

    public static double[] Values(Random random, int[] shape, double lo, double hi) =>
        Enumerable.Range(0, shape.Aggregate(1, (a, b) => a * b)).Select(_ => lo + (hi - lo) * random.NextDouble()).ToArray();

    /// <summary>An ONNX Runtime session without graph optimisations, fed float64 tensors.</summary>
    public sealed class Session(byte[] model) : IDisposable
    {
        private readonly InferenceSession _session = new(model, new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_DISABLE_ALL });

        public List<(double[] Data, int[] Shape)> Run(Dictionary<string, (double[] Data, int[] Shape)> feeds, IReadOnlyList<string> outputs)
        {
            var names = _session.InputMetadata.Keys.ToList();
            var values = names.Select(n => OrtValue.CreateTensorValueFromMemory(feeds[n].Data, feeds[n].Shape.Select(d => (long)d).ToArray())).ToList();
            try
            {
                // Held in a variable so the GC cannot finalize the native options while the run uses them.
                using var runOptions = new RunOptions();
                using var results = _session.Run(runOptions, names, values, outputs.ToList());
                return results.Select(r => (r.GetTensorDataAsSpan<double>().ToArray(),
                    r.GetTensorTypeAndShape().Shape.Select(d => (int)d).ToArray())).ToList();
            }
            finally
            {
                foreach (var v in values) v.Dispose();
            }
        }

        public void Dispose() => _session.Dispose();
    }
}
