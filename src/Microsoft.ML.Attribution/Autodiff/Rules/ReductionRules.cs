namespace Microsoft.ML.Attribution.Autodiff.Rules;

/// <summary>Gradients of ReduceSum, ReduceMean, ReduceMax.</summary>
internal static class ReductionRules
{
    public static IEnumerable<KeyValuePair<string, GradientRule>> All => [];
}
