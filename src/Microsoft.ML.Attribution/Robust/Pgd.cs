using Microsoft.ML.Attribution.Methods;
using Microsoft.ML.Attribution.Oracles;
using Microsoft.ML.Attribution.Tensors;

namespace Microsoft.ML.Attribution.Robust;

/// <summary>The ball a projected attack stays in around each input row.</summary>
public enum PerturbationNorm
{
    /// <summary>Every element within ±radius of the input (Captum's <c>"Linf"</c>).</summary>
    LInfinity,

    /// <summary>The whole row's change of Euclidean norm at most radius (Captum's <c>"L2"</c>).</summary>
    L2,
}

/// <summary>
/// Projected Gradient Descent (Madry et al., "Towards Deep Learning Models Resistant to Adversarial Attacks", 2018), as
/// Captum's <c>PGD</c>: from x (or a random point of the ball, clamped), <c>steps</c> times an FGSM step of size
/// <c>stepSize</c> (the gradient's sign, for both norms), then projection onto the ball of <c>radius</c> around x
/// (L∞: each change clamped to ±radius; L2: a row whose change is longer than radius scaled down to it, as torch's
/// <c>renorm</c>), then clamping to [lower, upper]. The target is resolved once, on the original rows.
/// </summary>
public sealed class Pgd
{
    private readonly Fgsm _fgsm;
    private readonly IGradientOracle _oracle;

    /// <summary>Creates the attack over a gradient oracle.</summary>
    /// <param name="oracle">The model.</param>
    /// <param name="loss">The loss; default <see cref="AttackLoss.NegativeLog"/> (Captum's).</param>
    /// <param name="lowerBound">Smallest valid input value (e.g. 0 for pixels).</param>
    /// <param name="upperBound">Largest valid input value (e.g. 1 for pixels).</param>
    public Pgd(IGradientOracle oracle, AttackLoss? loss = null, float lowerBound = float.NegativeInfinity, float upperBound = float.PositiveInfinity)
    {
        _oracle = oracle ?? throw new ArgumentNullException(nameof(oracle));
        AttackGradients.CheckBounds(lowerBound, upperBound);
        // Captum's inner FGSM is unbounded: the bound is applied after the projection.
        _fgsm = new Fgsm(oracle, loss);
        (LowerBound, UpperBound) = (lowerBound, upperBound);
    }

    /// <summary>The loss whose gradient sign each step follows.</summary>
    public AttackLoss Loss => _fgsm.Loss;

    /// <summary>Smallest valid input value.</summary>
    public float LowerBound { get; }

    /// <summary>Largest valid input value.</summary>
    public float UpperBound { get; }

    /// <summary>The adversarial inputs after <paramref name="steps"/> projected steps.</summary>
    /// <param name="inputs">Rows to perturb <c>[N, …]</c>.</param>
    /// <param name="radius">Radius of the ball around each row.</param>
    /// <param name="stepSize">Size of each signed-gradient step.</param>
    /// <param name="steps">Number of steps.</param>
    /// <param name="target">The true labels (untargeted) or the goal classes (targeted); default each row's prediction.</param>
    /// <param name="targeted">Step towards the target rather than away from the label.</param>
    /// <param name="norm">The ball: L∞ (Captum's default) or L2.</param>
    /// <param name="randomStart">Start from a random point of the ball (uniform per element for L∞; for L2 a Gaussian
    /// direction scaled to radius·u^(1/d), u uniform, d the row size, as Captum) instead of from the inputs.</param>
    /// <param name="seed">Seed of the random start; the same seed gives the same numbers.</param>
    /// <param name="startOffsets">The random start's offsets from the inputs, drawn by the caller (shaped like the
    /// inputs; masked here); overrides <paramref name="randomStart"/> and <paramref name="seed"/>. Use it to replay
    /// another library's draws.</param>
    /// <param name="mask">1 where an element may change, 0 where it stays; the inputs' shape or one row's.</param>
    /// <param name="internalBatchSize">Rows per model call.</param>
    public NdArray<float> Perturb(NdArray<float> inputs, float radius, float stepSize, int steps, Target? target = null,
        bool targeted = false, PerturbationNorm norm = PerturbationNorm.LInfinity, bool randomStart = false, int? seed = null,
        NdArray<float>? startOffsets = null, NdArray<float>? mask = null, int? internalBatchSize = null)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        if (!(radius >= 0) || float.IsInfinity(radius)) throw new ArgumentOutOfRangeException(nameof(radius), radius, "The radius must be finite and non-negative.");
        Fgsm.CheckStep(stepSize, nameof(stepSize));
        if (steps < 0) throw new ArgumentOutOfRangeException(nameof(steps), steps, "The number of steps must be non-negative.");
        if (norm is not (PerturbationNorm.LInfinity or PerturbationNorm.L2)) throw new ArgumentOutOfRangeException(nameof(norm), norm, "The norm must be L∞ or L2.");
        if (startOffsets is not null && !startOffsets.Shape.SequenceEqual(inputs.Shape))
            throw new ArgumentException($"The start offsets have shape {startOffsets.ShapeText}; expected the inputs' shape {inputs.ShapeText}.", nameof(startOffsets));
        _oracle.ValidateInput(inputs);
        var maskOf = AttackGradients.MaskOf(mask, inputs);
        int chunk = Batcher.ChunkRows(_oracle, internalBatchSize, inputs.RowSize);
        var (targets, outputSize) = (target ?? Target.Predicted).ResolveWithWidth(_oracle, inputs, chunk);

