using Microsoft.ML.Attribution.Autodiff;
using Microsoft.ML.Attribution.Onnx;
using Microsoft.ML.OnnxRuntime;

namespace Microsoft.ML.Attribution.Tests.Autodiff;

/// <summary>
/// Central-difference check for models of either float type. ONNX Runtime's CPU provider runs Conv, ConvTranspose,
/// AveragePool and Resize in float32 only, so graphs with those ops are checked in float32: a larger step h and a
/// looser tolerance (the ops checked are piecewise linear, so the step adds no truncation error away from kinks;
/// float32 rounding in a sum of many outputs makes steps below ~1e-2 noisy).
/// </summary>
internal static class SpatialGradientCheck
{
    public static void AssertMatches(OnnxModel model, string input, int[] shape, int seed = 1, double tolerance = 1e-6,
        double? step = null, Func<Random, int, double>? values = null, bool piecewiseLinear = false)
    {
        string output = model.Outputs[0].Name;
        bool single = model.Types[input].ElemType == OnnxDataType.Float;
        double h = step ?? (single ? 1e-2 : 1e-6);
        var random = new Random(seed);
        var data = Enumerable.Range(0, shape.Aggregate(1, (a, b) => a * b)).Select(i => values?.Invoke(random, i) ?? random.NextDouble() * 2 - 1).ToArray();
        using var forward = new Runner(model.WithOutputs([output]).ToBytes(), single);
        var (y, yShape) = forward.Run(new() { [input] = (data, shape) }, [output])[0];
        var seedValues = y.Select(_ => random.NextDouble() * 2 - 1).ToArray();

        var graph = GradientGraphBuilder.Build(model, output, [input]);
        using var backward = new Runner(graph.Model.ToBytes(), single);
        var (analytic, gShape) = backward.Run(new() { [input] = (data, shape), [graph.SeedInput] = (seedValues, yShape) }, graph.GradientOutputs)[0];
        CollectionAssert.AreEqual(shape, gShape, "the gradient has the input's shape");

        double Objective()
        {
            var v = forward.Run(new() { [input] = (data, shape) }, [output])[0].Data;
            double s = 0;
            for (int i = 0; i < v.Length; i++) s += v[i] * seedValues[i];
            return s;
        }

        // A Relu or max switching inside [x−h, x+h] spoils the central difference; for a piecewise-linear model a
        // one-sided difference over a shorter step still sees a single linear piece and is exact up to rounding.
        bool OneSidedMatches(int i, double original)
        {
            double centre = Objective();
            foreach (double s in new[] { h, h / 3, h / 10 })
            {
                data[i] = original + s;
                double plus = Objective();
                data[i] = original - s;
                double minus = Objective();
                data[i] = original;
                foreach (double estimate in new[] { (plus - centre) / s, (centre - minus) / s })
                {
                    if (Math.Abs(estimate - analytic[i]) <= tolerance * Math.Max(1, Math.Abs(estimate))) return true;
                }
            }
            return false;
        }

        for (int i = 0; i < data.Length; i++)
        {
            double original = data[i];
            data[i] = original + h;
            double plus = Objective();
            data[i] = original - h;
            double minus = Objective();
            data[i] = original;
            double numeric = (plus - minus) / (2 * h);
            bool Close(double estimate) => Math.Abs(estimate - analytic[i]) <= tolerance * Math.Max(1, Math.Abs(estimate));
            if (piecewiseLinear && !Close(numeric) && OneSidedMatches(i, original)) continue;
            Assert.IsTrue(Close(numeric),
                $"d/d{input}[{i}]: analytic {analytic[i]:G8}, numeric {numeric:G8}");
        }
    }

    /// <summary>An ORT session (graph optimisations off) fed and read as doubles whatever the model's float type.</summary>
    public sealed class Runner(byte[] model, bool single) : IDisposable
    {
        private readonly InferenceSession _session = new(model, new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_DISABLE_ALL });

        public List<(double[] Data, int[] Shape)> Run(Dictionary<string, (double[] Data, int[] Shape)> feeds, IReadOnlyList<string> outputs)
        {
            var names = feeds.Keys.ToList();
            var values = names.Select(n =>
            {
                var dims = feeds[n].Shape.Select(d => (long)d).ToArray();
                return single
                    ? OrtValue.CreateTensorValueFromMemory(feeds[n].Data.Select(v => (float)v).ToArray(), dims)
                    : OrtValue.CreateTensorValueFromMemory(feeds[n].Data, dims);
            }).ToList();
            try
            {
                // Held in a variable so the GC cannot finalize the native options while the run uses them.
                using var runOptions = new RunOptions();
                using var results = _session.Run(runOptions, names, values, outputs.ToList());
                return results.Select(r => (
                    single ? r.GetTensorDataAsSpan<float>().ToArray().Select(v => (double)v).ToArray() : r.GetTensorDataAsSpan<double>().ToArray(),
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
