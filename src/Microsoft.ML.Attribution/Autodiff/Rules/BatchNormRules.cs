namespace Microsoft.ML.Attribution.Autodiff.Rules;

/// <summary>Gradient of inference-mode BatchNormalization.</summary>
internal static class BatchNormRules
{
    public static IEnumerable<KeyValuePair<string, GradientRule>> All => [];
}
