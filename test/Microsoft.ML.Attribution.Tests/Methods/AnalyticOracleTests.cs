using Microsoft.ML.Attribution.Methods;
using Microsoft.ML.Attribution.Oracles;
using Microsoft.ML.Attribution.Tensors;
using Microsoft.ML.Attribution.Tests.Support;

namespace Microsoft.ML.Attribution.Tests.Methods;

/// <summary>
/// The methods run on pure C# oracles with exact gradients (no ONNX model): they depend on the oracle interfaces only,
/// and on models with closed-form attributions their numbers are the closed forms.
/// </summary>
[TestClass]
public sealed class AnalyticOracleTests
{
    // f(x) = xᵀAx + bᵀx, one output; ∇f = (A + Aᵀ)x + b.
    private static readonly double[,] A = { { 1.0, 0.5, -0.25 }, { 0.0, -2.0, 0.75 }, { 0.5, 1.0, 0.5 } };
    private static readonly double[] B = [0.3, -1.2, 2.0];

    // g(x) = Wx + c, two outputs.
    private static readonly double[,] W = { { 1.0, -2.0, 3.0 }, { 0.5, -1.0, 4.0 } };
    private static readonly double[] C = [0.25, -0.5];

    private static readonly NdArray<float> Rows = new([0.5f, -1f, 2f, 1.5f, 0.25f, -0.75f], 2, 3);

    private static double Quadratic(ReadOnlySpan<float> x)
    {
        double f = 0;
        for (int i = 0; i < 3; i++)
        {
            f += B[i] * x[i];
            for (int j = 0; j < 3; j++) f += x[i] * A[i, j] * x[j];
        }
        return f;
    }

    private static double[] QuadraticGradient(ReadOnlySpan<float> x)
    {
        var g = (double[])B.Clone();
        for (int i = 0; i < 3; i++)
        {
            for (int j = 0; j < 3; j++) g[i] += (A[i, j] + A[j, i]) * x[j];
        }
        return g;
    }

    [TestMethod]
    public void IntegratedGradients_OnAQuadratic_IsExact_AndComplete()
    {
        // ∇f is linear along the path, so IG_i = (x_i − x'_i)·∇f_i((x + x')/2) and Gauss–Legendre integrates it exactly.
        var oracle = new QuadraticOracle();
        var baseline = new NdArray<float>([0.2f, 0.1f, -0.3f], 1, 3);
        var result = new IntegratedGradients(oracle).Attribute(Rows, baseline, Target.Class(0), steps: 8);
        for (int r = 0; r < Rows.Rows; r++)
        {
            var x = Rows.Row(r).ToArray();
            var mid = x.Select((v, i) => (v + baseline.Data[i]) / 2).ToArray();
            var g = QuadraticGradient(mid);
            var expected = x.Select((v, i) => (float)((v - baseline.Data[i]) * g[i])).ToArray();
            AssertArrays.Close(expected, result.Attributions.Row(r).ToArray(), 1e-5, $"row {r}");
            double total = result.Attributions.Row(r).ToArray().Sum(v => (double)v);
            Assert.AreEqual(Quadratic(x) - Quadratic(baseline.Data), total, 1e-4, "completeness");
            Assert.AreEqual(0, result.ConvergenceDelta![r], 1e-4, "reported delta");
        }
    }

    [TestMethod]
    public void Saliency_IsTheAbsoluteGradient_AndInputXGradientTheProduct()
    {
        var oracle = new QuadraticOracle();
        var saliency = new Saliency(oracle).Attribute(Rows, Target.Class(0));
        var signed = new Saliency(oracle).Attribute(Rows, Target.Class(0), abs: false);
        var ixg = new InputXGradient(oracle).Attribute(Rows, Target.Class(0));
        for (int r = 0; r < Rows.Rows; r++)
        {
            var g = QuadraticGradient(Rows.Row(r));
            AssertArrays.Close(g.Select(v => (float)Math.Abs(v)).ToArray(), saliency.Attributions.Row(r).ToArray(), 1e-6, "|∇f|");
            AssertArrays.Close(g.Select(v => (float)v).ToArray(), signed.Attributions.Row(r).ToArray(), 1e-6, "∇f");
            AssertArrays.Close(g.Select((v, i) => (float)(v * Rows.Row(r)[i])).ToArray(), ixg.Attributions.Row(r).ToArray(), 1e-6, "x ⊙ ∇f");
        }
        Assert.IsTrue(signed.Attributions.Data.Any(v => v < 0), "the quadratic has negative partials here, so abs matters");
    }

