namespace Microsoft.ML.Attribution.Autodiff.Rules;

/// <summary>Gradients of MaxPool, AveragePool, GlobalAveragePool, GlobalMaxPool.</summary>
internal static class PoolingRules
{
    public static IEnumerable<KeyValuePair<string, GradientRule>> All => [];
}
