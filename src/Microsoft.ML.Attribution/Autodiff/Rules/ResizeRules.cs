namespace Microsoft.ML.Attribution.Autodiff.Rules;

/// <summary>Gradients of Pad and Resize.</summary>
internal static class ResizeRules
{
    public static IEnumerable<KeyValuePair<string, GradientRule>> All => [];
}