    [TestMethod]
    public void DeepLift_OnALinearModel_IsInputMinusBaselineTimesTheWeights_AndUsesTheRescaleRules()
    {
        var oracle = new LinearOracle(W, C);
        var baseline = new NdArray<float>([1f, 0f, -1f], 1, 3);
        var result = new DeepLift(oracle).Attribute(Rows, baseline, Target.PerRow(0, 1));
        for (int r = 0; r < Rows.Rows; r++)
        {
            int t = r;
            var expected = Enumerable.Range(0, 3).Select(i => (float)((Rows.Row(r)[i] - baseline.Data[i]) * W[t, i])).ToArray();
            AssertArrays.Close(expected, result.Attributions.Row(r).ToArray(), 1e-6, $"row {r}");
            Assert.AreEqual(0, result.ConvergenceDelta![r], 1e-5, "summation to delta");
        }
        Assert.AreEqual(GradientRules.DeepLiftCaptum, oracle.LastRules);
        new DeepLift(oracle, DeepLiftMode.MaxPoolGradient).Attribute(Rows, baseline, Target.Class(0));
        Assert.AreEqual(GradientRules.DeepLiftRescale, oracle.LastRules);
        new DeepLift(oracle, maxPoolRule: true).Attribute(Rows, baseline, Target.Class(0));
        Assert.AreEqual(GradientRules.DeepLiftRescaleWithMaxPool, oracle.LastRules);
    }

    [TestMethod]
    public void DeepLiftShap_OnALinearModel_IsInputMinusTheMeanBaselineTimesTheWeights()
    {
        var oracle = new LinearOracle(W, C);
        var distribution = new NdArray<float>([1f, 0f, -1f, 0f, 2f, 1f, -1f, 1f, 0f], 3, 3);
        var result = new DeepLiftShap(oracle).Attribute(Rows, distribution, Target.Class(1));
        for (int r = 0; r < Rows.Rows; r++)
        {
            var expected = Enumerable.Range(0, 3).Select(i =>
                (float)((Rows.Row(r)[i] - (distribution.Data[i] + distribution.Data[3 + i] + distribution.Data[6 + i]) / 3.0) * W[1, i])).ToArray();
            AssertArrays.Close(expected, result.Attributions.Row(r).ToArray(), 1e-5, $"row {r}");
        }
    }

    [TestMethod]
    public void GuidedBackprop_AndDeconvolution_AskTheOracleForTheirRuleSets()
    {
        // A linear model has no Relu for the rules to change: both give the weights of the target.
        var oracle = new LinearOracle(W, C);
        var guided = new GuidedBackprop(oracle).Attribute(Rows, Target.Class(1));
        Assert.AreEqual(GradientRules.GuidedBackprop, oracle.LastRules);
        var deconvolution = new Deconvolution(oracle).Attribute(Rows, Target.Class(0));
        Assert.AreEqual(GradientRules.Deconvolution, oracle.LastRules);
        for (int r = 0; r < Rows.Rows; r++)
        {
            AssertArrays.Close([(float)W[1, 0], (float)W[1, 1], (float)W[1, 2]], guided.Attributions.Row(r).ToArray(), 0, "guided");
            AssertArrays.Close([(float)W[0, 0], (float)W[0, 1], (float)W[0, 2]], deconvolution.Attributions.Row(r).ToArray(), 0, "deconvolution");
        }
    }

