using Microsoft.ML.Attribution.Autodiff;
using Microsoft.ML.Attribution.Onnx;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Microsoft.ML.Attribution.Tests.Support;

/// <summary>
/// Compares built gradient graphs with central finite differences of seed·output. One checker for every model: values
/// are held as doubles and fed in each input's own element type (float64, float32, int64 ids), so float64 models are
/// checked tightly and float32 ones (ops ONNX Runtime's CPU provider runs only in float32: Conv, ConvTranspose,
/// AveragePool, Resize, Gelu, Erf; real exported models) with a larger step and a looser tolerance, where float32
/// rounding of the objective divided by 2h is the dominant error.
/// </summary>
internal static class GradientCheck
{
    /// <summary>
    /// Float64 check: random inputs in [lo, hi], step 1e-6, error ≤ tolerance·max(1, |numeric|).
    /// <paramref name="int64Inputs"/>: integer inputs (ids) fed but not differentiated.
    /// </summary>
    public static void AssertMatchesFiniteDifferences(OnnxModel model, Dictionary<string, int[]> inputShapes,
        int seed = 1, double lo = -1, double hi = 1, double tolerance = 1e-6, string? output = null, IReadOnlyList<string>? wrt = null,
        Dictionary<string, (double[] Data, int[] Shape)>? int64Inputs = null) =>
        Check(model, inputShapes, (_, size, random) => Uniform(random, size, lo, hi), int64Inputs ?? [], output, wrt, new Random(seed), 1e-6,
            null, (numeric, analytic) => Math.Abs(numeric - analytic) <= tolerance * Math.Max(1, Math.Abs(numeric)), piecewiseLinear: false);

    /// <summary>
    /// Float32 check: step <paramref name="h"/>, error ≤ absolute + relative·|numeric|; returns the largest error seen.
    /// </summary>
    /// <param name="values">Fixed values for some float inputs (else uniform in [lo, hi]).</param>
    /// <param name="int64Inputs">Integer inputs (token ids) that are fed but not differentiated.</param>
    /// <param name="seedValues">dOutput; random in [−1, 1] when null.</param>
    public static double AssertMatchesFloat32(OnnxModel model, Dictionary<string, int[]> inputShapes,
        int seed = 1, double lo = -1, double hi = 1, double h = 1e-2, double absoluteTolerance = 1e-3,
        double relativeTolerance = 1e-2, string? output = null, IReadOnlyList<string>? wrt = null,
        Dictionary<string, double[]>? values = null, Dictionary<string, (double[] Data, int[] Shape)>? int64Inputs = null,
        double[]? seedValues = null) =>
        Check(model, inputShapes, (name, size, random) => values?.GetValueOrDefault(name) ?? Uniform(random, size, lo, hi),
            int64Inputs ?? [], output, wrt, new Random(seed), h, seedValues,
            (numeric, analytic) => Math.Abs(numeric - analytic) <= absoluteTolerance + relativeTolerance * Math.Abs(numeric), piecewiseLinear: false);

    /// <summary>
    /// One input of either float type (spatial ops): step 1e-2 in float32 and 1e-6 in float64 unless given, error ≤
    /// tolerance·max(1, |numeric|). <paramref name="piecewiseLinear"/>: where a Relu or max switches inside [x−h, x+h]
    /// the central difference is spoilt, so one-sided differences over shorter steps (a single linear piece, exact up to
    /// rounding) may stand in.
    /// </summary>
    public static void AssertMatchesSpatial(OnnxModel model, string input, int[] shape, int seed = 1, double tolerance = 1e-6,
        double? step = null, Func<Random, int, double>? values = null, bool piecewiseLinear = false)
    {
        bool single = model.Types[input].ElemType == OnnxDataType.Float;
        Check(model, new() { [input] = shape },
            (_, size, random) => Enumerable.Range(0, size).Select(i => values?.Invoke(random, i) ?? random.NextDouble() * 2 - 1).ToArray(),
            [], null, null, new Random(seed), step ?? (single ? 1e-2 : 1e-6), null,
            (numeric, analytic) => Math.Abs(numeric - analytic) <= tolerance * Math.Max(1, Math.Abs(numeric)), piecewiseLinear);
    }