        var current = inputs;
        if (startOffsets is not null || randomStart)
        {
            var offsets = startOffsets ?? RandomStart(inputs, radius, norm, seed);
            current = new NdArray<float>(inputs.Shape);
            for (int i = 0; i < inputs.Length; i++)
                current.Data[i] = AttackGradients.Clamp(inputs.Data[i] + offsets.Data[i] * maskOf(i), LowerBound, UpperBound);
        }
        for (int step = 0; step < steps; step++)
        {
            current = _fgsm.Step(current, stepSize, targets, outputSize, targeted, maskOf, chunk);
            Project(inputs, current, radius, norm);
            for (int i = 0; i < current.Length; i++) current.Data[i] = AttackGradients.Clamp(current.Data[i], LowerBound, UpperBound);
        }
        return ReferenceEquals(current, inputs) ? inputs.Clone() : current;
    }

    /// <summary>Moves <paramref name="perturbed"/> back into the ball of <paramref name="radius"/> around <paramref name="center"/>.</summary>
    internal static void Project(NdArray<float> center, NdArray<float> perturbed, float radius, PerturbationNorm norm)
    {
        if (norm == PerturbationNorm.LInfinity)
        {
            for (int i = 0; i < center.Length; i++)
                perturbed.Data[i] = center.Data[i] + AttackGradients.Clamp(perturbed.Data[i] - center.Data[i], -radius, radius);
            return;
        }
        int rowSize = center.RowSize;
        for (int r = 0; r < center.Rows; r++)
        {
            var x = center.Row(r);
            var p = perturbed.Row(r);
            double squares = 0;
            for (int j = 0; j < rowSize; j++) { double d = p[j] - x[j]; squares += d * d; }
            double length = Math.Sqrt(squares);
            // torch.renorm scales a sub-tensor longer than maxnorm by maxnorm / (norm + 1e-7).
            float scale = length > radius ? (float)(radius / (length + 1e-7)) : 1f;
            for (int j = 0; j < rowSize; j++) p[j] = x[j] + (p[j] - x[j]) * scale;
        }
    }

    /// <summary>A random point of the ball around each row, as an offset from it.</summary>
    internal static NdArray<float> RandomStart(NdArray<float> inputs, float radius, PerturbationNorm norm, int? seed)
    {
        var random = RandomDraws.Create(seed);
        var offsets = new NdArray<float>(inputs.Shape);
        int rowSize = inputs.RowSize;
        for (int r = 0; r < inputs.Rows; r++)
        {
            var row = offsets.Row(r);
            if (norm == PerturbationNorm.LInfinity)
            {
                for (int j = 0; j < rowSize; j++) row[j] = (float)(random.NextDouble() * radius * 2 - radius);
                continue;
            }
            var direction = RandomDraws.Normal(random, rowSize, 1.0);
            double squares = 0;
            foreach (float v in direction) squares += (double)v * v;
            // F.normalize divides by max(‖u‖, 1e-12); the length is u^(1/d)·radius so points fill the ball uniformly.
            double length = Math.Pow(random.NextDouble(), 1.0 / rowSize) * radius / Math.Max(Math.Sqrt(squares), 1e-12);
            for (int j = 0; j < rowSize; j++) row[j] = (float)(direction[j] * length);
        }
        return offsets;
    }
}