    [TestMethod]
    public void NoiseTunnel_OverABoundMethod_AveragesTheGradientsAtTheNoisyPoints()
    {
        // SmoothGrad of a quadratic's gradient with noise ε: ∇f(x) + (A + Aᵀ)·mean(ε); VarGrad is the variance of the copies.
        var oracle = new QuadraticOracle();
        var method = MethodRegistry.Get("saliency").Bind(oracle, new SaliencyOptions { Abs = false });
        Assert.AreSame(oracle, method.Model);
        var tunnel = new NoiseTunnel(method);
        const int samples = 3;
        var noise = new NdArray<float>(Enumerable.Range(0, 2 * samples * 3).Select(i => ((i * 7) % 5 - 2) * 0.1f).ToArray(), 2 * samples, 3);
        var smooth = tunnel.Attribute(Rows, NoiseTunnelType.SmoothGrad, samples, noise, null, Target.Class(0));
        var variance = tunnel.Attribute(Rows, NoiseTunnelType.VarGrad, samples, noise, null, Target.Class(0));
        for (int r = 0; r < Rows.Rows; r++)
        {
            var copies = Enumerable.Range(0, samples).Select(s =>
                QuadraticGradient(Enumerable.Range(0, 3).Select(i => Rows.Row(r)[i] + noise.Row(r * samples + s)[i]).ToArray())).ToArray();
            var mean = Enumerable.Range(0, 3).Select(i => copies.Average(c => c[i])).ToArray();
            var var = Enumerable.Range(0, 3).Select(i => copies.Average(c => c[i] * c[i]) - mean[i] * mean[i]).ToArray();
            AssertArrays.Close(mean.Select(v => (float)v).ToArray(), smooth.Attributions.Row(r).ToArray(), 1e-5, "SmoothGrad");
            AssertArrays.Close(var.Select(v => (float)v).ToArray(), variance.Attributions.Row(r).ToArray(), 1e-4, "VarGrad");
        }
        Assert.IsTrue(variance.Attributions.Data.Any(v => v > 1e-3), "the gradient varies across the noisy copies");
    }

    [TestMethod]
    public void NoiseTunnel_ThroughTheRegistry_RunsOnAnyGradientOracle_AndEqualsTheTunnelOverTheBoundBaseMethod()
    {
        var oracle = new QuadraticOracle();
        var options = new NoiseTunnelOptions { BaseMethod = "input-x-gradient", Samples = 4, Stdevs = 0.3, Seed = 11 };
        var viaRegistry = MethodRegistry.Get("noise-tunnel").Attribute(new MethodInputs { Model = oracle, Rows = Rows, Target = Target.Class(0) }, options);
        var direct = new NoiseTunnel(MethodRegistry.Get("input-x-gradient").Bind(oracle))
            .Attribute(Rows, NoiseTunnelType.SmoothGrad, samples: 4, stdev: 0.3, target: Target.Class(0), seed: 11);
        CollectionAssert.AreEqual(direct.Attributions.Data, viaRegistry.Attributions.Data);
        var plain = new InputXGradient(oracle).Attribute(Rows, Target.Class(0));
        CollectionAssert.AreNotEqual(plain.Attributions.Data, viaRegistry.Attributions.Data, "noise changes a quadratic's gradients");
    }

    [TestMethod]
    public void Bind_RejectsAnotherMethodsOptions_AndAModellessContext()
    {
        var saliency = MethodRegistry.Get("saliency");
        var wrong = Assert.ThrowsExactly<ArgumentException>(() => saliency.Bind(new QuadraticOracle(), new IntegratedGradientsOptions()));
        StringAssert.Contains(wrong.Message, "SaliencyOptions");
        var none = Assert.ThrowsExactly<ArgumentException>(() => saliency.Bind(new MethodInputs()));
        StringAssert.Contains(none.Message, "needs a model");
    }

    [TestMethod]
    public void RuleSetMethods_OnAGradientOnlyOracle_NameWhatIsMissing()
    {
        var error = Assert.ThrowsExactly<ArgumentException>(() =>
            MethodRegistry.Get("deeplift").Attribute(new MethodInputs { Model = new QuadraticOracle(), Rows = Rows }));
        StringAssert.Contains(error.Message, nameof(IRuleSetGradientOracle));
    }

