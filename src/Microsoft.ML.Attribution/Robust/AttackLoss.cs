namespace Microsoft.ML.Attribution.Robust;

/// <summary>
/// A loss of one output row for a target index: writes ∂loss/∂output into <paramref name="outputGradient"/> (zeroed on
/// entry, as long as the output row) and returns the loss.
/// </summary>
public delegate float AttackLossFunction(ReadOnlySpan<float> output, int target, Span<float> outputGradient);

/// <summary>
/// The loss an attack climbs (untargeted) or descends (targeted), per row. The gradient of the loss with respect to the
/// input is the output gradient this loss gives, pulled back through the model by one backward pass.
/// </summary>
public sealed class AttackLoss
{
    private readonly AttackLossFunction _function;

    private AttackLoss(string name, AttackLossFunction function, Func<float, float>? targetDerivative)
    {
        Name = name;
        _function = function;
        TargetDerivative = targetDerivative;
    }

    /// <summary>Name for messages and reports.</summary>
    public string Name { get; }

    /// <summary>
    /// For a loss of the target output alone, d loss / d output[target] as a function of that output: the attack then
    /// needs one forward-backward pass per step (a one-hot seed, scaled afterwards) instead of a forward and a backward.
    /// </summary>
    internal Func<float, float>? TargetDerivative { get; }

    /// <summary>
    /// Captum's default: −log of the model output at the target, with no softmax applied (so meant for models that
    /// output probabilities; on logits it is what Captum computes too).
    /// </summary>
    public static AttackLoss NegativeLog { get; } = new("negative-log", (output, target, gradient) =>
    {
        gradient[target] = -1f / output[target];
        return -MathF.Log(output[target]);
    }, y => -1f / y);

    /// <summary>Cross-entropy of logits: −log softmax(output)[target] (torch's <c>cross_entropy</c> per row).</summary>
    public static AttackLoss CrossEntropy { get; } = new("cross-entropy", (output, target, gradient) =>
    {
        float max = float.NegativeInfinity;
        foreach (float v in output) max = MathF.Max(max, v);
        double sum = 0;
        foreach (float v in output) sum += Math.Exp(v - max);
        for (int k = 0; k < output.Length; k++) gradient[k] = (float)(Math.Exp(output[k] - max) / sum);
        gradient[target] -= 1f;
        return (float)(Math.Log(sum) + max - output[target]);
    }, null);

    /// <summary>The target output itself (an untargeted attack then raises it, a targeted one lowers it).</summary>
    public static AttackLoss TargetOutput { get; } = new("target-output", (output, target, gradient) =>
    {
        gradient[target] = 1f;
        return output[target];
    }, _ => 1f);

    /// <summary>A loss of your own, given with its gradient with respect to the output row.</summary>
    public static AttackLoss Custom(string name, AttackLossFunction function) =>
        new(name ?? throw new ArgumentNullException(nameof(name)), function ?? throw new ArgumentNullException(nameof(function)), null);

    /// <summary>The built-in losses by name: negative-log, cross-entropy, target-output.</summary>
    public static AttackLoss FromName(string name) => name switch
    {
        "negative-log" => NegativeLog,
        "cross-entropy" => CrossEntropy,
        "target-output" => TargetOutput,
        _ => throw new ArgumentException($"Unknown attack loss '{name}'; expected negative-log, cross-entropy or target-output.", nameof(name)),
    };

    /// <summary>Evaluates the loss of one output row and its output gradient (zeroed here first).</summary>
    public float Evaluate(ReadOnlySpan<float> output, int target, Span<float> outputGradient)
    {
        if ((uint)target >= (uint)output.Length)
            throw new ArgumentOutOfRangeException(nameof(target), target, $"Target {target} is out of range for an output row of {output.Length} value(s).");
        if (outputGradient.Length != output.Length)
            throw new ArgumentException($"The output gradient has {outputGradient.Length} values; the output row has {output.Length}.", nameof(outputGradient));
        outputGradient.Clear();
        return _function(output, target, outputGradient);
    }

    /// <inheritdoc />
    public override string ToString() => Name;
}
