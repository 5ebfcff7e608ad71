using Microsoft.ML.Attribution.Oracles;
using Microsoft.ML.Attribution.Tensors;

namespace Microsoft.ML.Attribution.Methods;

/// <summary>Which DeepLIFT rules a <see cref="DeepLift"/> applies.</summary>
public enum DeepLiftMode
{
    /// <summary>
    /// Captum's DeepLift default: the rescale rule on ReLU, ELU, LeakyReLU, Sigmoid, Tanh and Softplus, DeepLIFT's
    /// MaxPool rule and Captum's Softmax rule (the rescale quotient less its mean over the whole batch tensor, inputs
    /// and references together — so with Softmax the numbers depend on which rows share a model call, as in Captum,
    /// and equal Captum's when the internal batch holds all rows), applied as Captum's module hooks apply them: where one of these ops feeds straight into another
    /// (ReLU → MaxPool), the upstream op's rule reads the downstream op's ordinary gradient, so after a ReLU the MaxPool
    /// rule has no effect (and summation-to-delta does not hold exactly), while after a Linear it does.
    /// Not reproduced, where Captum's hooks give numbers no rule describes: a tensor read by two hooked modules (each
    /// input hook replaces the whole gradient, so Captum keeps only the last module's branch; here both branches add
    /// up); MaxPool's fallback where |Δin| &lt; 1e-10 (Captum takes the first row's gradient for every row). ONNX does not
    /// tell nn.ReLU from F.relu, which Captum leaves unhooked.
    /// </summary>
    Captum,

    /// <summary>The rescale rule and the MaxPool rule in full, everywhere: exact summation-to-delta through MaxPool (Softmax keeps its gradient).</summary>
    Exact,

    /// <summary>The rescale rule; MaxPool passes its ordinary gradient.</summary>
    MaxPoolGradient,
}

/// <summary>
/// DeepLIFT with the rescale rule (Shrikumar, Greenside &amp; Kundaje, "Learning Important Features Through Propagating
/// Activation Differences", ICML 2017; Captum's DeepLift): attribution = (x − x₀)·m, where m is the gradient of the
/// backward pass whose nonlinearities use Δout/Δin between the input and its baseline. Summation-to-delta:
/// Σ attributions = f(x) − f(x₀) up to float error, which the convergence delta reports. Inputs and baselines run as
/// paired batches (k rows and their k baselines per model call).
/// </summary>
public sealed class DeepLift
{
    private readonly IRuleSetGradientOracle _oracle;
    private readonly DeepLiftMode _mode;

    /// <summary>Creates the method over a model whose backward pass can take DeepLIFT's rules (e.g. an <see cref="OnnxGradientOracle"/>).</summary>
    /// <param name="oracle">The model.</param>
    /// <param name="mode">Which rules apply; default Captum's (see <see cref="DeepLiftMode.Captum"/>).</param>
    public DeepLift(IRuleSetGradientOracle oracle, DeepLiftMode mode = DeepLiftMode.Captum)
    {
        _oracle = oracle ?? throw new ArgumentNullException(nameof(oracle));
        _mode = Enum.IsDefined(mode) ? mode : throw new ArgumentOutOfRangeException(nameof(mode), mode, "Unknown DeepLift mode.");
    }

    /// <summary>Creates the method with DeepLIFT's MaxPool rule on (<see cref="DeepLiftMode.Exact"/>) or off (<see cref="DeepLiftMode.MaxPoolGradient"/>).</summary>
    /// <param name="oracle">The model.</param>
    /// <param name="maxPoolRule">Apply DeepLIFT's MaxPool rule everywhere.</param>
    public DeepLift(IRuleSetGradientOracle oracle, bool maxPoolRule)
        : this(oracle, maxPoolRule ? DeepLiftMode.Exact : DeepLiftMode.MaxPoolGradient)
    {
    }

    internal static GradientRules RulesOf(DeepLiftMode mode) => mode switch
    {
        DeepLiftMode.Exact => GradientRules.DeepLiftRescaleWithMaxPool,
        DeepLiftMode.MaxPoolGradient => GradientRules.DeepLiftRescale,
        _ => GradientRules.DeepLiftCaptum,
    };