    // Layer model: h = W1·x (the layer, 4 wide), y = V·h + c (2 outputs).
    private static readonly double[,] W1 = { { 1.0, 0.0, -1.0 }, { 0.5, 2.0, 0.0 }, { -1.0, 1.0, 1.0 }, { 0.0, -0.5, 1.5 } };
    private static readonly double[,] V = { { 1.0, -1.0, 0.5, 2.0 }, { -0.5, 1.0, 1.0, 0.0 } };

    private static double[] Layer(ReadOnlySpan<float> row)
    {
        var x = row.ToArray();
        return Enumerable.Range(0, 4).Select(j => W1[j, 0] * x[0] + W1[j, 1] * x[1] + W1[j, 2] * x[2]).ToArray();
    }

    [TestMethod]
    public void LayerMethods_OnATinyLinearLayerOracle_GiveTheClosedForms()
    {
        var oracle = new TinyLayerOracle();
        var activation = new LayerActivation(oracle).Attribute(Rows);
        var gxa = new LayerGradientXActivation(oracle).Attribute(Rows, Target.Class(0));
        var lig = new LayerIntegratedGradients(oracle).Attribute(Rows, null, Target.Class(1), steps: 4);
        var conductance = new LayerConductance(oracle).Attribute(Rows, null, Target.Class(1), steps: 4, method: IntegrationMethod.RiemannTrapezoid);
        var influence = new InternalInfluence(oracle).Attribute(Rows, null, Target.Class(0), steps: 4);
        for (int r = 0; r < Rows.Rows; r++)
        {
            var h = Layer(Rows.Row(r));
            AssertArrays.Close(h.Select(v => (float)v).ToArray(), activation.Row(r).ToArray(), 1e-6, "activation");
            AssertArrays.Close(h.Select((v, j) => (float)(v * V[0, j])).ToArray(), gxa.Attributions.Row(r).ToArray(), 1e-6, "gradient × activation");
            // Linear in the layer: IG and conductance (over trapezoid points, which include both ends) from a zero
            // baseline are h ⊙ V[t], and they add up to y − y(0).
            var expected = h.Select((v, j) => (float)(v * V[1, j])).ToArray();
            AssertArrays.Close(expected, lig.Attributions.Row(r).ToArray(), 1e-5, "layer IG");
            AssertArrays.Close(expected, conductance.Attributions.Row(r).ToArray(), 1e-5, "conductance");
            Assert.AreEqual(0, lig.ConvergenceDelta![r], 1e-5);
            AssertArrays.Close(Enumerable.Range(0, 4).Select(j => (float)V[0, j]).ToArray(), influence.Attributions.Row(r).ToArray(), 1e-5, "internal influence");
        }
    }

