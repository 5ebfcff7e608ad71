using Microsoft.ML.Attribution.Tensors;

namespace Microsoft.ML.Attribution.Methods;

/// <summary>What an attribution method returns.</summary>
/// <param name="Attributions">One value per input element, shaped like the attributed tensor.</param>
/// <param name="Targets">The output index explained for each row.</param>
/// <param name="ConvergenceDelta">
/// Per row, Σ attributions − (f(input) − f(baseline)) for the target, where the method has a completeness property;
/// otherwise null.
/// </param>
/// <param name="BaseValues">
/// Per row, the expected output over the background (SHAP's base value) where the method defines one, so that
/// Σ attributions + base value = the explained output; otherwise null.
/// </param>
public sealed record AttributionResult(NdArray<float> Attributions, int[] Targets, float[]? ConvergenceDelta = null, float[]? BaseValues = null)
{
    /// <summary>Per row, the P×P TreeSHAP interaction matrix of the explained output (<c>[n, P·P]</c>), when asked for.</summary>
    internal NdArray<float>? Interactions { get; init; }
}
