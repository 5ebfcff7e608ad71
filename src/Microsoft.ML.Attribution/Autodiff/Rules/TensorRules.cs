namespace Microsoft.ML.Attribution.Autodiff.Rules;

/// <summary>Gradients of data-movement ops: Concat, Split, Slice, Expand, Gather, Where.</summary>
internal static class TensorRules
{
    public static IEnumerable<KeyValuePair<string, GradientRule>> All => [];
}