    [TestMethod]
    public void NeuronMethods_OnATinyLinearLayerOracle_GiveTheNeuronsWeights()
    {
        var oracle = new TinyLayerOracle();
        var gradient = new NeuronGradient(oracle).Attribute(Rows, [2]);
        var ig = new NeuronIntegratedGradients(oracle).Attribute(Rows, [2], steps: 4);
        for (int r = 0; r < Rows.Rows; r++)
        {
            var weights = Enumerable.Range(0, 3).Select(i => (float)W1[2, i]).ToArray();
            AssertArrays.Close(weights, gradient.Attributions.Row(r).ToArray(), 1e-6, "∂h₂/∂x");
            AssertArrays.Close(weights.Select((w, i) => w * Rows.Row(r)[i]).ToArray(), ig.Attributions.Row(r).ToArray(), 1e-5, "IG of h₂ from zero");
        }
        var outside = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new NeuronGradient(oracle).Attribute(Rows, [4]));
        StringAssert.Contains(outside.Message, "layer 'h'");
    }

    /// <summary>f(x) = xᵀAx + bᵀx with its exact gradient; no rule sets (it is not made of layers).</summary>
    private sealed class QuadraticOracle : IGradientOracle
    {
        public string InputName => "x";

        public string OutputName => "f";

        public int? MaxRowsPerCall => null;

        public void ValidateInput(NdArray<float> inputs)
        {
            if (inputs.RowSize != 3) throw new ArgumentException($"Input 'x' takes 3 values per row; got {inputs.ShapeText}.");
        }

        public NdArray<float> Forward(NdArray<float> inputs)
        {
            var outputs = new NdArray<float>(inputs.Rows, 1);
            for (int r = 0; r < inputs.Rows; r++) outputs.Data[r] = (float)Quadratic(inputs.Row(r));
            return outputs;
        }

        public (NdArray<float> Outputs, NdArray<float> Gradients) ForwardBackward(NdArray<float> inputs, NdArray<float> seed)
        {
            var gradients = new NdArray<float>(inputs.Shape);
            for (int r = 0; r < inputs.Rows; r++)
            {
                var g = QuadraticGradient(inputs.Row(r));
                for (int i = 0; i < 3; i++) gradients.Row(r)[i] = (float)(seed.Data[r] * g[i]);
            }
            return (Forward(inputs), gradients);
        }
    }

    /// <summary>y = Wx + c: the gradient of Σ seed·y is seedᵀW under every rule set (no nonlinearity to change).</summary>
    private sealed class LinearOracle(double[,] weights, double[] bias, string input = "x", string output = "y") : IRuleSetGradientOracle
    {
        public GradientRules? LastRules { get; private set; }

        public string InputName => input;

        public string OutputName => output;

        public int? MaxRowsPerCall => null;

        private int Outputs => weights.GetLength(0);

        private int Features => weights.GetLength(1);

        public void ValidateInput(NdArray<float> inputs)
        {
            if (inputs.RowSize != Features) throw new ArgumentException($"Input '{input}' takes {Features} values per row; got {inputs.ShapeText}.");
        }

        public NdArray<float> Forward(NdArray<float> inputs)
        {
            var outputs = new NdArray<float>(inputs.Rows, Outputs);
            for (int r = 0; r < inputs.Rows; r++)
            {
                var x = inputs.Row(r);
                for (int o = 0; o < Outputs; o++)
                {
                    double y = bias[o];
                    for (int i = 0; i < Features; i++) y += weights[o, i] * x[i];
                    outputs.Row(r)[o] = (float)y;
                }
            }
            return outputs;
        }

        public (NdArray<float> Outputs, NdArray<float> Gradients) ForwardBackward(NdArray<float> inputs, NdArray<float> seed) =>
            ForwardBackward(inputs, seed, GradientRules.Standard);

        public (NdArray<float> Outputs, NdArray<float> Gradients) ForwardBackward(NdArray<float> inputs, NdArray<float> seed, GradientRules rules)
        {
            LastRules = rules;
            var gradients = new NdArray<float>(inputs.Shape);
            for (int r = 0; r < inputs.Rows; r++)
            {
                for (int i = 0; i < Features; i++)
                {
                    double g = 0;
                    for (int o = 0; o < Outputs; o++) g += seed.Data[r * Outputs + o] * weights[o, i];
                    gradients.Row(r)[i] = (float)g;
                }
            }
            return (Forward(inputs), gradients);
        }
    }

    /// <summary>x → h = W1·x (layer "h", whose input is "x") → y = V·h + c, with the batched layer members written out.</summary>
    private sealed class TinyLayerOracle : ILayerOracle
    {
        private static readonly double[,] Identity = { { 1, 0, 0 }, { 0, 1, 0 }, { 0, 0, 1 } };

        public string InputName => "x";

        public string OutputName => "y";

        public string LayerName => "h";

        public string? LayerInputName => "x";

        public bool InputIsTokenIds => false;

        public int? MaxRowsPerCall => null;

        private static double[,] Product(double[,] left, double[,] right)
        {
            var p = new double[left.GetLength(0), right.GetLength(1)];
            for (int i = 0; i < left.GetLength(0); i++)
                for (int j = 0; j < right.GetLength(1); j++)
                    for (int k = 0; k < left.GetLength(1); k++) p[i, j] += left[i, k] * right[k, j];
            return p;
        }

        // Each tensor as a linear map of x, and the output as a linear map of each tensor.
        private static double[,] FromInput(string tensor) => tensor switch
        {
            "x" => Identity,
            "h" => W1,
            "y" => Product(V, W1),
            _ => throw new ArgumentException($"Unknown tensor '{tensor}'."),
        };

        private static double[,] ToOutput(string tensor) => tensor switch
        {
            "x" => Product(V, W1),
            "h" => V,
            _ => throw new ArgumentException($"No gradient to tensor '{tensor}'."),
        };

        private static float[] Apply(double[,] map, ReadOnlySpan<float> x, double[]? bias = null)
        {
            var y = new float[map.GetLength(0)];
            for (int o = 0; o < y.Length; o++)
            {
                double v = bias?[o] ?? 0;
                for (int i = 0; i < map.GetLength(1); i++) v += map[o, i] * x[i];
                y[o] = (float)v;
            }
            return y;
        }

        private static float[] Row(double[,] map, int row) => Enumerable.Range(0, map.GetLength(1)).Select(i => (float)map[row, i]).ToArray();

        private static float[] Item(InputSource source, int item)
        {
            var chunk = source.Chunk("x", item, 1);
            return ((float[])chunk.Data).AsSpan(chunk.Offset, 3).ToArray();
        }

        void ILayerOracle.Validate(InputRows inputs)
        {
            if (inputs.IsTokenIds || inputs.RowSize != 3) throw new ArgumentException("Input 'x' takes 3 float32 values per row.");
        }

        int ILayerOracle.ChunkRows(int? internalBatchSize, int rowSize) => internalBatchSize ?? 5;

        NdArray<float>[] ILayerOracle.Evaluate(IReadOnlyList<string> tensors, InputSource source, int items, int chunkRows) =>
            tensors.Select(t =>
            {
                var map = FromInput(t);
                var result = new NdArray<float>(items, map.GetLength(0));
                for (int i = 0; i < items; i++) Apply(map, Item(source, i), t == "y" ? C : null).CopyTo(result.Row(i));
                return result;
            }).ToArray();

        void ILayerOracle.LayerGradients(string layer, InputSource source, int items, int chunkRows, Func<int, int> targetOf,
            Action<int, ReadOnlySpan<float>, ReadOnlySpan<float>, ReadOnlySpan<float>> consume, Action<int[]>? layerRowShape)
        {
            layerRowShape?.Invoke([FromInput(layer).GetLength(0)]);
            for (int i = 0; i < items; i++)
            {
                var x = Item(source, i);
                consume(i, Apply(FromInput("y"), x, C), Apply(FromInput(layer), x), Row(ToOutput(layer), targetOf(i)));
            }
        }

        void ILayerOracle.CutGradients(string layer, int[] layerRowShape, InputRows originals, Func<int, int> rowOf, int items, int chunkRows,
            Action<int, Span<float>> fillLayer, Func<int, int> targetOf, Action<int, ReadOnlySpan<float>, ReadOnlySpan<float>> consume)
        {
            var values = new float[layerRowShape[0]];
            for (int i = 0; i < items; i++)
            {
                fillLayer(i, values);
                consume(i, Apply(ToOutput(layer), values, C), Row(ToOutput(layer), targetOf(i)));
            }
        }

        void ILayerOracle.NeuronInputGradients(string layer, int[] layerRowShape, int neuron, InputSource source, int items, int chunkRows,
            Action<int, ReadOnlySpan<float>> consume)
        {
            for (int i = 0; i < items; i++) consume(i, Row(FromInput(layer), neuron));
        }

        IGradientOracle ILayerOracle.AsGradientOracle(string tensor) =>
            new LinearOracle(FromInput(tensor), new double[FromInput(tensor).GetLength(0)], "x", tensor);
    }
}