    private static double Check(OnnxModel model, Dictionary<string, int[]> inputShapes, Func<string, int, Random, double[]> initial,
        Dictionary<string, (double[] Data, int[] Shape)> fixedFeeds, string? output, IReadOnlyList<string>? wrt, Random random, double h,
        double[]? seedValues, Func<double, double, bool> close, bool piecewiseLinear)
    {
        output ??= model.Outputs[0].Name;
        wrt ??= inputShapes.Keys.ToList();
        var feeds = new Dictionary<string, (double[] Data, int[] Shape)>(fixedFeeds);
        foreach (var (name, shape) in inputShapes) feeds[name] = (initial(name, shape.Aggregate(1, (a, b) => a * b), random), shape);

        using var forward = new Session(model.WithOutputs([output]).ToBytes());
        var y = forward.Run(feeds, [output])[0];
        seedValues ??= Uniform(random, y.Data.Length, -1, 1);

        var graph = GradientGraphBuilder.Build(model, output, wrt);
        using var backward = new Session(graph.Model.ToBytes());
        var analytic = backward.Run(new Dictionary<string, (double[], int[])>(feeds) { [graph.SeedInput] = (seedValues, y.Shape) }, graph.GradientOutputs);

        double Objective()
        {
            var v = forward.Run(feeds, [output])[0].Data;
            double s = 0;
            for (int i = 0; i < v.Length; i++) s += v[i] * seedValues[i];
            return s;
        }

        double At(double[] data, int i, double value)
        {
            double original = data[i];
            data[i] = value;
            double objective = Objective();
            data[i] = original;
            return objective;
        }

        bool OneSidedMatches(double[] data, int i, double expected)
        {
            double centre = Objective();
            foreach (double s in new[] { h, h / 3, h / 10 })
            {
                double plus = At(data, i, data[i] + s), minus = At(data, i, data[i] - s);
                if (close((plus - centre) / s, expected) || close((centre - minus) / s, expected)) return true;
            }
            return false;
        }

        double worst = 0;
        for (int w = 0; w < wrt.Count; w++)
        {
            var (data, shape) = feeds[wrt[w]];
            CollectionAssert.AreEqual(shape, analytic[w].Shape, $"gradient of '{wrt[w]}' has the wrong shape");
            for (int i = 0; i < data.Length; i++)
            {
                double numeric = (At(data, i, data[i] + h) - At(data, i, data[i] - h)) / (2 * h);
                double expected = analytic[w].Data[i];
                if (close(numeric, expected)) { worst = Math.Max(worst, Math.Abs(numeric - expected)); continue; }
                if (piecewiseLinear && OneSidedMatches(data, i, expected)) continue;
                Assert.Fail($"d/d{wrt[w]}[{i}]: analytic {expected:G10}, numeric {numeric:G10}");
            }
        }
        return worst;
    }

    public static double[] Uniform(Random random, int count, double lo, double hi) =>
        Enumerable.Range(0, count).Select(_ => lo + (hi - lo) * random.NextDouble()).ToArray();

    /// <summary>
    /// An ONNX Runtime session without graph optimisations. Feeds are doubles converted to each input's element type
    /// (float32, float64, int64, int32); outputs are read back as doubles.
    /// </summary>
    public sealed class Session(byte[] model) : IDisposable
    {
        private readonly InferenceSession _session = new(model, new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_DISABLE_ALL });

        public List<(double[] Data, int[] Shape)> Run(Dictionary<string, (double[] Data, int[] Shape)> feeds, IReadOnlyList<string> outputs)
        {
            var names = _session.InputMetadata.Keys.ToList();
            var values = names.Select(n =>
            {
                var (data, shape) = feeds.TryGetValue(n, out var feed) ? feed : throw new ArgumentException($"No feed for input '{n}'.");
                var dims = shape.Select(d => (long)d).ToArray();
                return _session.InputMetadata[n].ElementDataType switch
                {
                    TensorElementType.Float => OrtValue.CreateTensorValueFromMemory(data.Select(v => (float)v).ToArray(), dims),
                    TensorElementType.Double => OrtValue.CreateTensorValueFromMemory(data, dims),
                    TensorElementType.Int64 => OrtValue.CreateTensorValueFromMemory(data.Select(v => (long)v).ToArray(), dims),
                    TensorElementType.Int32 => OrtValue.CreateTensorValueFromMemory(data.Select(v => (int)v).ToArray(), dims),
                    var other => throw new NotSupportedException($"Input '{n}' has element type {other}."),
                };
            }).ToList();
            try
            {
                // Held in a variable so the GC cannot finalize the native options while the run uses them.
                using var runOptions = new RunOptions();
                using var results = _session.Run(runOptions, names, values, outputs.ToList());
                return results.Select(r =>
                {
                    var info = r.GetTensorTypeAndShape();
                    double[] data = info.ElementDataType switch
                    {
                        TensorElementType.Float => r.GetTensorDataAsSpan<float>().ToArray().Select(v => (double)v).ToArray(),
                        TensorElementType.Double => r.GetTensorDataAsSpan<double>().ToArray(),
                        TensorElementType.Int64 => r.GetTensorDataAsSpan<long>().ToArray().Select(v => (double)v).ToArray(),
                        var other => throw new NotSupportedException($"Output of element type {other}."),
                    };
                    return (data, info.Shape.Select(d => (int)d).ToArray());
                }).ToList();
            }
            finally
            {
                foreach (var v in values) v.Dispose();
            }
        }

        public void Dispose() => _session.Dispose();
    }
}
