using Microsoft.ML.Attribution.Methods;
using Microsoft.ML.Attribution.Oracles;
using Microsoft.ML.Attribution.Tensors;

namespace Microsoft.ML.Attribution.Robust;

/// <summary>
/// Fast Gradient Sign Method (Goodfellow, Shlens &amp; Szegedy, "Explaining and Harnessing Adversarial Examples", 2015),
/// as Captum's <c>FGSM</c>: x′ = x + ε·sign(∇ₓL(x, y)) for an untargeted attack on the label y, x′ = x − ε·sign(∇ₓL(x, t))
/// for an attack towards the target t; elements whose gradient is at most <see cref="ZeroThreshold"/> in absolute value
/// stay, and x′ is clamped to [lower, upper]. The loss is by default Captum's −log of the output at the target.
/// </summary>
public sealed class Fgsm
{
    /// <summary>Captum's <c>zero_thresh</c>: gradients at most this large in absolute value count as zero.</summary>
    public const float DefaultZeroThreshold = 1e-6f;

    private readonly IGradientOracle _oracle;

    /// <summary>Creates the attack over a gradient oracle.</summary>
    /// <param name="oracle">The model.</param>
    /// <param name="loss">The loss; default <see cref="AttackLoss.NegativeLog"/> (Captum's).</param>
    /// <param name="lowerBound">Smallest valid input value (e.g. 0 for pixels).</param>
    /// <param name="upperBound">Largest valid input value (e.g. 1 for pixels).</param>
    public Fgsm(IGradientOracle oracle, AttackLoss? loss = null, float lowerBound = float.NegativeInfinity, float upperBound = float.PositiveInfinity)
    {
        _oracle = oracle ?? throw new ArgumentNullException(nameof(oracle));
        AttackGradients.CheckBounds(lowerBound, upperBound);
        Loss = loss ?? AttackLoss.NegativeLog;
        (LowerBound, UpperBound) = (lowerBound, upperBound);
    }

    /// <summary>The loss whose gradient sign the step follows.</summary>
    public AttackLoss Loss { get; }

    /// <summary>Smallest valid input value.</summary>
    public float LowerBound { get; }

    /// <summary>Largest valid input value.</summary>
    public float UpperBound { get; }

    /// <summary>Gradients at most this large in absolute value count as zero (the element is not moved).</summary>
    public float ZeroThreshold { get; init; } = DefaultZeroThreshold;

    /// <summary>The adversarial inputs, one step of size <paramref name="epsilon"/>.</summary>
    /// <param name="inputs">Rows to perturb <c>[N, …]</c>.</param>
    /// <param name="epsilon">Step size per element.</param>
    /// <param name="target">The true labels (untargeted) or the goal classes (targeted); default each row's prediction.</param>
    /// <param name="targeted">Step towards the target (descend the loss) rather than away from the label.</param>
    /// <param name="mask">1 where an element may change, 0 where it stays; the inputs' shape or one row's.</param>
    /// <param name="internalBatchSize">Rows per model call.</param>
    public NdArray<float> Perturb(NdArray<float> inputs, float epsilon, Target? target = null, bool targeted = false,
        NdArray<float>? mask = null, int? internalBatchSize = null)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        CheckStep(epsilon, nameof(epsilon));
        _oracle.ValidateInput(inputs);
        int chunk = Batcher.ChunkRows(_oracle, internalBatchSize, inputs.RowSize);
        var (targets, outputSize) = (target ?? Target.Predicted).ResolveWithWidth(_oracle, inputs, chunk);
        var stepped = Step(inputs, epsilon, targets, outputSize, targeted, AttackGradients.MaskOf(mask, inputs), chunk);
        for (int i = 0; i < stepped.Length; i++) stepped.Data[i] = AttackGradients.Clamp(stepped.Data[i], LowerBound, UpperBound);
        return stepped;
    }

    /// <summary>One signed-gradient step from <paramref name="inputs"/>, not clamped (PGD projects and clamps after it).</summary>
    internal NdArray<float> Step(NdArray<float> inputs, float epsilon, int[] targets, int outputSize, bool targeted,
        Func<int, float> mask, int chunk)
    {
        var gradients = AttackGradients.Compute(_oracle, inputs, targets, outputSize, Loss, chunk);
        float step = targeted ? -epsilon : epsilon;
        var result = new NdArray<float>(inputs.Shape);
        for (int i = 0; i < inputs.Length; i++)
        {
            float g = gradients.Data[i];
            result.Data[i] = MathF.Abs(g) > ZeroThreshold ? inputs.Data[i] + step * MathF.Sign(g) * mask(i) : inputs.Data[i];
        }
        return result;
    }

    internal static void CheckStep(float value, string name)
    {
        if (!float.IsFinite(value)) throw new ArgumentOutOfRangeException(name, value, $"The {name} must be a finite number.");
    }
}