    /// <summary>Attributes each row's target output to the input elements.</summary>
    /// <param name="inputs">Rows to explain.</param>
    /// <param name="baselines">References: null (zeros), one value, one row, or one per row.</param>
    /// <param name="target">Output index per row; default each row's prediction.</param>
    /// <param name="internalBatchSize">Input rows per model call (each call carries them and their baselines).</param>
    public AttributionResult Attribute(NdArray<float> inputs, NdArray<float>? baselines = null, Target? target = null, int? internalBatchSize = null)
    {
        _oracle.ValidateInput(inputs);
        var reference = Baselines.Expand(baselines, inputs, _oracle.InputName);
        int chunk = PairChunk(_oracle, internalBatchSize, inputs.RowSize);
        if (_oracle.MaxRowsPerCall is < 2)
            throw new NotSupportedException($"DeepLift runs inputs and baselines as paired batches; input '{_oracle.InputName}' has a fixed batch of 1.");
        var (targets, outputSize) = (target ?? Target.Predicted).ResolveWithWidth(_oracle, inputs, chunk);
        return Run(inputs, reference, targets, outputSize, chunk);
    }

    /// <summary>Input rows per call; each call also carries their baselines, so an automatic chunk is halved.</summary>
    internal static int PairChunk(IForwardOracle oracle, int? internalBatchSize, int rowSize)
    {
        int rows = internalBatchSize ?? Math.Max(1, Batcher.ChunkRows(oracle, null, rowSize) / 2);
        if (rows < 1) throw new ArgumentOutOfRangeException(nameof(internalBatchSize), internalBatchSize, "The internal batch size must be at least 1.");
        return oracle.MaxRowsPerCall is int max && max > 0 ? Math.Max(1, Math.Min(rows, max / 2)) : rows;
    }

    /// <summary>The paired-batch pass over rows with their own baselines (also used by DeepLiftShap).</summary>
    internal AttributionResult Run(NdArray<float> inputs, NdArray<float> reference, int[] targets, int outputSize, int chunk)
    {
        var rules = RulesOf(_mode);
        int rows = inputs.Rows, rowSize = inputs.RowSize;
        var attributions = new NdArray<float>(inputs.Shape);
        var delta = new float[rows];
        for (int start = 0; start < rows; start += chunk)
        {
            int k = Math.Min(chunk, rows - start);
            var batch = new NdArray<float>([2 * k, .. inputs.RowShape]);
            inputs.Data.AsSpan(start * rowSize, k * rowSize).CopyTo(batch.Data);
            reference.Data.AsSpan(start * rowSize, k * rowSize).CopyTo(batch.Data.AsSpan(k * rowSize));
            var seed = new NdArray<float>(2 * k, outputSize);
            for (int i = 0; i < k; i++)
            {
                // Both halves carry the target, as Captum expands it; the multipliers are shared by the pair.
                seed.Data[i * outputSize + targets[start + i]] = 1f;
                seed.Data[(k + i) * outputSize + targets[start + i]] = 1f;
            }
            var (forward, gradients) = _oracle.ForwardBackward(batch, seed, rules);
            var outputs = forward.Reshape(2 * k, outputSize);
            for (int i = 0; i < k; i++)
            {
                int r = start + i;
                var x = inputs.Row(r);
                var b = reference.Row(r);
                var m = gradients.Data.AsSpan(i * rowSize, rowSize);
                var a = attributions.Row(r);
                double total = 0;
                for (int j = 0; j < rowSize; j++)
                {
                    a[j] = (x[j] - b[j]) * m[j];
                    total += a[j];
                }
                delta[r] = (float)(total - (outputs.Row(i)[targets[r]] - (double)outputs.Row(k + i)[targets[r]]));
            }
        }
        return new AttributionResult(attributions, targets, delta);
    }
}

/// <summary>
/// DeepLiftShap (Captum): DeepLIFT against every row of a baseline distribution, averaged — an approximation of SHAP
/// values with the distribution as background. The convergence delta reported per row is the mean of the pairs' deltas.
/// </summary>
public sealed class DeepLiftShap
{
    private readonly IRuleSetGradientOracle _oracle;
    private readonly DeepLiftMode _mode;

