namespace Microsoft.ML.Attribution.Autodiff.Rules;

/// <summary>Gradient of LayerNormalization.</summary>
internal static class LayerNormRules
{
    public static IEnumerable<KeyValuePair<string, GradientRule>> All => [];
}