    /// <summary>Creates the method over a model whose backward pass can take DeepLIFT's rules (e.g. an <see cref="OnnxGradientOracle"/>).</summary>
    /// <param name="oracle">The model.</param>
    /// <param name="mode">Which rules apply (see <see cref="DeepLift"/>); default Captum's.</param>
    public DeepLiftShap(IRuleSetGradientOracle oracle, DeepLiftMode mode = DeepLiftMode.Captum)
    {
        _oracle = oracle ?? throw new ArgumentNullException(nameof(oracle));
        _mode = Enum.IsDefined(mode) ? mode : throw new ArgumentOutOfRangeException(nameof(mode), mode, "Unknown DeepLift mode.");
    }

    /// <summary>Creates the method with DeepLIFT's MaxPool rule on (<see cref="DeepLiftMode.Exact"/>) or off (<see cref="DeepLiftMode.MaxPoolGradient"/>).</summary>
    /// <param name="oracle">The model.</param>
    /// <param name="maxPoolRule">Apply DeepLIFT's MaxPool rule everywhere.</param>
    public DeepLiftShap(IRuleSetGradientOracle oracle, bool maxPoolRule)
        : this(oracle, maxPoolRule ? DeepLiftMode.Exact : DeepLiftMode.MaxPoolGradient)
    {
    }

    /// <summary>Attributes each row's target output against the baseline distribution.</summary>
    /// <param name="inputs">Rows to explain.</param>
    /// <param name="baselineDistribution">Reference rows <c>[B, …]</c> (at least one).</param>
    /// <param name="target">Output index per row; default each row's prediction.</param>
    /// <param name="internalBatchSize">(row, baseline) pairs per model call.</param>
    public AttributionResult Attribute(NdArray<float> inputs, NdArray<float> baselineDistribution, Target? target = null, int? internalBatchSize = null)
    {
        ArgumentNullException.ThrowIfNull(baselineDistribution);
        _oracle.ValidateInput(inputs);
        if (!baselineDistribution.RowShape.SequenceEqual(inputs.RowShape) || baselineDistribution.Rows < 1)
            throw new ArgumentException($"Baseline distribution shaped {baselineDistribution.ShapeText} does not fit input '{_oracle.InputName}' " +
                $"rows shaped {NdArray<float>.FormatShape(inputs.RowShape)}; give [B, {string.Join(", ", inputs.RowShape)}].");
        int rows = inputs.Rows, count = baselineDistribution.Rows, rowSize = inputs.RowSize;
        int chunk = DeepLift.PairChunk(_oracle, internalBatchSize, rowSize);
        var (targets, outputSize) = (target ?? Target.Predicted).ResolveWithWidth(_oracle, inputs, chunk);

        // Every row paired with every baseline: rows × B pairs, row-major (the pairs of a row are consecutive).
        var expanded = new NdArray<float>([rows * count, .. inputs.RowShape]);
        var references = new NdArray<float>(expanded.Shape);
        for (int r = 0; r < rows; r++)
        {
            for (int b = 0; b < count; b++)
            {
                inputs.Row(r).CopyTo(expanded.Row(r * count + b));
                baselineDistribution.Row(b).CopyTo(references.Row(r * count + b));
            }
        }
        var pairs = new DeepLift(_oracle, _mode).Run(expanded, references, Enumerable.Range(0, rows * count).Select(i => targets[i / count]).ToArray(), outputSize, chunk);
        var attributions = new NdArray<float>(inputs.Shape);
        var delta = new float[rows];
        for (int r = 0; r < rows; r++)
        {
            var a = attributions.Row(r);
            for (int b = 0; b < count; b++)
            {
                var pair = pairs.Attributions.Row(r * count + b);
                for (int j = 0; j < rowSize; j++) a[j] += pair[j] / count;
                delta[r] += pairs.ConvergenceDelta![r * count + b] / count;
            }
        }
        return new AttributionResult(attributions, targets, delta);
    }
}
